"""What holds, busy time and limits cost the slot path, measured in the same run as the plain
workload (100 staff x 5 bookings per weekday x 31 days, see `slot_workload.py`).

Staff with a live hold, a busy span or a limit are judged slot by slot by
`StaffAvailability.reason` instead of the index-range marking, so these cases show the price
of that per-slot path against the plain one:

    .venv/bin/pytest benchmarks/test_operations_bench.py --benchmark-only \\
        --benchmark-columns=min,median,rounds
"""

from __future__ import annotations

from typing import Any

import pytest

from optimo_booking import generate_slots, load_catalog
from optimo_booking.values import BusyTime, HeldTime
from slot_workload import NOW, SERVICE_ID, SITE_ID, catalog_data, wall_instant, workload

STAFF, BOOKINGS, DAYS = 100, 5, 31


@pytest.fixture(scope="module")
def case() -> Any:
    return workload(STAFF, BOOKINGS, DAYS)


def _holds(w: Any) -> list[HeldTime]:
    """One live 30-minute hold per staff member, on the first day at 16:30."""
    start = wall_instant(w.first, 16 * 60 + 30)
    expires = int(NOW.timestamp()) + 3600
    return [
        HeldTime(
            id=f"hd_{staff}",
            service_id=SERVICE_ID,
            staff_id=staff,
            start_ts=start,
            end_ts=start + 1800,
            date=w.first,
            expires_ts=expires,
        )
        for staff in w.site.staff
    ]


def _busy(w: Any) -> list[BusyTime]:
    """One busy hour per staff member, on the last day (a Wednesday) at 16:00."""
    start = wall_instant(w.last, 16 * 60)
    return [BusyTime(staff_id=s, start_ts=start, end_ts=start + 3600) for s in w.site.staff]


def test_plain(benchmark: Any, case: Any) -> None:
    got = benchmark(generate_slots, case.site, case.service, case.first, case.bookings, NOW,
                    last_day=case.last)  # fmt: skip
    assert got


def test_a_hold_per_staff_member(benchmark: Any, case: Any) -> None:
    holds = _holds(case)
    got = benchmark(generate_slots, case.site, case.service, case.first, case.bookings, NOW,
                    last_day=case.last, holds=holds)  # fmt: skip
    assert sum(s.reason == "held" for s in got) == STAFF


def test_busy_time_per_staff_member(benchmark: Any, case: Any) -> None:
    busy = _busy(case)
    got = benchmark(generate_slots, case.site, case.service, case.first, case.bookings, NOW,
                    last_day=case.last, busy=busy)  # fmt: skip
    assert any(s.reason == "busy" for s in got)


def test_a_weekly_limit_per_staff_member(benchmark: Any, case: Any) -> None:
    raw = catalog_data(STAFF)
    for member in raw["sites"][0]["staff"]:
        member["limits"] = {"perWeek": 40}
    site = load_catalog(raw).site(SITE_ID)
    got = benchmark(generate_slots, site, site.service(SERVICE_ID), case.first, case.bookings,
                    NOW, last_day=case.last)  # fmt: skip
    assert len(got) == len(generate_slots(case.site, case.service, case.first, case.bookings,
                                          NOW, last_day=case.last))  # fmt: skip
