"""Slot-generation benchmarks: `generate_slots` against what it must beat.

Every case of staff x bookings per working day x days is measured five ways in one run:
`ours`, `baseline` (only building the same `Slot` values), `naive` (each candidate against
every booking), `portion` (a busy interval set, `overlaps` per candidate) and `slotify`
(slotify-scheduling's `AvailabilityEngine`). Each benchmark also checks that its answer
agrees with ours, so the times compare the same job. See README.md for how to run them.
"""

from __future__ import annotations

import gc
import itertools
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

import slot_workload as sw
from optimo_booking import Slot

CASES = [
    pytest.param(staff, bookings, days, id=f"{staff}staff-{bookings}bk-{days}d")
    for staff in sw.STAFF_COUNTS
    for bookings in sw.BOOKINGS_PER_DAY
    for days in sw.DAY_COUNTS
]

# Rounds are chosen so one implementation spends about a second on a case: about this
# many slots are built over all rounds of one benchmark (times the implementation's weight).
# (`OPTIMO_BENCH_SLOT_BUDGET` raises it for steadier minimums on a busy machine.)
SLOT_ROUNDS_BUDGET = int(os.environ.get("OPTIMO_BENCH_SLOT_BUDGET", "200000"))
MIN_ROUNDS, MAX_ROUNDS = 2, 100
FRESH_HEAP_ROUNDS = 10  # at most this many rounds: collect the heap before each
# Slotify checks each candidate against its whole store several times over: about this many
# seconds per (candidate, booking) pair, measured on the 2-core development machine.
SLOTIFY_SECONDS_PER_PAIR = 7e-6
SLOTIFY_MAX_SECONDS = float(os.environ.get("OPTIMO_BENCH_SLOTIFY_MAX_SECONDS", "40"))

_cache: dict[tuple[int, int, int], tuple[sw.Workload, list[Slot]]] = {}


def case(staff: int, bookings: int, days: int) -> tuple[sw.Workload, list[Slot]]:
    """The workload of one case and our answer for it; only the latest case is kept alive."""
    key = (staff, bookings, days)
    if key not in _cache:
        _cache.clear()
        gc.collect()
        w = sw.workload(staff, bookings, days)
        _cache[key] = (w, sw.ours(w)())
    return _cache[key]


def working_days(days: int) -> int:
    """Mon-fri dates among the first `days` dates of the window."""
    return sum(
        1
        for d in sw.dates(sw.FIRST_DAY, sw.FIRST_DAY + (days - 1) * sw.ONE_DAY)
        if d.weekday() in sw.WORKDAYS
    )


def _fresh_heap() -> None:
    gc.collect()


def measure(benchmark: Any, run: Callable[[], Any], rounds: int, w: sw.Workload) -> Any:
    """Time `run` for `rounds` rounds (plus one warm-up when cheap) and return its answer.

    Long rounds (few of them) each start from a collected heap, so a full collection left
    over from the previous round is not charged to the next; short rounds share one
    collection up front, since collecting before each would cost far more than the rounds.
    """
    benchmark.group = f"{w.staff}staff-{w.bookings_per_day}bk-{w.days}d"
    rounds = max(1, min(MAX_ROUNDS, rounds))
    gc.collect()
    return benchmark.pedantic(
        run,
        setup=_fresh_heap if rounds <= FRESH_HEAP_ROUNDS else None,
        rounds=rounds,
        warmup_rounds=1 if rounds > 2 else 0,
    )


def rounds_for(answer: list[Slot], weight: float = 1.0) -> int:
    """Rounds for an implementation `weight` times as slow per slot as ours."""
    return max(MIN_ROUNDS, int(SLOT_ROUNDS_BUDGET / (max(len(answer), 1) * weight)))


def flags(slots: list[Slot]) -> list[tuple[float, float, str, bool, str | None]]:
    """What must agree between implementations: span (as instants), staff, availability, reason.

    Instants, because two datetimes in one zone compare by wall time and ignore `fold`.
    """
    return [
        (s.start.timestamp(), s.end.timestamp(), s.staff_id, s.available, s.reason) for s in slots
    ]


