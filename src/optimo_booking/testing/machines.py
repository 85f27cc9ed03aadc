"""A Hypothesis state machine that drives your engine, store and catalog through bookings.

Subclass `BookingMachine`, say which site and dates to work on and how to build a fresh
engine, and run its `TestCase` with pytest. Each step books a listed free slot (it must be
accepted), tries a slot listed as taken (it must be refused and change nothing) or moves a
booking's status (legal moves succeed, illegal ones change nothing); after every step no two
time-holding bookings of one staff member overlap beyond the service's seats, and the
listing's pages hold every booking once, in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ..catalog import Site
from ..errors import BookingError
from ..values import Booking, Status
from .checks import held_span

__all__ = ["BookingMachine"]

_TAKEN = frozenset({"booked", "full"})


class BookingMachine(RuleBasedStateMachine):
    """Books, refuses and moves bookings on `make_engine()`, checking the store after each step.

    Set `site_id` and `dates` on the subclass and override `make_engine` to return a new
    `Engine` (with a fixed clock, so slots do not drift while Hypothesis shrinks).
    """

    site_id: ClassVar[str]
    dates: ClassVar[Sequence[date]]
    customer: ClassVar[dict[str, Any]] = {"name": "Test Customer"}

    def make_engine(self) -> Any:
        """A fresh `Engine` for one run; override this."""
        raise NotImplementedError("override make_engine() to return a fresh Engine")

    def __init__(self) -> None:
        super().__init__()
        self.engine = self.make_engine()
        self.site: Site = self.engine.catalog.site(self.site_id)
        self.known: dict[str, Status] = {}  # booking id -> the status it must have

    # -- rules ---------------------------------------------------------------------------

    def _draw_slots(self, data: st.DataObject) -> tuple[str, date, list[Any]]:
        service_id = data.draw(st.sampled_from(sorted(self.site.services)), label="service")
        day = data.draw(st.sampled_from(list(self.dates)), label="date")
        return service_id, day, self.engine.slots(self.site_id, service_id, day)

    @rule(data=st.data())
    def book_a_free_slot(self, data: st.DataObject) -> None:
        """A slot listed as available is accepted, as that very slot."""
        service_id, day, slots = self._draw_slots(data)
        free = [s for s in slots if s.available]
        if not free:
            return
        slot = data.draw(st.sampled_from(free), label="slot")
        booking = self.engine.create_booking(
            self.site_id,
            service_id=service_id,
            date=day,
            start_time=slot.start,
            staff_id=slot.staff_id,
            branch_id=slot.branch_id,
            customer=self.customer,
        )
        assert (booking.start, booking.staff_id) == (slot.start, slot.staff_id), booking
        self.known[booking.id] = booking.status

    @rule(data=st.data())
    def book_a_taken_slot(self, data: st.DataObject) -> None:
        """A slot listed as booked or full is refused with `slot_unavailable`; nothing changes."""
        service_id, day, slots = self._draw_slots(data)
        taken = [s for s in slots if s.reason in _TAKEN]
        if not taken:
            return
        slot = data.draw(st.sampled_from(taken), label="slot")
        before = self._all_bookings()
        try:
            self.engine.create_booking(
                self.site_id,
                service_id=service_id,
                date=day,
                start_time=slot.start,
                staff_id=slot.staff_id,
                branch_id=slot.branch_id,
                customer=self.customer,
            )
        except BookingError as exc:
            assert exc.code == "slot_unavailable", exc
        else:
            raise AssertionError(f"a slot listed as {slot.reason!r} was booked: {slot}")
        assert self._all_bookings() == before, "a refused booking changed the store"

    @rule(data=st.data(), status=st.sampled_from(list(Status)))
    def change_status(self, data: st.DataObject, status: Status) -> None:
        """A legal move succeeds; an illegal one is `invalid_transition` and changes nothing."""
        if not self.known:
            return
        booking_id = data.draw(
            st.sampled_from(list(self.known)), label="booking"
        )  # ids are random: keep the order made
        try:
            moved = self.engine.set_status(self.site_id, booking_id, status)
        except BookingError as exc:
            assert exc.code == "invalid_transition", exc
            stored = self.engine.get_booking(self.site_id, booking_id)
            assert stored.status == self.known[booking_id], "a refused move changed the status"
        else:
            assert moved.status == status
            self.known[booking_id] = status

    # -- invariants ----------------------------------------------------------------------

    def _all_bookings(self) -> list[Booking]:
        found: list[Booking] = []
        cursor = None
        while True:
            page = self.engine.list_bookings(self.site_id, limit=7, cursor=cursor)
            found.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return found

    @invariant()
    def pages_hold_every_booking_once_in_order(self) -> None:
        """The listing's pages partition the bookings, ordered by start then id."""
        rows = self._all_bookings()
        ids = [b.id for b in rows]
        assert len(ids) == len(set(ids)), "a booking appears on two pages"
        assert set(ids) == set(self.known), "the listing and the bookings made differ"
        keys = [(b.start, b.id) for b in rows]
        assert keys == sorted(keys), "the listing is not ordered by start, then id"
        for booking in rows:
            assert booking.status == self.known[booking.id], booking

    @invariant()
    def no_staff_member_is_double_booked(self) -> None:
        """Time-holding bookings of one staff member overlap only as seats of one session."""
        by_staff: dict[str, list[Booking]] = defaultdict(list)
        for booking in self._all_bookings():
            if booking.status != Status.CANCELLED:
                by_staff[booking.staff_id].append(booking)
        for staff_id, held in by_staff.items():
            sessions: dict[tuple[str, Any], int] = defaultdict(int)
            for booking in held:
                sessions[booking.service_id, booking.start] += 1
            for (service_id, start), seats in sessions.items():
                capacity = self.site.services[service_id].capacity
                assert seats <= capacity, f"{staff_id}: {seats} seats of {service_id} at {start}"
            for a in held:
                for b in held:
                    if a.id >= b.id or (a.service_id, a.start) == (b.service_id, b.start):
                        continue
                    (a0, a1), (b0, b1) = held_span(self.site, a), held_span(self.site, b)
                    assert a1 <= b0 or b1 <= a0, f"{staff_id}: {a.id} overlaps {b.id}"
