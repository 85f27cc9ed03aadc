"""The `Store` protocol: what the engine asks of any booking store. Every call names the site.

A store's one hard duty is atomicity: `create` reads the time taken that matters (bookings,
holds, busy spans), lets the engine's pure `decide` function place the new booking, and
writes it, as one step that no other writer (thread or process) can interleave with.
`reschedule` and `add_hold` are such steps too. For round-robin assignment, `create` and
`add_hold` also read in that step which staff member holds the service's most recently
created booking, so two concurrent placements never both start from the same "last
assigned".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from ..errors import InternalError
from ..localtime import zone
from ..values import Booking, Hold, HoldState, HoldsTime, Status, TakenTime

# Placement: the time taken in the window (time only, no customer data) and, when asked, the
# service's last-assigned staff member -> the booking to insert.
Decide = Callable[[TakenTime], Booking]
# A status change: the booking as stored -> the booking to store (the same object: no write).
Change = Callable[[Booking], Booking]
# A move: the booking as stored and the time taken around its new start, without the
# booking itself -> the booking to store (the same object: no write).
Move = Callable[[Booking, TakenTime], Booking]
# A hold: the time taken in the window -> the hold to insert.
DecideHold = Callable[[TakenTime], Hold]
# Seconds an expired or finished hold is remembered (answering `hold_expired`, not
# `not_found`) before a later hold purges it, so holds never grow a store without bound.
HOLD_MEMORY_SECONDS = 86_400


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def booking_from_row(row: tuple[Any, ...], *, notes_are_json: bool = False) -> Booking:
    """A booking from the columns the SQL stores keep, in their shared order.

    A customer (or notes) value that does not decode fails this row only, as an
    `InternalError` naming the booking: damaged or foreign data never takes down a list.
    """
    (bid, site_id, service_id, staff_id, branch_id, status, start_ts, end_ts, zone_key,
     local_date, customer, notes, created_at, updated_at, version) = row  # fmt: skip
    try:
        customer_value = json.loads(customer)
        if notes_are_json and notes is not None:
            notes = json.loads(notes)
    except (ValueError, RecursionError):
        raise InternalError(
            f"stored booking {bid!r} has a damaged customer value", {"bookingId": bid}
        ) from None
    tz = zone(zone_key)
    return Booking(
        id=bid,
        site_id=site_id,
        service_id=service_id,
        staff_id=staff_id,
        branch_id=branch_id,
        status=Status(status),
        start=datetime.fromtimestamp(start_ts, tz),
        end=datetime.fromtimestamp(end_ts, tz),
        date=_day(local_date),
        customer=customer_value,
        notes=notes,
        created_at=datetime.fromisoformat(created_at),
        updated_at=datetime.fromisoformat(updated_at),
        version=version,
    )


def hold_from_row(row: tuple[Any, ...]) -> Hold:
    """A hold from the columns the SQL stores keep, in their shared order."""
    (hid, site_id, service_id, staff_id, branch_id, start_ts, end_ts, zone_key,
     local_date, expires_ts, state) = row  # fmt: skip
    tz = zone(zone_key)
    return Hold(
        id=hid,
        site_id=site_id,
        service_id=service_id,
        staff_id=staff_id,
        branch_id=branch_id,
        start=datetime.fromtimestamp(start_ts, tz),
        end=datetime.fromtimestamp(end_ts, tz),
        date=_day(local_date),
        expires_at=datetime.fromtimestamp(expires_ts, tz),
        state=HoldState(state),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyClaim:
    """An idempotency key and the fingerprint of the request that carries it."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldSpan:
    """The time a booking keeps from others of its staff member, for stores that check it too.

    `start`/`end` are the held span in UTC seconds (buffers included); bookings with equal
    `share_key` (the seats of one group session) may overlap, any others may not.
    """

    start: int
    end: int
    share_key: str


# The hold of a booking, from the catalog (the store does not know buffers or capacity).
HeldSpanOf = Callable[[Booking], HeldSpan]


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

    def taken_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str]
    ) -> TakenTime:
        """Bookings holding time and active holds starting in `[start, end)`, and busy spans
        overlapping it, of `staff_ids`: the slot path's one read."""
        ...

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
        """Atomically: replay an idempotent repeat, or place and insert a new booking.

        Returns the booking and whether it was a replay. `IdempotencyKeyReused` when the key
        was used by another request; any error from `decide` leaves the store unchanged.
        With `hold_id`, the hold (`NotFound` if unknown) is handed to `decide` as
        `converting`, left out of the holds, and marked used in the same step.
        `held_span` tells a store that checks overlaps itself what the new booking holds.
        With `last_of_service` (a service id; the engine passes it for every create of a
        round-robin service), `decide` gets `last_assigned(site_id, last_of_service)` read
        inside the same atomic step, as `TakenTime.last_assigned`; else None. Creates and
        holds that pass the same service must be serialized with each other even when their
        staff differ (a store that locks per staff member also locks per such service), so
        no two read the same pointer.
        """
        ...

    def last_assigned(self, site_id: str, service_id: str) -> str | None:
        """The staff member holding the service's most recently created booking (named or
        assigned, in any status), or None when the service has none.

        "Most recently created" is the store's insertion order, not `created_at`, so clocks
        that disagree or repeat cannot reorder it; a booking moved to other staff counts for
        the staff member holding it now. Bookings of other services never change it, and
        neither do holds: a hold that becomes a booking moves it then.
        """
        ...

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
        """Atomically read a booking (`NotFound`), the time taken in `window` by `staff_ids`
        without that booking, apply `move`, and store the result (start, end, date, staff,
        branch, updated_at, version). Any error from `move` leaves the store unchanged;
        `held_span` tells a store that checks overlaps itself what the moved booking holds."""
        ...

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
        """Atomically place and insert a hold; first forget holds that expired before
        `purge_before` (UTC seconds). `last_of_service` as for `create`."""
        ...

    def get_hold(self, site_id: str, hold_id: str) -> Hold:
        """The hold, or `NotFound` (also for another site's hold)."""
        ...

    def release_hold(self, site_id: str, hold_id: str) -> Hold:
        """Mark an active hold released (a finished one stays as it is); `NotFound`."""
        ...

    def set_busy(
        self, site_id: str, staff_id: str, source: str, spans: list[tuple[int, int]]
    ) -> None:
        """Replace the busy spans `source` holds for a staff member (empty clears it)."""
        ...

    def busy(self, site_id: str, staff_id: str) -> list[tuple[str, int, int]]:
        """Every `(source, start, end)` busy span of a staff member, by start, end, source."""
        ...

    def get(self, site_id: str, booking_id: str) -> Booking:
        """The booking, or `NotFound` (also for another site's booking)."""
        ...

    def change(self, site_id: str, booking_id: str, change: Change) -> Booking:
        """Atomically read a booking, apply `change`, and store the result.

        A change may alter `status`, `updated_at` and `version` only; a move goes through
        `reschedule`.
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
