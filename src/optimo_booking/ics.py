"""Calendars: bookings out as iCalendar (RFC 5545), busy time in from other calendars.

Needs the `ics` extra (`pip install 'optimo-booking[ics]'`): `icalendar` reads and writes the
format and builds each VTIMEZONE from our own `tzdata` zone; `recurring-ical-events` expands
RRULE, RDATE, EXDATE and RECURRENCE-ID. Both load on first use, so `import optimo_booking`
works without them. Sans-IO like the rest of the core: bytes in, values out, no clock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .catalog import Catalog
from .errors import ValidationError
from .localtime import day_start, to_instant, zone_names
from .localtime import zone as load_zone
from .values import Booking, Status

if TYPE_CHECKING:
    import icalendar

__all__ = ["EXTRA_HINT", "STATUS_TO_ICS", "bookings_to_ics", "busy_from_ics"]

EXTRA_HINT = "pip install 'optimo-booking[ics]'"
PRODID = "-//optimo-booking//optimo-booking//EN"

# The lifecycle as a calendar sees it: is the time taken, maybe, or no more.
STATUS_TO_ICS: dict[Status, str] = {
    Status.PENDING: "TENTATIVE",
    Status.CONFIRMED: "CONFIRMED",
    Status.COMPLETED: "CONFIRMED",
    Status.CANCELLED: "CANCELLED",
    Status.NO_SHOW: "CANCELLED",
}

MAX_SPANS = 10_000  # as many busy spans as one `set_busy` call takes over HTTP
# Rules that repeat more often than hourly make expansion unbounded; no busy calendar uses them.
REFUSED_FREQUENCIES = frozenset({"SECONDLY", "MINUTELY"})
# How far past [first, last) expansion looks, so floating and all-day times, read in zones
# up to 14 hours from UTC, are not missed before their instants are known.
_MARGIN = timedelta(days=2)
_TIME_PROPERTIES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "RDATE", "EXDATE")
_BUSY_TYPES = frozenset({"BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE"})

Span = tuple[datetime, datetime]


def require_extra() -> None:
    """Load the `ics` extra's libraries, or raise an ImportError that says how to install it.

    The functions below import them again where they use them (a cached lookup), so the
    type checker sees the real modules.
    """
    try:
        import icalendar  # noqa: F401
        import recurring_ical_events  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"optimo_booking.ics needs the `ics` extra ({exc.name} is not installed): {EXTRA_HINT}",
            name=exc.name,
        ) from exc


# -- export ------------------------------------------------------------------------------


def bookings_to_ics(bookings: Iterable[Booking], catalog: Catalog) -> bytes:
    """One VCALENDAR with a VEVENT per booking, in its staff member's zone.

    UID is `<booking id>@<site id>`, so a calendar that subscribes sees one event change
    rather than a new one; SEQUENCE is the booking's `version`. Each zone used gets a
    VTIMEZONE built from the bundled `tzdata`, covering the years of its bookings.
    """
    require_extra()
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    years: dict[str, tuple[ZoneInfo, int, int]] = {}
    for booking in bookings:
        site = catalog.site(booking.site_id)
        staff_zone = site.staff_member(booking.staff_id).zone
        service = site.service(booking.service_id)
        start = datetime.fromtimestamp(booking.start_ts, staff_zone)
        end = datetime.fromtimestamp(booking.end_ts, staff_zone)
        event = icalendar.Event()
        event.add("uid", f"{booking.id}@{booking.site_id}")
        event.add("dtstamp", booking.updated_at.astimezone(UTC))
        event.add("created", booking.created_at.astimezone(UTC))
        event.add("last-modified", booking.updated_at.astimezone(UTC))
        event.add("dtstart", _tzid_time(start))
        event.add("dtend", _tzid_time(end))
        event.add("status", STATUS_TO_ICS[booking.status])
        event.add("sequence", booking.version)
        event.add("summary", _summary(service.name, booking.customer))
        if booking.notes:
            event.add("description", booking.notes)
        event.add("x-optimo-staff-id", booking.staff_id)
        event.add("x-optimo-service-id", booking.service_id)
        calendar.add_component(event)
        key = str(staff_zone.key)
        _, low, high = years.get(key, (staff_zone, start.year, end.year))
        years[key] = (staff_zone, min(low, start.year), max(high, end.year))
    # VTIMEZONEs first, so a reader meets each definition before the events that use it.
    zones = [_vtimezone(zone, low, high) for _, (zone, low, high) in sorted(years.items())]
    calendar.subcomponents[:0] = zones
    data: bytes = calendar.to_ical()
    return data


def _tzid_time(moment: datetime) -> datetime:
    """`moment` as written with its zone's TZID, or in UTC for the second of two equal wall
    times (RFC 5545 reads a repeated TZID wall time as its first occurrence)."""
    if moment.fold and moment.replace(fold=0).utcoffset() != moment.utcoffset():
        return moment.astimezone(UTC)
    return moment


def _summary(service_name: str, customer: Any) -> str:
    name = customer.get("name") if hasattr(customer, "get") else None
    return f"{service_name}: {name}" if isinstance(name, str) and name.strip() else service_name


@functools.lru_cache(maxsize=256)
def _vtimezone(zone: ZoneInfo, first_year: int, last_year: int) -> icalendar.Timezone:
    """A VTIMEZONE for `zone` from the start of `first_year` to the end of `last_year`.

    Built by icalendar from our `tzdata` zone object (not a lookup by name), so it agrees
    with the offsets the engine used. Cached: building one walks every transition.
    """
    import icalendar

    timezone: icalendar.Timezone = icalendar.Timezone.from_tzinfo(
        zone,
        tzid=str(zone.key),
        first_date=date(first_year, 1, 1),
        last_date=date(last_year + 1, 1, 1),
    )
    return timezone


# -- import ------------------------------------------------------------------------------


def busy_from_ics(
    data: bytes | str,
    first: datetime,
    last: datetime,
    *,
    zone: str | tzinfo | None = None,
) -> list[Span]:
    """Busy spans of an iCalendar file that overlap `[first, last)`, whole (not clipped).

    Reads VEVENTs (recurrences expanded; TRANSPARENT and CANCELLED events and occurrences
    skipped; zero-length events take no time) and VFREEBUSY periods (`FBTYPE=FREE`
    skipped). All-day events and floating times are read in the calendar's X-WR-TIMEZONE,
    else `zone`, else UTC. Spans come back sorted by instant, without exact repeats, each
    in the zone it was written in. Malformed input is a `ValidationError` naming every
    problem found.
    """
    window = _window(first, last)
    require_extra()
    import icalendar
    import recurring_ical_events

    text = _text(data)
    _check_nesting(text)
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as exc:  # the library's parse errors are many kinds; all mean bad input
        raise _invalid([("", str(exc))]) from None
    problems = list(_problems(calendar))
    reading_zone = _reading_zone(calendar, zone, problems)
    if problems:
        raise _invalid(problems)
    spans: dict[tuple[int, int], tzinfo] = {}
    for start, length in _event_starts(recurring_ical_events.of, calendar, window, reading_zone):
        first_instant, start_zone = _instant(start, reading_zone)
        _keep(spans, first_instant, length.end(start, reading_zone), start_zone, window)
    for start, end in _freebusy_spans(calendar):
        first_instant, start_zone = _instant(start, reading_zone)
        _keep(spans, first_instant, _instant(end, reading_zone)[0], start_zone, window)
    return [
        (datetime.fromtimestamp(s, tz), datetime.fromtimestamp(e, tz))
        for (s, e), tz in sorted(spans.items())
    ]


def _window(first: datetime, last: datetime) -> tuple[int, int]:
    problems = []
    for name, value in (("first", first), ("last", last)):
        if not isinstance(value, datetime) or value.utcoffset() is None:
            problems.append((name, "must be an aware datetime"))
    if problems:
        raise _invalid(problems)
    low, high = to_instant(first), to_instant(last)
    if high <= low:
        raise _invalid([("last", "must be after first")])
    return low, high


def _invalid(problems: list[tuple[str, str]]) -> ValidationError:
    """One error naming every problem: `field` is an argument name, or where in the file
    (`VEVENT[2] (UID abc).DTSTART`), or `data` for the file as a whole."""
    named = [(where or "data", what) for where, what in problems]
    lines = [f"{where}: {what}" if where else what for where, what in problems]
    return ValidationError(
        "not a usable iCalendar file: " + "; ".join(lines),
        {
            "fields": list(dict.fromkeys(where for where, _ in named)),
            "problems": [{"field": where, "message": what} for where, what in named],
        },
    )


def _text(data: bytes | str) -> str:
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _invalid([("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    if not isinstance(data, str):
        raise _invalid([("data", f"must be bytes or str, not {type(data).__name__}")])
    if not data.strip():
        raise _invalid([("", "empty input")])
    return data


def _check_nesting(text: str) -> None:
    """One VCALENDAR whose BEGIN and END lines pair up (icalendar itself lets an END close
    whatever is open, and drops a component that is never closed)."""
    from icalendar.parser import Contentlines

    stack: list[str] = []
    seen_calendar = False
    lines: list[Any] = Contentlines.from_ical(text)  # type: ignore[no-untyped-call]
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            name, _, value = line.parts()
        except ValueError as exc:
            raise _invalid([(f"content line {number}", str(exc))]) from None
        name, value = name.upper(), value.upper()
        if name == "BEGIN":
            if not stack and (seen_calendar or value != "VCALENDAR"):
                raise _invalid([(f"content line {number}", "expected one VCALENDAR")])
            stack.append(value)
            seen_calendar = True
        elif name == "END":
            if not stack or stack[-1] != value:
                open_one = f"END:{stack[-1]}" if stack else "nothing open"
                raise _invalid([(f"content line {number}", f"END:{value}, expected {open_one}")])
            stack.pop()
        elif not stack:
            raise _invalid([(f"content line {number}", f"{name} outside VCALENDAR")])
    if stack:
        raise _invalid([("", f"END:{stack[-1]} is missing")])
    if not seen_calendar:
        raise _invalid([("", "no VCALENDAR")])


def _problems(calendar: icalendar.Calendar) -> Iterator[tuple[str, str]]:
    """Every property the parser could not read, every TZID no zone answers to, and every
    recurrence rule we refuse, each with the path of its component."""
    import icalendar

    counts: dict[str, int] = {}
    for component in calendar.walk():
        kind = str(component.name)
        counts[kind] = counts.get(kind, 0) + 1
        where = f"{kind}[{counts[kind]}]"
        uid = component.get("UID")
        if uid is not None:
            where += f" (UID {uid})"
        for name, message in component.errors:
            if not (name or "").upper().startswith("X-"):
                yield f"{where}.{name}" if name else where, message
        if component.name not in {"VEVENT", "VFREEBUSY"}:
            continue
        for name in _TIME_PROPERTIES:
            for value in _as_list(component.get(name)):
                if not isinstance(value, icalendar.vBroken):  # reported as an error above
                    yield from _unknown_zones(value, f"{where}.{name}")
        for rule in _as_list(component.get("RRULE")):
            if not isinstance(rule, icalendar.vRecur):
                continue
            frequency = _first(rule.get("FREQ"))
            if isinstance(frequency, str) and frequency.upper() in REFUSED_FREQUENCIES:
                yield f"{where}.RRULE", f"FREQ={frequency} is not supported (hourly at most)"
        master = component.name == "VEVENT" and component.get("RECURRENCE-ID") is None
        if master and component.get("DTSTART") is None:
            yield f"{where}.DTSTART", "is missing"


def _unknown_zones(value: Any, where: str) -> Iterator[tuple[str, str]]:
    tzid = getattr(value, "params", {}).get("TZID")
    if tzid is None:
        return
    moments = [getattr(value, "dt", None)]
    if hasattr(value, "dts"):  # RDATE and EXDATE hold lists
        moments = [getattr(item, "dt", None) for item in value.dts]
    for item in moments:
        moment = item[0] if isinstance(item, tuple) else item  # an RDATE may be a period
        if isinstance(moment, datetime) and moment.tzinfo is None:
            # icalendar reads an unknown TZID as floating time; we refuse to guess
            yield where, f"unknown time zone {tzid!r} (no VTIMEZONE and not an IANA name)"
            return


def _reading_zone(
    calendar: Any, zone: str | tzinfo | None, problems: list[tuple[str, str]]
) -> tzinfo:
    """The zone for all-day and floating times: X-WR-TIMEZONE, else `zone`, else UTC."""
    declared = calendar.get("X-WR-TIMEZONE")
    if declared is not None:
        name = str(declared).strip()
        try:
            return _named_zone(name)
        except KeyError:
            problems.append(("VCALENDAR.X-WR-TIMEZONE", f"unknown time zone {name!r}"))
            return UTC
    if zone is None:
        return UTC
    if isinstance(zone, tzinfo):
        return zone
    try:
        return _named_zone(zone)
    except (KeyError, TypeError):
        raise _invalid([("zone", f"unknown time zone {zone!r}")]) from None


def _named_zone(name: str) -> tzinfo:
    if name in {"UTC", "Etc/UTC"}:
        return UTC
    return load_zone(name)


@dataclass(frozen=True, slots=True)
class _Length:
    """How long each occurrence of one VEVENT lasts, by RFC 5545 section 3.8.5.3.

    A DTEND gives every occurrence the same *exact* (elapsed) duration; a DURATION is
    *nominal*: its days keep the wall time across a DST change, its hours are elapsed.
    All-day events count whole days; an RDATE given as a period keeps its own end.
    (recurring-ical-events adds durations in wall-clock time, an hour off when an event
    crosses a change, so ends are computed here from each event's own definition.)
    """

    days: int = 0  # nominal days, wall time kept
    seconds: int = 0  # elapsed seconds after those days
    periods: tuple[tuple[int, int], ...] = ()  # (start, end) UTC seconds of RDATE periods

    def end(self, start: Any, reading_zone: tzinfo) -> int:
        """UTC seconds of the end of the occurrence that starts at `start` (as written)."""
        begins = _instant(start, reading_zone)[0]
        for period_start, period_end in self.periods:
            if period_start == begins:
                return period_end
        if self.days:
            start = start + timedelta(days=self.days)  # wall-clock days, for dates too
        return _instant(start, reading_zone)[0] + self.seconds

    @staticmethod
    def of(event: Any, reading_zone: tzinfo) -> _Length:
        start = event.get("DTSTART")
        if start is None:  # an override that only cancels; it takes no time
            return _Length()
        periods = tuple(_rdate_periods(event, reading_zone))
        start_value = start.dt
        all_day = type(start_value) is date
        end = event.get("DTEND")
        if end is not None:
            end_value = end.dt
            if all_day and type(end_value) is date:
                return _Length(days=(end_value - start_value).days, periods=periods)
            elapsed = _instant(end_value, reading_zone)[0] - _instant(start_value, reading_zone)[0]
            return _Length(seconds=elapsed, periods=periods)
        duration = event.get("DURATION")
        if duration is not None:
            length: timedelta = duration.dt
            return _Length(days=length.days, seconds=length.seconds, periods=periods)
        # neither: an all-day event lasts its day, a timed one takes no time
        return _Length(days=1 if all_day else 0, periods=periods)


def _rdate_periods(event: Any, reading_zone: tzinfo) -> Iterator[tuple[int, int]]:
    for rdates in _as_list(event.get("RDATE")):
        for item in getattr(rdates, "dts", ()):
            value = item.dt
            if isinstance(value, tuple):
                begins, end_or_length = value
                if isinstance(end_or_length, timedelta):
                    end_or_length = begins + end_or_length
                yield _instant(begins, reading_zone)[0], _instant(end_or_length, reading_zone)[0]


_SOURCE = "X-OPTIMO-SOURCE"  # tags each VEVENT so its occurrences can find their definition


def _event_starts(
    expand: Callable[[Any], Any],
    calendar: icalendar.Calendar,
    window: tuple[int, int],
    reading_zone: tzinfo,
) -> Iterator[tuple[Any, _Length]]:
    """Start (as written) and length of every VEVENT occurrence near the window that takes
    time: TRANSPARENT and CANCELLED events and occurrences are left out."""
    lengths: list[_Length] = []
    try:
        for index, event in enumerate(calendar.walk("VEVENT")):
            event.pop(_SOURCE, None)
            event.add(_SOURCE, str(index))
            lengths.append(_Length.of(event, reading_zone))
        low = datetime.fromtimestamp(window[0], UTC) - _MARGIN
        high = datetime.fromtimestamp(window[1], UTC) + _MARGIN
        # `between` finds every occurrence overlapping the range, long ones begun before it too
        occurrences = expand(calendar).between(low, high)
        for occurrence in occurrences:
            start = occurrence.get("DTSTART")
            if start is None:
                continue
            if str(occurrence.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
                continue
            yield start.dt, lengths[int(str(occurrence[_SOURCE]))]
    except ValidationError:
        raise
    except Exception as exc:  # malformed rules and dates surface here, in any error class
        raise _invalid([("VEVENT", f"cannot expand: {exc}")]) from None


def _freebusy_spans(calendar: Any) -> Iterator[tuple[Any, Any]]:
    for component in calendar.walk("VFREEBUSY"):
        for period in _as_list(component.get("FREEBUSY")):
            kind = str(period.params.get("FBTYPE", "BUSY")).upper()
            if kind not in _BUSY_TYPES:
                continue
            start, end_or_length = period.dt
            if isinstance(end_or_length, timedelta):
                end_or_length = start + end_or_length
            yield start, end_or_length


def _keep(
    spans: dict[tuple[int, int], tzinfo],
    first: int,
    second: int,
    zone: tzinfo,
    window: tuple[int, int],
) -> None:
    """Add `[first, second)` (UTC seconds) when it takes time and overlaps the window."""
    if second <= first or second <= window[0] or first >= window[1]:
        return
    if (first, second) not in spans and len(spans) >= MAX_SPANS:
        message = f"more than {MAX_SPANS} busy spans in the window; ask for fewer days"
        raise _invalid([("", message)])
    spans.setdefault((first, second), zone)


def _instant(moment: Any, reading_zone: tzinfo) -> tuple[int, tzinfo]:
    """UTC seconds of a written time and the zone to show it in.

    A date is the start of that day and a floating time is a wall time, both in
    `reading_zone` (a gap moves forward, a repeated time means its first occurrence). A
    time in a named IANA zone is read with our `tzdata`, whatever the parser loaded.
    """
    if type(moment) is date:
        return day_start(moment, reading_zone), reading_zone
    if not isinstance(moment, datetime):
        raise _invalid([("", f"not a date or time: {moment!r}")])
    zone = moment.tzinfo
    if zone is None:
        zone = reading_zone
    elif isinstance(zone, ZoneInfo) and zone.key in {"UTC", "Etc/UTC"}:
        zone = UTC
    elif isinstance(zone, ZoneInfo) and zone.key in zone_names():
        zone = load_zone(zone.key)
    return int(moment.replace(tzinfo=zone).timestamp()), zone


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value
