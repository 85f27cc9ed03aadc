"""The `Store` protocol: what the engine asks of any booking store. Every call names the site."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from ..values import Booking


class Store(Protocol):
    """Where bookings live."""

    def bookings_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str] | None = None
    ) -> list[Booking]:
        """Bookings of the site holding time whose `[start, end)` overlaps the UTC window."""
        ...
