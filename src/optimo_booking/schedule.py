"""Schedule expansion: a staff member's rules for some local dates -> working periods in UTC.

A working period is a maximal interval of hours after breaks, per branch. Periods are maximal
across midnight, so the window of dates is widened until no period is cut by its edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta, tzinfo

from .catalog import Recurrence, Staff, TimeRange
from .intervals import IntervalSet, Span
from .localtime import day_start, wall_to_utc

# A period of unbroken working time longer than this is gridded from this many days before
# the requested dates (a 24/7 rota would otherwise have no first period to grid from).
MAX_WIDEN_DAYS = 31

_ONE_DAY = timedelta(days=1)


def rules_for_day(
    staff: Staff, day: date, recurring_dates: Mapping[Recurrence, set[date]]
) -> tuple[tuple[TimeRange, ...], tuple[TimeRange, ...]]:
    """The `(hours, breaks)` ranges that apply on local `day`.

    A `dateOverrides` entry replaces that date's hours and breaks; otherwise weekly and
    recurring hours are unioned and that weekday's breaks apply.
    """
    override = staff.date_overrides.get(day)
    if override is not None:
        return override, ()
    weekday = day.weekday()
    hours = staff.weekly_hours.get(weekday, ())
    for rec in staff.recurring:
        if day in recurring_dates[rec]:
            hours = hours + rec.hours
    return hours, staff.breaks.get(weekday, ())


def _day_spans(
    staff: Staff, day: date, recurring_dates: Mapping[Recurrence, set[date]]
) -> dict[str | None, list[Span]]:
    """UTC spans worked on local `day` (overnight parts included), keyed by branch."""
    tz = staff.zone
    if day_start(day, tz) == day_start(day + _ONE_DAY, tz):
        return {}  # the date never happened in this zone (Pacific/Apia 2011-12-30)
    hours, breaks = rules_for_day(staff, day, recurring_dates)
    by_branch: dict[str | None, list[Span]] = defaultdict(list)
    for r in hours:
        span = _utc_span(day, r, tz)
        if span is not None:
            by_branch[r.branch_id or staff.branch_id].append(span)
    if breaks:
        cut = IntervalSet(span for r in breaks if (span := _utc_span(day, r, tz)) is not None)
        for branch, spans in by_branch.items():
            by_branch[branch] = list(IntervalSet(spans) - cut)
    return by_branch


def _utc_span(day: date, rule: TimeRange, tz: tzinfo) -> Span | None:
    """The UTC span of a wall-clock range on `day`, or None when a DST gap swallows it.

    A range wholly inside a spring-forward gap (02:15-03:00 in Berlin) moves its start
    forward past its own end: it never happens.
    """
    start, end = wall_to_utc(day, rule.start, tz), wall_to_utc(day, rule.end, tz)
    return (start, end) if start < end else None


def working_periods(staff: Staff, first: date, last: date) -> dict[str | None, IntervalSet]:
    """Working periods, by branch, that hold any instant of local dates `first`..`last`.

    Each period is whole: it is not cut at the window's edges, so its grid starts where the
    period really starts and its end is its real end.
    """
    tz = staff.zone
    window_start, window_end = day_start(first, tz), day_start(last + _ONE_DAY, tz)
    margin = timedelta(days=MAX_WIDEN_DAYS + 1)
    dates = _recurrence_dates(staff, first - margin, last + margin)
    spans: dict[str | None, list[Span]] = defaultdict(list)

    def add(day: date) -> None:
        for branch, day_spans in _day_spans(staff, day, dates).items():
            spans[branch].extend(day_spans)

    def relevant() -> list[Span]:
        return [
            period
            for branch_spans in spans.values()
            for period in IntervalSet(branch_spans)
            if period[0] < window_end and period[1] > window_start
        ]

    # The day before `first` is always read: its overnight ranges can reach into `first`.
    lo, hi = first - _ONE_DAY, last
    while day_start(lo, tz) == day_start(lo + _ONE_DAY, tz):
        lo -= _ONE_DAY  # a skipped date has no rules; the one before it may run overnight
    day = lo
    while day <= hi:
        add(day)
        day += _ONE_DAY
    # Ranges of the day before `lo` end by the midnight after `lo`: widen backwards while a
    # period that matters starts by then. Ranges of the day after `hi` start at its midnight:
    # widen forwards while a period that matters reaches it.
    for _ in range(MAX_WIDEN_DAYS):
        reach = day_start(lo + _ONE_DAY, tz)
        if not any(start <= reach for start, _ in relevant()):
            break
        lo -= _ONE_DAY
        add(lo)
    for _ in range(MAX_WIDEN_DAYS):
        reach = day_start(hi + _ONE_DAY, tz)
        if not any(end >= reach for _, end in relevant()):
            break
        hi += _ONE_DAY
        add(hi)
    return {
        branch: IntervalSet(
            p for p in IntervalSet(branch_spans) if p[0] < window_end and p[1] > window_start
        )
        for branch, branch_spans in spans.items()
    }


def _recurrence_dates(staff: Staff, first: date, last: date) -> dict[Recurrence, set[date]]:
    # Each rule is expanded once for the whole window, not once per day.
    return {rec: rec.dates_between(first, last) for rec in staff.recurring}
