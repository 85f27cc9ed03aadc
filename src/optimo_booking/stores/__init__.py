"""Stores keep bookings; the engine's atomic check-and-insert happens inside them."""

from .base import Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Store"]
