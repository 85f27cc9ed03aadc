"""Slot generation: the grid, availability reasons and their order, buffers, capacity,
ordering, filters and unknown ids."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from conftest import (
    LONG_AGO,
    MONDAY,
    SITE,
    booking,
    hhmm,
    iso,
    make_catalog,
    make_engine,
    reasons,
    tz,
)
from optimo_booking import BookingError, Status, generate_slots
from optimo_booking.values import Slot

BERLIN = tz("Europe/Berlin")


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """An aware Berlin time in March 2026 (CET); day 2 is MONDAY."""
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def service(**fields: Any) -> dict[str, Any]:
    return {"id": "svc", "durationMinutes": 60, **fields}


def alice(hours: str = "09:00-17:00", **fields: Any) -> dict[str, Any]:
    return {"id": "alice", "weeklyHours": {"mon": [hours]}, **fields}


def monday_slots(*, staff: Any = None, services: Any = None, **engine: Any) -> list[Slot]:
    found = make_engine(staff=staff or [alice()], services=services or [service()], **engine).slots(
        SITE, "svc", MONDAY
    )
    return found


# -- the grid ------------------------------------------------------------------------------


def test_grid_starts_at_the_period_start_and_steps_by_the_step() -> None:
    found = monday_slots(staff=[alice("09:10-11:00")], services=[service(slotStepMinutes=20)])
    assert hhmm(found) == ["09:10", "09:30", "09:50"]


def test_slot_must_end_by_the_period_end() -> None:
    found = monday_slots(
        staff=[alice("09:00-10:00")],
        services=[service(durationMinutes=45, slotStepMinutes=15)],
    )
    assert hhmm(found) == ["09:00", "09:15"]


def test_step_defaults_to_the_duration_on_the_grid() -> None:
    found = monday_slots(staff=[alice("09:00-11:00")], services=[service(durationMinutes=40)])
    assert hhmm(found) == ["09:00", "09:40", "10:20"]


def test_period_shorter_than_the_duration_has_no_slots() -> None:
    assert monday_slots(staff=[alice("09:00-09:50")]) == []


def test_slot_end_is_start_plus_duration() -> None:
    found = monday_slots(services=[service(durationMinutes=25, slotStepMinutes=30)])
    assert {s.end - s.start for s in found} == {timedelta(minutes=25)}


def test_bookings_do_not_move_the_grid() -> None:
    found = monday_slots(bookings=[booking(at(9, 10), 20)])
    assert hhmm(found) == [f"{h:02d}:00" for h in range(9, 17)]
    assert reasons(found)["09:00"] == "booked"


def test_time_off_does_not_move_the_grid() -> None:
    off = [{"start": "2026-03-02T09:00:00+01:00", "end": "2026-03-02T09:20:00+01:00"}]
    found = monday_slots(staff=[alice(timeOff=off)])
    assert hhmm(found)[:2] == ["09:00", "10:00"]
    assert reasons(found)["09:00"] == "time_off"


def test_notice_does_not_move_the_grid() -> None:
    found = monday_slots(services=[service(minNoticeMinutes=30)], now=at(9, 10))
    assert hhmm(found)[:2] == ["09:00", "10:00"]
    assert [s.reason for s in found[:2]] == ["past", None]


def test_unavailable_slots_are_listed_with_available_false() -> None:
    found = monday_slots(bookings=[booking(at(10), 60)])
    assert [(s.available, s.reason) for s in found[:2]] == [(True, None), (False, "booked")]


# -- past, notice and advance limits -------------------------------------------------------


def test_slot_starting_before_now_is_past() -> None:
    assert reasons(monday_slots(now=at(10, 30)))["10:00"] == "past"


def test_slot_starting_at_now_is_available() -> None:
    assert reasons(monday_slots(now=at(10)))["10:00"] is None


def test_slot_inside_min_notice_is_too_soon() -> None:
    found = reasons(monday_slots(services=[service(minNoticeMinutes=120)], now=at(8, 0)))
    assert (found["09:00"], found["10:00"]) == ("too_soon", None)


def test_slot_after_max_advance_days_is_too_far() -> None:
    found = make_engine(services=[service(maxAdvanceDays=7)], now=at(10)).slots(
        SITE, "svc", "2026-03-09"
    )
    assert (reasons(found)["10:00"], reasons(found)["11:00"]) == (None, "too_far")


def test_max_advance_days_is_elapsed_time_from_now_across_a_dst_change() -> None:
    # now is Sat 12:00 CET; one day later in elapsed time is Sun 13:00 CEST.
    staff = [{"id": "alice", "weeklyHours": {"sun": ["09:00-17:00"]}}]
    engine = make_engine(staff=staff, services=[service(maxAdvanceDays=1)], now=at(12, day=28))
    found = reasons(engine.slots(SITE, "svc", "2026-03-29"))
    assert (found["13:00"], found["14:00"]) == (None, "too_far")


def test_max_advance_days_zero_allows_only_now() -> None:
    found = reasons(monday_slots(services=[service(maxAdvanceDays=0)], now=at(10)))
    assert (found["09:00"], found["10:00"], found["11:00"]) == ("past", None, "too_far")


# -- time off ------------------------------------------------------------------------------


def test_slot_overlapping_time_off_is_time_off() -> None:
    off = [{"start": "2026-03-02T12:30:00+01:00", "end": "2026-03-02T14:00:00+01:00"}]
    found = reasons(monday_slots(staff=[alice(timeOff=off)]))
    assert [found[h] for h in ("11:00", "12:00", "13:00", "14:00")] == [
        None,
        "time_off",
        "time_off",
        None,
    ]


def test_time_off_is_absolute_whatever_offset_it_is_written_in() -> None:
    off = [{"start": "2026-03-02T09:00:00-05:00", "end": "2026-03-02T10:00:00-05:00"}]
    found = reasons(monday_slots(staff=[alice(timeOff=off)]))  # 15:00-16:00 in Berlin
    assert [h for h, why in found.items() if why] == ["15:00"]


def test_time_off_ignores_buffers() -> None:
    off = [{"start": "2026-03-02T11:00:00+01:00", "end": "2026-03-02T12:00:00+01:00"}]
    found = reasons(
        monday_slots(
            staff=[alice(timeOff=off)],
            services=[service(bufferBeforeMinutes=30, bufferAfterMinutes=30)],
        )
    )
    assert (found["10:00"], found["11:00"], found["12:00"]) == (None, "time_off", None)


# -- buffers and held spans ----------------------------------------------------------------


def test_back_to_back_bookings_without_buffers_do_not_block() -> None:
    found = reasons(monday_slots(bookings=[booking(at(10), 60)]))
    assert (found["09:00"], found["10:00"], found["11:00"]) == (None, "booked", None)


def test_booking_holds_its_buffer_after() -> None:
    svc = service(slotStepMinutes=15, bufferAfterMinutes=15)
    found = reasons(monday_slots(services=[svc], bookings=[booking(at(10), 60)]))
    assert (found["11:00"], found["11:15"]) == ("booked", None)


def test_booking_holds_its_buffer_before() -> None:
    svc = service(slotStepMinutes=15, bufferBeforeMinutes=15)
    found = reasons(monday_slots(services=[svc], bookings=[booking(at(11), 60)]))
    # 09:45 holds [09:30, 10:45): clear of [10:45, 12:00); 10:00 holds [09:45, 11:00)
    assert (found["09:45"], found["10:00"]) == (None, "booked")


def test_candidate_buffer_before_overlaps_an_earlier_booking() -> None:
    svc = service(slotStepMinutes=15, bufferBeforeMinutes=15)
    found = reasons(monday_slots(services=[svc], bookings=[booking(at(10), 60)]))
    # 11:15 holds [11:00, 12:15), touching the booking's [09:45, 11:00)
    assert (found["11:00"], found["11:15"]) == ("booked", None)


def test_booked_service_buffers_hold_time_for_other_services() -> None:
    services = [service(), {"id": "colour", "durationMinutes": 60, "bufferAfterMinutes": 30}]
    bookings = [booking(at(10), 60, service="colour")]
    found = reasons(monday_slots(services=services, bookings=bookings))
    assert found["11:00"] == "booked"  # colour holds until 11:30


def test_buffers_may_extend_outside_working_hours() -> None:
    svc = service(bufferBeforeMinutes=30, bufferAfterMinutes=30)
    found = monday_slots(services=[svc])
    assert (found[0].start.strftime("%H:%M"), found[0].available) == ("09:00", True)
    assert (found[-1].start.strftime("%H:%M"), found[-1].available) == ("16:00", True)


def test_other_staff_bookings_do_not_block() -> None:
    staff = [alice(), {"id": "bob", "weeklyHours": {"mon": ["09:00-17:00"]}}]
    found = monday_slots(staff=staff, bookings=[booking(at(10), 60, staff="bob")])
    assert {(s.staff_id, s.reason) for s in found if s.start == at(10)} == {
        ("alice", None),
        ("bob", "booked"),
    }


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.CANCELLED])
def test_every_status_but_cancelled_holds_time(status: Status) -> None:
    found = reasons(monday_slots(bookings=[booking(at(10), 60, status=status)]))
    assert found["10:00"] == "booked"


def test_cancelled_booking_does_not_hold_time() -> None:
    found = reasons(monday_slots(bookings=[booking(at(10), 60, status="cancelled")]))
    assert found["10:00"] is None


@pytest.mark.parametrize("status", list(Status))
def test_generate_slots_alone_honours_the_status_rule(status: Status) -> None:
    site = make_catalog(staff=[alice()], services=[service()]).site(SITE)
    found = generate_slots(site, "svc", MONDAY, [booking(at(10), 60, status=status)], LONG_AGO)
    expected = None if status is Status.CANCELLED else "booked"
    assert reasons(found)["10:00"] == expected


# -- capacity ------------------------------------------------------------------------------


def group(capacity: int = 3, **fields: Any) -> list[dict[str, Any]]:
    return [service(capacity=capacity, slotStepMinutes=30, **fields)]


def test_group_session_shares_its_slot_until_the_seats_are_taken() -> None:
    two = [booking(at(10), 60), booking(at(10), 60)]
    assert reasons(monday_slots(services=group(3), bookings=two))["10:00"] is None


def test_group_session_with_every_seat_taken_is_full() -> None:
    three = [booking(at(10), 60) for _ in range(3)]
    assert reasons(monday_slots(services=group(3), bookings=three))["10:00"] == "full"


def test_group_session_at_another_start_blocks_an_overlapping_slot() -> None:
    found = reasons(monday_slots(services=group(3), bookings=[booking(at(10, 30), 60)]))
    assert (found["10:00"], found["10:30"], found["11:00"]) == ("booked", None, "booked")


def test_group_session_clear_of_a_booking_is_available() -> None:
    found = reasons(monday_slots(services=group(3), bookings=[booking(at(10), 60)]))
    assert (found["09:00"], found["11:00"]) == (None, None)


def test_other_service_overlapping_a_group_session_blocks_it() -> None:
    services = [*group(3), {"id": "solo", "durationMinutes": 30}]
    found = reasons(monday_slots(services=services, bookings=[booking(at(10), 30, service="solo")]))
    assert found["10:00"] == "booked"


def test_capacity_one_taken_slot_is_booked_not_full() -> None:
    assert reasons(monday_slots(bookings=[booking(at(10), 60)]))["10:00"] == "booked"


def test_cancelled_seats_do_not_count_toward_capacity() -> None:
    seats = [booking(at(10), 60), booking(at(10), 60, status="cancelled")]
    assert reasons(monday_slots(services=group(2), bookings=seats))["10:00"] is None


# -- reason precedence: past, too_soon, too_far, time_off, full, booked ----------------------

ALL_DAY_OFF = [{"start": "2026-03-01T00:00:00+01:00", "end": "2026-03-04T00:00:00+01:00"}]


def test_past_beats_too_soon() -> None:
    found = monday_slots(services=[service(minNoticeMinutes=600)], now=at(10, 30))
    assert reasons(found)["10:00"] == "past"


def test_past_beats_time_off_and_booked() -> None:
    found = monday_slots(
        staff=[alice(timeOff=ALL_DAY_OFF)], bookings=[booking(at(10), 60)], now=at(12)
    )
    assert reasons(found)["10:00"] == "past"


def test_too_soon_beats_too_far() -> None:
    svc = service(minNoticeMinutes=120, maxAdvanceDays=0)
    assert reasons(monday_slots(services=[svc], now=at(8)))["09:00"] == "too_soon"


def test_too_far_beats_time_off() -> None:
    found = monday_slots(
        staff=[alice(timeOff=ALL_DAY_OFF)], services=[service(maxAdvanceDays=0)], now=at(8)
    )
    assert reasons(found)["09:00"] == "too_far"


def test_time_off_beats_full() -> None:
    three = [booking(at(10), 60) for _ in range(3)]
    found = monday_slots(staff=[alice(timeOff=ALL_DAY_OFF)], services=group(3), bookings=three)
    assert reasons(found)["10:00"] == "time_off"


def test_time_off_beats_booked() -> None:
    found = monday_slots(staff=[alice(timeOff=ALL_DAY_OFF)], bookings=[booking(at(10), 60)])
    assert reasons(found)["10:00"] == "time_off"


def test_full_beats_booked() -> None:
    services = [*group(2), {"id": "solo", "durationMinutes": 60}]
    held = [booking(at(10), 60), booking(at(10), 60), booking(at(10), 60, service="solo")]
    assert reasons(monday_slots(services=services, bookings=held))["10:00"] == "full"


# -- order ---------------------------------------------------------------------------------


def test_slots_are_ordered_by_start_then_staff_id() -> None:
    staff = [alice("10:00-12:00") | {"id": "zoe"}, alice("09:00-11:00") | {"id": "adam"}]
    found = monday_slots(staff=staff)
    assert [(s.start.strftime("%H:%M"), s.staff_id) for s in found] == [
        ("09:00", "adam"),
        ("10:00", "adam"),
        ("10:00", "zoe"),
        ("11:00", "zoe"),
    ]


def test_slots_of_staff_in_different_zones_are_ordered_by_instant() -> None:
    staff = [
        alice("09:00-10:00") | {"id": "berlin"},
        alice("09:00-10:00") | {"id": "london", "timezone": "Europe/London"},
        alice("09:00-10:00") | {"id": "athens", "timezone": "Europe/Athens"},
    ]
    assert [s.staff_id for s in monday_slots(staff=staff)] == ["athens", "berlin", "london"]


def test_slot_is_in_its_staff_members_zone() -> None:
    staff = [alice("09:00-10:00", timezone="Europe/London")]
    assert iso(monday_slots(staff=staff)) == ["2026-03-02T09:00:00+00:00"]


def test_slot_uses_the_branch_zone_when_the_staff_has_none() -> None:
    branches = [{"id": "soho", "timezone": "Europe/London"}]
    staff = [alice("09:00-10:00", branchId="soho")]
    assert iso(monday_slots(staff=staff, branches=branches)) == ["2026-03-02T09:00:00+00:00"]


# -- who offers the service, and branches --------------------------------------------------

TWO_BRANCHES = [{"id": "mitte"}, {"id": "kreuzberg"}]


def test_staff_not_offering_the_service_yield_no_slots() -> None:
    staff = [alice(), alice() | {"id": "bob"}]
    engine = make_engine(staff=staff, services=[service(staffIds=["alice"])])
    assert engine.slots(SITE, "svc", MONDAY, staff_id="bob") == []


def test_service_staff_ids_limit_the_staff_listed() -> None:
    staff = [alice(), alice() | {"id": "bob"}]
    found = monday_slots(staff=staff, services=[service(staffIds=["bob"])])
    assert {s.staff_id for s in found} == {"bob"}


def test_empty_staff_ids_lists_every_staff_member() -> None:
    staff = [alice(), alice() | {"id": "bob"}]
    assert {s.staff_id for s in monday_slots(staff=staff)} == {"alice", "bob"}


def test_staff_filter_keeps_only_that_staff_member() -> None:
    staff = [alice(), alice() | {"id": "bob"}]
    found = make_engine(staff=staff).slots(SITE, "svc", MONDAY, staff_id="bob")
    assert {s.staff_id for s in found} == {"bob"}


def test_staff_not_at_the_requested_branch_yield_no_slots() -> None:
    engine = make_engine(staff=[alice(branchId="mitte")], branches=TWO_BRANCHES)
    assert engine.slots(SITE, "svc", MONDAY, branch_id="kreuzberg") == []
    assert engine.slots(SITE, "svc", MONDAY, staff_id="alice", branch_id="kreuzberg") == []


def test_staff_at_the_requested_branch_yield_slots() -> None:
    engine = make_engine(staff=[alice(branchId="mitte")], branches=TWO_BRANCHES)
    found = engine.slots(SITE, "svc", MONDAY, branch_id="mitte")
    assert {s.branch_id for s in found} == {"mitte"}
    assert len(found) == 8


def test_empty_branch_ids_means_staff_at_every_branch_offer_it() -> None:
    staff = [alice(branchId="mitte"), alice(branchId="kreuzberg") | {"id": "bob"}]
    found = monday_slots(staff=staff, branches=TWO_BRANCHES)
    assert {(s.staff_id, s.branch_id) for s in found} == {("alice", "mitte"), ("bob", "kreuzberg")}


def test_service_branch_ids_exclude_staff_at_other_branches() -> None:
    staff = [alice(branchId="mitte"), alice(branchId="kreuzberg") | {"id": "bob"}]
    found = monday_slots(
        staff=staff, branches=TWO_BRANCHES, services=[service(branchIds=["kreuzberg"])]
    )
    assert {s.staff_id for s in found} == {"bob"}


def test_branch_filter_outside_service_branch_ids_yields_nothing() -> None:
    engine = make_engine(
        staff=[alice(branchId="mitte")],
        branches=TWO_BRANCHES,
        services=[service(branchIds=["kreuzberg"])],
    )
    assert engine.slots(SITE, "svc", MONDAY, branch_id="mitte") == []


SPLIT_WEEK = {
    "id": "alice",
    "branchId": "mitte",
    "weeklyHours": {
        "mon": [
            {"start": "09:00", "end": "11:00", "branchId": "mitte"},
            {"start": "13:00", "end": "15:00", "branchId": "kreuzberg"},
        ]
    },
}


def test_range_branch_is_selected_by_the_branch_filter() -> None:
    engine = make_engine(staff=[SPLIT_WEEK], branches=TWO_BRANCHES)
    assert hhmm(engine.slots(SITE, "svc", MONDAY, branch_id="kreuzberg")) == ["13:00", "14:00"]
    assert hhmm(engine.slots(SITE, "svc", MONDAY, branch_id="mitte")) == ["09:00", "10:00"]


def test_range_branch_is_selected_by_service_branch_ids() -> None:
    services = [service(branchIds=["kreuzberg"])]
    found = monday_slots(staff=[SPLIT_WEEK], branches=TWO_BRANCHES, services=services)
    assert hhmm(found) == ["13:00", "14:00"]


def test_slot_records_the_branch_its_range_is_worked_at() -> None:
    found = monday_slots(staff=[SPLIT_WEEK], branches=TWO_BRANCHES)
    assert [(s.start.strftime("%H:%M"), s.branch_id) for s in found] == [
        ("09:00", "mitte"),
        ("10:00", "mitte"),
        ("13:00", "kreuzberg"),
        ("14:00", "kreuzberg"),
    ]


def test_plain_ranges_are_worked_at_the_staff_members_branch() -> None:
    afternoon = {"start": "13:00", "end": "14:00", "branchId": "kreuzberg"}
    staff = [SPLIT_WEEK | {"weeklyHours": {"mon": ["09:00-10:00", afternoon]}}]
    found = monday_slots(staff=staff, branches=TWO_BRANCHES)
    assert [s.branch_id for s in found] == ["mitte", "kreuzberg"]


def test_ranges_at_different_branches_are_separate_periods() -> None:
    hours = {
        "mon": [
            {"start": "09:00", "end": "10:30", "branchId": "mitte"},
            {"start": "10:30", "end": "12:00", "branchId": "kreuzberg"},
        ]
    }
    found = monday_slots(staff=[{"id": "alice", "weeklyHours": hours}], branches=TWO_BRANCHES)
    assert hhmm(found) == ["09:00", "10:30"]


# -- unknown ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "svc", "kwargs"),
    [
        ("nowhere", "svc", {}),
        (SITE, "nothing", {}),
        (SITE, "svc", {"staff_id": "nobody"}),
        (SITE, "svc", {"branch_id": "nowhere"}),
    ],
    ids=["site", "service", "staff", "branch"],
)
def test_unknown_ids_are_not_found(site: str, svc: str, kwargs: dict[str, str]) -> None:
    engine = make_engine(branches=TWO_BRANCHES)
    with pytest.raises(BookingError) as info:
        engine.slots(site, svc, MONDAY, **kwargs)
    assert info.value.code == "not_found"


def test_unknown_branch_is_not_found_even_when_staff_is_named() -> None:
    engine = make_engine(branches=TWO_BRANCHES)
    with pytest.raises(BookingError) as info:
        engine.slots(SITE, "svc", MONDAY, staff_id="alice", branch_id="nowhere")
    assert info.value.code == "not_found"


# -- the month view ------------------------------------------------------------------------


def test_slots_between_covers_every_date_in_order() -> None:
    staff = [{"id": "alice", "weeklyHours": {"mon": ["09:00-10:00"], "wed": ["09:00-10:00"]}}]
    found = make_engine(staff=staff).slots_between(SITE, "svc", "2026-03-02", "2026-03-09")
    assert [s.start.date().isoformat() for s in found] == ["2026-03-02", "2026-03-04", "2026-03-09"]


def test_slots_accept_a_date_string_or_a_date() -> None:
    engine = make_engine()
    assert iso(engine.slots(SITE, "svc", "2026-03-02")) == iso(engine.slots(SITE, "svc", MONDAY))


def test_engine_slots_equal_generate_slots_over_the_same_bookings() -> None:
    held = [booking(at(10), 60), booking(at(13), 30, status="pending")]
    engine = make_engine(bookings=held, now=at(9, 30))
    site = engine.catalog.site(SITE)
    assert engine.slots(SITE, "svc", MONDAY) == generate_slots(site, "svc", MONDAY, held, at(9, 30))


def test_no_max_advance_days_means_no_limit() -> None:
    far = make_engine(now=LONG_AGO).slots(SITE, "svc", "2046-03-05")  # a Monday 46 years on
    assert far and all(s.available for s in far)
