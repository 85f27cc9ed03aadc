"""Slot generation: a pure function of site, service, dates, bookings, `now` and filters.

The grid of each working period is `p + k * step` in elapsed seconds while the service fits;
bookings, time off and notice rules only mark grid slots unavailable. Staff with the same
rules share one grid (and its local datetimes); each booking marks the index range of its
staff member's grid that it blocks, found by binary search, so the whole answer costs
O(slots + bookings log slots), never slots x bookings, and the per-slot work is building
the `Slot` values.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import chain, repeat

from .catalog import Service, Site, Staff
from .errors import ValidationError
from .intervals import IntervalSet, Span
from .localtime import as_date, day_start, local_date, local_datetimes, to_instant
from .schedule import rule_set_id, working_time
from .values import BusyTime, HeldTime, HoldsTime, Slot, Status, slot_run

_ONE_DAY = timedelta(days=1)
_BOOKED = tuple(("booked",) * n for n in range(8))  # what a booking marks, by slots covered


_NO_TIME = IntervalSet()


@dataclass(frozen=True, slots=True)
class LimitCounts:
    """Time-holding items of one staff member counted per local day and ISO week, against
    the staff member's and the service's limits (a service's counts only its own items)."""

    zone: tzinfo
    # (limit, counts by local date or by (ISO year, ISO week), whether by week)
    checks: tuple[tuple[int, dict[object, int], bool], ...]

    @classmethod
    def build(
        cls, staff: Staff, service: Service, items: Iterable[tuple[str, date]]
    ) -> LimitCounts | None:
        """Count `(service id, local date)` items; None when neither has a limit."""
        wanted: list[tuple[int, bool, bool]] = []  # (limit, by week, this service only)
        for limits, own in ((staff.limits, False), (service.limits, True)):
            if limits.per_day is not None:
                wanted.append((limits.per_day, False, own))
            if limits.per_week is not None:
                wanted.append((limits.per_week, True, own))
        if not wanted:
            return None
        checks: list[tuple[int, dict[object, int], bool]] = []
        listed = list(items)
        for limit, weekly, own in wanted:
            counts: dict[object, int] = defaultdict(int)
            for service_id, day in listed:
                if not own or service_id == service.id:
                    counts[_week_of(day) if weekly else day] += 1
            checks.append((limit, dict(counts), weekly))
        return cls(zone=staff.zone, checks=tuple(checks))

    def reached(self, start: int) -> bool:
        """True when a start at `start` would pass a limit (the count already equals it)."""
        day = local_date(start, self.zone)
        week = _week_of(day)
        return any(
            counts.get(week if weekly else day, 0) >= limit for limit, counts, weekly in self.checks
        )


def _week_of(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


@dataclass(frozen=True, slots=True)
class StaffAvailability:
    """Everything needed to tell whether one staff member can take `service` at an instant.

    Slot listing and booking placement both ask this one predicate, so a listed slot can
    always be booked and a refused start is never listed. Bookings and live holds take time
    alike; holds only change the reason (`held` before `booked`).
    """

    service: Service
    now: int
    held: IntervalSet  # held spans of bookings that block any overlapping candidate
    group_starts: tuple[int, ...]  # sorted starts of same-service group sessions (bookings)
    group_seats: dict[int, int]  # start -> seats taken by bookings and live holds
    time_off: IntervalSet
    hold_spans: IntervalSet = _NO_TIME  # held spans of live holds
    hold_group_starts: tuple[int, ...] = ()  # same-service group starts of live holds
    busy: IntervalSet = _NO_TIME
    limits: LimitCounts | None = None

    @classmethod
    def build(
        cls,
        site: Site,
        service: Service,
        staff: Staff,
        bookings: Iterable[HoldsTime],
        now: int,
        *,
        holds: Iterable[HeldTime] = (),
        busy: Iterable[BusyTime] = (),
    ) -> StaffAvailability:
        """Index `bookings`, `holds` and `busy` (any order; only `staff`'s count, only
        bookings holding time, only holds live at `now`)."""
        seats: dict[int, int] = defaultdict(int)
        shared = service.capacity > 1
        buffers: dict[str, tuple[int, int]] = {}
        staff_id, cancelled = staff.id, Status.CANCELLED
        counted: list[tuple[str, date]] = []

        def pad_of(service_id: str) -> tuple[int, int]:
            pad = buffers.get(service_id)
            if pad is None:
                other = site.services.get(service_id)
                pad = (other.buffer_before, other.buffer_after) if other else (0, 0)
                buffers[service_id] = pad
            return pad

        def index(items: Iterable[HoldsTime | HeldTime]) -> tuple[list[Span], list[int]]:
            spans: list[Span] = []
            starts: list[int] = []
            for b in items:
                counted.append((b.service_id, b.date))
                if shared and b.service_id == service.id:
                    seats[b.start_ts] += 1
                    starts.append(b.start_ts)
                    continue
                pad = pad_of(b.service_id)
                spans.append((b.start_ts - pad[0], b.end_ts + pad[1]))
            return spans, starts

        booked, booked_starts = index(
            b for b in bookings if b.staff_id == staff_id and b.status is not cancelled
        )
        held, held_starts = index(h for h in holds if h.staff_id == staff_id and now < h.expires_ts)
        busy_spans = [(b.start_ts, b.end_ts) for b in busy if b.staff_id == staff_id]
        return cls(
            service=service,
            now=now,
            held=IntervalSet(booked),
            group_starts=tuple(sorted(set(booked_starts))),
            group_seats=dict(seats),
            time_off=staff.time_off,
            hold_spans=IntervalSet(held) if held else _NO_TIME,
            hold_group_starts=tuple(sorted(set(held_starts))),
            busy=IntervalSet(busy_spans) if busy_spans else _NO_TIME,
            limits=LimitCounts.build(staff, service, counted),
        )

    @property
    def plain(self) -> bool:
        """True when only bookings' held spans can refuse a start inside notice and advance,
        so a sweep over `held` decides every candidate (see `staff_slots`)."""
        return not (
            self.time_off
            or self.group_seats
            or self.hold_spans
            or self.busy
            or self.limits is not None
        )

    def reason(self, start: int) -> str | None:
        """Why a grid slot starting at `start` is unavailable, or None when it is available.

        Reasons in order: past, too_soon, too_far, time_off, busy, limit_reached, full,
        held, booked.
        """
        service = self.service
        duration = service.duration
        if start < self.now:
            return "past"
        if start < self.now + service.min_notice_minutes * 60:
            return "too_soon"
        if (
            service.max_advance_days is not None
            and start > self.now + service.max_advance_days * 86_400
        ):
            return "too_far"
        if self.time_off and self.time_off.overlaps(start, start + duration):
            return "time_off"
        held_start = start - service.buffer_before
        held_end = start + duration + service.buffer_after
        if self.busy and self.busy.overlaps(held_start, held_end):
            return "busy"
        if self.limits is not None and self.limits.reached(start):
            return "limit_reached"
        if self.group_seats and self.group_seats.get(start, 0) >= service.capacity:
            return "full"
        length = held_end - held_start
        if self.hold_spans and self.hold_spans.overlaps(held_start, held_end):
            return "held"
        if _other_session_near(self.hold_group_starts, start, length):
            return "held"
        if self.held and self.held.overlaps(held_start, held_end):
            return "booked"
        if _other_session_near(self.group_starts, start, length):
            return "booked"
        return None


def _other_session_near(starts: tuple[int, ...], start: int, length: int) -> bool:
    """Whether a group session of this service starting elsewhere overlaps `start`.

    Sessions share this service's held length, so they overlap a candidate exactly when
    their starts are closer than that length.
    """
    if not starts:
        return False
    i, j = bisect_right(starts, start - length), bisect_left(starts, start + length)
    return any(g != start for g in starts[i:j])


def slot_grid(period: Span, origin: int, step: int, duration: int, lo: int, hi: int) -> range:
    """Grid starts `origin + k * step` inside `period` and `[lo, hi)` where the service fits."""
    period_start, period_end = period
    first = max(lo, period_start)
    last = min(hi - 1, period_end - duration)
    if last < first:
        return range(0)
    k = -((origin - first) // step)  # ceil((first - origin) / step)
    return range(origin + k * step, last + 1, step)


def staff_offering(
    site: Site, service: Service, *, staff_id: str | None = None, branch_id: str | None = None
) -> list[Staff]:
    """Staff who offer `service` (optionally one of them) at a branch where they work.

    Unknown ids raise `NotFound`; a staff member who exists but does not offer the service
    there is simply left out.
    """
    if branch_id is not None:
        site.branch(branch_id)
    wanted = branch_choice(service, branch_id)
    offering = site.staff_for(service)
    if staff_id is not None:
        member = site.staff_member(staff_id)
        offering = [member] if member in offering else []
    if wanted is None:
        return offering
    return [member for member in offering if member.works_at & wanted]


def branch_choice(service: Service, branch_id: str | None) -> set[str | None] | None:
    """Branches whose hours count for `service` under the filter; None means every one."""
    if branch_id is not None:
        if service.branch_ids and branch_id not in service.branch_ids:
            return set()
        return {branch_id}
    if service.branch_ids:
        return set(service.branch_ids)
    return None


@dataclass(frozen=True, slots=True)
class GridRun:
    """The slot grid of one rule set at one branch over the asked dates, shared by its staff.

    `starts` ascend (UTC seconds); `start_times` and `end_times` are the matching local
    datetimes, made once here and shared by every slot of every staff member on this grid.
    """

    branch_id: str | None
    starts: list[int]
    start_times: list[datetime]
    end_times: list[datetime]


def grid_runs(staff: Staff, service: Service, first: date, last: date) -> list[GridRun]:
    """The grid of `staff`'s rules on local dates `first`..`last`, one run per branch.

    Runs come in branch order (None first); any staff member with the same `rule_set_id`
    has the very same runs.
    """
    tz = staff.zone
    lo, hi = day_start(first, tz), day_start(last + _ONE_DAY, tz)
    if lo >= hi:
        return []
    step, duration = service.step, service.duration
    working = working_time(staff, first, last)
    runs = []
    for branch in sorted(working.periods, key=lambda b: b or ""):
        starts: list[int] = []
        start_times: list[datetime] = []
        end_times: list[datetime] = []
        for period in working.periods[branch]:
            grid = slot_grid(period, working.grid_origin(period), step, duration, lo, hi)
            if grid:
                starts.extend(grid)
                start_times.extend(local_datetimes(grid, tz))
                ends = range(grid.start + duration, grid.stop + duration, step)
                end_times.extend(local_datetimes(ends, tz))
        if starts:
            runs.append(GridRun(branch, starts, start_times, end_times))
    return runs


def mark_bookings(
    site: Site,
    service: Service,
    bookings: Iterable[HoldsTime],
    grids: Mapping[str, list[tuple[list[int], list[str | None]]]],
) -> set[str]:
    """Mark `booked` on the grids of each staff member their bookings block; one pass.

    `grids` maps a staff id to its runs' `(starts, reasons)`. A candidate starting at `s`
    holds `[s - before, s + duration + after)`, which meets a booking's held span `[a, b)`
    exactly when `a - duration - after < s < b + before`: two binary searches give that
    index range. Cancelled bookings hold nothing. A booking of the listed service when it
    seats several (`capacity > 1`) shares its start instead of blocking it: the staff
    members holding such seats are returned, to be judged slot by slot.
    """
    reach_before = service.duration + service.buffer_after
    reach_after = service.buffer_before
    service_id, shared, cancelled = service.id, service.capacity > 1, Status.CANCELLED
    unknown = (reach_before, reach_after)  # a service no longer in the catalog: no buffers
    pads = {
        other.id: (other.buffer_before + reach_before, other.buffer_after + reach_after)
        for other in site.services.values()
    }
    seated: set[str] = set()
    runs_of, pad_of, after_lo, before_hi = grids.get, pads.get, bisect_right, bisect_left
    for b in bookings:
        runs = runs_of(b.staff_id)
        if not runs or b.status is cancelled:
            continue
        if shared and b.service_id == service_id:
            seated.add(b.staff_id)
            continue
        pad_before, pad_after = pad_of(b.service_id, unknown)
        lo, hi = b.start_ts - pad_before, b.end_ts + pad_after
        for starts, reasons in runs:
            i = after_lo(starts, lo)
            j = before_hi(starts, hi, i)
            if i < j:
                reasons[i:j] = _BOOKED[j - i] if j - i < len(_BOOKED) else ["booked"] * (j - i)
    return seated


def mark_limits(
    starts: list[int], reasons: list[str | None], staff: Staff, service: Service, now: int
) -> None:
    """Mark time off, then `too_far`, `too_soon` and `past`, over the bookings' marks.

    Each limit covers an index range of the grid, found by binary search; marks go from the
    weakest reason to the strongest, so the last one on a slot is the first reason
    `StaffAvailability.reason` names.
    """
    first, last = starts[0], starts[-1]
    duration = service.duration
    soon = now + service.min_notice_minutes * 60
    far = None if service.max_advance_days is None else now + service.max_advance_days * 86_400
    if not staff.time_off and first >= soon and (far is None or last <= far):
        return  # the common case: nothing but bookings can make a slot unavailable

    def mark(lo: int, hi: int, why: str) -> None:
        # Starts in `(lo, hi)`.
        i, j = bisect_right(starts, lo), bisect_left(starts, hi)
        if i < j:
            reasons[i:j] = [why] * (j - i)

    if staff.time_off:
        for a, b in _spans_near(staff.time_off, first, last + duration):
            mark(a - duration, b, "time_off")
    if far is not None:
        mark(far, last + 1, "too_far")
    if first < soon:
        mark(first - 1, soon, "too_soon")
        mark(first - 1, now, "past")


def _spans_near(spans: IntervalSet, lo: int, hi: int) -> list[Span]:
    """The spans of `spans` that reach into `[lo, hi]` (a binary search, then a slice)."""
    bounds = spans.bounds
    if not bounds:
        return []
    i = bisect_right(bounds, lo)
    i -= i % 2
    j = bisect_right(bounds, hi)
    j += j % 2
    near = bounds[i:j]
    return list(zip(near[0::2], near[1::2], strict=True))


@dataclass(slots=True)
class SharedRun:
    """The staff members listed on one grid run, in rank order, with their marks."""

    run: GridRun
    ranks: list[int]
    staff_ids: list[str]
    reasons: list[list[str | None]]

    def slots(self) -> list[Slot]:
        """Every slot of the run, start by start, each start's staff in rank order.

        Built in one go, already in that order: no per-staff lists to merge afterwards.
        """
        run, width = self.run, len(self.staff_ids)
        count = len(run.starts) * width
        staff_ids = chain.from_iterable(repeat(self.staff_ids, len(run.starts)))
        if width == 1:
            return slot_run(
                count, run.start_times, run.end_times, staff_ids, self.reasons[0], run.branch_id
            )
        return slot_run(
            count,
            chain.from_iterable(map(repeat, run.start_times, repeat(width))),
            chain.from_iterable(map(repeat, run.end_times, repeat(width))),
            staff_ids,
            list(chain.from_iterable(zip(*self.reasons, strict=True))),
            run.branch_id,
        )


# Merging block by block in Python costs about four slots' worth of a C-level run merge, so
# narrower runs on average are merged by `list.sort` (see `merge_runs`).
_WIDE_RUNS = 4


def merge_runs(shared: list[SharedRun]) -> list[Slot]:
    """All runs' slots in start order, then rank order (staff id, then branch).

    Each run's slots already come that way. Wide runs (many staff on one grid) are merged by
    `heapq.merge` on `(start, run)`, a start's block of slots at a time, and runs meeting at
    one start are put back in rank order. Narrow runs (staff with rules of their own) are
    concatenated and ordered by the key `start * ranks + rank`: `list.sort` finds the
    ascending runs and merges them in C, which beats a merge loop in Python.
    """
    if len(shared) == 1:
        return shared[0].slots()
    blocks = sum(len(group.run.starts) for group in shared)
    total = sum(len(group.run.starts) * len(group.ranks) for group in shared)
    if total < _WIDE_RUNS * blocks:
        return _merge_by_key(shared)
    streams = []
    for g, group in enumerate(shared):
        made = iter(group.slots())
        rows = zip(*[made] * len(group.ranks), strict=True)  # one start's block at a time
        streams.append(zip(group.run.starts, repeat(g), rows))
    merged: list[Slot] = []
    pending: list[tuple[int, tuple[Slot, ...]]] = []  # runs met at the current start
    interleaves: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    current = None
    for start, g, row in heapq.merge(*streams):
        if start != current:
            _flush(pending, shared, merged, interleaves)
            current = start
        pending.append((g, row))
    _flush(pending, shared, merged, interleaves)
    return merged


def _merge_by_key(shared: list[SharedRun]) -> list[Slot]:
    """The runs' slots ordered by `start * ranks + rank`, each run already ascending."""
    count = sum(len(group.ranks) for group in shared)
    keys: list[int] = []
    slots: list[Slot] = []
    for group in shared:
        ranks = group.ranks
        keys.extend([start * count + rank for start in group.run.starts for rank in ranks])
        slots.extend(group.slots())
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [slots[i] for i in order]


def _flush(
    pending: list[tuple[int, tuple[Slot, ...]]],
    shared: list[SharedRun],
    into: list[Slot],
    interleaves: dict[tuple[int, ...], list[tuple[int, int]]],
) -> None:
    """Append the slots of one start, across the runs that have it, in rank order.

    How the runs' rows interleave depends only on which runs meet, so it is worked out once
    per set of runs (`interleaves`) and reused at every start where the same runs meet.
    """
    if len(pending) == 1:
        into.extend(pending[0][1])
    elif pending:
        met = tuple(g for g, _ in pending)
        order = interleaves.get(met)
        if order is None:
            ranked = sorted(
                (rank, i, j) for i, g in enumerate(met) for j, rank in enumerate(shared[g].ranks)
            )
            order = interleaves[met] = [(i, j) for _, i, j in ranked]
        into.extend([pending[i][1][j] for i, j in order])
    pending.clear()


def generate_slots(
    site: Site,
    service: Service | str,
    day: date | str,
    bookings: Iterable[HoldsTime],
    now: datetime,
    *,
    staff_id: str | None = None,
    branch_id: str | None = None,
    last_day: date | str | None = None,
    holds: Iterable[HeldTime] = (),
    busy: Iterable[BusyTime] = (),
) -> list[Slot]:
    """Every grid slot of `service` on local date `day` (to `last_day`), available or not.

    `holds` take time like bookings while `now` is before their expiry; `busy` spans block
    slots whose buffered span they overlap. Limits count the bookings and holds given, so
    pass those of the whole ISO week when the staff or service has a weekly limit.
    Pure: the answer depends only on the arguments. Ordered by start, then staff id (then
    branch, for staff whose hours at two branches overlap). Staff who exist but do not
    offer the service (or not at `branch_id`) contribute nothing.

    Staff sharing one rule set share one expansion and one grid (its local datetimes made
    once); each staff member's bookings then only mark index ranges of that grid.
    """
    if isinstance(service, str):
        service = site.service(service)
    first = as_date(day, "date")
    last = first if last_day is None else as_date(last_day, "lastDate")
    if last < first:
        raise ValidationError("last date is before first date", {"fields": ["lastDate"]})
    now_ts = to_instant(now)
    staff = staff_offering(site, service, staff_id=staff_id, branch_id=branch_id)
    branches = branch_choice(service, branch_id)
    members = sorted(staff, key=lambda m: m.id)
    grids: dict[int, list[GridRun]] = {}
    chosen: list[list[GridRun]] = []
    marks: dict[str, list[tuple[list[int], list[str | None]]]] = {}
    for member in members:
        rules = rule_set_id(member)
        runs = grids.get(rules)
        if runs is None:
            runs = grids[rules] = grid_runs(member, service, first, last)
        mine = [run for run in runs if branches is None or run.branch_id in branches]
        chosen.append(mine)
        marks[member.id] = [(run.starts, [None] * len(run.starts)) for run in mine]
    if not isinstance(bookings, list | tuple):
        bookings = list(bookings)
    seated = mark_bookings(site, service, bookings, marks)
    # Staff with live holds, busy time or limits are judged slot by slot, like seated staff.
    holds_of: dict[str, list[HeldTime]] = defaultdict(list)
    for h in holds:
        if h.staff_id in marks and now_ts < h.expires_ts:
            holds_of[h.staff_id].append(h)
    busy_of: dict[str, list[BusyTime]] = defaultdict(list)
    for span in busy:
        if span.staff_id in marks:
            busy_of[span.staff_id].append(span)
    limited = bool(service.limits)
    # id(run) -> the staff listed on it; a rank follows staff id, then branch.
    shared: dict[int, SharedRun] = {}
    rank = 0
    for member, runs in zip(members, chosen, strict=True):
        seats: StaffAvailability | None = None
        mine_held, mine_busy = holds_of.get(member.id, ()), busy_of.get(member.id, ())
        if member.id in seated or mine_held or mine_busy or limited or member.limits:
            held = [b for b in bookings if b.staff_id == member.id]
            seats = StaffAvailability.build(
                site, service, member, held, now_ts, holds=mine_held, busy=mine_busy
            )
        for run, (starts, reasons) in zip(runs, marks[member.id], strict=True):
            if seats is not None:
                reasons[:] = [seats.reason(start) for start in starts]
            else:
                mark_limits(starts, reasons, member, service, now_ts)
            group = shared.get(id(run))
            if group is None:
                group = shared[id(run)] = SharedRun(run, [], [], [])
            group.ranks.append(rank)
            group.staff_ids.append(member.id)
            group.reasons.append(reasons)
            rank += 1
    if not shared:
        return []
    return merge_runs(list(shared.values()))
