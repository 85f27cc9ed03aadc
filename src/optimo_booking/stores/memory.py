"""`MemoryStore`: bookings in a dict, for tests, demos and single-process use."""

from __future__ import annotations

import threading
from collections.abc import Collection

from ..values import Booking


class MemoryStore:
    """An in-process store; every read and write happens under one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._bookings: dict[str, dict[str, Booking]] = {}

    def add(self, booking: Booking) -> None:
        """Store `booking` as it is, with no availability check (for fixtures and imports)."""
        with self._lock:
            self._bookings.setdefault(booking.site_id, {})[booking.id] = booking

    def bookings_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str] | None = None
    ) -> list[Booking]:
        """Bookings of the site holding time whose `[start, end)` overlaps the UTC window."""
        with self._lock:
            rows = list(self._bookings.get(site_id, {}).values())
        return [
            b
            for b in rows
            if b.status.holds_time
            and b.start_ts < end
            and b.end_ts > start
            and (staff_ids is None or b.staff_id in staff_ids)
        ]