def note(benchmark: Any, w: sw.Workload, answer: list[Slot]) -> None:
    benchmark.extra_info.update(
        slots=len(answer),
        available=sum(s.available for s in answer),
        bookings=len(w.bookings),
    )


@pytest.mark.parametrize(("staff", "bookings", "days"), CASES)
def test_ours(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """`generate_slots` for every staff member over the whole window."""
    w, answer = case(staff, bookings, days)
    got = measure(benchmark, sw.ours(w), rounds_for(answer), w)
    note(benchmark, w, got)
    assert flags(got) == flags(answer)


def floor_flags(
    rows: list[tuple[str, datetime, datetime, bool, str | None]],
) -> list[tuple[float, float, str, bool, str | None]]:
    """`flags` of the floor's tuples."""
    return [(a.timestamp(), b.timestamp(), sid, ok, why) for sid, a, b, ok, why in rows]


@pytest.mark.parametrize(("staff", "bookings", "days"), CASES)
def test_floor(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """The answer floor: only the values of each slot, as tuples (see `slot_workload.floor`)."""
    w, answer = case(staff, bookings, days)
    got = measure(benchmark, sw.floor(w, answer), rounds_for(answer), w)
    benchmark.extra_info.update(slots=len(got), bookings=len(w.bookings))
    assert floor_flags(got) == floor_flags(sw.floor_rows(answer))


@pytest.mark.parametrize(("staff", "bookings", "days"), CASES)
def test_engine(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """`Engine.slots_between` over a `MemoryStore` holding the bookings (the whole call)."""
    w, answer = case(staff, bookings, days)
    got = measure(benchmark, sw.with_engine(w), rounds_for(answer), w)
    note(benchmark, w, got)
    assert flags(got) == flags(answer)


@pytest.mark.parametrize(("staff", "bookings", "days"), CASES)
def test_baseline(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """(a) Building as many validated `Slot(...)` values as ours returns, nothing else."""
    w, answer = case(staff, bookings, days)
    got = measure(benchmark, sw.baseline(w, answer), rounds_for(answer), w)
    note(benchmark, w, got)
    assert flags(got) == flags(answer)


@pytest.mark.parametrize(("staff", "bookings", "days"), CASES)
def test_naive(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """(b) Each candidate checked against every booking of its staff member."""
    w, answer = case(staff, bookings, days)
    got = measure(benchmark, sw.naive(w), rounds_for(answer, 1 + bookings / 10), w)
    note(benchmark, w, got)
    assert flags(got) == flags(answer)


@pytest.mark.parametrize(("staff", "bookings", "days"), CASES)
def test_portion(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """(c1) A `portion` busy set per staff member, `overlaps` per candidate."""
    pytest.importorskip("portion", reason="benchmark-only extra: pip install -e '.[bench]'")
    w, answer = case(staff, bookings, days)
    got = measure(benchmark, sw.with_portion(w), rounds_for(answer, 5 + bookings), w)
    note(benchmark, w, got)
    assert flags(got) == flags(answer)


@pytest.mark.parametrize(("staff", "bookings", "days"), CASES)
def test_slotify(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """(c2) slotify-scheduling's `AvailabilityEngine.available_slots`, one engine per staff."""
    pytest.importorskip("slotify", reason="benchmark-only extra: pip install -e '.[bench]'")
    candidates = staff * working_days(days) * sw.SLOTS_PER_DAY
    estimate = candidates * (bookings * working_days(days) + 10) * SLOTIFY_SECONDS_PER_PAIR
    if estimate > SLOTIFY_MAX_SECONDS:
        pytest.skip(
            f"slotify would take about {estimate:.0f} s a round here "
            f"(over OPTIMO_BENCH_SLOTIFY_MAX_SECONDS={SLOTIFY_MAX_SECONDS:.0f})"
        )
    w, answer = case(staff, bookings, days)
    run = sw.with_slotify(w)
    got = measure(benchmark, run, int(3.0 / estimate), w)
    benchmark.extra_info.update(
        slots=candidates, available=len(got), bookings=len(w.bookings), lists="available only"
    )
    assert sw.slotify_starts(got) == [
        (int(s.start.timestamp()), s.staff_id) for s in answer if s.available
    ]


# -- the target ratio, measured side by side ---------------------------------------------

TARGETS = [pytest.param(100, b, d, id=f"100staff-{b}bk-{d}d") for b in (5, 20) for d in (7, 31)]
PAIRED_ROUNDS = int(os.environ.get("OPTIMO_BENCH_PAIRED_ROUNDS", "60"))


def paired(
    benchmark: Any, runs: dict[str, Callable[[], Any]], rounds: int
) -> dict[str, list[float]]:
    """Time each of `runs` once per round, one right after the other, from a collected heap.

    A busy machine then slows both sides of a ratio alike: the median of the per-round
    ratios stays put where separate minimums drift.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}

    def one_round() -> None:
        for name, run in runs.items():
            gc.collect()
            began = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - began)

    benchmark.pedantic(one_round, rounds=rounds, warmup_rounds=1)
    for name in runs:
        if len(times[name]) > rounds:
            del times[name][0]  # the warm-up round (none under --benchmark-disable)
    return times


def ratio_info(times: dict[str, list[float]], top: str, bottom: str) -> dict[str, float]:
    """`top / bottom`: by the two minimums, and the median of the per-round ratios."""
    per_round = sorted(a / b for a, b in zip(times[top], times[bottom], strict=True))
    return {
        f"{top}_min_ms": min(times[top]) * 1e3,
        f"{bottom}_min_ms": min(times[bottom]) * 1e3,
        "ratio_of_minimums": min(times[top]) / min(times[bottom]),
        "median_round_ratio": per_round[len(per_round) // 2],
    }


@pytest.mark.parametrize(("staff", "bookings", "days"), TARGETS)
def test_engine_over_floor(benchmark: Any, staff: int, bookings: int, days: int) -> None:
    """`Engine.slots_between` against the answer floor, the two timed alternately."""
    w, answer = case(staff, bookings, days)
    benchmark.group = f"paired-{staff}staff-{bookings}bk-{days}d"
    runs = {
        "floor": sw.floor(w, answer),
        "engine": sw.with_engine(w),
        "generate": sw.ours(w),
        "store": sw.window_read(w),
    }
    times = paired(benchmark, runs, PAIRED_ROUNDS)
    benchmark.extra_info.update(
        slots=len(answer),
        **ratio_info(times, "engine", "floor"),
        generate_over_floor=ratio_info(times, "generate", "floor")["median_round_ratio"],
        store_min_ms=min(times["store"]) * 1e3,
    )


# -- plain checks: the competing implementations answer the same question as ours ---------

SMALL = [pytest.param(3, b, 7, id=f"3staff-{b}bk-7d") for b in sw.BOOKINGS_PER_DAY]


@pytest.mark.parametrize(("staff", "bookings", "days"), SMALL)
def test_naive_agrees_with_ours(staff: int, bookings: int, days: int) -> None:
    w = sw.workload(staff, bookings, days)
    assert flags(sw.naive(w)()) == flags(sw.ours(w)())


@pytest.mark.parametrize(("staff", "bookings", "days"), SMALL)
def test_portion_agrees_with_ours(staff: int, bookings: int, days: int) -> None:
    pytest.importorskip("portion", reason="benchmark-only extra: pip install -e '.[bench]'")
    w = sw.workload(staff, bookings, days)
    assert flags(sw.with_portion(w)()) == flags(sw.ours(w)())


@pytest.mark.parametrize(("staff", "bookings", "days"), SMALL)
def test_slotify_agrees_with_ours(staff: int, bookings: int, days: int) -> None:
    pytest.importorskip("slotify", reason="benchmark-only extra: pip install -e '.[bench]'")
    w = sw.workload(staff, bookings, days)
    ours = sw.ours(w)()
    assert sw.slotify_starts(sw.with_slotify(w)()) == [
        (int(s.start.timestamp()), s.staff_id) for s in ours if s.available
    ]


def test_bookings_are_spread_and_never_overlap() -> None:
    """The workload itself: the asked-for count per working day, none overlapping."""
    w = sw.workload(2, 20, 7)
    assert len(w.bookings) == 2 * 5 * 20
    by_staff: dict[str, list[tuple[int, int]]] = {}
    for b in w.bookings:
        by_staff.setdefault(b.staff_id, []).append((b.start_ts, b.end_ts))
    for spans in by_staff.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
