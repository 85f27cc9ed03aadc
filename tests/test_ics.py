"""Calendars: bookings exported as ICS and busy time imported from ICS (`optimo_booking.ics`).

Export is checked by parsing what we write with `icalendar` and, independently, by reading our
VTIMEZONE with `dateutil`'s own VTIMEZONE parser; import runs over the corpus in tests/ics/.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import tz
from optimo_booking import Booking, Catalog, Status, load_catalog
from optimo_booking.errors import BookingError

icalendar = pytest.importorskip(
    "icalendar", reason="the `ics` extra is not installed: pip install -e '.[ics]'"
)
pytest.importorskip("recurring_ical_events", reason="the `ics` extra is not installed")

from optimo_booking.ics import STATUS_TO_ICS, bookings_to_ics, busy_from_ics  # noqa: E402

CORPUS = Path(__file__).parent / "ics"
BERLIN = tz("Europe/Berlin")
NEW_YORK = tz("America/New_York")
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Etc/UTC")
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
MAY = datetime(2026, 5, 1, tzinfo=UTC)


def calendar_catalog() -> Catalog:
    """Site `cal` (Berlin) with a staff member in each zone of `ZONES`."""
    staff = [
        {"id": f"st{i}", "name": f"Staff {i}", "timezone": name, "weeklyHours": {}}
        for i, name in enumerate(ZONES)
    ]
    staff[0]["timezone"] = None  # the site's zone, Berlin
    return load_catalog(
        {
            "sites": [
                {
                    "id": "cal",
                    "timezone": "Europe/Berlin",
                    "services": [{"id": "cut", "name": "Haircut", "durationMinutes": 30}],
                    "staff": staff,
                }
            ]
        }
    )


CATALOG = calendar_catalog()


def make_booking(
    ident: str, start: datetime, end: datetime, *, staff: str = "st0", status: str = "confirmed"
) -> Booking:
    zone = CATALOG.site("cal").staff_member(staff).zone
    start, end = start.astimezone(zone), end.astimezone(zone)
    return Booking(
        id=ident,
        site_id="cal",
        service_id="cut",
        staff_id=staff,
        branch_id=None,
        status=Status(status),
        start=start,
        end=end,
        date=start.date(),
        customer={"name": "Ada Lovelace"},
        notes="fringe, not too short",
        created_at=datetime(2026, 3, 1, 8, tzinfo=UTC),
        updated_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
    )


def events(data: bytes) -> dict[str, Any]:
    """UID -> VEVENT of an exported calendar, parsed by icalendar."""
    calendar = icalendar.Calendar.from_ical(data)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def spans_iso(spans: list[tuple[datetime, datetime]]) -> list[tuple[str, str]]:
    return [(s.isoformat(), e.isoformat()) for s, e in spans]


# -- export ------------------------------------------------------------------------------


def test_export_round_trips_uid_times_zone_status_and_sequence() -> None:
    at = datetime(2026, 3, 10, 10, tzinfo=BERLIN)
    bookings = [
        make_booking(f"b-{status}", at + timedelta(hours=i), at + timedelta(hours=i, minutes=30))
        for i, status in enumerate(Status)
    ]
    bookings.append(make_booking("b-ny", at, at + timedelta(minutes=30), staff="st1"))
    parsed = events(bookings_to_ics(bookings, CATALOG))
    assert set(parsed) == {f"{b.id}@cal" for b in bookings}
    for b in bookings:
        event = parsed[f"{b.id}@cal"]
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert (start.timestamp(), end.timestamp()) == (b.start_ts, b.end_ts)
        assert event["DTSTART"].params["TZID"] == b.start.tzinfo.key  # type: ignore[union-attr]
        assert start.utcoffset() == b.start.utcoffset()
        assert str(event["STATUS"]) == STATUS_TO_ICS[b.status]
        assert event.decoded("SEQUENCE") == 0
        assert str(event["SUMMARY"]) == "Haircut: Ada Lovelace"
        assert event.decoded("DTSTAMP") == b.updated_at
    assert parsed["b-ny@cal"]["DTSTART"].params["TZID"] == "America/New_York"


def test_status_mapping_is_the_contracts_table() -> None:
    assert {s.value: STATUS_TO_ICS[s] for s in Status} == {
        "pending": "TENTATIVE",
        "confirmed": "CONFIRMED",
        "completed": "CONFIRMED",
        "cancelled": "CANCELLED",
        "no_show": "CANCELLED",
    }


def test_sequence_is_the_booking_version() -> None:
    at = datetime(2026, 3, 10, 10, tzinfo=BERLIN)
    b = dataclasses.replace(make_booking("v", at, at + timedelta(minutes=30)), version=3)
    assert events(bookings_to_ics([b], CATALOG))["v@cal"].decoded("SEQUENCE") == 3


def test_each_zone_gets_one_vtimezone_before_the_events() -> None:
    at = datetime(2026, 3, 10, 10, tzinfo=BERLIN)
    bookings = [
        make_booking("a", at, at + timedelta(minutes=30)),
        make_booking("b", at, at + timedelta(minutes=30), staff="st1"),
        make_booking("c", at + timedelta(days=400), at + timedelta(days=400, hours=1)),
    ]
    calendar = icalendar.Calendar.from_ical(bookings_to_ics(bookings, CATALOG))
    names = [c.name for c in calendar.subcomponents]
    assert names == ["VTIMEZONE", "VTIMEZONE", "VEVENT", "VEVENT", "VEVENT"]
    assert sorted(str(t["TZID"]) for t in calendar.walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/Berlin",
    ]


def test_an_empty_export_is_a_valid_calendar() -> None:
    data = bookings_to_ics([], CATALOG)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar.walk("VEVENT") == [] and str(calendar["VERSION"]) == "2.0"


def vtimezone_reader(data: bytes, tzid: str) -> Any:
    """The zone our VTIMEZONE describes, as dateutil's own VTIMEZONE parser reads it."""
    from io import StringIO

    from dateutil.tz import tzical

    text = data.decode()
    block = re.search(
        r"BEGIN:VTIMEZONE\r\nTZID:" + re.escape(tzid) + r".*?END:VTIMEZONE", text, re.S
    )
    assert block is not None, f"no VTIMEZONE for {tzid}"
    return tzical(StringIO(block.group(0).replace("\r\n", "\n"))).get()


