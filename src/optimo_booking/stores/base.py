"""The `Store` protocol: what the engine asks of any booking store. Every call names the site.

A store's one hard duty is atomicity: `create` reads the bookings that matter, lets the
engine's pure `decide` function place the new one, and writes it, as one step that no other
writer (thread or process) can interleave with.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from ..values import Booking, HoldsTime, Status

# Placement: the bookings holding time in the window (their time only) -> the booking to insert.
Decide = Callable[[list[HoldsTime]], Booking]
# A status change: the booking as stored -> the booking to store (the same object: no write).
Change = Callable[[Booking], Booking]


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyClaim:
    """An idempotency key and the fingerprint of the request that carries it."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """The time a booking keeps from others of its staff member, for stores that check it too.

    `start`/`end` are the held span in UTC seconds (buffers included); bookings with equal
    `share_key` (the seats of one group session) may overlap, any others may not.
    """

    start: int
    end: int
    share_key: str


# The hold of a booking, from the catalog (the store does not know buffers or capacity).
HoldOf = Callable[[Booking], Hold]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListQuery:
    """Filters and a keyset position `(start_ts, id)` to list after."""

    status: Status | None = None
    day: date | None = None
    after: tuple[int, str] | None = None
    limit: int = 25


class Store(Protocol):
    """Where bookings live."""

    def bookings_starting_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str] | None = None
    ) -> list[HoldsTime]:
        """Bookings holding time whose start lies in the UTC window `[start, end)`.

        Only their time is read (ids, service, staff, status, span, date), never customer
        data: the slot path must not depend on what customers typed.
        """
        ...

    def create(
        self,
        site_id: str,
        *,
        window: tuple[int, int],
        staff_ids: Collection[str],
        decide: Decide,
        idempotency: IdempotencyClaim | None = None,
        hold: HoldOf | None = None,
    ) -> tuple[Booking, bool]:
        """Atomically: replay an idempotent repeat, or place and insert a new booking.

        Returns the booking and whether it was a replay. `IdempotencyKeyReused` when the key
        was used by another request; any error from `decide` leaves the store unchanged.
        `hold` tells a store that checks overlaps itself what the new booking holds.
        """
        ...

    def get(self, site_id: str, booking_id: str) -> Booking:
        """The booking, or `NotFound` (also for another site's booking)."""
        ...

    def change(self, site_id: str, booking_id: str, change: Change) -> Booking:
        """Atomically read a booking, apply `change`, and store the result.

        A change may alter `status` and `updated_at` only; the rest of a booking is fixed
        when it is placed.
        """
        ...

    def list_bookings(self, site_id: str, query: ListQuery) -> tuple[list[Booking], int]:
        """One page ordered by `(start, id)` after `query.after`, and the total matching."""
        ...

    def cursor_secret(self) -> bytes:
        """The HMAC key for list cursors; kept in the store so cursors outlive the process."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
