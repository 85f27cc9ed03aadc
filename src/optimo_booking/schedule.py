"""Schedule expansion: a staff member's rules for some local dates -> working periods in UTC.

A working period is a maximal interval of hours after breaks, per branch. Periods are maximal
across midnight, so the window of dates is widened until no period is cut by its edges.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
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


def _read_day(
    staff: Staff,
    day: date,
    recurring_dates: Mapping[Recurrence, set[date]],
    into: dict[str | None, list[Span]],
) -> None:
    """Add the UTC spans worked on local `day` (overnight parts included) to `into`.

    A weekday's breaks cut that weekday's hours, including their part after midnight.
    """
    tz = staff.zone
    if day_start(day, tz) == day_start(day + _ONE_DAY, tz):
        return  # the date never happened in this zone (Pacific/Apia 2011-12-30)
    hours, breaks = rules_for_day(staff, day, recurring_dates)
    by_branch: dict[str | None, list[Span]] = defaultdict(list)
    for r in hours:
        span = _utc_span(day, r, tz)
        if span is not None:
            by_branch[r.branch_id or staff.branch_id].append(span)
    cut = IntervalSet(span for r in breaks if (span := _utc_span(day, r, tz)) is not None)
    for branch, spans in by_branch.items():
        into[branch].extend(IntervalSet(spans) - cut if cut else spans)


def _utc_span(day: date, rule: TimeRange, tz: tzinfo) -> Span | None:
    """The UTC span of a wall-clock range on `day`, or None when a DST gap swallows it.

    A range wholly inside a spring-forward gap (02:15-03:00 in Berlin) moves its start
    forward past its own end: it never happens.
    """
    start, end = wall_to_utc(day, rule.start, tz), wall_to_utc(day, rule.end, tz)
    return (start, end) if start < end else None


@dataclass(frozen=True, slots=True)
class WorkingTime:
    """A staff member's working periods around some dates, and where each one's grid starts.

    A period is gridded from its own start; a period longer than `MAX_WIDEN_DAYS` (a 24/7
    rota, whose start may lie beyond what any query reads) is gridded from the Unix epoch,
    so every query, whatever its dates, sees the same grid.
    """

    periods: dict[str | None, IntervalSet]
    long_periods: frozenset[Span]

    def grid_origin(self, period: Span) -> int:
        """The instant the period's grid steps from."""
        return 0 if period in self.long_periods else period[0]


def working_periods(staff: Staff, first: date, last: date) -> dict[str | None, IntervalSet]:
    """Working periods, by branch, that hold any instant of local dates `first`..`last`."""
    return working_time(staff, first, last).periods


def working_time(staff: Staff, first: date, last: date) -> WorkingTime:
    """The working periods, by branch, that hold any instant of local dates `first`..`last`.

    Each period is whole: it is not cut at the window's edges, so its grid starts where the
    period really starts and its end is its real end (up to `MAX_WIDEN_DAYS` either way).
    """
    tz = staff.zone
    window_start, window_end = day_start(first, tz), day_start(last + _ONE_DAY, tz)
    margin = timedelta(days=MAX_WIDEN_DAYS + 2)
    dates = _recurrence_dates(staff, first - margin, last + margin)
    spans: dict[str | None, list[Span]] = defaultdict(list)

    def relevant() -> list[Span]:
        return [
            period
            for found in spans.values()
            for period in IntervalSet(found)
            if period[0] < window_end and period[1] > window_start
        ]

    # The day before `first` is always read: its overnight ranges can reach into `first`.
    lo, hi = first - _ONE_DAY, last
    while day_start(lo, tz) == day_start(lo + _ONE_DAY, tz):
        lo -= _ONE_DAY  # a skipped date has no rules; the one before it may run overnight
    day = lo
    while day <= hi:
        _read_day(staff, day, dates, spans)
        day += _ONE_DAY
    # Ranges of the day before `lo` end by the midnight after `lo`: widen backwards while a
    # period that matters starts by then. Ranges of the day after `hi` start at its midnight:
    # widen forwards while a period that matters reaches it.
    cut_before: int | None = None
    for _ in range(MAX_WIDEN_DAYS + 1):
        reach = day_start(lo + _ONE_DAY, tz)
        if not any(start <= reach for start, _ in relevant()):
            break
        lo -= _ONE_DAY
        _read_day(staff, lo, dates, spans)
    else:
        cut_before = day_start(lo + _ONE_DAY, tz)
    cut_after: int | None = None
    for _ in range(MAX_WIDEN_DAYS + 1):
        reach = day_start(hi + _ONE_DAY, tz)
        if not any(end >= reach for _, end in relevant()):
            break
        hi += _ONE_DAY
        _read_day(staff, hi, dates, spans)
    else:
        cut_after = day_start(hi, tz)
    periods = {
        branch: IntervalSet(
            p for p in IntervalSet(found) if p[0] < window_end and p[1] > window_start
        )
        for branch, found in spans.items()
    }
    longest = MAX_WIDEN_DAYS * 86_400
    long_periods = frozenset(
        p
        for found in periods.values()
        for p in found
        if p[1] - p[0] > longest
        or (cut_before is not None and p[0] <= cut_before)
        or (cut_after is not None and p[1] >= cut_after)
    )
    return WorkingTime(periods={b: p for b, p in periods.items() if p}, long_periods=long_periods)


def _recurrence_dates(staff: Staff, first: date, last: date) -> dict[Recurrence, set[date]]:
    # Each rule is expanded once for the whole window, not once per day.
    return {rec: rec.dates_between(first, last) for rec in staff.recurring}


# Staff whose rules are equal share one expansion and one slot grid. Their keys are computed
# once per `Staff` value and interned to small integers that are never reused.
_RULE_SET_IDS: dict[Hashable, int] = {}
_RULE_SET_OF: dict[int, tuple[Staff, int]] = {}
_RULE_SET_COUNTER = itertools.count()
_RULE_SET_LOCK = threading.Lock()
_RULE_SET_CACHE_SIZE = 16_384


def rule_set_id(staff: Staff) -> int:
    """A number equal for two staff members exactly when their rules expand alike.

    What `working_time` reads: the zone, the default branch, weekly hours, breaks, recurring
    hours and date overrides (not the id, name or time off, which never move the grid).
    """
    hit = _RULE_SET_OF.get(id(staff))
    if hit is not None and hit[0] is staff:
        return hit[1]
    key = (
        staff.zone,
        staff.branch_id,
        tuple(sorted(staff.weekly_hours.items())),
        tuple(sorted(staff.breaks.items())),
        staff.recurring,
        tuple(sorted(staff.date_overrides.items())),
    )
    with _RULE_SET_LOCK:
        if len(_RULE_SET_OF) >= _RULE_SET_CACHE_SIZE:
            _RULE_SET_OF.clear()  # catalogs reloaded many times over: start afresh
            _RULE_SET_IDS.clear()
        number = _RULE_SET_IDS.setdefault(key, next(_RULE_SET_COUNTER))
        _RULE_SET_OF[id(staff)] = (staff, number)
    return number
