"""A Hypothesis state machine drives create / confirm / cancel / complete / no-show and the
clock against a small hand-written model of the booking catalog, on both stores.

The model knows the catalog's hours as literal numbers (March 2026, all in CET, so one
fixed offset) and predicts every answer: which staff member a create gets or why it is
refused, and whether a status change succeeds. Invariants after every step: no two bookings
holding time overlap for one staff member beyond capacity, every booking the model has is in
the store with the model's status, and list pages partition the rows.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
)

from conftest import (
    BOOK_SITE,
    GOOD_CUSTOMER,
    POSTGRES_SKIP,
    POSTGRES_URL,
    FakeClock,
    booking_catalog,
    drop_postgres_schema,
    held_conflicts,
    new_spec,
    open_store,
)
from optimo_booking import BookingError, Engine, MemoryStore, SQLiteStore, Store

FIRST_DAY = date(2026, 3, 2)  # a Monday; every day up to 27 March is CET (UTC+1)
DAYS = [FIRST_DAY + timedelta(days=i) for i in range(26)]
# Where most of the action is: the first days, ben's Sunday night, ann's day off.
FOCUS = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 8), date(2026, 3, 10)]
OFFSET = 3600  # CET


@dataclass(frozen=True)
class ModelService:
    minutes: int
    step: int
    before: int
    after: int
    capacity: int
    notice: int
    advance_days: int | None
    staff: tuple[str, ...]
    confirm: bool


# The booking catalog of conftest, written out by hand.
SERVICES = {
    "cut": ModelService(30, 15, 0, 10, 1, 120, 60, ("ann", "ben", "cat"), False),
    "color": ModelService(60, 30, 10, 15, 1, 0, None, ("ben", "ann"), True),
    "class": ModelService(60, 60, 0, 0, 3, 0, None, ("cat",), False),
    "trim": ModelService(15, 15, 0, 0, 1, 0, None, ("ann", "ben", "cat"), False),
}
_WEEKDAY = [(540, 720), (780, 1020)]
HOURS = {  # staff -> weekday (Mon 0) -> working periods in local minutes
    "ann": {**{d: _WEEKDAY for d in range(5)}, 5: [(540, 1020)], 6: [(540, 1020)]},
    "ben": {**{d: [(540, 1020)] for d in range(6)}, 6: [(60, 240)]},
    "cat": {**{d: [(600, 1080)] for d in range(6)}, 6: []},
}
TIME_OFF = {"ann": [(date(2026, 3, 10), date(2026, 3, 11))]}  # [first day, day after)
LEGAL = {
    "pending": {"confirmed", "cancelled"},
    "confirmed": {"completed", "cancelled", "no_show"},
    "cancelled": set(),
    "completed": set(),
    "no_show": set(),
}
STATUSES = sorted(LEGAL)


def local_ts(day: date, minute: int) -> int:
    """UTC seconds of `minute` after local (CET) midnight of `day`."""
    return (
        int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) - OFFSET + 60 * minute
    )


@dataclass
class ModelBooking:
    id: str
    service: str
    staff: str
    start: int
    day: date
    status: str

    @property
    def end(self) -> int:
        return self.start + 60 * SERVICES[self.service].minutes

    @property
    def held(self) -> tuple[int, int]:
        s = SERVICES[self.service]
        return self.start - 60 * s.before, self.end + 60 * s.after


class BookingMachine(RuleBasedStateMachine):
    """The engine against the model; subclasses pick the store."""

    def make_store(self) -> Store:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.tmp: str | None = None
        self.store = self.make_store()
        self.clock = FakeClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
        self.catalog = booking_catalog()
        self.engine = Engine(self.catalog, store=self.store, clock=self.clock)
        self.model: dict[str, ModelBooking] = {}

    def teardown(self) -> None:
        self.store.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the model -------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock().timestamp())

    def on_grid(self, service: str, staff: str, day: date, start: int) -> bool:
        s = SERVICES[service]
        for lo, hi in HOURS[staff][day.weekday()]:
            first, last = local_ts(day, lo), local_ts(day, hi)
            if (
                first <= start
                and start + 60 * s.minutes <= last
                and (start - first) % (60 * s.step) == 0
            ):
                return True
        return False

    def reason(self, service: str, staff: str, start: int) -> str | None:
        s = SERVICES[service]
        now = self.now()
        end = start + 60 * s.minutes
        if start < now:
            return "past"
        if start < now + 60 * s.notice:
            return "too_soon"
        if s.advance_days is not None and start > now + 86_400 * s.advance_days:
            return "too_far"
        for first, after in TIME_OFF.get(staff, []):
            if start < local_ts(after, 0) and end > local_ts(first, 0):
                return "time_off"
        mine = [b for b in self.model.values() if b.staff == staff and b.status != "cancelled"]
        length = 60 * (s.before + s.minutes + s.after)
        seats = 0
        booked = False
        lo, hi = start - 60 * s.before, end + 60 * s.after
        for b in mine:
            if s.capacity > 1 and b.service == service:
                if b.start == start:
                    seats += 1
                elif abs(b.start - start) < length:
                    booked = True
            else:
                b_lo, b_hi = b.held
                if b_lo < hi and lo < b_hi:
                    booked = True
        if seats >= s.capacity:
            return "full"
        return "booked" if booked else None

    def predict(
        self, service: str, staff: str | None, day: date, start: int
    ) -> tuple[str | None, str | None]:
        """(staff chosen, None) or (None, refusal reason)."""
        candidates = [staff] if staff else list(SERVICES[service].staff)
        first_reason = None
        best: tuple[int, int, str] | None = None
        for order, member in enumerate(candidates):
            if not self.on_grid(service, member, day, start):
                continue
            why = self.reason(service, member, start)
            if why is not None:
                first_reason = first_reason or why
                continue
            load = sum(
                1
                for b in self.model.values()
                if b.staff == member and b.day == day and b.status != "cancelled"
            )
            if best is None or (load, order) < best[:2]:
                best = (load, order, member)
        if best is not None:
            return best[2], None
        return None, first_reason or "off_grid"

    # -- rules -------------------------------------------------------------------------------

    bookings = Bundle("bookings")

    @rule(
        target=bookings,
        service=st.sampled_from(sorted(SERVICES)),
        named=st.booleans(),
        pick=st.integers(0, 2),
        day=st.sampled_from(FOCUS) | st.sampled_from(DAYS),
        minute=st.integers(36, 72).map(lambda q: 15 * q)  # 09:00-18:00 on the quarter hour
        | st.integers(36, 72).map(lambda q: 15 * q)
        | st.integers(4, 16).map(lambda q: 15 * q)  # ben's Sunday night
        | st.integers(0, 1439),
    )
    def create(self, service: str, named: bool, pick: int, day: date, minute: int) -> object:
        offering = SERVICES[service].staff
        staff = offering[pick % len(offering)] if named else None
        made = self.attempt(service, staff, day, local_ts(day, minute))
        return multiple() if made is None else made

    @rule(
        target=bookings,
        near=bookings,
        service=st.sampled_from(sorted(SERVICES)),
        named=st.booleans(),
        pick=st.integers(0, 2),
        delta=st.sampled_from([0, 0, -15, 15, -30, 30, -60, 60]),
        same_service=st.booleans(),
        times=st.integers(1, 4),
    )
    def create_near_a_booking(
        self,
        near: str,
        service: str,
        named: bool,
        pick: int,
        delta: int,
        same_service: bool,
        times: int,
    ) -> object:
        """Aim (repeatedly) at an existing booking's time, so `booked` and `full` come up."""
        other = self.model[near]
        service = other.service if same_service else service
        offering = SERVICES[service].staff
        staff = other.staff if other.staff in offering else offering[pick % len(offering)]
        start = other.start + 60 * delta
        made = [self.attempt(service, staff if named else None, other.day, start)]
        made += [self.attempt(service, None, other.day, start) for _ in range(times - 1)]
        return multiple(*(m for m in made if isinstance(m, str)))

    def attempt(self, service: str, staff: str | None, day: date, start: int) -> str | None:
        expected_staff, expected_reason = self.predict(service, staff, day, start)
        try:
            made = self.engine.create_booking(
                BOOK_SITE,
                service_id=service,
                date=day,
                start_time=datetime.fromtimestamp(start, UTC),
                customer=GOOD_CUSTOMER,
                staff_id=staff,
            )
        except BookingError as exc:
            assert exc.code == "slot_unavailable", exc
            assert (None, exc.details["reason"]) == (expected_staff, expected_reason)
            event(f"create refused: {expected_reason}")
            return None
        event("create succeeded")
        assert (made.staff_id, None) == (expected_staff, expected_reason)
        assert made.start_ts == start and made.date == day
        assert made.status == ("pending" if SERVICES[service].confirm else "confirmed")
        self.model[made.id] = ModelBooking(made.id, service, made.staff_id, start, day, made.status)
        return made.id

    @rule(
        target=bookings,
        service=st.sampled_from(sorted(SERVICES)),
        day=st.sampled_from(FOCUS),
        named=st.booleans(),
        data=st.data(),
    )
    def book_a_listed_slot(
        self, service: str, day: date, named: bool, data: st.DataObject
    ) -> object:
        free = [s for s in self.engine.slots(BOOK_SITE, service, day) if s.available]
        if not free:
            return multiple()
        slot = data.draw(st.sampled_from(free))
        start = int(slot.start.timestamp())
        staff = slot.staff_id if named else None
        expected_staff, expected_reason = self.predict(service, staff, day, start)
        assert expected_reason is None, (slot, expected_reason)
        made = self.engine.create_booking(
            BOOK_SITE,
            service_id=service,
            date=day,
            start_time=slot.start,
            customer=GOOD_CUSTOMER,
            staff_id=staff,
        )
        assert (made.staff_id, made.start_ts) == (expected_staff, start)
        self.model[made.id] = ModelBooking(made.id, service, made.staff_id, start, day, made.status)
        event("listed slot booked")
        return made.id

    @rule(booking_id=bookings, target_status=st.sampled_from(STATUSES))
    def set_status(self, booking_id: str, target_status: str) -> None:
        b = self.model[booking_id]
        now = self.now()
        if target_status == b.status:
            ok = True
        elif target_status not in LEGAL[b.status]:
            ok = False
        elif target_status in ("completed", "no_show"):
            ok = now >= b.start
        elif target_status == "confirmed" or b.status == "confirmed":
            ok = now < b.end
        else:  # pending -> cancelled
            ok = True
        try:
            got = self.engine.set_status(BOOK_SITE, booking_id, target_status)
        except BookingError as exc:
            assert not ok, exc
            assert exc.code == "invalid_transition"
            assert (exc.details["from"], exc.details["to"]) == (b.status, target_status)
            event("status change refused")
            return
        event(f"status change to {target_status} succeeded")
        assert ok, (b, target_status, now)
        assert got.status == target_status
        b.status = target_status

    @rule(minutes=st.integers(1, 240) | st.integers(1, 3 * 1440))
    def advance_clock(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def list_page_of_a_status(self, data: st.DataObject) -> None:
        status = data.draw(st.sampled_from(STATUSES))
        page = self.engine.list_bookings(BOOK_SITE, status=status, limit=100)
        expected = sorted((b.start, b.id) for b in self.model.values() if b.status == status)
        assert [(b.start_ts, b.id) for b in page.items] == expected
        assert page.total == len(expected)

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def held_time_never_overlaps_beyond_capacity(self) -> None:
        rows = self.engine.list_bookings(BOOK_SITE, limit=100).items
        assert held_conflicts(self.catalog, rows) == []

    @invariant()
    def the_store_holds_the_models_bookings(self) -> None:
        for b in self.model.values():
            stored = self.engine.get_booking(BOOK_SITE, b.id)
            assert (stored.status, stored.staff_id, stored.start_ts) == (b.status, b.staff, b.start)

    @invariant()
    def list_pages_partition_the_rows(self) -> None:
        for limit in (1, 3):
            seen: list[tuple[int, str]] = []
            cursor = None
            while True:
                page = self.engine.list_bookings(BOOK_SITE, limit=limit, cursor=cursor)
                assert page.total == len(self.model)
                assert len(page.items) <= limit
                seen.extend((b.start_ts, b.id) for b in page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert seen == sorted((b.start, b.id) for b in self.model.values())


class MemoryBookingMachine(BookingMachine):
    def make_store(self) -> Store:
        return MemoryStore()


class SQLiteBookingMachine(BookingMachine):
    def make_store(self) -> Store:
        self.tmp = tempfile.mkdtemp(prefix="optimo-stateful-")
        return SQLiteStore(Path(self.tmp) / "b.sqlite3", synchronous="NORMAL")


class PostgresBookingMachine(BookingMachine):
    def make_store(self) -> Store:
        self.spec = new_spec("postgres", Path("."))
        return open_store(self.spec)

    def teardown(self) -> None:
        super().teardown()
        drop_postgres_schema(self.spec)


_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}

TestMemoryStoreAgainstModel = MemoryBookingMachine.TestCase
TestMemoryStoreAgainstModel.settings = settings(
    max_examples=100, stateful_step_count=50, **_SETTINGS
)
TestSQLiteStoreAgainstModel = SQLiteBookingMachine.TestCase
TestSQLiteStoreAgainstModel.settings = settings(
    max_examples=30, stateful_step_count=40, **_SETTINGS
)
TestPostgresStoreAgainstModel = pytest.mark.postgres(
    pytest.mark.skipif(POSTGRES_URL is None, reason=POSTGRES_SKIP)(PostgresBookingMachine.TestCase)
)
TestPostgresStoreAgainstModel.settings = settings(
    max_examples=15, stateful_step_count=40, **_SETTINGS
)
