"""Hypothesis strategies: zones and dates around DST changes, hours, services, catalogs, bookings.

Each strategy draws plain catalog dicts (the format `load_catalog` reads), so a failing
example prints as something you can paste into a bug report.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "optimo_booking.testing needs Hypothesis; install the test extra: "
        "pip install 'optimo-booking[test]'"
    ) from exc

from ..assignment import Assignment
from ..catalog import WEEKDAYS, Service, Site, Staff, load_catalog
from ..localtime import parse_hhmm, zone
from ..slots import generate_slots
from ..values import Booking, Status

#: Zones whose rules trip up naive date arithmetic: one-hour DST in both hemispheres, a
#: transition at midnight (Santiago), a 30-minute shift (Lord Howe), a transition at 02:45
#: (Chatham), a skipped calendar day (Apia, 2011-12-30), a half-hour offset with no DST
#: (Kolkata), and UTC.
DST_HEAVY_ZONES: tuple[str, ...] = (
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Asia/Kolkata",
    "UTC",
)

_DAY = 86_400
_ONE_DAY = timedelta(days=1)
_STATUS_WEIGHTS: tuple[Status, ...] = (
    Status.CONFIRMED,
    Status.CONFIRMED,
    Status.CONFIRMED,
    Status.PENDING,
    Status.CANCELLED,
    Status.COMPLETED,
    Status.NO_SHOW,
)
_BLOCKING_REASONS = frozenset({"booked", "full"})


# -- time zones and dates ----------------------------------------------------------------


def timezone_names(zones: Sequence[str] = DST_HEAVY_ZONES) -> st.SearchStrategy[str]:
    """IANA zone names (strings, as the catalog spells them), by default `DST_HEAVY_ZONES`."""
    return st.sampled_from(tuple(zones))


def _offset_at(instant: int, tz: tzinfo) -> timedelta | None:
    return datetime.fromtimestamp(instant, tz).utcoffset()


@functools.cache
def _transitions(timezone: str, first_year: int, last_year: int) -> tuple[int, ...]:
    # Scan UTC days for a change of offset, then bisect to the exact second it happens.
    tz = zone(timezone)
    lo = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    found: list[int] = []
    previous = _offset_at(lo, tz)
    for t in range(lo + _DAY, hi + 1, _DAY):
        current = _offset_at(t, tz)
        if current != previous:
            a, b = t - _DAY, t  # offset(a) == previous, offset(b) == current
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_at(mid, tz) == previous:
                    a = mid
                else:
                    b = mid
            found.append(b)
            previous = current
    return tuple(found)


def transition_dates(
    timezone: str, *, first_year: int = 2010, last_year: int = 2030
) -> tuple[date, ...]:
    """Local dates in `timezone` that hold, or are within one day of, a change of UTC offset.

    Transitions are found by scanning `utcoffset` over the years given (inclusive), so this
    also finds the odd ones: Apia skipping 2011-12-30, Santiago moving its clocks at midnight.
    A zone with no transition in those years gives an empty tuple.
    """
    tz = zone(timezone)
    dates: set[date] = set()
    for instant in _transitions(timezone, first_year, last_year):
        before = datetime.fromtimestamp(instant - 1, tz).date()
        after = datetime.fromtimestamp(instant, tz).date()
        day = before - _ONE_DAY
        while day <= after + _ONE_DAY:
            dates.add(day)
            day += _ONE_DAY
    return tuple(sorted(dates))


def dates_near_transitions(
    timezone: str, *, first_year: int = 2010, last_year: int = 2030
) -> st.SearchStrategy[date]:
    """Dates within a day of a real UTC-offset change in `timezone` (see `transition_dates`).

    For a zone without transitions in those years (UTC, Asia/Kolkata) it draws any date in
    them, so the strategy can be combined freely with `timezone_names()`.
    """
    near = transition_dates(timezone, first_year=first_year, last_year=last_year)
    if not near:
        return st.dates(date(first_year, 1, 1), date(last_year, 12, 31))
    return st.sampled_from(near)


@st.composite
def moments_near(
    draw: st.DrawFn, day: date, *, days_before: int = 3, days_after: int = 2
) -> datetime:
    """Aware UTC datetimes from `days_before` days before `day` to `days_after` days after it.

    Mostly whole minutes (so `now` lands exactly on slot starts and notice limits), sometimes
    with seconds. Use the result as the `now` of a slot query.
    """
    base = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    minute = draw(st.integers(-days_before * 1440, (days_after + 1) * 1440))
    second = draw(st.sampled_from((0, 0, 0, 1, 30, 59)))
    return datetime.fromtimestamp(base + minute * 60 + second, UTC)


# -- weekly hours, breaks, services, catalogs --------------------------------------------


def _hhmm(minute: int) -> str:
    if minute == 1440:
        return "24:00"
    minute %= 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _range_text(start: int, end: int) -> str:
    """`HH:MM-HH:MM` for minutes `[start, end)`; an end past 1440 is written overnight."""
    return f"{_hhmm(start)}-{_hhmm(end)}"


def _parse_range(text: str) -> tuple[int, int]:
    start_text, _, end_text = text.partition("-")
    start, end = parse_hhmm(start_text), parse_hhmm(end_text, allow_24=True)
    return start, end if end > start else end + 1440


@st.composite
def _day_ranges(
    draw: st.DrawFn, granularity: int, max_ranges: int, overnight: bool
) -> list[tuple[int, int]]:
    count = draw(st.integers(0, max_ranges))
    if not count:
        return []
    points = draw(
        st.sets(st.integers(0, 1440 // granularity), min_size=2 * count, max_size=2 * count)
    )
    minutes = [p * granularity for p in sorted(points)]
    ranges = list(zip(minutes[0::2], minutes[1::2], strict=True))
    last_start, _ = ranges[-1]
    if overnight and last_start > 0 and draw(st.integers(0, 3)) == 0:
        # The last range runs past midnight, ending before its own start next morning.
        end = draw(st.integers(0, last_start // granularity - 1)) * granularity
        ranges[-1] = (last_start, end + 1440)
    return ranges


@st.composite
def _weekly_minutes(
    draw: st.DrawFn, granularity: int, max_ranges: int, overnight: bool
) -> dict[str, list[tuple[int, int]]]:
    result: dict[str, list[tuple[int, int]]] = {}
    for day in WEEKDAYS:
        if draw(st.integers(0, 5)) == 0:
            continue  # weekday absent: no hours
        result[day] = draw(_day_ranges(granularity, max_ranges, overnight))
    return result


def weekly_hours(
    *, granularity: int = 15, max_ranges: int = 3, overnight: bool = True
) -> st.SearchStrategy[dict[str, list[str]]]:
    """`weeklyHours` dicts: per weekday, sorted non-overlapping `"HH:MM-HH:MM"` ranges.

    Times are multiples of `granularity` minutes (15 reaches Chatham's 02:45 transition).
    A day may be missing, empty, end at `"24:00"`, or (when `overnight`) have its last range
    run past midnight (`"22:00-02:00"`).
    """
    return _weekly_minutes(granularity, max_ranges, overnight).map(_week_texts)


def _week_texts(week: Mapping[str, Sequence[tuple[int, int]]]) -> dict[str, list[str]]:
    return {day: [_range_text(s, e) for s, e in ranges] for day, ranges in week.items()}


@st.composite
def breaks_within(
    draw: st.DrawFn,
    hours: Mapping[str, Sequence[str]],
    *,
    granularity: int = 15,
    strictly_inside: bool = False,
    before_midnight: bool = False,
) -> dict[str, list[str]]:
    """A `breaks` dict for `hours`: at most one break inside each range, so none overlap.

    With `strictly_inside`, a break neither starts at its range's start nor ends at its end
    (both halves stay non-empty). With `before_midnight`, a break ends by 23:59, so cutting
    the range at the break leaves two ranges of the same weekday.
    """
    result: dict[str, list[str]] = {}
    g = granularity
    for day, texts in hours.items():
        chosen: list[str] = []
        for text in texts:
            start, end = _parse_range(text)
            if not draw(st.booleans()):
                continue
            first_start = start + (g if strictly_inside else 0)
            last_end = end - (g if strictly_inside else 0)
            if before_midnight:
                last_end = min(last_end, 1440 - g)
            last_start = min(last_end - g, 1440 - g)
            if last_start < first_start:
                continue
            b_start = first_start + g * draw(st.integers(0, (last_start - first_start) // g))
            b_end = b_start + g * draw(st.integers(1, (last_end - b_start) // g))
            chosen.append(_range_text(b_start, b_end))
        if chosen:
            result[day] = chosen
    return result


@st.composite
def hours_with_breaks(
    draw: st.DrawFn,
    *,
    granularity: int = 15,
    strictly_inside: bool = False,
    before_midnight: bool = False,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Pairs `(weeklyHours, breaks)` with each break inside one of that weekday's ranges."""
    hours = draw(weekly_hours(granularity=granularity))
    breaks = draw(
        breaks_within(
            hours,
            granularity=granularity,
            strictly_inside=strictly_inside,
            before_midnight=before_midnight,
        )
    )
    return hours, breaks


@st.composite
def limits(draw: st.DrawFn, *, most: int = 4) -> dict[str, int]:
    """A `limits` object: `perDay` and/or `perWeek`, each 1..`most` (small, so they bite)."""
    keys = draw(st.sampled_from((("perDay",), ("perWeek",), ("perDay", "perWeek"))))
    return {key: draw(st.integers(1, most if key == "perDay" else 2 * most)) for key in keys}


@st.composite
def services(
    draw: st.DrawFn,
    service_id: str = "service",
    staff_ids: Sequence[str] = (),
    branch_ids: Sequence[str] = (),
    *,
    operations: bool = False,
) -> dict[str, Any]:
    """A service dict: duration, sometimes a step, buffers, seats, notice and advance limits,
    an assignment rule.

    `staffIds` is drawn from `staff_ids` (empty means every staff member), `branchIds` from
    `branch_ids`. With `operations`, sometimes also `limits` (see `limits`) and a
    `changeCutoffMinutes`.
    """
    duration = draw(
        st.sampled_from((5, 15, 20, 30, 45, 50, 60, 90, 120, 240)) | st.integers(1, 300)
    )
    service: dict[str, Any] = {"id": service_id, "durationMinutes": duration}
    if draw(st.booleans()):
        service["slotStepMinutes"] = draw(
            st.sampled_from((5, 10, 15, 30, 60)) | st.integers(5, 120)
        )
    if draw(st.booleans()):
        service["bufferBeforeMinutes"] = draw(st.integers(0, 30))
    if draw(st.booleans()):
        service["bufferAfterMinutes"] = draw(st.integers(0, 30))
    service["capacity"] = draw(st.sampled_from((1, 1, 1, 2, 3)))
    if draw(st.integers(0, 2)) == 0:
        service["minNoticeMinutes"] = draw(st.integers(0, 2 * 1440))
    if draw(st.integers(0, 3)) == 0:
        service["maxAdvanceDays"] = draw(st.integers(0, 3))
    if staff_ids and draw(st.integers(0, 1)) == 1:
        chosen = draw(st.lists(st.sampled_from(tuple(staff_ids)), min_size=1, unique=True))
        service["staffIds"] = chosen
    if branch_ids and draw(st.integers(0, 3)) == 0:
        service["branchIds"] = draw(
            st.lists(st.sampled_from(tuple(branch_ids)), min_size=1, unique=True)
        )
    if operations and draw(st.integers(0, 2)) == 0:
        service["limits"] = draw(limits())
    if operations and draw(st.integers(0, 2)) == 0:
        service["changeCutoffMinutes"] = draw(st.sampled_from((0, 60, 1440)) | st.integers(0, 4320))
    if draw(st.integers(0, 3)) == 0:
        service["assignment"] = draw(st.sampled_from([rule.value for rule in Assignment]))
    return service


def _iso(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).isoformat()


def _local_midnight(day: date, tz: tzinfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


@st.composite
def _staff_member(
    draw: st.DrawFn,
    staff_id: str,
    site_zone: str,
    branch_ids: Sequence[str],
    around: date | None,
    staff_timezones: bool,
    operations: bool = False,
) -> dict[str, Any]:
    hours, breaks = draw(hours_with_breaks())
    member: dict[str, Any] = {"id": staff_id, "name": staff_id.title()}
    if operations and draw(st.integers(0, 2)) == 0:
        member["limits"] = draw(limits())
    own_zone: str | None = None
    if staff_timezones and draw(st.integers(0, 3)) == 0:
        own_zone = draw(timezone_names())
        member["timezone"] = own_zone
    if branch_ids and draw(st.integers(0, 1)) == 1:
        member["branchId"] = draw(st.sampled_from(tuple(branch_ids)))
    weekly: dict[str, list[Any]] = {}
    for day, ranges in hours.items():
        items: list[Any] = []
        for text in ranges:
            if branch_ids and draw(st.integers(0, 4)) == 0:
                start_text, _, end_text = text.partition("-")
                branch = draw(st.sampled_from(tuple(branch_ids)))
                items.append({"start": start_text, "end": end_text, "branchId": branch})
            else:
                items.append(text)
        weekly[day] = items
    member["weeklyHours"] = weekly
    if breaks:
        member["breaks"] = breaks
    if around is None:
        return member
    if draw(st.integers(0, 3)) == 0:
        days = [around - _ONE_DAY, around, around + _ONE_DAY]
        chosen = draw(st.lists(st.sampled_from(days), min_size=1, max_size=3, unique=True))
        member["dateOverrides"] = {
            d.isoformat(): [_range_text(s, e) for s, e in draw(_day_ranges(15, 2, True))]
            for d in chosen
        }
    if draw(st.integers(0, 4)) == 0:
        weekday = draw(st.sampled_from(("MO", "TU", "WE", "TH", "FR", "SA", "SU")))
        interval = draw(st.integers(1, 2))
        dtstart = around - timedelta(days=draw(st.integers(0, 20)))
        member["recurring"] = [
            {
                "rrule": f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={weekday}",
                "dtstart": dtstart.isoformat(),
                "hours": [_range_text(s, e) for s, e in draw(_day_ranges(15, 2, True))],
            }
        ]
    if draw(st.integers(0, 3)) == 0:
        base = _local_midnight(around, zone(own_zone or site_zone))
        spans = []
        for _ in range(draw(st.integers(1, 2))):
            start = base + 60 * draw(st.integers(-1440, 2 * 1440))
            length = 60 * draw(st.integers(1, 12 * 60))
            spans.append({"start": _iso(start), "end": _iso(start + length)})
        member["timeOff"] = spans
    return member


@st.composite
def catalogs(
    draw: st.DrawFn,
    *,
    timezone: str | None = None,
    around: date | None = None,
    max_staff: int = 3,
    max_services: int = 3,
    staff_timezones: bool = True,
    branches: bool = True,
    operations: bool = False,
) -> dict[str, Any]:
    """A catalog dict with one site (`"site"`), a few staff and services, valid for `load_catalog`.

    With `operations`, staff and services sometimes carry `limits`, and services a
    `changeCutoffMinutes` (off by default, so existing tests draw what they always drew).

    `timezone` fixes the site's zone (else one of `DST_HEAVY_ZONES`). Staff sometimes have
    their own zone (unless `staff_timezones` is false) and a branch; some ranges name a branch.
    With `around`, some staff also get date overrides, a fortnightly RRULE and time off near
    that date, so they matter for slot queries of `around`.
    """
    site_zone = timezone if timezone is not None else draw(timezone_names())
    branch_list: list[dict[str, Any]] = []
    if branches:
        for i in range(draw(st.integers(0, 2))):
            branch: dict[str, Any] = {"id": f"branch-{i}"}
            if staff_timezones and draw(st.integers(0, 3)) == 0:
                branch["timezone"] = draw(timezone_names())
            branch_list.append(branch)
    branch_ids = [b["id"] for b in branch_list]
    staff_ids = [f"staff-{i}" for i in range(draw(st.integers(1, max_staff)))]
    staff = [
        draw(_staff_member(s, site_zone, branch_ids, around, staff_timezones, operations))
        for s in staff_ids
    ]
    service_list = [
        draw(services(f"service-{i}", staff_ids, branch_ids, operations=operations))
        for i in range(draw(st.integers(1, max_services)))
    ]
    site: dict[str, Any] = {
        "id": "site",
        "timezone": site_zone,
        "services": service_list,
        "staff": staff,
    }
    if branch_list:
        site["branches"] = branch_list
    return {"sites": [site]}


# -- bookings ----------------------------------------------------------------------------


def _booking(
    booking_id: str,
    site: Site,
    service: Service,
    staff: Staff,
    start: int,
    branch_id: str | None,
    status: Status,
    created: datetime,
) -> Booking:
    tz = staff.zone
    begin = datetime.fromtimestamp(start, tz)
    return Booking(
        id=booking_id,
        site_id=site.id,
        service_id=service.id,
        staff_id=staff.id,
        branch_id=branch_id,
        status=status,
        start=begin,
        end=datetime.fromtimestamp(start + service.duration, tz),
        date=begin.date(),
        customer={"name": f"Customer {booking_id}"},
        notes=None,
        created_at=created,
        updated_at=created,
    )


@st.composite
def placed_bookings(
    draw: st.DrawFn, site: Site, day: date, now: datetime, *, max_size: int = 5
) -> list[Booking]:
    """Bookings placed one by one on slots the engine lists for `day` and its neighbours.

    Each booking takes a listed slot that its earlier siblings left free of `booked`/`full`
    (slots only `past`, `too_soon`, `too_far` or in time off are taken too: the booking was
    made earlier, the time off added later). So these are bookings a store could hold.
    """
    placed: list[Booking] = []
    service_ids = tuple(site.services)
    for i in range(draw(st.integers(0, max_size))):
        service = site.services[draw(st.sampled_from(service_ids))]
        offering = site.staff_for(service)
        if not offering:
            continue
        staff = draw(st.sampled_from(offering))
        when = day + timedelta(days=draw(st.integers(-1, 1)))
        slots = [
            slot
            for slot in generate_slots(site, service, when, placed, now, staff_id=staff.id)
            if slot.reason not in _BLOCKING_REASONS
        ]
        if not slots:
            continue
        slot = draw(st.sampled_from(slots))
        placed.append(
            _booking(
                f"placed-{i}",
                site,
                service,
                staff,
                int(slot.start.timestamp()),
                slot.branch_id,
                draw(st.sampled_from(_STATUS_WEIGHTS)),
                now,
            )
        )
    return placed


@st.composite
def arbitrary_bookings(
    draw: st.DrawFn, site: Site, day: date, now: datetime, *, max_size: int = 4
) -> list[Booking]:
    """Bookings at any whole minute from the day before `day` to the day after, any staff.

    They may overlap each other, sit off the grid, or be of a service the staff member does
    not offer: what an engine must still respect when a store was filled by other means.
    """
    result: list[Booking] = []
    staff_list = tuple(site.staff.values())
    service_list = tuple(site.services.values())
    for i in range(draw(st.integers(0, max_size))):
        staff = draw(st.sampled_from(staff_list))
        service = draw(st.sampled_from(service_list))
        base = _local_midnight(day, staff.zone)
        start = base + 60 * draw(st.integers(-1440, 2 * 1440))
        result.append(
            _booking(
                f"extra-{i}",
                site,
                service,
                staff,
                start,
                staff.branch_id,
                draw(st.sampled_from(_STATUS_WEIGHTS)),
                now,
            )
        )
    return result


@st.composite
def bookings(draw: st.DrawFn, site: Site, day: date, now: datetime) -> list[Booking]:
    """Placed bookings (see `placed_bookings`) plus a few arbitrary, possibly overlapping ones."""
    return draw(placed_bookings(site, day, now)) + draw(arbitrary_bookings(site, day, now))


@dataclass(frozen=True, slots=True)
class Scenario:
    """One drawn test case: a catalog, its site, a local date, `now` and existing bookings."""

    catalog: dict[str, Any]
    site: Site
    day: date
    now: datetime
    bookings: list[Booking]


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    near_transitions: bool | None = None,
    with_bookings: bool = True,
    operations: bool = False,
) -> Scenario:
    """A whole slot query: catalog, date (often near a DST transition), `now` and bookings.

    `near_transitions` True always draws a date within a day of an offset change in the site's
    zone, False never does, None mixes both. `operations` adds limits and cut-offs to the
    catalog (see `catalogs`).
    """
    site_zone = draw(timezone_names())
    near = draw(st.booleans()) if near_transitions is None else near_transitions
    if near:
        day = draw(dates_near_transitions(site_zone))
    else:
        day = draw(st.dates(date(2010, 1, 1), date(2030, 12, 31)))
    raw = draw(catalogs(timezone=site_zone, around=day, operations=operations))
    site = load_catalog(raw).site("site")
    now = draw(moments_near(day))
    drawn = draw(bookings(site, day, now)) if with_bookings else []
    return Scenario(catalog=raw, site=site, day=day, now=now, bookings=drawn)
