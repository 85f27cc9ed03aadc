"""optimo-booking: an availability and booking engine, correct in every time zone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalog import Catalog, load_catalog
from .engine import Engine
from .errors import BookingError
from .intervals import IntervalSet
from .slots import generate_slots
from .stores import MemoryStore, SQLiteStore, Store
from .values import Booking, Hold, Page, Slot, Status

if TYPE_CHECKING:
    from .stores.postgres import PostgresStore

__all__ = [
    "Booking",
    "BookingError",
    "Catalog",
    "Engine",
    "Hold",
    "IntervalSet",
    "MemoryStore",
    "Page",
    "PostgresStore",
    "SQLiteStore",
    "Slot",
    "Status",
    "Store",
    "generate_slots",
    "load_catalog",
]


def __getattr__(name: str) -> Any:
    # PostgresStore loads psycopg, an optional extra: import it only when it is named.
    if name == "PostgresStore":
        from .stores import postgres_store_class  # noqa: PLC0415 - optional extra

        return postgres_store_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
