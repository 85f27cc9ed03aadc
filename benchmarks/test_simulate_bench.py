"""Rules-lab benchmarks (pytest-benchmark): what replaying a demand costs.

* `month`: `simulate` on a month of synthetic demand (100 staff, 2,000 requests a day,
  about 52,000 requests on 26 open dates) - the target is under a minute;
* `day-simulate` vs `day-create_booking`: one day's requests replayed by `simulate`, and the
  same requests sent straight to `Engine.create_booking` (the floor: no simulator around
  it), each from an empty store; their ratio is the simulator's cost per request against
  one `create_booking` call.

    .venv/bin/pytest benchmarks/test_simulate_bench.py -s

The last test prints seconds, microseconds per request and the ratio.
"""

from __future__ import annotations

from typing import Any

import pytest

from optimo_booking import BookingError, Engine, MemoryStore
from optimo_booking.simulate import CUSTOMER, Report, Request, simulate
from simulate_workload import PER_DAY, STAFF, bench_catalog, month_demand

CATALOG = bench_catalog()
_results: dict[str, float] = {}
_counts: dict[str, int] = {}


@pytest.fixture(scope="module")
def month() -> list[Request]:
    return month_demand(CATALOG)


@pytest.fixture(scope="module")
def day() -> list[Request]:
    return month_demand(CATALOG, days=1)


def _replay_directly(requests: list[Request]) -> int:
    """The same requests through `create_booking` alone; returns how many were booked."""
    clock = _Clock()
    engine = Engine(CATALOG, store=MemoryStore(), clock=clock)
    booked = 0
    for r in requests:
        clock.now = r.at
        try:
            engine.create_booking(
                r.site_id,
                service_id=r.service_id,
                date=r.date,
                start_time=r.start_time or "",
                customer=CUSTOMER,
                staff_id=r.staff_id,
            )
        except BookingError:
            continue
        booked += 1
    return booked


class _Clock:
    def __init__(self) -> None:
        self.now: Any = None

    def __call__(self) -> Any:
        return self.now


def test_month(benchmark: Any, month: list[Request]) -> None:
    report: Report = benchmark.pedantic(simulate, args=(CATALOG, month), rounds=1, iterations=1)
    assert report.requests == len(month) > 25 * PER_DAY * 0.9
    assert report.booked > 0 and len(report.utilization) == STAFF
    _results["month"] = benchmark.stats.stats.min
    _counts["month"] = len(month)


def test_day_simulate(benchmark: Any, day: list[Request]) -> None:
    report: Report = benchmark.pedantic(simulate, args=(CATALOG, day), rounds=3, iterations=1)
    assert report.booked == _replay_directly(day)  # the same outcome as the floor
    _results["day-simulate"] = benchmark.stats.stats.min
    _counts["day"] = len(day)


def test_day_create_booking(benchmark: Any, day: list[Request]) -> None:
    assert all(r.start_time is not None for r in day)  # synthetic requests name a time
    benchmark.pedantic(_replay_directly, args=(day,), rounds=3, iterations=1)
    _results["day-create_booking"] = benchmark.stats.stats.min


def test_print_figures() -> None:
    if len(_results) < 3:
        pytest.skip("run with the benchmarks enabled to see the figures")
    per_request = _results["month"] / _counts["month"] * 1e6
    ratio = _results["day-simulate"] / _results["day-create_booking"]
    print()
    print(f"month: {_counts['month']} requests in {_results['month']:.1f} s "
          f"({per_request:.0f} us a request; target: under 60 s)")  # fmt: skip
    print(f"day: {_counts['day']} requests; simulate / create_booking alone = {ratio:.2f}x")
