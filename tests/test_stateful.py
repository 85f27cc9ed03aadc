"""A Hypothesis state machine drives create / confirm / cancel / complete / no-show,
reschedule, holds (take, release, convert, expire as the clock moves), busy time and the
clock against a small hand-written model of the booking catalog (with limits and a change
cut-off added), on every store.

The model knows the catalog's hours as literal numbers (March 2026, all in CET, so one
fixed offset) and predicts every answer: which staff member a create or hold gets or why it
is refused, whether a status change, a reschedule or a conversion succeeds. Invariants after
every step, read from the store: no two time-holding items (bookings and live holds)
overlap for one staff member beyond capacity, every limit holds, every booking the model has
is in the store with the model's status, staff, start and version, and list pages partition
the rows.
"""

from __future__ import annotations

import atexit
import copy
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
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
    BOOKING_CATALOG,
    GOOD_CUSTOMER,
    POSTGRES_SKIP,
    POSTGRES_URL,
    FakeClock,
    StoreSpec,
    drop_postgres_schema,
    held_conflicts,
    new_spec,
    open_store,
)
from optimo_booking import (
    BookingError,
    Catalog,
    Engine,
    MemoryStore,
    SQLiteStore,
    Store,
    load_catalog,
)

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
    per_day: int | None = None
    per_week: int | None = None
    cutoff: int | None = None


# The booking catalog of conftest, written out by hand, with limits and a cut-off added.
SERVICES = {
    "cut": ModelService(30, 15, 0, 10, 1, 120, 60, ("ann", "ben", "cat"), False, cutoff=180),
    "color": ModelService(60, 30, 10, 15, 1, 0, None, ("ben", "ann"), True, cutoff=30),
    "class": ModelService(60, 60, 0, 0, 3, 0, None, ("cat",), False, per_day=4),
    "trim": ModelService(15, 15, 0, 0, 1, 0, None, ("ann", "ben", "cat"), False, per_day=2),
}
STAFF_LIMITS = {"ben": (4, 9)}  # staff -> (per day, per week)
BUSY_SOURCES = ("google", "outlook")


def machine_catalog() -> Catalog:
    """The conftest booking catalog with the model's limits and cut-offs."""
    raw = copy.deepcopy(BOOKING_CATALOG)
    site = next(s for s in raw["sites"] if s["id"] == BOOK_SITE)
    for service in site["services"]:
        model = SERVICES[service["id"]]
        limits = {k: v for k, v in (("perDay", model.per_day), ("perWeek", model.per_week)) if v}
        if limits:
            service["limits"] = limits
        if model.cutoff is not None:
            service["changeCutoffMinutes"] = model.cutoff
    for member in site["staff"]:
        if member["id"] in STAFF_LIMITS:
            day, week = STAFF_LIMITS[member["id"]]
            member["limits"] = {"perDay": day, "perWeek": week}
    return load_catalog(raw)


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
    version: int = 0
    expires: int | None = None  # holds only
    state: str = "active"  # holds only: active, released, used
    is_hold: bool = field(default=False)

    @property
    def end(self) -> int:
        return self.start + 60 * SERVICES[self.service].minutes

    @property
    def held(self) -> tuple[int, int]:
        s = SERVICES[self.service]
        return self.start - 60 * s.before, self.end + 60 * s.after


Item = tuple[str, str, str, int, int, date]  # id, staff, service, start, end, local day


