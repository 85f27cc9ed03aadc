"""The fast slot path gives exactly what the plain per-slot construction gives, byte for byte.

`generate_slots` shares one grid (and its local datetimes) among staff with the same rules,
marks bookings as index ranges and builds `Slot` values without re-checking them. The
reference below does it the slow, obvious way: every staff member's own expansion, one
`StaffAvailability.reason` per candidate, `datetime.fromtimestamp` per instant and the
validating `Slot(...)`, then a sort by (start, staff id, branch). Both answers are compared
field by field, `fold` and the zone object included, so no difference can hide.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimo_booking import Booking, Slot, generate_slots, load_catalog
from optimo_booking import testing as obt
from optimo_booking.catalog import Service, Site
from optimo_booking.localtime import day_start, to_instant
from optimo_booking.schedule import working_time
from optimo_booking.slots import StaffAvailability, branch_choice, slot_grid, staff_offering

PROPERTY = settings(max_examples=100, deadline=None)


def reference_slots(
    site: Site,
    service: Service,
    first: date,
    last: date,
    bookings: list[Booking],
    now: datetime,
    *,
    staff_id: str | None = None,
    branch_id: str | None = None,
) -> list[Slot]:
    """The per-slot construction, staff member by staff member."""
    now_ts = to_instant(now)
    branches = branch_choice(service, branch_id)
    rows: list[tuple[int, str, str, Slot]] = []
    for member in staff_offering(site, service, staff_id=staff_id, branch_id=branch_id):
        tz = member.zone
        lo, hi = day_start(first, tz), day_start(last + timedelta(days=1), tz)
        if lo >= hi:
            continue
        mine = [b for b in bookings if b.staff_id == member.id]
        reason = StaffAvailability.build(site, service, member, mine, now_ts).reason
        working = working_time(member, first, last)
        for branch, periods in working.periods.items():
            if branches is not None and branch not in branches:
                continue
            for period in periods:
                origin = working.grid_origin(period)
                for start in slot_grid(period, origin, service.step, service.duration, lo, hi):
                    why = reason(start)
                    slot = Slot(
                        start=datetime.fromtimestamp(start, tz),
                        end=datetime.fromtimestamp(start + service.duration, tz),
                        staff_id=member.id,
                        available=why is None,
                        reason=why,
                        branch_id=branch,
                    )
                    rows.append((start, member.id, branch or "", slot))
    rows.sort(key=lambda row: row[:3])
    return [row[3] for row in rows]


def with_twins(raw: dict[str, Any], twins: int) -> dict[str, Any]:
    """The catalog with `twins` copies of each staff member: same rules, other ids, no time off.

    Twins share their original's grid, so the shared-grid path meets staff whose bookings and
    time off differ.
    """
    raw = copy.deepcopy(raw)
    site = raw["sites"][0]
    originals = list(site["staff"])
    for n in range(1, twins + 1):
        for member in originals:
            twin = dict(member, id=f"twin-{n}-{member['id']}")
            if n % 2:
                twin.pop("timeOff", None)
            site["staff"].append(twin)
    for service in site["services"]:
        if service.get("staffIds"):
            service["staffIds"] = [
                sid
                for original in service["staffIds"]
                for sid in [original, *(f"twin-{n}-{original}" for n in range(1, twins + 1))]
            ]
    return raw


@st.composite
def shared_grid_cases(
    draw: st.DrawFn, twins: tuple[int, int] = (0, 2)
) -> tuple[Site, date, date, datetime, list[Booking]]:
    scenario = draw(obt.scenarios())
    raw = with_twins(scenario.catalog, draw(st.integers(*twins)))
    site = load_catalog(raw).site("site")
    first = scenario.day - timedelta(days=draw(st.integers(0, 1)))
    last = scenario.day + timedelta(days=draw(st.integers(0, 2)))
    drawn = draw(obt.bookings(site, scenario.day, scenario.now))
    return site, first, last, scenario.now, drawn


def exact(moment: datetime) -> tuple[Any, ...]:
    """Every field of an aware datetime, `fold` and the zone object itself included."""
    return (*moment.timetuple()[:6], moment.microsecond, moment.fold, id(moment.tzinfo))


def pickled(slots: list[Slot]) -> list[tuple[Any, ...]]:
    """Each slot field by field (zones read from a file cannot be pickled, so not pickle)."""
    return [
        (
            type(slot),
            exact(slot.start),
            exact(slot.end),
            slot.staff_id,
            slot.available,
            slot.reason,
            slot.branch_id,
        )
        for slot in slots
    ]


@PROPERTY
@given(shared_grid_cases(), st.data())
def test_fast_path_equals_per_slot_construction(
    case: tuple[Site, date, date, datetime, list[Booking]], data: st.DataObject
) -> None:
    site, first, last, now, bookings = case
    for service in site.services.values():
        got = generate_slots(site, service, first, bookings, now, last_day=last)
        want = reference_slots(site, service, first, last, bookings, now)
        assert pickled(got) == pickled(want)
    service = data.draw(st.sampled_from(list(site.services.values())))
    staff_id = data.draw(st.sampled_from([None, *site.staff]))
    branch_id = data.draw(st.sampled_from([None, *site.branches]))
    got = generate_slots(
        site, service, first, bookings, now, last_day=last, staff_id=staff_id, branch_id=branch_id
    )
    want = reference_slots(
        site, service, first, last, bookings, now, staff_id=staff_id, branch_id=branch_id
    )
    assert pickled(got) == pickled(want)


@settings(max_examples=30, deadline=None)
@given(shared_grid_cases(twins=(4, 5)))
def test_wide_shared_grids_merge_like_per_slot_construction(
    case: tuple[Site, date, date, datetime, list[Booking]],
) -> None:
    """Five or six staff on each grid: the runs are merged block by block (`heapq.merge`)."""
    site, first, last, now, bookings = case
    for service in site.services.values():
        got = generate_slots(site, service, first, bookings, now, last_day=last)
        want = reference_slots(site, service, first, last, bookings, now)
        assert pickled(got) == pickled(want)


def test_staff_with_equal_rules_share_their_datetimes() -> None:
    """Shared grids hand out the same datetime objects, which is what keeps them cheap."""
    raw = with_twins(
        {
            "sites": [
                {
                    "id": "site",
                    "timezone": "Europe/Berlin",
                    "services": [{"id": "cut", "durationMinutes": 30}],
                    "staff": [{"id": "a", "weeklyHours": {"mon": ["09:00-12:00"]}}],
                }
            ]
        },
        2,
    )
    site = load_catalog(raw).site("site")
    now = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    slots = generate_slots(site, "cut", date(2026, 3, 2), [], now)
    assert len(slots) == 18
    by_start: dict[datetime, set[int]] = {}
    for slot in slots:
        by_start.setdefault(slot.start, set()).add(id(slot.start))
    assert all(len(ids) == 1 for ids in by_start.values())


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            {
                "start": datetime.fromisoformat("2026-03-02T09:00:00"),
                "end": datetime.fromisoformat("2026-03-02T09:30:00"),
            },
            "aware",
        ),
        (
            {
                "start": datetime.fromisoformat("2026-03-02T09:30:00+01:00"),
                "end": datetime.fromisoformat("2026-03-02T09:00:00+01:00"),
            },
            "not after",
        ),
        (
            {
                "start": datetime.fromisoformat("2026-03-02T09:00:00+01:00"),
                "end": datetime.fromisoformat("2026-03-02T09:00:00+01:00"),
            },
            "not after",
        ),
    ],
)
def test_a_slot_built_by_a_user_still_refuses_naive_or_inverted_spans(
    value: dict[str, datetime], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Slot(**value, staff_id="a", available=True)


def test_a_slot_built_by_a_user_still_refuses_a_reason_that_contradicts_available() -> None:
    start = datetime.fromisoformat("2026-03-02T09:00:00+01:00")
    end = datetime.fromisoformat("2026-03-02T09:30:00+01:00")
    with pytest.raises(ValueError, match="reason"):
        Slot(start=start, end=end, staff_id="a", available=False)
    with pytest.raises(ValueError, match="reason"):
        Slot(start=start, end=end, staff_id="a", available=True, reason="booked")


def test_rule_sets_are_equal_exactly_when_the_rules_are() -> None:
    from optimo_booking.schedule import rule_set_id

    weekly = {"mon": ["09:00-12:00"]}
    site = load_catalog(
        {
            "sites": [
                {
                    "id": "site",
                    "timezone": "Europe/Berlin",
                    "services": [{"id": "cut", "durationMinutes": 30}],
                    "staff": [
                        {"id": "a", "weeklyHours": weekly},
                        {
                            "id": "b",
                            "weeklyHours": weekly,
                            "timeOff": [
                                {
                                    "start": "2026-03-02T09:00:00+01:00",
                                    "end": "2026-03-03T00:00:00+01:00",
                                }
                            ],
                        },
                        {"id": "c", "weeklyHours": weekly, "breaks": {"mon": ["10:00-10:30"]}},
                        {"id": "d", "weeklyHours": weekly, "dateOverrides": {"2026-03-02": []}},
                        {"id": "e", "weeklyHours": weekly, "timezone": "Europe/Paris"},
                        {"id": "f", "weeklyHours": {"mon": ["09:00-12:30"]}},
                    ],
                }
            ]
        }
    ).site("site")
    ids = {sid: rule_set_id(member) for sid, member in site.staff.items()}
    assert ids["a"] == ids["b"]  # time off never moves the grid
    assert len({ids[s] for s in "acdef"}) == 5
    assert rule_set_id(site.staff["a"]) == ids["a"]  # stable for the same value
