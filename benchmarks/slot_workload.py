"""The slot-generation workload and the implementations it is measured against.

One site in Europe/Berlin, a 30-minute service on a 30-minute grid and `staff` people who
work mon-fri 09:00-17:00. Bookings are 15-minute appointments of another service, placed on
quarter hours by a seeded random generator, so 20 a day still fit without overlapping and
half of them block two candidate slots. Every implementation returns the same `Slot` values
in the same order (start, then staff id), so only the way conflicts are found differs.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from optimo_booking import (
    Booking,
    Engine,
    MemoryStore,
    Slot,
    Status,
    generate_slots,
    load_catalog,
)
from optimo_booking.catalog import Service, Site

SITE_ID = "bench"
SERVICE_ID = "cut"  # the service whose slots are listed
BOOKED_SERVICE_ID = "quick"  # the service the existing bookings are for
ZONE_NAME = "Europe/Berlin"
TZ = ZoneInfo(ZONE_NAME)
DAY_START_MINUTE, DAY_END_MINUTE = 9 * 60, 17 * 60
WORKDAYS = (0, 1, 2, 3, 4)  # mon..fri
BOOKING_MINUTES = 15
SLOTS_PER_DAY = (DAY_END_MINUTE - DAY_START_MINUTE) // 30  # candidates of the listed service
ONE_DAY = timedelta(days=1)
FIRST_DAY = date(2027, 3, 1)  # a Monday; 31 days reach past the 2027-03-28 DST change
NOW = datetime(2027, 2, 1, tzinfo=UTC)  # before every slot, so none is "past"
SEED = 20270301

STAFF_COUNTS = (1, 10, 100)
BOOKINGS_PER_DAY = (0, 5, 20)
DAY_COUNTS = (1, 7, 31)
TARGET = {"staff": 100, "bookings": 5, "days": 31}

SlotFunction = Callable[[], list[Any]]


@dataclass(frozen=True, slots=True)
class Workload:
    """One case of the grid: the catalog, the dates and the existing bookings."""

    staff: int
    bookings_per_day: int
    days: int
    site: Site
    service: Service
    first: date
    last: date
    bookings: tuple[Booking, ...]

    @property
    def staff_ids(self) -> list[str]:
        """Staff ids in catalog order (which is also id order)."""
        return list(self.site.staff)


def catalog_data(staff: int) -> dict[str, Any]:
    """The catalog as the dict a user would hand to `load_catalog`."""
    hours = [f"{DAY_START_MINUTE // 60:02d}:00-{DAY_END_MINUTE // 60:02d}:00"]
    weekly = {day: list(hours) for day in ("mon", "tue", "wed", "thu", "fri")}
    return {
        "sites": [
            {
                "id": SITE_ID,
                "timezone": ZONE_NAME,
                "services": [
                    {
                        "id": SERVICE_ID,
                        "name": "Haircut",
                        "durationMinutes": 30,
                        "slotStepMinutes": 30,
                    },
                    {
                        "id": BOOKED_SERVICE_ID,
                        "name": "Beard trim",
                        "durationMinutes": BOOKING_MINUTES,
                        "slotStepMinutes": BOOKING_MINUTES,
                    },
                ],
                "staff": [
                    {"id": staff_id(i), "name": f"Staff {i}", "weeklyHours": weekly}
                    for i in range(staff)
                ],
            }
        ]
    }


def staff_id(index: int) -> str:
    """Zero-padded, so catalog order and id order agree."""
    return f"s{index:03d}"


def dates(first: date, last: date) -> Iterator[date]:
    """Every local date from `first` to `last`, both included."""
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def wall_instant(day: date, minute: int) -> int:
    """UTC seconds of `minute` after local midnight of `day` in the site's zone."""
    return int(
        datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ).timestamp()
    )


