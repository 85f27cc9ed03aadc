"""Stores keep bookings; the engine's atomic check-and-insert happens inside them.

`PostgresStore` is imported on first use, so the package works without the `postgres` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = ["MemoryStore", "PostgresStore", "SQLiteStore", "Store"]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        return postgres_store_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def postgres_store_class() -> type[PostgresStore]:
    """`PostgresStore`, or an `ImportError` that says which extra to install."""
    try:
        from .postgres import PostgresStore  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise ImportError(
            "PostgresStore needs the postgres extra: pip install 'optimo-booking[postgres]'"
            f" ({exc})"
        ) from exc
    return PostgresStore
