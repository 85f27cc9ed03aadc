"""`MemoryStore`: bookings in dicts, for tests, demos and single-process use."""

from __future__ import annotations

import dataclasses
import secrets
import threading
from bisect import bisect_left, insort
from collections.abc import Collection, Iterable, Iterator
from typing import NamedTuple

from ..errors import IdempotencyKeyReused, NotFound
from ..values import Booking, BusyTime, HeldTime, Hold, HoldState, HoldsTime, Status, TakenTime
from .base import Change, Decide, DecideHold, HeldSpanOf, IdempotencyClaim, ListQuery, Move


class _KeyRow(NamedTuple):
    fingerprint: str
    booking_id: str


class MemoryStore:
    """An in-process store; every check-and-write happens under one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._bookings: dict[str, dict[str, Booking]] = {}
        self._keys: dict[tuple[str, str], _KeyRow] = {}
        self._holds: dict[str, dict[str, Hold]] = {}
        self._busy: dict[tuple[str, str], dict[str, list[tuple[int, int]]]] = {}
        # (site, service) -> id of the service's most recently inserted booking.
        self._latest: dict[tuple[str, str], str] = {}
        # site -> sorted (start_ts, id) of its bookings, for window reads in O(log n + k).
        self._by_start: dict[str, list[tuple[int, str]]] = {}
        self._secret = secrets.token_bytes(32)

    def add(self, booking: Booking) -> None:
        """Store `booking` as it is, with no availability check (for fixtures and imports)."""
        with self._lock:
            self._insert(booking)

    def _insert(self, booking: Booking, *, created: bool = True) -> None:
        """Store `booking`, keeping the start index; `created` makes it its service's latest
        (a moved booking keeps its place)."""
        site = self._bookings.setdefault(booking.site_id, {})
        if booking.id in site:
            old = site[booking.id]
            self._by_start[booking.site_id].remove((old.start_ts, old.id))
        site[booking.id] = booking
        insort(self._by_start.setdefault(booking.site_id, []), (booking.start_ts, booking.id))
        if created:
            self._latest[(booking.site_id, booking.service_id)] = booking.id

    def bookings_starting_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str] | None = None
    ) -> list[HoldsTime]:
        """Bookings holding time whose start lies in the UTC window `[start, end)`."""
        with self._lock:
            site = self._bookings.get(site_id, {})
            index = self._by_start.get(site_id, [])
            lo = bisect_left(index, (start, ""))
            hi = bisect_left(index, (end, ""))
            rows = [site[booking_id] for _, booking_id in index[lo:hi]]
        cancelled = Status.CANCELLED  # every other status holds time
        held: list[HoldsTime] = [
            b
            for b in rows
            if b.status is not cancelled and (staff_ids is None or b.staff_id in staff_ids)
        ]
        return held

    def taken_between(
        self,
        site_id: str,
        start: int,
        end: int,
        staff_ids: Collection[str],
        *,
        except_booking: str | None = None,
        except_hold: str | None = None,
    ) -> TakenTime:
        """Bookings and active holds starting in `[start, end)`, busy spans overlapping it."""
        with self._lock:
            bookings = [
                b
                for b in self.bookings_starting_between(site_id, start, end, staff_ids)
                if b.id != except_booking
            ]
            holds = [
                HeldTime(
                    id=h.id,
                    service_id=h.service_id,
                    staff_id=h.staff_id,
                    start_ts=h.start_ts,
                    end_ts=h.end_ts,
                    date=h.date,
                    expires_ts=h.expires_ts,
                )
                for h in self._holds.get(site_id, {}).values()
                if h.state is HoldState.ACTIVE
                and h.staff_id in staff_ids
                and start <= h.start_ts < end
                and h.id != except_hold
            ]
            busy = [
                BusyTime(staff_id=staff_id, start_ts=lo, end_ts=hi)
                for staff_id in staff_ids
                for spans in self._busy.get((site_id, staff_id), {}).values()
                for lo, hi in spans
                if lo < end and hi > start
            ]
        return TakenTime(bookings=bookings, holds=holds, busy=busy)

    def last_assigned(self, site_id: str, service_id: str) -> str | None:
        """The staff member holding the service's most recently created booking, or None."""
        with self._lock:
            latest = self._latest.get((site_id, service_id))
            return None if latest is None else self._bookings[site_id][latest].staff_id

    def create(
        self,
        site_id: str,
        *,
        window: tuple[int, int],
        staff_ids: Collection[str],
        decide: Decide,
        idempotency: IdempotencyClaim | None = None,
        hold_id: str | None = None,
        held_span: HeldSpanOf | None = None,
        last_of_service: str | None = None,
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
            converting = self.get_hold(site_id, hold_id) if hold_id is not None else None
            taken = self.taken_between(site_id, *window, staff_ids, except_hold=hold_id)
            last = None
            if last_of_service is not None:
                last = self.last_assigned(site_id, last_of_service)
            booking = decide(dataclasses.replace(taken, converting=converting, last_assigned=last))
            self._insert(booking)
            if converting is not None:
                self._holds[site_id][converting.id] = dataclasses.replace(
                    converting, state=HoldState.USED
                )
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

    def reschedule(
        self,
        site_id: str,
        booking_id: str,
        *,
        window: tuple[int, int],
        staff_ids: Collection[str],
        move: Move,
        held_span: HeldSpanOf | None = None,
    ) -> Booking:
        """Atomically read a booking and the time around its new start, move it, store it."""
        with self._lock:
            current = self.get(site_id, booking_id)
            taken = self.taken_between(site_id, *window, staff_ids, except_booking=booking_id)
            updated = move(current, taken)
            if updated is not current:
                self._insert(updated, created=False)
            return updated

    def add_hold(
        self,
        site_id: str,
        *,
        window: tuple[int, int],
        staff_ids: Collection[str],
        decide: DecideHold,
        purge_before: int,
        last_of_service: str | None = None,
    ) -> Hold:
        """Atomically place and insert a hold, after forgetting long-expired ones."""
        with self._lock:
            taken = self.taken_between(site_id, *window, staff_ids)
            if last_of_service is not None:
                last = self.last_assigned(site_id, last_of_service)
                taken = dataclasses.replace(taken, last_assigned=last)
            hold = decide(taken)
            holds = self._holds.setdefault(site_id, {})
            for gone in [h.id for h in holds.values() if h.expires_ts < purge_before]:
                del holds[gone]
            holds[hold.id] = hold
            return hold

    def get_hold(self, site_id: str, hold_id: str) -> Hold:
        """The hold, or `NotFound`."""
        with self._lock:
            found = self._holds.get(site_id, {}).get(hold_id)
        if found is None:
            raise NotFound(f"unknown hold {hold_id!r}", {"holdId": hold_id})
        return found

    def release_hold(self, site_id: str, hold_id: str) -> Hold:
        """Mark an active hold released; a finished one stays as it is."""
        with self._lock:
            hold = self.get_hold(site_id, hold_id)
            if hold.state is HoldState.ACTIVE:
                hold = dataclasses.replace(hold, state=HoldState.RELEASED)
                self._holds[site_id][hold_id] = hold
            return hold

    def set_busy(
        self, site_id: str, staff_id: str, source: str, spans: list[tuple[int, int]]
    ) -> None:
        """Replace one source's busy spans for a staff member."""
        with self._lock:
            sources = self._busy.setdefault((site_id, staff_id), {})
            if spans:
                sources[source] = sorted(spans)
            else:
                sources.pop(source, None)

    def busy(self, site_id: str, staff_id: str) -> list[tuple[str, int, int]]:
        """Every `(source, start, end)` busy span of a staff member, by start, end, source."""
        with self._lock:
            sources = dict(self._busy.get((site_id, staff_id), {}))
        rows = [(source, lo, hi) for source, spans in sources.items() for lo, hi in spans]
        return sorted(rows, key=lambda r: (r[1], r[2], r[0]))

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
        held_span: HeldSpanOf | None = None,
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
