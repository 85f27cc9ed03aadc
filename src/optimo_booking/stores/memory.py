"""`MemoryStore`: bookings in dicts, for tests, demos and single-process use."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Collection, Iterable, Iterator
from typing import NamedTuple

from ..errors import IdempotencyKeyReused, NotFound
from ..values import Booking, HoldsTime
from .base import Change, Decide, HoldOf, IdempotencyClaim, ListQuery


class _KeyRow(NamedTuple):
    fingerprint: str
    booking_id: str


class MemoryStore:
    """An in-process store; every check-and-write happens under one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._bookings: dict[str, dict[str, Booking]] = {}
        self._keys: dict[tuple[str, str], _KeyRow] = {}
        self._secret = secrets.token_bytes(32)

    def add(self, booking: Booking) -> None:
        """Store `booking` as it is, with no availability check (for fixtures and imports)."""
        with self._lock:
            self._bookings.setdefault(booking.site_id, {})[booking.id] = booking

    def bookings_starting_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str] | None = None
    ) -> list[HoldsTime]:
        """Bookings holding time whose start lies in the UTC window `[start, end)`."""
        with self._lock:
            rows = list(self._bookings.get(site_id, {}).values())
        held: list[HoldsTime] = [
            b
            for b in rows
            if b.status.holds_time
            and start <= b.start_ts < end
            and (staff_ids is None or b.staff_id in staff_ids)
        ]
        return held

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
        """Atomically replay an idempotent repeat, or place and insert a new booking."""
        with self._lock:
            if idempotency is not None:
                row = self._keys.get((site_id, idempotency.key))
                if row is not None:
                    if row.fingerprint != idempotency.fingerprint:
                        raise IdempotencyKeyReused(
                            "this Idempotency-Key was used with a different request",
                            {"idempotencyKey": idempotency.key},
                        )
                    return self._bookings[site_id][row.booking_id], True
            booking = decide(self.bookings_starting_between(site_id, *window, staff_ids))
            self._bookings.setdefault(site_id, {})[booking.id] = booking
            if idempotency is not None:
                self._keys[(site_id, idempotency.key)] = _KeyRow(
                    idempotency.fingerprint, booking.id
                )
            return booking, False

    def get(self, site_id: str, booking_id: str) -> Booking:
        """The booking, or `NotFound`."""
        with self._lock:
            found = self._bookings.get(site_id, {}).get(booking_id)
        if found is None:
            raise NotFound(f"unknown booking {booking_id!r}", {"bookingId": booking_id})
        return found

    def change(self, site_id: str, booking_id: str, change: Change) -> Booking:
        """Atomically read a booking, apply `change`, and store the result."""
        with self._lock:
            current = self.get(site_id, booking_id)
            updated = change(current)
            if updated is not current:
                self._bookings[site_id][booking_id] = updated
            return updated

    def list_bookings(self, site_id: str, query: ListQuery) -> tuple[list[Booking], int]:
        """One page ordered by `(start, id)` after `query.after`, and the total matching."""
        with self._lock:
            rows = list(self._bookings.get(site_id, {}).values())
        matching = sorted(
            (
                b
                for b in rows
                if (query.status is None or b.status is query.status)
                and (query.day is None or b.date == query.day)
            ),
            key=lambda b: (b.start_ts, b.id),
        )
        after = query.after
        page = [b for b in matching if after is None or (b.start_ts, b.id) > after]
        return page[: query.limit], len(matching)

    def cursor_secret(self) -> bytes:
        """This store's HMAC key for list cursors."""
        return self._secret

    def export_bookings(self) -> Iterator[Booking]:
        """Every booking of every site, by id."""
        with self._lock:
            rows = [b for site in self._bookings.values() for b in site.values()]
        return iter(sorted(rows, key=lambda b: b.id))

    def export_idempotency_keys(self) -> list[tuple[str, str, str, str]]:
        """Every idempotency key row `(site_id, key, fingerprint, booking_id)`, sorted."""
        with self._lock:
            return sorted((s, k, r.fingerprint, r.booking_id) for (s, k), r in self._keys.items())

    def is_empty(self) -> bool:
        """True when the store holds no booking and no idempotency key."""
        with self._lock:
            return not self._keys and not any(self._bookings.values())

    def import_rows(
        self,
        bookings: Iterable[Booking],
        keys: Iterable[tuple[str, str, str, str]],
        secret: bytes,
        hold: HoldOf | None = None,
    ) -> None:
        """Load bookings, idempotency keys and the cursor key."""
        with self._lock:
            for b in bookings:
                self.add(b)
            for site_id, key, fingerprint, booking_id in keys:
                self._keys[(site_id, key)] = _KeyRow(fingerprint, booking_id)
            self._secret = secret

    def close(self) -> None:
        """Nothing to release."""
