"""Booking benchmarks on a SQLite file (pytest-benchmark).

* creation rate: `Engine.create_booking` on a file with `synchronous=FULL` and `NORMAL`
  (one IMMEDIATE transaction, with its fsync, per booking);
* the store's checkpoint discipline (checkpoints only under its own held write lock, see
  docs/stores.md) against SQLite's automatic checkpoints, 1,000 bookings each;
* `Engine.slots` for one day on a store holding 1,000 vs 100,000 bookings, the day asked
  holding the same 100 bookings in each and the rest spread over the year's other days, plus
  100,000 rows of which 99,000 belong to another site (the index keeps them out).

    .venv/bin/pytest benchmarks/test_booking_bench.py -s

The last test prints bookings/second, the discipline / automatic throughput ratio and the
100k / 1k ratio of the slot query.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from optimo_booking import Engine, SQLiteStore, load_catalog
from optimo_booking.localtime import zone

SITE = "bench"
OTHER_SITE = "elsewhere"
STAFF = [f"s{n:02d}" for n in range(10)]
ZONE = "Europe/Berlin"
TZ = zone(ZONE)
OPEN, CLOSE = 8 * 60, 18 * 60  # every day, every staff member
QUARTERS = (CLOSE - OPEN) // 15  # 40 quarter-hour slots a day each
FIRST_DAY = date(2026, 1, 1)
YEAR = 365
NOW = datetime(2025, 12, 1, tzinfo=UTC)  # before every booking: nothing is "past"
QUERY_DAY = date(2026, 7, 15)

CATALOG = load_catalog(
    {
        "sites": [
            {
                "id": SITE,
                "timezone": ZONE,
                "services": [{"id": "trim", "durationMinutes": 15}],
                "staff": [
                    {
                        "id": s,
                        "weeklyHours": {
                            d: ["08:00-18:00"]
                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                        },
                    }
                    for s in STAFF
                ],
            }
        ]
    }
)
RESULTS: dict[str, float] = {}


def _clock() -> datetime:
    return NOW


def _slot_starts() -> Iterator[tuple[date, str, str]]:
    """Every (date, staff, HH:MM) of the year, day by day."""
    for d in range(YEAR):
        day = FIRST_DAY + timedelta(days=d)
        for q in range(QUARTERS):
            minute = OPEN + 15 * q
            for staff in STAFF:
                yield day, staff, f"{minute // 60:02d}:{minute % 60:02d}"


# -- creation rate -------------------------------------------------------------------------------


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_booking_creation_rate(benchmark: Any, tmp_path: Path, synchronous: str) -> None:
    store = SQLiteStore(tmp_path / f"create-{synchronous}.sqlite3", synchronous=synchronous)  # type: ignore[arg-type]
    engine = Engine(CATALOG, store=store, clock=_clock)
    starts = _slot_starts()

    def create_one() -> None:
        day, staff, hhmm = next(starts)
        engine.create_booking(
            SITE,
            service_id="trim",
            date=day,
            start_time=hhmm,
            customer={"name": "Bench", "email": "bench@example.org"},
            staff_id=staff,
        )

    benchmark.pedantic(create_one, rounds=400, iterations=1, warmup_rounds=10)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        rate = 1 / stats.stats.mean
        benchmark.extra_info["bookings_per_second"] = round(rate, 1)
        RESULTS[f"create {synchronous}"] = rate
    store.close()


class _AutoCheckpointStore(SQLiteStore):
    """The store as it was before its checkpoint discipline: SQLite checkpoints on its own."""

    def _open(self) -> sqlite3.Connection:
        conn = super()._open()
        conn.execute("PRAGMA wal_autocheckpoint = 1000")
        return conn

    def _checkpoint_if_due(self, conn: sqlite3.Connection) -> None:
        return None


@pytest.mark.parametrize("checkpoints", ["discipline", "sqlite-auto"])
def test_checkpoint_discipline_cost(benchmark: Any, tmp_path: Path, checkpoints: str) -> None:
    kind = SQLiteStore if checkpoints == "discipline" else _AutoCheckpointStore
    store = kind(tmp_path / f"ckpt-{checkpoints}.sqlite3")
    engine = Engine(CATALOG, store=store, clock=_clock)
    starts = _slot_starts()

    def create_one() -> None:
        day, staff, hhmm = next(starts)
        engine.create_booking(
            SITE, service_id="trim", date=day, start_time=hhmm,
            customer={"name": "Bench"}, staff_id=staff,
        )  # fmt: skip

    benchmark.pedantic(create_one, rounds=1000, iterations=1, warmup_rounds=10)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        RESULTS[f"checkpoints {checkpoints}"] = 1 / stats.stats.mean
    store.close()


def test_checkpoint_discipline_interleaved(tmp_path: Path) -> None:
    """Both stores in alternating blocks of 100 creates, so machine load hits both alike."""
    import statistics
    import time

    engines = {
        "discipline": Engine(CATALOG, store=SQLiteStore(tmp_path / "i-d.sqlite3"), clock=_clock),
        "sqlite-auto": Engine(
            CATALOG, store=_AutoCheckpointStore(tmp_path / "i-a.sqlite3"), clock=_clock
        ),
    }
    starts = {name: _slot_starts() for name in engines}
    blocks: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(10):
        for name, engine in engines.items():
            began = time.perf_counter()
            for _ in range(100):
                day, staff, hhmm = next(starts[name])
                engine.create_booking(
                    SITE, service_id="trim", date=day, start_time=hhmm,
                    customer={"name": "Bench"}, staff_id=staff,
                )  # fmt: skip
            blocks[name].append(time.perf_counter() - began)
    for name, engine in engines.items():
        RESULTS[f"interleaved {name}"] = statistics.median(blocks[name])
        engine.store.close()  # type: ignore[attr-defined]


# -- slots for one day against the store's size ----------------------------------------------------


DAY_BOOKINGS = 100  # bookings on QUERY_DAY: the very same ones in every store


def _rows(count: int, *, site_share: float = 1.0, seed: int = 7) -> list[tuple[Any, ...]]:
    """`count` non-overlapping confirmed bookings over the year, rows as the store writes them.

    `DAY_BOOKINGS` of them lie on `QUERY_DAY` and are the same whatever `count` is; the
    others are spread over the year's other days. A fraction `1 - site_share` of all of them
    belong to another site (never those of `QUERY_DAY`).
    """
    per_day = QUARTERS * len(STAFF)
    query_index = (QUERY_DAY - FIRST_DAY).days
    on_day = random.Random(1).sample(range(per_day), DAY_BOOKINGS)
    others = random.Random(seed).sample(range((YEAR - 1) * per_day), count - DAY_BOOKINGS)
    cells = [query_index * per_day + c for c in on_day] + [
        c + per_day if c // per_day >= query_index else c for c in others
    ]
    ours = int(count * site_share)
    customer = json.dumps({"name": "Bench", "email": "bench@example.org"})
    stamp = NOW.isoformat()
    rows = []
    for n, pick in enumerate(cells):
        d, rest = divmod(pick, per_day)
        q, s = divmod(rest, len(STAFF))
        day = FIRST_DAY + timedelta(days=d)
        minute = OPEN + 15 * q
        start = int(
            datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ).timestamp()
        )
        rows.append(
            (
                f"bk_{n:020x}",
                SITE if n < ours else OTHER_SITE,
                "trim",
                STAFF[s],
                None,
                "confirmed",
                start,
                start + 900,
                ZONE,
                day.isoformat(),
                customer,
                None,
                stamp,
                stamp,
            )
        )
    return rows


def _filled_store(path: Path, rows: list[tuple[Any, ...]]) -> SQLiteStore:
    SQLiteStore(path).close()  # creates the schema
    with sqlite3.connect(path) as conn:
        conn.executemany(f"INSERT INTO bookings VALUES ({', '.join('?' * 14)})", rows)
    return SQLiteStore(path)


STORE_SIZES = {
    "1k": {"count": 1_000},
    "100k": {"count": 100_000},
    "100k-99k-elsewhere": {"count": 100_000, "site_share": 0.01},
}


@pytest.fixture(scope="module", params=list(STORE_SIZES))
def sized_engine(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("slots") / f"{request.param}.sqlite3"
    store = _filled_store(path, _rows(**STORE_SIZES[request.param]))
    yield Engine(CATALOG, store=store, clock=_clock)
    store.close()


def test_slots_for_one_day(benchmark: Any, sized_engine: Engine) -> None:
    size = Path(sized_engine.store.path).stem  # type: ignore[attr-defined]
    slots = benchmark(sized_engine.slots, SITE, "trim", QUERY_DAY)
    assert len(slots) == QUARTERS * len(STAFF)
    booked = sum(not s.available for s in slots)
    assert booked == DAY_BOOKINGS  # the same day in every store: only the rest differs
    benchmark.extra_info["bookings_on_the_day"] = booked
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        RESULTS[f"slots {size}"] = stats.stats.median
        RESULTS[f"slots-min {size}"] = stats.stats.min
        RESULTS[f"booked {size}"] = booked


def test_window_fetch_for_one_day(benchmark: Any, sized_engine: Engine) -> None:
    """The store's share of `slots`: the rows of the padded window, as `Booking` values."""
    size = Path(sized_engine.store.path).stem  # type: ignore[attr-defined]
    site = sized_engine.catalog.site(SITE)
    staff = [site.staff[s] for s in STAFF]
    lo, hi = sized_engine._window(site, staff, QUERY_DAY, QUERY_DAY)
    rows = benchmark(sized_engine.store.bookings_starting_between, SITE, lo, hi, set(STAFF))
    benchmark.extra_info["rows"] = len(rows)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        RESULTS[f"fetch {size}"] = stats.stats.median
        RESULTS[f"rows {size}"] = len(rows)


