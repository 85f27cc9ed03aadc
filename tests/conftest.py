"""Small builders shared by the one-line-fact tests (import them: `from conftest import ...`)."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from optimo_booking import Booking, Catalog, Engine, MemoryStore, Slot, load_catalog

SITE = "s"
MONDAY = date(2026, 3, 2)  # an ordinary Monday in Berlin (CET, no transition near)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
NINE_TO_FIVE = {"id": "alice", "weeklyHours": {"mon": ["09:00-17:00"]}}
HOUR_SERVICE = {"id": "svc", "durationMinutes": 60}


def tz(name: str) -> ZoneInfo:
    """A zone read straight from the `tzdata` package, independently of the engine."""
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with resource.open("rb") as fh:
        return ZoneInfo.from_file(fh, key=name)


def site_dict(
    *,
    staff: Iterable[dict[str, Any]] = (NINE_TO_FIVE,),
    services: Iterable[dict[str, Any]] = (HOUR_SERVICE,),
    branches: Iterable[dict[str, Any]] = (),
    timezone: str = "Europe/Berlin",
) -> dict[str, Any]:
    """One site `s` as raw catalog data."""
    return {
        "id": SITE,
        "timezone": timezone,
        "branches": list(branches),
        "services": list(services),
        "staff": list(staff),
    }


def make_catalog(**site: Any) -> Catalog:
    """A loaded catalog of one site built by `site_dict`."""
    return load_catalog({"sites": [site_dict(**site)]})


def make_engine(
    *, now: datetime = LONG_AGO, bookings: Iterable[Booking] = (), **site: Any
) -> Engine:
    """An engine over one site, a memory store holding `bookings`, and a fixed clock."""
    store = MemoryStore()
    for b in bookings:
        store.add(b)
    return Engine(make_catalog(**site), store=store, clock=lambda: now)


_ids = iter(range(1, 1_000_000))


def booking(
    start: datetime,
    minutes: int,
    *,
    staff: str = "alice",
    service: str = "svc",
    status: str = "confirmed",
) -> Booking:
    """A stored booking of `minutes` elapsed minutes from aware `start`."""
    end = (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(start.tzinfo)
    return Booking(
        id=f"b{next(_ids)}",
        site_id=SITE,
        service_id=service,
        staff_id=staff,
        branch_id=None,
        status=status,  # type: ignore[arg-type]
        start=start,
        end=end,
        date=start.date(),
        customer={"name": "Test"},
        created_at=LONG_AGO,
        updated_at=LONG_AGO,
    )


def hhmm(slots: Iterable[Slot]) -> list[str]:
    """Local start times of slots as `HH:MM`."""
    return [s.start.strftime("%H:%M") for s in slots]


def iso(slots: Iterable[Slot]) -> list[str]:
    """Slot starts as ISO 8601 with their offset (tells the two 02:30s of a fall-back apart)."""
    return [s.start.isoformat() for s in slots]


def reasons(slots: Iterable[Slot]) -> dict[str, str | None]:
    """`HH:MM` start -> reason (None when available)."""
    return {s.start.strftime("%H:%M"): s.reason for s in slots}


# ===== booking tests (test_lifecycle, test_bookings, test_stateful, test_races, test_crash,
# ===== test_persistence): a fake clock, the two-store `store` fixture, a booking catalog
# ===== and the held-time overlap check. Everything below is used only by those files.

import dataclasses as _dataclasses  # noqa: E402
import os  # noqa: E402
import uuid as _uuid  # noqa: E402
from collections.abc import Callable as _Callable  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from optimo_booking import BookingError, SQLiteStore, Store  # noqa: E402

BERLIN = tz("Europe/Berlin")
BOOK_SITE = "bk"
FAR_SITE = "far"
_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Monday 2 March 2026, 09:20 in Berlin (CET): the booking tests' default "now".
BOOK_NOW = datetime(2026, 3, 2, 9, 20, tzinfo=BERLIN)
BOOK_DAY = date(2026, 3, 9)  # the Monday after: ann, ben and cat all work
GOOD_CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.org"}

BOOKING_CATALOG: dict[str, Any] = {
    "sites": [
        {
            "id": BOOK_SITE,
            "name": "Booking tests",
            "timezone": "Europe/Berlin",
            "branches": [{"id": "north"}, {"id": "south"}],
            "services": [
                # all staff (catalog order ann, ben, cat); 2 h notice, 60 days ahead
                {"id": "cut", "durationMinutes": 30, "slotStepMinutes": 15,
                 "bufferAfterMinutes": 10, "minNoticeMinutes": 120, "maxAdvanceDays": 60},
                # needs confirmation; staffIds order differs from catalog order
                {"id": "color", "durationMinutes": 60, "slotStepMinutes": 30,
                 "bufferBeforeMinutes": 10, "bufferAfterMinutes": 15,
                 "requiresConfirmation": True, "staffIds": ["ben", "ann"]},
                # a group session of three seats
                {"id": "class", "durationMinutes": 60, "capacity": 3, "staffIds": ["cat"]},
                # no notice, no horizon: the workhorse of the race and crash tests
                {"id": "trim", "durationMinutes": 15},
            ],
            "staff": [
                {"id": "ann", "branchId": "north",
                 "weeklyHours": {d: ["09:00-17:00"] for d in _WEEK},
                 "breaks": {d: ["12:00-13:00"] for d in _WEEK[:5]},
                 "timeOff": [{"start": "2026-03-10T00:00:00+01:00",
                              "end": "2026-03-11T00:00:00+01:00"}]},
                {"id": "ben", "branchId": "north",
                 "weeklyHours": {**{d: ["09:00-17:00"] for d in _WEEK[:6]},
                                 "sun": ["01:00-04:00"]}},
                {"id": "cat", "branchId": "south",
                 "weeklyHours": {d: ["10:00-18:00"] for d in _WEEK[:6]}},
            ],
        },
        {
            "id": FAR_SITE,
            "timezone": "America/New_York",
            "branches": [{"id": "tokyo", "timezone": "Asia/Tokyo"}],
            "services": [
                {"id": "late", "durationMinutes": 45, "slotStepMinutes": 15,
                 "bufferBeforeMinutes": 5},
                {"id": "cut", "durationMinutes": 30},
            ],
            "staff": [
                {"id": "dan", "weeklyHours": {d: ["20:00-02:00"] for d in _WEEK}},
                {"id": "eve", "timezone": "Asia/Kolkata",
                 "weeklyHours": {d: ["08:30-12:30"] for d in _WEEK}},
                # no zone of her own: her rules are read in her branch's zone
                {"id": "kai", "branchId": "tokyo",
                 "weeklyHours": {d: ["09:00-12:00"] for d in _WEEK}},
            ],
        },
    ]
}  # fmt: skip


def booking_catalog() -> Catalog:
    """The booking tests' catalog: site `bk` (Berlin: ann, ben, cat) and site `far` (New York:
    dan in New York, eve in Kolkata, kai at the Tokyo branch)."""
    return load_catalog(BOOKING_CATALOG)


class FakeClock:
    """A mutable clock for the engine: returns an aware datetime; `set` and `advance` move it."""

    def __init__(self, now: datetime = BOOK_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (aware)."""
        assert moment.tzinfo is not None
        self.now = moment

    def advance(self, **delta: float) -> None:
        """Move forward by `timedelta(**delta)` of elapsed time."""
        self.now = (self.now.astimezone(UTC) + timedelta(**delta)).astimezone(self.now.tzinfo)