def dtstart_line(data: bytes, uid: str) -> str:
    """The DTSTART content line of the event `uid`, as written."""
    text = data.decode().replace("\r\n ", "")  # unfold
    block = text[text.rfind("BEGIN:VEVENT", 0, text.index(f"UID:{uid}\r\n")) :]
    block = block[: block.index("END:VEVENT")]
    (line,) = [x for x in block.split("\r\n") if x.startswith("DTSTART")]
    return line


@pytest.mark.parametrize(
    ("staff", "wall", "offset"),
    [
        # wall times (naive on purpose: the zone comes from the staff member)
        ("st0", datetime(2026, 3, 29, 10, 0), timedelta(hours=2)),  # noqa: DTZ001 Berlin, spring-forward
        ("st0", datetime(2026, 10, 25, 10, 0), timedelta(hours=1)),  # noqa: DTZ001 Berlin, fall-back
        ("st1", datetime(2026, 3, 8, 9, 0), timedelta(hours=-4)),  # noqa: DTZ001 New York, spring-forward
        ("st2", datetime(2026, 10, 4, 9, 0), timedelta(hours=11)),  # noqa: DTZ001 Lord Howe, 30-min DST
    ],
)
def test_exported_local_times_on_dst_dates_read_right(
    staff: str, wall: datetime, offset: timedelta
) -> None:
    zone = CATALOG.site("cal").staff_member(staff).zone
    start = wall.replace(tzinfo=zone)
    b = make_booking("dst", start, start + timedelta(minutes=30), staff=staff)
    data = bookings_to_ics([b], CATALOG)
    # the file itself says the wall time, with the zone's TZID
    assert dtstart_line(data, "dst@cal") == (
        f"DTSTART;TZID={zone.key}:{wall.strftime('%Y%m%dT%H%M%S')}"
    )
    # a standard parser reads that wall time and offset
    parsed = events(data)["dst@cal"].decoded("DTSTART")
    assert (parsed.replace(tzinfo=None), parsed.utcoffset()) == (wall, offset)
    # and the VTIMEZONE we ship, read on its own, gives the same offset
    shipped = vtimezone_reader(data, zone.key)
    assert wall.replace(tzinfo=shipped).utcoffset() == offset