def test_report() -> None:
    """Print the figures (run with -s); nothing to assert about a machine's speed."""
    lines = []
    for mode in ("FULL", "NORMAL"):
        if f"create {mode}" in RESULTS:
            lines.append(f"create_booking, synchronous={mode}: {RESULTS[f'create {mode}']:.0f}/s")
    if "checkpoints discipline" in RESULTS and "checkpoints sqlite-auto" in RESULTS:
        ours, auto = RESULTS["checkpoints discipline"], RESULTS["checkpoints sqlite-auto"]
        lines.append(
            f"checkpoint discipline {ours:.0f}/s vs SQLite's automatic {auto:.0f}/s: "
            f"{ours / auto:.2f}x the throughput (mean)"
        )
    if "interleaved discipline" in RESULTS:
        ours, auto = RESULTS["interleaved discipline"], RESULTS["interleaved sqlite-auto"]
        lines.append(
            f"interleaved blocks of 100 creates: discipline {ours * 1e3:.0f} ms, automatic "
            f"{auto * 1e3:.0f} ms median: {auto / ours:.2f}x the throughput"
        )
    for size in STORE_SIZES:
        if f"slots {size}" in RESULTS:
            lines.append(
                f"slots for one day, {size} store: {RESULTS[f'slots {size}'] * 1e3:.2f} ms "
                f"median, {RESULTS[f'slots-min {size}'] * 1e3:.2f} ms min "
                f"({RESULTS[f'booked {size}']:.0f} of {QUARTERS * len(STAFF)} slots booked)"
            )
        if f"fetch {size}" in RESULTS:
            lines.append(
                f"  of which the window fetch: {RESULTS[f'fetch {size}'] * 1e3:.2f} ms "
                f"({RESULTS[f'rows {size}']:.0f} rows)"
            )
    for big, label in (("100k", "100k"), ("100k-99k-elsewhere", "100k (99k on another site)")):
        if "slots 1k" in RESULTS and f"slots {big}" in RESULTS:
            by_median = RESULTS[f"slots {big}"] / RESULTS["slots 1k"]
            by_min = RESULTS[f"slots-min {big}"] / RESULTS["slots-min 1k"]
            lines.append(f"{label} / 1k ratio: {by_median:.2f}x median, {by_min:.2f}x min")
    print("\n" + "\n".join(lines))
