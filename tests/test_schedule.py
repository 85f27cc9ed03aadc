"""Schedule expansion: weekly hours, breaks, recurrences, date overrides, overnight ranges,
periods maximal across midnight, and wall times on DST transition dates."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SITE, hhmm, iso, make_engine
from optimo_booking import Slot, load_catalog


def slots_on(
    day: date | str,
    *,
    hours: dict[str, Any] | None = None,
    minutes: int = 60,
    step: int | None = None,
    timezone: str = "Europe/Berlin",
    **staff: Any,
) -> list[Slot]:
    """Slots of one staff member `alice` with these rules, for one local date."""
    service: dict[str, Any] = {"id": "svc", "durationMinutes": minutes}
    if step is not None:
        service["slotStepMinutes"] = step
    member = {"id": "alice", "weeklyHours": hours or {}, **staff}
    engine = make_engine(staff=[member], services=[service], timezone=timezone)
    return engine.slots(SITE, "svc", day)


def every_day(*ranges: str) -> dict[str, list[str]]:
    return {d: list(ranges) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


MON, TUE, SAT = "2026-03-02", "2026-03-03", "2026-03-07"


# -- weekly hours and breaks ---------------------------------------------------------------


def test_weekly_hours_apply_on_their_weekday_only() -> None:
    hours = {"mon": ["09:00-12:00"]}
    assert hhmm(slots_on(MON, hours=hours)) == ["09:00", "10:00", "11:00"]
    assert slots_on(TUE, hours=hours) == []


def test_each_range_of_a_day_has_its_own_grid() -> None:
    hours = {"mon": ["09:00-12:00", "13:00-15:00"]}
    assert hhmm(slots_on(MON, hours=hours, minutes=30, step=45)) == [
        *["09:00", "09:45", "10:30", "11:15"],
        *["13:00", "13:45", "14:30"],
    ]


def test_breaks_are_removed_from_hours() -> None:
    found = slots_on(MON, hours={"mon": ["09:00-14:00"]}, breaks={"mon": ["11:00-11:30"]})
    assert hhmm(found) == ["09:00", "10:00", "11:30", "12:30"]


def test_breaks_apply_on_their_weekday_only() -> None:
    found = slots_on(TUE, hours={"tue": ["09:00-12:00"]}, breaks={"mon": ["10:00-11:00"]})
    assert hhmm(found) == ["09:00", "10:00", "11:00"]


def test_lunch_as_a_break_or_as_two_ranges_gives_identical_slots() -> None:
    as_break = slots_on(
        MON, hours={"mon": ["09:00-17:00"]}, breaks={"mon": ["12:10-13:00"]}, minutes=30, step=45
    )
    as_ranges = slots_on(MON, hours={"mon": ["09:00-12:10", "13:00-17:00"]}, minutes=30, step=45)
    assert iso(as_break) == iso(as_ranges)
    assert "13:00" in hhmm(as_break)


# -- recurrences ---------------------------------------------------------------------------

EVERY_OTHER_SATURDAY = "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"


def saturday_slots(day: str, dtstart: str) -> list[str]:
    rule = {"rrule": EVERY_OTHER_SATURDAY, "dtstart": dtstart, "hours": ["10:00-12:00"]}
    return hhmm(slots_on(day, recurring=[rule]))


def test_every_other_saturday_rule_picks_dates_from_dtstart() -> None:
    assert saturday_slots("2026-01-03", "2026-01-03") == ["10:00", "11:00"]
    assert saturday_slots("2026-01-10", "2026-01-03") == []
    assert saturday_slots("2026-01-17", "2026-01-03") == ["10:00", "11:00"]


def test_dtstart_decides_which_saturdays_the_rule_picks() -> None:
    assert saturday_slots("2026-01-17", "2026-01-10") == []
    assert saturday_slots("2026-01-24", "2026-01-10") == ["10:00", "11:00"]


def test_recurrence_picks_no_date_before_its_dtstart() -> None:
    assert saturday_slots("2025-12-20", "2026-01-03") == []


def test_weekly_and_recurring_hours_are_unioned_into_one_period() -> None:
    rule = {"rrule": "FREQ=WEEKLY;BYDAY=SA", "dtstart": "2026-01-03", "hours": ["11:00-14:00"]}
    found = slots_on(SAT, hours={"sat": ["09:00-12:00"]}, recurring=[rule], minutes=60, step=90)
    assert hhmm(found) == ["09:00", "10:30", "12:00"]  # one grid over 09:00-14:00


# -- date overrides ------------------------------------------------------------------------


def test_date_override_replaces_weekly_hours() -> None:
    found = slots_on(MON, hours={"mon": ["09:00-17:00"]}, dateOverrides={MON: ["13:00-15:00"]})
    assert hhmm(found) == ["13:00", "14:00"]


def test_date_override_replaces_breaks_too() -> None:
    found = slots_on(
        MON,
        hours={"mon": ["09:00-12:00"]},
        breaks={"mon": ["10:00-11:00"]},
        dateOverrides={MON: ["09:00-12:00"]},
    )
    assert hhmm(found) == ["09:00", "10:00", "11:00"]


def test_date_override_replaces_recurring_hours() -> None:
    rule = {"rrule": "FREQ=WEEKLY;BYDAY=SA", "dtstart": "2026-01-03", "hours": ["10:00-12:00"]}
    found = slots_on(SAT, recurring=[rule], dateOverrides={SAT: ["15:00-16:00"]})
    assert hhmm(found) == ["15:00"]


def test_empty_date_override_is_a_day_off() -> None:
    assert slots_on(MON, hours={"mon": ["09:00-17:00"]}, dateOverrides={MON: []}) == []


def test_date_override_adds_hours_on_a_day_without_weekly_hours() -> None:
    assert hhmm(slots_on(TUE, dateOverrides={TUE: ["09:00-10:00"]})) == ["09:00"]


def test_date_override_applies_to_its_date_only() -> None:
    found = slots_on("2026-03-09", hours={"mon": ["09:00-10:00"]}, dateOverrides={MON: []})
    assert hhmm(found) == ["09:00"]


# -- overnight ranges, 24:00 and periods across midnight -----------------------------------


def test_overnight_range_gives_slots_before_midnight_on_its_own_date() -> None:
    assert hhmm(slots_on(MON, hours={"mon": ["22:00-02:00"]})) == ["22:00", "23:00"]


def test_overnight_range_contributes_to_the_next_dates_slots() -> None:
    assert hhmm(slots_on(TUE, hours={"mon": ["22:00-02:00"]})) == ["00:00", "01:00"]


def test_overnight_range_contributes_next_to_that_dates_own_hours() -> None:
    hours = {"mon": ["22:00-02:00"], "tue": ["09:00-10:00"]}
    assert hhmm(slots_on(TUE, hours=hours)) == ["00:00", "01:00", "09:00"]


def test_overnight_range_slots_fall_on_the_date_of_their_start() -> None:
    service = {"id": "svc", "durationMinutes": 60}
    member = {"id": "alice", "weeklyHours": {"mon": ["22:00-02:00"]}}
    engine = make_engine(staff=[member], services=[service])
    found = engine.slots_between(SITE, "svc", MON, TUE)
    assert [(s.start.date().isoformat(), s.start.strftime("%H:%M")) for s in found] == [
        (MON, "22:00"),
        (MON, "23:00"),
        (TUE, "00:00"),
        (TUE, "01:00"),
    ]


def test_24_00_end_runs_to_midnight() -> None:
    assert hhmm(slots_on(MON, hours={"mon": ["21:00-24:00"]})) == ["21:00", "22:00", "23:00"]


def test_24_00_end_gives_no_slots_on_the_next_date() -> None:
    hours = {"mon": ["21:00-24:00"], "tue": ["09:00-10:00"]}
    assert hhmm(slots_on(TUE, hours=hours)) == ["09:00"]


def test_period_across_midnight_is_one_grid_on_the_first_date() -> None:
    hours = {"mon": ["22:00-24:00"], "tue": ["00:00-02:00"]}
    assert hhmm(slots_on(MON, hours=hours, minutes=30, step=90)) == ["22:00", "23:30"]


def test_period_across_midnight_is_one_grid_on_the_second_date() -> None:
    hours = {"mon": ["22:00-24:00"], "tue": ["00:00-02:00"]}
    # cut at midnight the grid would be 00:00, 01:30; as one period it is 22:00, 23:30, 01:00
    assert hhmm(slots_on(TUE, hours=hours, minutes=30, step=90)) == ["01:00"]


def test_slot_may_straddle_midnight_inside_one_period() -> None:
    hours = {"mon": ["22:00-24:00"], "tue": ["00:00-02:00"]}
    found = slots_on(MON, hours=hours, minutes=60, step=90)
    assert [s.end.isoformat() for s in found] == [
        "2026-03-02T23:00:00+01:00",
        "2026-03-03T00:30:00+01:00",
    ]


def test_overnight_range_merges_with_the_next_days_early_range() -> None:
    hours = {"mon": ["22:00-01:00"], "tue": ["01:00-03:00"]}
    # one period Mon 22:00 - Tue 03:00: 22:00, 23:30, 01:00, 02:30
    assert hhmm(slots_on(TUE, hours=hours, minutes=30, step=90)) == ["01:00", "02:30"]


# -- DST: gaps move forward, ambiguous means first occurrence, elapsed grid ------------------


def elapsed(slot: Slot) -> float:
    return slot.end.timestamp() - slot.start.timestamp()


def test_berlin_gap_start_moves_forward_by_the_gap() -> None:
    found = slots_on("2026-03-29", hours={"sun": ["02:30-05:00"]}, minutes=30)
    assert iso(found) == [
        "2026-03-29T03:30:00+02:00",
        "2026-03-29T04:00:00+02:00",
        "2026-03-29T04:30:00+02:00",
    ]


def test_berlin_spring_forward_grid_steps_in_elapsed_time() -> None:
    found = slots_on("2026-03-29", hours={"sun": ["01:00-05:00"]}, minutes=60)
    assert iso(found) == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]


def test_berlin_slot_across_the_gap_lasts_its_duration_in_elapsed_time() -> None:
    found = slots_on("2026-03-29", hours={"sun": ["01:30-05:00"]}, minutes=60)
    assert found[0].end.isoformat() == "2026-03-29T03:30:00+02:00"
    assert {elapsed(s) for s in found} == {3600}


def test_berlin_ambiguous_start_means_first_occurrence() -> None:
    found = slots_on("2026-10-25", hours={"sun": ["02:30-03:30"]}, minutes=60)
    assert iso(found) == ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"]


def test_berlin_ambiguous_end_means_first_occurrence() -> None:
    found = slots_on("2026-10-25", hours={"sun": ["01:00-02:30"]}, minutes=30)
    assert iso(found) == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T01:30:00+02:00",
        "2026-10-25T02:00:00+02:00",
    ]


def test_berlin_fall_back_grid_steps_in_elapsed_time() -> None:
    found = slots_on("2026-10-25", hours={"sun": ["01:00-04:00"]}, minutes=60)
    assert iso(found) == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    assert {elapsed(s) for s in found} == {3600}


def test_new_york_gap_start_moves_forward_by_the_gap() -> None:
    found = slots_on(
        "2026-03-08", hours={"sun": ["02:15-04:00"]}, minutes=30, timezone="America/New_York"
    )
    assert iso(found) == ["2026-03-08T03:15:00-04:00"]


def test_new_york_ambiguous_start_means_first_occurrence() -> None:
    found = slots_on(
        "2026-11-01", hours={"sun": ["01:30-03:00"]}, minutes=60, timezone="America/New_York"
    )
    assert iso(found) == ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"]
    assert {elapsed(s) for s in found} == {3600}


def test_new_york_nine_to_five_is_unchanged_on_transition_dates() -> None:
    for day in ("2026-03-08", "2026-11-01"):
        found = slots_on(day, hours=every_day("09:00-17:00"), timezone="America/New_York")
        assert hhmm(found) == [f"{h:02d}:00" for h in range(9, 17)]


def test_lord_howe_half_hour_gap_start_moves_forward_by_half_an_hour() -> None:
    found = slots_on(
        "2026-10-04", hours={"sun": ["02:10-04:00"]}, minutes=30, timezone="Australia/Lord_Howe"
    )
    assert iso(found) == ["2026-10-04T02:40:00+11:00", "2026-10-04T03:10:00+11:00"]


def test_lord_howe_half_hour_fall_back_repeats_half_an_hour() -> None:
    found = slots_on(
        "2026-04-05", hours={"sun": ["01:40-03:00"]}, minutes=30, timezone="Australia/Lord_Howe"
    )
    assert iso(found) == [
        "2026-04-05T01:40:00+11:00",
        "2026-04-05T01:40:00+10:30",
        "2026-04-05T02:10:00+10:30",
    ]
    assert {elapsed(s) for s in found} == {1800}


APIA = "Pacific/Apia"


def test_apia_2011_12_30_never_happened_and_has_no_slots() -> None:
    assert slots_on("2011-12-30", hours=every_day("09:00-17:00"), timezone=APIA) == []


def test_apia_2011_12_30_override_gives_no_slots_either() -> None:
    found = slots_on(
        "2011-12-30",
        hours=every_day("09:00-17:00"),
        dateOverrides={"2011-12-30": ["00:00-24:00"]},
        timezone=APIA,
    )
    assert found == []


def test_apia_2011_12_31_gets_no_extra_slots() -> None:
    found = slots_on(
        "2011-12-31",
        hours=every_day("09:00-17:00"),
        dateOverrides={"2011-12-30": ["09:00-17:00"]},
        timezone=APIA,
        minutes=30,
    )
    assert iso(found)[0] == "2011-12-31T09:00:00+14:00"
    assert len(found) == 16


def test_apia_dates_either_side_of_the_skipped_date_are_whole() -> None:
    service = {"id": "svc", "durationMinutes": 30}
    member = {"id": "alice", "weeklyHours": every_day("09:00-17:00")}
    engine = make_engine(staff=[member], services=[service], timezone=APIA)
    found = engine.slots_between(SITE, "svc", "2011-12-29", "2011-12-31")
    by_date = Counter(s.start.date().isoformat() for s in found)
    assert by_date == {"2011-12-29": 16, "2011-12-31": 16}


def test_slots_are_in_the_staff_members_zone() -> None:
    found = slots_on(MON, hours={"mon": ["09:00-10:00"]}, timezone="Asia/Tokyo")
    assert iso(found) == ["2026-03-02T09:00:00+09:00"]
    assert found[0].start.tzinfo.key == "Asia/Tokyo"  # type: ignore[union-attr]


def test_slot_dates_of_a_month_view_match_single_day_queries() -> None:
    hours = {"mon": ["22:00-02:00"], "tue": ["09:00-11:00"], "sat": ["10:00-12:00"]}
    service = {"id": "svc", "durationMinutes": 60}
    engine = make_engine(staff=[{"id": "alice", "weeklyHours": hours}], services=[service])
    first = date(2026, 3, 1)
    month = engine.slots_between(SITE, "svc", first, first + timedelta(days=13))
    days = [engine.slots(SITE, "svc", first + timedelta(days=i)) for i in range(14)]
    assert iso(month) == [x for day in days for x in iso(day)]


def test_round_the_clock_hours_grid_the_same_whatever_dates_are_asked() -> None:
    """Unbroken working time longer than the widening limit is gridded from a fixed origin,
    so a day's slots do not depend on the query's dates, and every listed slot books."""
    from datetime import UTC, datetime

    from optimo_booking import Engine, MemoryStore, load_catalog

    catalog = load_catalog(
        {
            "sites": [
                {
                    "id": "s",
                    "timezone": "Europe/Berlin",
                    "services": [{"id": "long", "durationMinutes": 90}],
                    "staff": [
                        {
                            "id": "room",
                            "weeklyHours": {
                                d: ["00:00-24:00"]
                                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                            },
                        }
                    ],
                }
            ]
        }
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    engine = Engine(catalog, store=MemoryStore(), clock=lambda: now)
    alone = engine.slots("s", "long", "2026-05-01")
    in_a_month = [
        s
        for s in engine.slots_between("s", "long", "2026-04-01", "2026-05-31")
        if s.start.date().isoformat() == "2026-05-01"
    ]
    assert [s.start for s in alone] == [s.start for s in in_a_month]
    assert len(alone) == 16
    booked = engine.create_booking(
        "s",
        service_id="long",
        date="2026-05-01",
        start_time=in_a_month[3].start.isoformat(),
        customer={"name": "Ada"},
    )
    assert booked.start == in_a_month[3].start


_RULE_DAYS = st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"])


@settings(max_examples=200, deadline=None)
@given(
    freq=st.sampled_from(["DAILY", "WEEKLY"]),
    interval=st.integers(1, 5),
    by_day=st.lists(_RULE_DAYS, unique=True, max_size=3),
    start=st.dates(date(1900, 1, 1), date(2030, 12, 31)),
    first=st.dates(date(1990, 1, 1), date(2100, 12, 31)),
    span=st.integers(0, 60),
)
def test_recurrence_dates_far_from_dtstart_match_a_full_walk_of_the_rule(
    freq: str, interval: int, by_day: list[str], start: date, first: date, span: int
) -> None:
    """Skipping whole repeats of a daily or weekly rule changes no date it picks."""
    from optimo_booking.localtime import midnight

    text = f"FREQ={freq};INTERVAL={interval}" + (f";BYDAY={','.join(by_day)}" if by_day else "")
    catalog = load_catalog(
        {
            "sites": [
                {
                    "id": "s",
                    "timezone": "UTC",
                    "staff": [
                        {
                            "id": "a",
                            "recurring": [
                                {
                                    "rrule": text,
                                    "dtstart": start.isoformat(),
                                    "hours": ["10:00-11:00"],
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )
    rec = catalog.site("s").staff["a"].recurring[0]
    last = first + timedelta(days=span)
    walked = rec.rule.between(midnight(first), midnight(last), inc=True)
    assert rec.dates_between(first, last) == {d.date() for d in walked}
