"""optimo-booking: an availability and booking engine, correct in every time zone."""

from .catalog import Catalog, load_catalog
from .engine import Engine
from .errors import BookingError
from .intervals import IntervalSet
from .slots import generate_slots
from .stores import MemoryStore, SQLiteStore, Store
from .values import Booking, Page, Slot, Status

__all__ = [
    "Booking",
    "BookingError",
    "Catalog",
    "Engine",
    "IntervalSet",
    "MemoryStore",
    "Page",
    "SQLiteStore",
    "Slot",
    "Status",
    "Store",
    "generate_slots",
    "load_catalog",
]
