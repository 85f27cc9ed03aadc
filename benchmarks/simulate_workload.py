"""The rules-lab benchmark workload: a salon of 100 staff and a month of synthetic demand."""

from __future__ import annotations

from datetime import date
from typing import Any

from optimo_booking import Catalog, load_catalog
from optimo_booking.simulate import Request, synthetic_demand

STAFF = 100
PER_DAY = 2000
DAYS = 30
SEED = 1
FIRST_DATE = date(2026, 3, 2)  # a Monday; the month holds the 2026-03-29 DST change
_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat")


def catalog_data(staff: int = STAFF) -> dict[str, Any]:
    """One Berlin site: `staff` people working mon-sat 09:00-18:00 with a lunch break, and
    three services everyone offers (a 30-minute cut on a 15-minute grid with a 10-minute
    buffer, a 60-minute colour on a 30-minute grid, a 45-minute treatment)."""
    return {
        "sites": [
            {
                "id": "bench",
                "timezone": "Europe/Berlin",
                "services": [
                    {"id": "cut", "durationMinutes": 30, "slotStepMinutes": 15,
                     "bufferAfterMinutes": 10, "minNoticeMinutes": 60},
                    {"id": "colour", "durationMinutes": 60, "slotStepMinutes": 30,
                     "bufferBeforeMinutes": 5, "bufferAfterMinutes": 10},
                    {"id": "treatment", "durationMinutes": 45, "slotStepMinutes": 15},
                ],
                "staff": [
                    {"id": f"s{i:03d}",
                     "weeklyHours": {d: ["09:00-18:00"] for d in _WEEK},
                     "breaks": {d: ["12:30-13:15"] for d in _WEEK}}
                    for i in range(staff)
                ],
            }
        ]
    }  # fmt: skip


def bench_catalog(staff: int = STAFF, assignment: str | None = None) -> Catalog:
    """The workload's catalog, every service with `assignment` when given."""
    data = catalog_data(staff)
    if assignment is not None:
        for service in data["sites"][0]["services"]:
            service["assignment"] = assignment
    return load_catalog(data)


def month_demand(catalog: Catalog, days: int = DAYS, per_day: float = PER_DAY) -> list[Request]:
    """`per_day` requests a day (Poisson) for `days` dates from `FIRST_DATE`, seed `SEED`."""
    return synthetic_demand(catalog, per_day=per_day, days=days, seed=SEED, first_date=FIRST_DATE)