# ----- the three stores: one contract suite runs on each -----

POSTGRES_URL = os.environ.get("OPTIMO_TEST_POSTGRES_URL")
POSTGRES_SKIP = (
    "PostgreSQL tests need a server: set OPTIMO_TEST_POSTGRES_URL, e.g. "
    'eval "$(scripts/pg_test_cluster.sh start /tmp/optimo-pg)" (see the README)'
)
needs_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_URL is None, reason=POSTGRES_SKIP),
]


@_dataclasses.dataclass(frozen=True)
class StoreSpec:
    """Where a test's bookings live: enough to open the same store again, in any process."""

    kind: str  # memory, sqlite or postgres
    location: str = ""  # the SQLite file or the PostgreSQL URL
    schema: str = ""  # PostgreSQL: a schema of the test's own


_MEMORY: dict[StoreSpec, MemoryStore] = {}


def open_store(spec: StoreSpec) -> Store:
    """A store on `spec`'s bookings (a MemoryStore is one object: the same one each time)."""
    if spec.kind == "memory":
        return _MEMORY.setdefault(spec, MemoryStore())
    if spec.kind == "sqlite":
        return SQLiteStore(spec.location)
    from optimo_booking import PostgresStore

    return PostgresStore(spec.location, schema=spec.schema)