def item_conflicts(items: list[Item]) -> list[tuple[str, str]]:
    """Pairs of time-holding items (bookings, live holds) of one staff member overlapping
    beyond capacity: only seats of one group session may overlap, at most capacity many."""
    bad: list[tuple[str, str]] = []
    seats = Counter((staff, service, start) for _, staff, service, start, _, _ in items)
    for (_staff, service, _start), count in seats.items():
        if count > SERVICES[service].capacity:
            bad.append((service, str(count)))

    def held(item: Item) -> tuple[int, int]:
        s = SERVICES[item[2]]
        return item[3] - 60 * s.before, item[4] + 60 * s.after

    by_staff: dict[str, list[Item]] = {}
    for item in items:
        by_staff.setdefault(item[1], []).append(item)
    for rows in by_staff.values():
        rows.sort(key=held)
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                if held(b)[0] >= held(a)[1]:
                    break
                same_session = a[2] == b[2] and a[3] == b[3] and SERVICES[a[2]].capacity > 1
                if not same_session:
                    bad.append((a[0], b[0]))
    return bad


def limit_breaches(items: list[Item]) -> list[str]:
    """Limits passed by the items: per staff member and per service and staff member."""
    bad = []
    for key, limit in (("day", 0), ("week", 1)):
        staff_counts: Counter[tuple[str, object]] = Counter()
        service_counts: Counter[tuple[str, str, object]] = Counter()
        for _, staff, service, _, _, day in items:
            period: object = day if key == "day" else day.isocalendar()[:2]
            staff_counts[(staff, period)] += 1
            service_counts[(staff, service, period)] += 1
        for (staff, period), n in staff_counts.items():
            cap = STAFF_LIMITS.get(staff, (None, None))[limit]
            if cap is not None and n > cap:
                bad.append(f"{staff} has {n} in {key} {period}, limit {cap}")
        for (staff, service, period), n in service_counts.items():
            s = SERVICES[service]
            cap = s.per_day if key == "day" else s.per_week
            if cap is not None and n > cap:
                bad.append(f"{staff}/{service} has {n} in {key} {period}, limit {cap}")
    return bad