def make_bookings(
    staff_ids: list[str], bookings_per_day: int, first: date, last: date
) -> tuple[Booking, ...]:
    """`bookings_per_day` confirmed 15-minute bookings per staff member and working day."""
    rng = random.Random(SEED)
    quarters = (DAY_END_MINUTE - DAY_START_MINUTE) // BOOKING_MINUTES
    made: list[Booking] = []
    for sid in staff_ids:
        for day in dates(first, last):
            if day.weekday() not in WORKDAYS:
                continue
            for quarter in sorted(rng.sample(range(quarters), bookings_per_day)):
                start = wall_instant(day, DAY_START_MINUTE + quarter * BOOKING_MINUTES)
                made.append(
                    Booking(
                        id=f"b{len(made)}",
                        site_id=SITE_ID,
                        service_id=BOOKED_SERVICE_ID,
                        staff_id=sid,
                        branch_id=None,
                        status=Status.CONFIRMED,
                        start=datetime.fromtimestamp(start, TZ),
                        end=datetime.fromtimestamp(start + BOOKING_MINUTES * 60, TZ),
                        date=day,
                        customer={"name": "Bench"},
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
    rng.shuffle(made)  # a store need not hand them over in order
    return tuple(made)


def workload(staff: int, bookings_per_day: int, days: int) -> Workload:
    """Build one case; deterministic for given arguments."""
    site = load_catalog(catalog_data(staff)).site(SITE_ID)
    first = FIRST_DAY
    last = first + timedelta(days=days - 1)
    ids = list(site.staff)
    return Workload(
        staff=staff,
        bookings_per_day=bookings_per_day,
        days=days,
        site=site,
        service=site.service(SERVICE_ID),
        first=first,
        last=last,
        bookings=make_bookings(ids, bookings_per_day, first, last),
    )


# -- ours --------------------------------------------------------------------------------


def ours(w: Workload) -> SlotFunction:
    """`generate_slots`, the pure function under test."""
    site, service, first, last, bookings = w.site, w.service, w.first, w.last, w.bookings

    def run() -> list[Slot]:
        return generate_slots(site, service, first, bookings, NOW, last_day=last)

    return run


def engine_of(w: Workload, *, api_key_sha256: str | None = None) -> Engine:
    """An engine over the workload's catalog, its bookings in a `MemoryStore`, clock at NOW."""
    data = catalog_data(w.staff)
    if api_key_sha256 is not None:
        data["sites"][0]["apiKeys"] = [{"id": "bench", "sha256": api_key_sha256}]
    store = MemoryStore()
    for b in w.bookings:
        store.add(b)
    return Engine(load_catalog(data), store=store, clock=lambda: NOW)


def with_engine(w: Workload) -> SlotFunction:
    """`Engine.slots_between`: the store's window read plus `generate_slots`."""
    engine = engine_of(w)
    first, last = w.first, w.last

    def run() -> list[Slot]:
        return engine.slots_between(SITE_ID, SERVICE_ID, first, last)

    return run


def window_read(w: Workload) -> Callable[[], list[Any]]:
    """Only the store read inside `Engine.slots_between`: the bookings of the padded window."""
    engine = engine_of(w)
    site = engine.catalog.site(SITE_ID)
    staff = list(site.staff.values())
    lo, hi = engine._window(site, staff, w.first, w.last)
    ids = {s.id for s in staff}

    def run() -> list[Any]:
        return engine.store.bookings_starting_between(SITE_ID, lo, hi, ids)

    return run


# -- the answer floor: only the values of the answer ------------------------------------


def floor(w: Workload, answer: list[Slot]) -> SlotFunction:
    """Per slot, only its values: staff id, start and end as aware datetimes, available, reason.

    Built as plain tuples from precomputed integer starts, in the answer's order: no rules
    read, nothing decided, nothing ordered. Whatever a slot listing returns, it costs at least
    this much to hand out its slots (`floor_rows` turns ours into the same tuples).
    """
    rows = [
        (int(s.start.timestamp()), int(s.end.timestamp()), s.staff_id, s.available, s.reason)
        for s in answer
    ]
    fromtimestamp = datetime.fromtimestamp
    tz = TZ

    def run() -> list[tuple[str, datetime, datetime, bool, str | None]]:
        return [
            (sid, fromtimestamp(start, tz), fromtimestamp(end, tz), available, reason)
            for start, end, sid, available, reason in rows
        ]

    return run


def floor_rows(slots: list[Slot]) -> list[tuple[str, datetime, datetime, bool, str | None]]:
    """Our slots as the floor's tuples, to check that the floor builds the same answer."""
    return [(s.staff_id, s.start, s.end, s.available, s.reason) for s in slots]


# -- (a) baseline: only the object building ----------------------------------------------


def baseline(w: Workload, answer: list[Slot]) -> SlotFunction:
    """Build as many `Slot` values as `answer` holds, from precomputed integer starts.

    This is the cost no implementation returning `Slot` objects can avoid.
    """
    rows = [
        (
            int(s.start.timestamp()),
            int(s.end.timestamp()),
            s.staff_id,
            s.available,
            s.reason,
            s.branch_id,
        )
        for s in answer
    ]
    fromtimestamp = datetime.fromtimestamp
    tz = TZ

    def run() -> list[Slot]:
        return [
            Slot(
                start=fromtimestamp(start, tz),
                end=fromtimestamp(end, tz),
                staff_id=sid,
                available=available,
                reason=reason,
                branch_id=branch,
            )
            for start, end, sid, available, reason, branch in rows
        ]

    return run


# -- the plain grid shared by the naive and portion versions -----------------------------


def candidate_grid(w: Workload) -> Iterator[tuple[str, int, int]]:
    """`(staff_id, start, end)` of every grid candidate, from the weekly hours directly."""
    step, duration = w.service.step, w.service.duration
    for sid in w.staff_ids:
        for day in dates(w.first, w.last):
            if day.weekday() not in WORKDAYS:
                continue
            period_start = wall_instant(day, DAY_START_MINUTE)
            period_end = wall_instant(day, DAY_END_MINUTE)
            for start in range(period_start, period_end - duration + 1, step):
                yield sid, start, start + duration


def held_spans(w: Workload) -> dict[str, list[tuple[int, int]]]:
    """Each staff member's held spans `[start - before, end + after)`, in booking order."""
    services = w.site.services
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for b in w.bookings:
        if b.status is Status.CANCELLED:
            continue
        other = services[b.service_id]
        spans[b.staff_id].append((b.start_ts - other.buffer_before, b.end_ts + other.buffer_after))
    return spans


def to_slots(rows: list[tuple[int, str, int, bool]]) -> list[Slot]:
    """Order `(start, staff_id, end, blocked)` rows like ours and build the `Slot` values."""
    rows.sort(key=lambda row: (row[0], row[1]))
    fromtimestamp = datetime.fromtimestamp
    return [
        Slot(
            start=fromtimestamp(start, TZ),
            end=fromtimestamp(end, TZ),
            staff_id=sid,
            available=not blocked,
            reason="booked" if blocked else None,
        )
        for start, sid, end, blocked in rows
    ]


# -- (b) naive: every candidate against every booking of its staff member ----------------


def naive(w: Workload) -> SlotFunction:
    """The obvious loop: O(candidates x bookings per staff member)."""
    before, after = w.service.buffer_before, w.service.buffer_after

    def run() -> list[Slot]:
        spans = held_spans(w)
        rows = []
        for sid, start, end in candidate_grid(w):
            lo, hi = start - before, end + after
            blocked = False
            for held_start, held_end in spans.get(sid, ()):
                if held_start < hi and lo < held_end:
                    blocked = True
                    break
            rows.append((start, sid, end, blocked))
        return to_slots(rows)

    return run


# -- (c1) portion: a busy set per staff member, `overlaps` per candidate -----------------


def with_portion(w: Workload) -> SlotFunction:
    """What a user of `portion` writes: union the held spans, then ask `overlaps`."""
    import portion

    before, after = w.service.buffer_before, w.service.buffer_after

    def run() -> list[Slot]:
        busy: dict[str, Any] = {}
        for sid, spans in held_spans(w).items():
            interval = portion.empty()
            for held_start, held_end in spans:
                interval |= portion.closedopen(held_start, held_end)
            busy[sid] = interval
        empty = portion.empty()
        rows = []
        for sid, start, end in candidate_grid(w):
            blocked = busy.get(sid, empty).overlaps(portion.closedopen(start - before, end + after))
            rows.append((start, sid, end, blocked))
        return to_slots(rows)

    return run


# -- (c2) slotify-scheduling: one AvailabilityEngine per staff member --------------------


def with_slotify(w: Workload) -> SlotFunction:
    """Slotify's `AvailabilityEngine.available_slots`, one engine and store per staff member.

    The engines and their in-memory stores (holding the existing bookings) are built here,
    outside the timed call, as a user would keep them; per-staff stores are the most
    favourable layout for slotify (a shared store is scanned in full for every candidate).
    The timed call returns `(start_utc, staff_id, slotify.Slot)` of the available slots
    only (as slotify lists them), by start then staff id.
    """
    import slotify

    generator = slotify.SlotGenerator(
        start=f"{DAY_START_MINUTE // 60:02d}:00",
        end=f"{DAY_END_MINUTE // 60:02d}:00",
        duration=w.service.duration_minutes,
        interval=w.service.slot_step_minutes,
        timezone=ZONE_NAME,
        weekdays=WORKDAYS,
    )
    by_staff: dict[str, list[Booking]] = defaultdict(list)
    for b in w.bookings:
        by_staff[b.staff_id].append(b)
    engines = []
    for sid in w.staff_ids:
        store = slotify.InMemoryBookingStore()
        for b in sorted(by_staff[sid], key=lambda b: b.start_ts):
            store.reserve(slotify.Booking(slot=slotify.Slot(b.start, b.end), resource_id=sid))
        engines.append((sid, slotify.AvailabilityEngine(generator, store=store, resource_id=sid)))
    first, last = w.first, w.last

    def run() -> list[tuple[datetime, str, Any]]:
        found = [
            (slot.start_utc, sid, slot)
            for sid, engine in engines
            for slot in engine.available_slots(first, last, now=NOW)
        ]
        found.sort(key=lambda row: (row[0], row[1]))
        return found

    return run


def slotify_starts(rows: list[tuple[datetime, str, Any]]) -> list[tuple[int, str]]:
    """`(UTC seconds, staff_id)` of slotify's available slots, to compare with ours."""
    return [(int(when.timestamp()), sid) for when, sid, _ in rows]