def test_the_second_of_two_equal_wall_times_is_written_in_utc() -> None:
    # 02:30 happens twice in Berlin on 25 Oct 2026; a TZID time means the first one
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    bookings = [
        make_booking("early", first, first + timedelta(minutes=30)),
        make_booking("late", second, second + timedelta(minutes=30)),
    ]
    data = bookings_to_ics(bookings, CATALOG)
    assert dtstart_line(data, "early@cal") == "DTSTART;TZID=Europe/Berlin:20261025T023000"
    assert dtstart_line(data, "late@cal") == "DTSTART:20261025T013000Z"
    parsed = events(data)
    # compare instants: PEP 495 makes an ambiguous wall time unequal to every other zone's
    assert parsed["early@cal"].decoded("DTSTART").timestamp() == first.timestamp()
    assert parsed["late@cal"].decoded("DTSTART").timestamp() == second.timestamp()


def test_export_of_an_unknown_staff_member_is_refused() -> None:
    at = datetime(2026, 3, 10, 10, tzinfo=BERLIN)
    b = dataclasses.replace(make_booking("x", at, at + timedelta(minutes=30)), staff_id="nobody")
    with pytest.raises(BookingError) as caught:
        bookings_to_ics([b], CATALOG)
    assert caught.value.code == "not_found"


# -- import: the corpus ------------------------------------------------------------------


def corpus(name: str, first: datetime = MARCH, last: datetime = MAY, **kw: Any) -> list[Any]:
    return spans_iso(busy_from_ics((CORPUS / name).read_bytes(), first, last, **kw))


def test_weekly_recurrence_with_exceptions_across_the_spring_change() -> None:
    # weekly Mondays 09:00-10:00 Berlin until 20 April; 23 March excluded; 30 March moved to
    # 11:00-12:30; 6 April cancelled; an extra date 1 April 15:00; a TRANSPARENT and a
    # CANCELLED event are skipped. 09:00 stays 09:00 local across the change on 29 March.
    assert corpus("weekly_dst_exceptions.ics") == [
        ("2026-03-16T09:00:00+01:00", "2026-03-16T10:00:00+01:00"),
        ("2026-03-30T11:00:00+02:00", "2026-03-30T12:30:00+02:00"),
        ("2026-04-01T15:00:00+02:00", "2026-04-01T16:00:00+02:00"),
        ("2026-04-13T09:00:00+02:00", "2026-04-13T10:00:00+02:00"),
        ("2026-04-20T09:00:00+02:00", "2026-04-20T10:00:00+02:00"),
    ]


def test_spans_overlapping_the_window_come_back_whole() -> None:
    first = datetime(2026, 3, 16, 9, 30, tzinfo=BERLIN)
    last = datetime(2026, 3, 30, 11, 1, tzinfo=BERLIN)
    assert corpus("weekly_dst_exceptions.ics", first, last) == [
        ("2026-03-16T09:00:00+01:00", "2026-03-16T10:00:00+01:00"),
        ("2026-03-30T11:00:00+02:00", "2026-03-30T12:30:00+02:00"),
    ]
    # half-open: a span ending at `first` or starting at `last` is outside
    edge = datetime(2026, 3, 16, 10, tzinfo=BERLIN)
    assert corpus("weekly_dst_exceptions.ics", edge, datetime(2026, 3, 30, 11, tzinfo=BERLIN)) == []


def test_events_crossing_a_change_last_their_exact_or_nominal_length() -> None:
    # DTEND gives every occurrence the same elapsed length; DURATION days keep the wall time;
    # an RDATE period keeps its own end
    spans = busy_from_ics((CORPUS / "crossing_the_change.ics").read_bytes(), MARCH, MAY)
    assert [(s.isoformat(), (e.timestamp() - s.timestamp()) / 3600) for s, e in spans] == [
        ("2026-03-21T23:00:00+01:00", 3.0),  # weekly, DTEND 02:00 the next day
        ("2026-03-28T12:00:00+01:00", 23.0),  # DURATION:P1D, to Sunday noon
        ("2026-03-28T23:00:00+01:00", 3.0),  # the weekly again, across the change
        ("2026-03-29T01:00:00+01:00", 2.0),  # 01:00 to 04:00 on the change night
        ("2026-03-29T01:00:00+01:00", 3.0),  # DURATION:PT3H
        ("2026-04-02T09:00:00+00:00", 0.5),  # DTSTART/DTEND
        ("2026-04-03T09:00:00+00:00", 2.0),  # RDATE period with a duration
        ("2026-04-04T09:00:00+00:00", 1.0),  # RDATE period with an end
    ]