class BookingMachine(RuleBasedStateMachine):
    """The engine against the model; subclasses pick the store."""

    def make_store(self) -> Store:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.tmp: str | None = None
        self.store = self.make_store()
        self.clock = FakeClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
        self.catalog = machine_catalog()
        self.engine = Engine(self.catalog, store=self.store, clock=self.clock)
        self.model: dict[str, ModelBooking] = {}
        self.holds: dict[str, ModelBooking] = {}
        self.busy: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def teardown(self) -> None:
        self.store.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the model -------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock().timestamp())

    def fit(self, service: str, staff: str, day: date, start: int) -> str:
        """`slot`, `off_grid` (inside a working period, not a slot) or `outside_hours`."""
        s = SERVICES[service]
        found = "outside_hours"
        for lo, hi in HOURS[staff][day.weekday()]:
            first, last = local_ts(day, lo), local_ts(day, hi)
            if not first <= start < last:
                continue
            if start + 60 * s.minutes <= last and (start - first) % (60 * s.step) == 0:
                return "slot"
            found = "off_grid"
        return found

    def items(self, staff: str | None = None, skip: str | None = None) -> list[ModelBooking]:
        """Time-holding bookings and live holds (of `staff`), without `skip`."""
        now = self.now()
        found = [b for b in self.model.values() if b.status != "cancelled"]
        found += [
            h
            for h in self.holds.values()
            if h.state == "active" and h.expires is not None and now < h.expires
        ]
        return [b for b in found if (staff is None or b.staff == staff) and b.id != skip]

    def reason(self, service: str, staff: str, start: int, skip: str | None = None) -> str | None:
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
        lo, hi = start - 60 * s.before, end + 60 * s.after
        for (who, _source), spans in self.busy.items():
            if who == staff and any(a < hi and lo < b for a, b in spans):
                return "busy"
        mine = self.items(staff, skip)
        day = datetime.fromtimestamp(start + OFFSET, UTC).date()
        week = day.isocalendar()[:2]
        same_day = [b for b in mine if b.day == day]
        same_week = [b for b in mine if b.day.isocalendar()[:2] == week]
        day_cap, week_cap = STAFF_LIMITS.get(staff, (None, None))
        if (day_cap is not None and len(same_day) >= day_cap) or (
            week_cap is not None and len(same_week) >= week_cap
        ):
            return "limit_reached"
        if (s.per_day is not None and sum(b.service == service for b in same_day) >= s.per_day) or (
            s.per_week is not None and sum(b.service == service for b in same_week) >= s.per_week
        ):
            return "limit_reached"
        length = 60 * (s.before + s.minutes + s.after)
        seats = 0
        overlap = {"held": False, "booked": False}
        for b in mine:
            kind = "held" if b.is_hold else "booked"
            if s.capacity > 1 and b.service == service:
                if b.start == start:
                    seats += 1
                elif abs(b.start - start) < length:
                    overlap[kind] = True
            else:
                b_lo, b_hi = b.held
                if b_lo < hi and lo < b_hi:
                    overlap[kind] = True
        if seats >= s.capacity:
            return "full"
        if overlap["held"]:
            return "held"
        return "booked" if overlap["booked"] else None

    def predict(
        self, service: str, staff: str | None, day: date, start: int, skip: str | None = None
    ) -> tuple[str | None, str | None]:
        """(staff chosen, None) or (None, refusal reason)."""
        candidates = [staff] if staff else list(SERVICES[service].staff)
        first_reason = None
        grid_miss = "outside_hours"
        best: tuple[int, int, str] | None = None
        for order, member in enumerate(candidates):
            fit = self.fit(service, member, day, start)
            if fit != "slot":
                grid_miss = "off_grid" if fit == "off_grid" else grid_miss
                continue
            why = self.reason(service, member, start, skip)
            if why is not None:
                first_reason = first_reason or why
                continue
            load = sum(1 for b in self.items(member, skip) if b.day == day)
            if best is None or (load, order) < best[:2]:
                best = (load, order, member)
        if best is not None:
            return best[2], None
        return None, first_reason or grid_miss

    # -- rules -------------------------------------------------------------------------------

    bookings = Bundle("bookings")
    hold_ids = Bundle("holds")

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
        near=bookings | hold_ids,
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
        """Aim (repeatedly) at an existing booking's or hold's time: `booked`, `held`, `full`."""
        other = self.model.get(near) or self.holds[near]
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
        listed = self.engine.slots(BOOK_SITE, service, day)
        for slot in listed:  # every listed reason is the model's
            expected = self.reason(service, slot.staff_id, int(slot.start.timestamp()))
            assert slot.reason == expected, (slot, expected)
        free = [s for s in listed if s.available]
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
        code = None
        if target_status == b.status:
            pass
        elif target_status not in LEGAL[b.status]:
            code = "invalid_transition"
        elif target_status in ("completed", "no_show"):
            code = None if now >= b.start else "invalid_transition"
        elif target_status == "confirmed" or b.status == "confirmed":
            code = None if now < b.end else "invalid_transition"
        cutoff = SERVICES[b.service].cutoff
        if (
            code is None
            and (b.status, target_status) == ("confirmed", "cancelled")
            and cutoff is not None
            and now > b.start - 60 * cutoff
        ):
            code = "too_late"
        try:
            got = self.engine.set_status(BOOK_SITE, booking_id, target_status)
        except BookingError as exc:
            assert exc.code == code, (exc, b, target_status, now)
            if code == "invalid_transition":
                assert (exc.details["from"], exc.details["to"]) == (b.status, target_status)
            else:
                deadline = datetime.fromisoformat(exc.details["deadline"]).timestamp()
                assert deadline == b.start - 60 * (cutoff or 0)
            event(f"status change refused: {code}")
            return
        event(f"status change to {target_status} succeeded")
        assert code is None, (b, target_status, now)
        assert got.status == target_status
        if b.status != target_status:
            b.version += 1
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

    # -- reschedule ----------------------------------------------------------------------------

    @rule(
        booking_id=bookings,
        delta=st.sampled_from([0, -15, 15, -30, 30, 60, 24 * 60]),
        named=st.booleans(),
        pick=st.integers(0, 2),
        override=st.booleans(),
    )
    def reschedule_by(
        self, booking_id: str, delta: int, named: bool, pick: int, override: bool
    ) -> None:
        """Move a booking by a little (often inside its own span) or a day."""
        b = self.model[booking_id]
        start = b.start + 60 * delta
        day = datetime.fromtimestamp(start + OFFSET, UTC).date()
        self.move(b, day, start, named, pick, override)

    @rule(
        booking_id=bookings,
        day=st.sampled_from(FOCUS) | st.sampled_from(DAYS),
        minute=st.integers(36, 72).map(lambda q: 15 * q) | st.integers(0, 1439),
        named=st.booleans(),
        pick=st.integers(0, 2),
    )
    def reschedule_to(
        self, booking_id: str, day: date, minute: int, named: bool, pick: int
    ) -> None:
        self.move(self.model[booking_id], day, local_ts(day, minute), named, pick, False)

    def move(
        self, b: ModelBooking, day: date, start: int, named: bool, pick: int, override: bool
    ) -> None:
        offering = SERVICES[b.service].staff
        target = offering[pick % len(offering)] if named else b.staff
        now = self.now()
        cutoff = SERVICES[b.service].cutoff
        code: str | None = None
        reason: str | None = None
        if b.status not in ("pending", "confirmed"):
            code = "invalid_transition"
        elif start == b.start and target == b.staff:
            code = "no-op"
        elif not override and cutoff is not None and now > b.start - 60 * cutoff:
            code = "too_late"
        else:
            _staff, reason = self.predict(b.service, target, day, start, skip=b.id)
            code = "slot_unavailable" if reason else None
        try:
            got = self.engine.reschedule(
                BOOK_SITE,
                b.id,
                date=day,
                start_time=datetime.fromtimestamp(start, UTC),
                staff_id=target if named else None,
                override_cutoff=override,
            )
        except BookingError as exc:
            assert exc.code == code, (exc, b, start, target, now)
            if code == "slot_unavailable":
                assert exc.details["reason"] == reason
            if code == "invalid_transition":
                assert exc.details["to"] == "rescheduled"
            event(f"reschedule refused: {reason or code}")
            return
        assert code in (None, "no-op"), (code, reason, b, start, target)
        event(f"reschedule {'no-op' if code else 'succeeded'}")
        assert (got.staff_id, got.start_ts, got.status) == (target, start, b.status)
        if code is None:
            b.version += 1
            b.staff, b.start, b.day = target, start, day

    # -- holds -----------------------------------------------------------------------------

    @rule(
        target=hold_ids,
        service=st.sampled_from(sorted(SERVICES)),
        named=st.booleans(),
        pick=st.integers(0, 2),
        day=st.sampled_from(FOCUS),
        minute=st.integers(36, 72).map(lambda q: 15 * q) | st.integers(4, 16).map(lambda q: 15 * q),
        ttl=st.sampled_from([1, 5, 10, 60, 24 * 60]),
    )
    def hold(
        self, service: str, named: bool, pick: int, day: date, minute: int, ttl: int
    ) -> object:
        offering = SERVICES[service].staff
        staff = offering[pick % len(offering)] if named else None
        return self.take_hold(service, staff, day, local_ts(day, minute), ttl)

    @rule(target=hold_ids, near=bookings | hold_ids, ttl=st.sampled_from([1, 10, 60]))
    def hold_near(self, near: str, ttl: int) -> object:
        """A hold aimed at an existing booking's or hold's own time and service."""
        other = self.model.get(near) or self.holds[near]
        return self.take_hold(other.service, None, other.day, other.start, ttl)

    def take_hold(self, service: str, staff: str | None, day: date, start: int, ttl: int) -> object:
        expected_staff, expected_reason = self.predict(service, staff, day, start)
        try:
            made = self.engine.hold(
                BOOK_SITE,
                service_id=service,
                date=day,
                start_time=datetime.fromtimestamp(start, UTC),
                staff_id=staff,
                ttl=timedelta(minutes=ttl),
            )
        except BookingError as exc:
            assert exc.code == "slot_unavailable", exc
            assert (None, exc.details["reason"]) == (expected_staff, expected_reason)
            event(f"hold refused: {expected_reason}")
            return multiple()
        now = self.now()
        assert (made.staff_id, None) == (expected_staff, expected_reason)
        assert (made.start_ts, made.expires_ts) == (start, now + 60 * ttl)
        # Taking a hold forgets holds that expired over a day ago.
        for gone in [h.id for h in self.holds.values() if (h.expires or 0) < now - 86_400]:
            self.holds[gone].state = "forgotten"
        self.holds[made.id] = ModelBooking(
            made.id, service, made.staff_id, start, day, "held", expires=now + 60 * ttl,
            is_hold=True,
        )  # fmt: skip
        event("hold taken")
        return made.id

    @rule(hold_id=hold_ids)
    def release(self, hold_id: str) -> None:
        h = self.holds[hold_id]
        try:
            self.engine.release_hold(BOOK_SITE, hold_id)
        except BookingError as exc:
            assert (exc.code, h.state) == ("not_found", "forgotten"), exc
            return
        assert h.state != "forgotten"
        if h.state == "active":
            h.state = "released"
        event("hold released")

    @rule(target=bookings, hold_id=hold_ids, named=st.booleans())
    def convert(self, hold_id: str, named: bool) -> object:
        h = self.holds[hold_id]
        now = self.now()
        reason = None
        if h.state == "forgotten":
            code = "not_found"
        elif h.state != "active" or now >= (h.expires or 0):
            code = "hold_expired"
        else:
            _staff, reason = self.predict(h.service, h.staff, h.day, h.start, skip=h.id)
            code = "slot_unavailable" if reason else None
        try:
            made = self.engine.create_booking(
                BOOK_SITE,
                service_id=h.service,
                date=h.day,
                start_time=datetime.fromtimestamp(h.start, UTC),
                customer=GOOD_CUSTOMER,
                staff_id=h.staff if named else None,
                hold_id=hold_id,
            )
        except BookingError as exc:
            assert exc.code == code, (exc, h, now)
            if reason:
                assert exc.details["reason"] == reason
            event(f"conversion refused: {reason or code}")
            return multiple()
        assert code is None, (code, reason, h, now)
        assert (made.staff_id, made.start_ts) == (h.staff, h.start)
        h.state = "used"
        self.model[made.id] = ModelBooking(
            made.id, h.service, made.staff_id, h.start, h.day, made.status
        )
        event("hold converted")
        return made.id

    # -- busy time -----------------------------------------------------------------------------

    @rule(
        staff=st.sampled_from(["ann", "ben", "cat"]),
        source=st.sampled_from(BUSY_SOURCES),
        spans=st.lists(
            st.tuples(
                st.sampled_from(FOCUS),
                st.integers(32, 72).map(lambda q: 15 * q),
                st.sampled_from([15, 30, 45, 120]),
            ),
            max_size=3,
        ),
    )
    def set_busy(self, staff: str, source: str, spans: list[tuple[date, int, int]]) -> None:
        raw = sorted((local_ts(d, m), local_ts(d, m) + 60 * length) for d, m, length in spans)
        merged: list[tuple[int, int]] = []
        for lo, hi in raw:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        stored = self.engine.set_busy(
            BOOK_SITE,
            staff,
            source,
            [(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)) for a, b in raw],
        )
        assert [(int(a.timestamp()), int(b.timestamp())) for a, b in stored] == merged
        if merged:
            self.busy[(staff, source)] = merged
        else:
            self.busy.pop((staff, source), None)
        event("busy time set")

    # -- invariants -----------------------------------------------------------------------------

    def stored_items(self) -> list[Item]:
        """Time-holding bookings and live holds, as the store has them."""
        rows = self.engine.list_bookings(BOOK_SITE, limit=100).items
        items: list[Item] = [
            (b.id, b.staff_id, b.service_id, b.start_ts, b.end_ts, b.date)
            for b in rows
            if b.status.holds_time
        ]
        taken = self.store.taken_between(
            BOOK_SITE, local_ts(DAYS[0], -1440), local_ts(DAYS[-1], 2880), ["ann", "ben", "cat"]
        )
        now = self.now()
        items += [
            (h.id, h.staff_id, h.service_id, h.start_ts, h.end_ts, h.date)
            for h in taken.holds
            if now < h.expires_ts
        ]
        return items

    @invariant()
    def held_time_never_overlaps_beyond_capacity(self) -> None:
        rows = self.engine.list_bookings(BOOK_SITE, limit=100).items
        assert held_conflicts(self.catalog, rows) == []
        assert item_conflicts(self.stored_items()) == []

    @invariant()
    def every_limit_holds(self) -> None:
        assert limit_breaches(self.stored_items()) == []

    @invariant()
    def the_store_holds_the_models_bookings_and_holds(self) -> None:
        for b in self.model.values():
            stored = self.engine.get_booking(BOOK_SITE, b.id)
            assert (stored.status, stored.staff_id, stored.start_ts, stored.version) == (
                b.status,
                b.staff,
                b.start,
                b.version,
            )
        for h in self.holds.values():
            if h.state != "forgotten":
                assert self.engine.get_hold(BOOK_SITE, h.id).state == h.state

    @invariant()
    def busy_time_is_what_was_set(self) -> None:
        for staff in ("ann", "ben", "cat"):
            expected = sorted(
                span for (who, _), spans in self.busy.items() if who == staff for span in spans
            )
            got = self.engine.busy(BOOK_SITE, staff)
            assert [(int(a.timestamp()), int(b.timestamp())) for a, b in got] == expected

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
    """One schema for every example (emptied before each), so 200 examples cost little more
    than their steps; it is dropped when the test process exits."""

    shared: tuple[StoreSpec, Store] | None = None

    def make_store(self) -> Store:
        if PostgresBookingMachine.shared is None:
            spec = new_spec("postgres", Path("."))
            PostgresBookingMachine.shared = (spec, open_store(spec))
            atexit.register(drop_postgres_schema, spec)
        spec, store = PostgresBookingMachine.shared
        import psycopg

        with psycopg.connect(spec.location, autocommit=True) as conn:
            conn.execute(
                f'TRUNCATE "{spec.schema}".idempotency_keys, "{spec.schema}".bookings, '
                f'"{spec.schema}".holds, "{spec.schema}".busy'
            )
        return store

    def teardown(self) -> None:
        pass  # the shared store stays open for the next example


# At least 200 examples per store; the step counts keep the CI cost down (PostgreSQL's
# invariants are many round trips a step).
_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}

TestMemoryStoreAgainstModel = MemoryBookingMachine.TestCase
TestMemoryStoreAgainstModel.settings = settings(
    max_examples=200, stateful_step_count=30, **_SETTINGS
)
TestSQLiteStoreAgainstModel = SQLiteBookingMachine.TestCase
TestSQLiteStoreAgainstModel.settings = settings(
    max_examples=200, stateful_step_count=20, **_SETTINGS
)
TestPostgresStoreAgainstModel = pytest.mark.postgres(
    pytest.mark.skipif(POSTGRES_URL is None, reason=POSTGRES_SKIP)(PostgresBookingMachine.TestCase)
)
TestPostgresStoreAgainstModel.settings = settings(
    max_examples=200, stateful_step_count=10, **_SETTINGS
)
