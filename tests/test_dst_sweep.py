"""A sweep over every DST transition from 2020 to 2035 in Europe/Berlin, America/New_York,
America/Santiago, Africa/Casablanca, Australia/Lord_Howe, Pacific/Chatham, Asia/Kolkata and
Pacific/Apia: on each transition date (and the days either side) a 09:00-17:00 day with a
30-minute service gives exactly 16 slots starting at local 09:00, 09:30, ... 16:30, and a
01:00-04:00 shift with a 60-minute service and step gives exactly as many slots as whole hours
fit in its elapsed length that day.

Transitions and expected lengths are found independently of the engine: the zone is read from
the `tzdata` package and its UTC offset scanned hour by hour; a wall time is read with
`fold=0`, so a time in a gap moves forward by the gap and an ambiguous one is its first
occurrence.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import LONG_AGO, SITE, make_engine, tz
from optimo_booking import Engine, Slot

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Africa/Casablanca",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Pacific/Apia",
)
SWEEP_START = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
SWEEP_END = int(datetime(2036, 1, 1, tzinfo=UTC).timestamp())
HOUR = 3600
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_STARTS = [time(9 + m // 60, m % 60) for m in range(0, 480, 30)]  # 09:00 ... 16:30


def utc_offset(instant: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(instant, zone).utcoffset()


@functools.cache
def transitions(name: str) -> tuple[int, ...]:
    """UTC seconds of each change of UTC offset in [2020, 2036), scanned hour by hour."""
    zone = tz(name)
    found = []
    before = utc_offset(SWEEP_START, zone)
    for instant in range(SWEEP_START + HOUR, SWEEP_END, HOUR):
        after = utc_offset(instant, zone)
        if after != before:
            lo, hi = instant - HOUR, instant  # the change happens in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if utc_offset(mid, zone) == after else (mid, hi)
            found.append(hi)
            before = after
    return tuple(found)


def wall(day: date, hour: int, zone: ZoneInfo) -> int:
    """UTC seconds of local `hour`:00 on `day`, read with fold=0."""
    return int(datetime.combine(day, time(hour), tzinfo=zone).replace(fold=0).timestamp())


def date_exists(day: date, zone: ZoneInfo) -> bool:
    """Whether some instant has local date `day` (Pacific/Apia skipped 2011-12-30)."""
    return datetime.fromtimestamp(wall(day, 12, zone), zone).date() == day


def shift_hours(day: date, zone: ZoneInfo) -> int:
    """Whole hours in the elapsed length of local 01:00-04:00 on `day`."""
    return (wall(day, 4, zone) - wall(day, 1, zone)) // HOUR


def transition_dates(instant: int, zone: ZoneInfo) -> list[date]:
    """The local dates just before and at a transition, plus the days either side."""
    before = datetime.fromtimestamp(instant - 1, zone).date()
    after = datetime.fromtimestamp(instant, zone).date()
    first, last = min(before, after), max(before, after)
    return [first + timedelta(days=i) for i in range(-1, (last - first).days + 2)]


@functools.cache
def engine(name: str) -> Engine:
    """One catalog per zone: `day` works 09:00-17:00, `night` 01:00-04:00, every day."""
    staff = [
        {"id": "day", "weeklyHours": {d: ["09:00-17:00"] for d in EVERY_DAY}},
        {"id": "night", "weeklyHours": {d: ["01:00-04:00"] for d in EVERY_DAY}},
    ]
    services = [
        {"id": "half-hour", "durationMinutes": 30, "staffIds": ["day"]},
        {"id": "hour", "durationMinutes": 60, "slotStepMinutes": 60, "staffIds": ["night"]},
    ]
    return make_engine(staff=staff, services=services, timezone=name, now=LONG_AGO)


def by_date(slots: list[Slot]) -> dict[date, list[Slot]]:
    found: dict[date, list[Slot]] = {}
    for slot in slots:
        found.setdefault(slot.start.date(), []).append(slot)
    return found


def check_dates(name: str, days: list[date]) -> None:
    zone = tz(name)
    day_slots = by_date(engine(name).slots_between(SITE, "half-hour", days[0], days[-1]))
    night_slots = by_date(engine(name).slots_between(SITE, "hour", days[0], days[-1]))
    for day in days:
        exists = date_exists(day, zone)
        starts = [s.start.timetz().replace(tzinfo=None) for s in day_slots.get(day, [])]
        assert starts == (DAY_STARTS if exists else []), (name, day)
        assert all(s.end.timestamp() - s.start.timestamp() == 1800 for s in day_slots.get(day, []))
        expected = shift_hours(day, zone) if exists else 0
        assert len(night_slots.get(day, [])) == expected, (name, day)


SWEEP = [(name, instant) for name in ZONES for instant in transitions(name)]


@pytest.mark.parametrize(
    ("name", "instant"),
    [
        pytest.param(
            name,
            instant,
            id=f"{name}@{datetime.fromtimestamp(instant, UTC):%Y-%m-%dT%H:%MZ}",
        )
        for name, instant in SWEEP
    ],
)
def test_transition_dates_have_the_whole_day_grid_and_the_elapsed_night_shift(
    name: str, instant: int
) -> None:
    check_dates(name, transition_dates(instant, tz(name)))


def test_asia_kolkata_has_no_transitions_and_whole_days() -> None:
    assert transitions("Asia/Kolkata") == ()
    for day in (date(2020, 3, 29), date(2026, 10, 25), date(2035, 11, 4)):
        check_dates("Asia/Kolkata", [day])
        assert shift_hours(day, tz("Asia/Kolkata")) == 3


def test_every_zone_but_kolkata_has_transitions_in_the_sweep() -> None:
    assert {n: bool(transitions(n)) for n in ZONES} == {n: n != "Asia/Kolkata" for n in ZONES}


def test_berlin_and_new_york_change_twice_a_year() -> None:
    assert (len(transitions("Europe/Berlin")), len(transitions("America/New_York"))) == (32, 32)


def test_apia_stopped_observing_dst_in_2021() -> None:
    assert [datetime.fromtimestamp(i, UTC).year for i in transitions("Pacific/Apia")] == [
        2020,
        2020,
        2021,
    ]


def test_the_sweep_meets_a_shift_that_loses_and_one_that_gains_time() -> None:
    lengths = {
        shift_hours(day, tz(name))
        for name, instant in SWEEP
        for day in transition_dates(instant, tz(name))
    }
    assert {2, 3, 4} <= lengths