def test_utc_times_with_x_wr_timezone_recur_in_local_time() -> None:
    # Google's form: DTSTART in UTC plus X-WR-TIMEZONE; the daily 09:00 stays 09:00 in Berlin
    spans = corpus("google_utc_rrule.ics")
    assert [s for s, _ in spans] == [
        f"2026-03-{d}T09:00:00+01:00" for d in (23, 24, 25, 26, 27, 28)
    ] + [
        "2026-03-29T09:00:00+02:00",
        "2026-03-30T09:00:00+02:00",
    ]


def test_all_day_events_are_whole_days_in_the_calendars_zone() -> None:
    # X-WR-TIMEZONE America/New_York wins over `zone`; 8 March 2026 lasts 23 hours there
    spans = busy_from_ics((CORPUS / "all_day.ics").read_bytes(), MARCH, MAY, zone="Asia/Tokyo")
    assert spans_iso(spans) == [
        ("2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"),
        ("2026-03-10T00:00:00-04:00", "2026-03-13T00:00:00-04:00"),
        ("2026-03-16T00:00:00-04:00", "2026-03-17T00:00:00-04:00"),
    ]
    # elapsed time (subtracting two datetimes of one zone would count wall-clock time: 24h)
    assert spans[0][1].timestamp() - spans[0][0].timestamp() == 23 * 3600


def test_floating_times_read_in_the_given_zone_else_utc() -> None:
    assert corpus("floating.ics", zone="America/New_York") == [
        ("2026-03-02T09:00:00-05:00", "2026-03-02T09:30:00-05:00"),
        ("2026-03-09T09:00:00-04:00", "2026-03-09T09:30:00-04:00"),
        ("2026-03-10T10:00:00-04:00", "2026-03-10T11:00:00-04:00"),
    ]
    assert corpus("floating.ics")[0] == ("2026-03-02T09:00:00+00:00", "2026-03-02T09:30:00+00:00")
    # a tzinfo works as well as a name
    assert corpus("floating.ics", zone=NEW_YORK) == corpus("floating.ics", zone="America/New_York")


def test_vfreebusy_periods_count_unless_free() -> None:
    assert corpus("freebusy.ics") == [
        ("2026-03-09T08:00:00+00:00", "2026-03-09T09:00:00+00:00"),
        ("2026-03-09T12:00:00+00:00", "2026-03-09T12:30:00+00:00"),
        ("2026-03-10T08:00:00+00:00", "2026-03-10T09:00:00+00:00"),  # BUSY-TENTATIVE
        ("2026-03-11T16:00:00+00:00", "2026-03-11T17:00:00+00:00"),  # BUSY-UNAVAILABLE
    ]


def test_outlook_windows_zone_names_and_custom_vtimezones() -> None:
    assert corpus("outlook_windows_zone.ics") == [
        ("2026-03-30T14:00:00+02:00", "2026-03-30T15:00:00+02:00")
    ]
    (span,) = busy_from_ics((CORPUS / "custom_zone.ics").read_bytes(), MARCH, MAY)
    assert span[0] == datetime(2026, 3, 10, 4, 30, tzinfo=UTC)
    assert span[1] - span[0] == timedelta(minutes=90)


MALFORMED = sorted((CORPUS / "malformed").glob("*.ics"))


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_input_is_a_validation_error_naming_the_problem(path: Path) -> None:
    with pytest.raises(BookingError) as caught:
        busy_from_ics(path.read_bytes(), MARCH, MAY)
    error = caught.value
    assert error.code == "validation_error" and error.http_status == 400
    assert error.details["problems"] and all(p["message"] for p in error.details["problems"])
    assert "Traceback" not in error.message


def test_every_problem_is_reported_not_just_the_first() -> None:
    with pytest.raises(BookingError) as caught:
        busy_from_ics((CORPUS / "malformed" / "unknown_zone.ics").read_bytes(), MARCH, MAY)
    paths = [p["field"] for p in caught.value.details["problems"]]
    assert paths == ["VEVENT[1] (UID x).DTSTART", "VEVENT[1] (UID x).DTEND"]