def drop_postgres_schema(spec: StoreSpec) -> None:
    """Remove a test's PostgreSQL schema and everything in it."""
    import psycopg

    with psycopg.connect(spec.location, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{spec.schema}" CASCADE')


def new_spec(kind: str, tmp_path: Path) -> StoreSpec:
    """A fresh, empty place of `kind` for one test."""
    if kind == "postgres":
        assert POSTGRES_URL is not None
        return StoreSpec("postgres", POSTGRES_URL, f"t_{_uuid.uuid4().hex[:16]}")
    if kind == "sqlite":
        return StoreSpec("sqlite", str(tmp_path / "b.sqlite3"))
    return StoreSpec("memory", str(_uuid.uuid4()))


def _spec_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    spec = new_spec(request.param, tmp_path)
    yield spec
    _MEMORY.pop(spec, None)
    if spec.kind == "postgres":
        drop_postgres_schema(spec)


STORE_KINDS = [
    pytest.param("memory"),
    pytest.param("sqlite"),
    pytest.param("postgres", marks=needs_postgres),
]
SHARED_KINDS = STORE_KINDS[1:]  # stores several engines or processes can open at once


@pytest.fixture(params=STORE_KINDS)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    """A fresh place for bookings in each of the three stores."""
    yield from _spec_fixture(request, tmp_path)


@pytest.fixture(params=SHARED_KINDS)
def shared_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    """A fresh place for bookings in each store that several processes can share."""
    yield from _spec_fixture(request, tmp_path)


@pytest.fixture
def store(store_spec: StoreSpec) -> Iterator[Store]:
    """Every store test runs on the three stores: memory, a fresh SQLite file, and a fresh
    PostgreSQL schema."""
    made = open_store(store_spec)
    yield made
    made.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Under CI, a skipped PostgreSQL test fails the run: CI must start a server."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and item.get_closest_marker("postgres"):
        why = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"a PostgreSQL test was skipped under CI: {why}"


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at `BOOK_NOW`."""
    return FakeClock()


@pytest.fixture
def engine(store: Store, clock: FakeClock) -> Engine:
    """An engine over the booking catalog, on `store`, reading `clock`."""
    return Engine(booking_catalog(), store=store, clock=clock)


def refused(code: str, call: _Callable[..., Any], *args: Any, **kwargs: Any) -> BookingError:
    """Call, expect a `BookingError` with `code`, and return it."""
    with pytest.raises(BookingError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, repr(info.value)
    return info.value


def all_bookings(engine: Engine, site_id: str = BOOK_SITE) -> list[Booking]:
    """Every booking of the site, walked through the list pages."""
    rows: list[Booking] = []
    cursor = None
    while True:
        page = engine.list_bookings(site_id, limit=100, cursor=cursor)
        rows.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return rows


def held_span(catalog: Catalog, b: Booking) -> tuple[int, int]:
    """`[start - bufferBefore, end + bufferAfter)` of a booking, in UTC seconds."""
    service = catalog.site(b.site_id).services[b.service_id]
    return b.start_ts - service.buffer_before, b.end_ts + service.buffer_after


def held_conflicts(catalog: Catalog, bookings: Iterable[Booking]) -> list[tuple[str, str]]:
    """Pairs of bookings holding time that overlap for one staff member beyond capacity.

    Two bookings may overlap only as seats of one group session (same service, staff and
    start, capacity > 1); a session may not have more bookings than its capacity.
    """
    held = [b for b in bookings if b.status.holds_time]
    bad: list[tuple[str, str]] = []
    seats: dict[tuple[str, str, str, int], list[str]] = {}
    for b in held:
        seats.setdefault((b.site_id, b.staff_id, b.service_id, b.start_ts), []).append(b.id)
    for (site_id, _staff, service_id, _start), ids in seats.items():
        capacity = catalog.site(site_id).services[service_id].capacity
        if len(ids) > capacity:
            bad.append((ids[0], ids[capacity]))
    by_staff: dict[tuple[str, str], list[Booking]] = {}
    for b in held:
        by_staff.setdefault((b.site_id, b.staff_id), []).append(b)
    for rows in by_staff.values():
        rows.sort(key=lambda b: held_span(catalog, b))
        for i, a in enumerate(rows):
            a_hi = held_span(catalog, a)[1]
            for b in rows[i + 1 :]:
                b_lo = held_span(catalog, b)[0]
                if b_lo >= a_hi:
                    break
                capacity = catalog.site(a.site_id).services[a.service_id].capacity
                same_session = (
                    a.service_id == b.service_id and a.start_ts == b.start_ts and capacity > 1
                )
                if not same_session:
                    bad.append((a.id, b.id))
    return bad


def replace_booking(b: Booking, **changes: Any) -> Booking:
    """A copy of a booking with some fields changed."""
    return _dataclasses.replace(b, **changes)