@pytest.mark.parametrize(
    ("first", "last", "zone", "field"),
    [
        (datetime(2026, 3, 1), MAY, None, "first"),  # noqa: DTZ001 - naive on purpose
        (MAY, MARCH, None, "last"),
        (MARCH, MAY, "Europe/Atlantis", "zone"),
    ],
)
def test_bad_arguments_are_validation_errors(
    first: datetime, last: datetime, zone: str | None, field: str
) -> None:
    data = (CORPUS / "floating.ics").read_bytes()
    with pytest.raises(BookingError) as caught:
        busy_from_ics(data, first, last, zone=zone)
    assert caught.value.code == "validation_error"
    assert [p["field"] for p in caught.value.details["problems"]] == [field]
    assert caught.value.details["fields"] == [field]


def test_str_input_and_a_byte_order_mark_are_accepted() -> None:
    data = (CORPUS / "freebusy.ics").read_bytes()
    expected = busy_from_ics(data, MARCH, MAY)
    assert busy_from_ics(data.decode(), MARCH, MAY) == expected
    assert busy_from_ics(b"\xef\xbb\xbf" + data, MARCH, MAY) == expected


def test_the_module_imports_without_the_extra_and_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['icalendar'] = None\n"
        "import optimo_booking, optimo_booking.ics as ics\n"
        "try:\n    ics.bookings_to_ics([], None)\n"
        "except ModuleNotFoundError as exc:\n    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "optimo-booking[ics]" in out and "icalendar" in out


# -- property: export then import gives back the same instants ---------------------------

SPAN = st.tuples(
    st.integers(0, 2 * 365 * 24 * 60),  # minutes after 2026-01-01 UTC
    st.integers(1, 3 * 24 * 60),  # length in minutes
    st.sampled_from(range(len(ZONES))),
    st.sampled_from(list(Status)),
)
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(
    spans=st.lists(SPAN, max_size=8),
    window=st.tuples(st.integers(-1, 2 * 365), st.integers(1, 800)),
)
@example(  # the repeated hour of Berlin's fall-back, both times, and Lord Howe's half hour
    spans=[
        (
            int((datetime(2026, 10, 25, 0, 30, tzinfo=UTC) - ORIGIN).total_seconds() // 60),
            60,
            0,
            Status.CONFIRMED,
        ),
        (
            int((datetime(2026, 10, 25, 1, 30, tzinfo=UTC) - ORIGIN).total_seconds() // 60),
            30,
            0,
            Status.PENDING,
        ),
        (
            int((datetime(2026, 4, 4, 14, 45, tzinfo=UTC) - ORIGIN).total_seconds() // 60),
            90,
            2,
            Status.COMPLETED,
        ),
    ],
    window=(0, 800),
)
def test_busy_spans_exported_as_events_import_as_the_same_instants(
    spans: list[tuple[int, int, int, Status]], window: tuple[int, int]
) -> None:
    bookings = [
        make_booking(
            f"p{i}",
            ORIGIN + timedelta(minutes=start),
            ORIGIN + timedelta(minutes=start + length),
            staff=f"st{zone}",
            status=status.value,
        )
        for i, (start, length, zone, status) in enumerate(spans)
    ]
    first = ORIGIN + timedelta(days=window[0])
    last = first + timedelta(days=window[1])
    imported = busy_from_ics(bookings_to_ics(bookings, CATALOG), first, last)
    expected = sorted(
        {
            (b.start_ts, b.end_ts)
            for b in bookings
            if STATUS_TO_ICS[b.status] != "CANCELLED"
            and b.start_ts < last.timestamp()
            and b.end_ts > first.timestamp()
        }
    )
    assert [(int(s.timestamp()), int(e.timestamp())) for s, e in imported] == expected
    # each comes back in a zone it was written in (UTC for the second of a repeated wall time)
    zones: dict[tuple[int, int], set[Any]] = {}
    for b in bookings:
        zones.setdefault((b.start_ts, b.end_ts), {UTC}).add(b.start.tzinfo)
    for s, e in imported:
        assert s.tzinfo in zones[(int(s.timestamp()), int(e.timestamp()))]
