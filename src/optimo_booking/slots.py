"""Slot generation: a pure function of site, service, dates, bookings, `now` and filters.

The grid of each working period is `p + k * step` in elapsed seconds while the service fits;
bookings, time off and notice rules only mark grid slots unavailable. Each staff member's
bookings are sorted once into an interval set, so one candidate costs a binary search:
the whole answer costs O(slots log bookings + bookings log bookings), never slots x bookings.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .catalog import Service, Site, Staff
from .errors import ValidationError
from .intervals import IntervalSet, Span
from .localtime import as_date, day_start, to_instant
from .schedule import working_time
from .values import HoldsTime, Slot, Status

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StaffAvailability:
    """Everything needed to tell whether one staff member can take `service` at an instant.

    Slot listing and booking placement both ask this one predicate, so a listed slot can
    always be booked and a refused start is never listed.
    """

    service: Service
    now: int
    held: IntervalSet  # held spans of bookings that block any overlapping candidate
    group_starts: tuple[int, ...]  # sorted starts of same-service group sessions
    group_seats: dict[int, int]  # start -> seats taken, for capacity > 1
    time_off: IntervalSet

    @classmethod
    def build(
        cls, site: Site, service: Service, staff: Staff, bookings: Iterable[HoldsTime], now: int
    ) -> StaffAvailability:
        """Index `bookings` (any order; only those of `staff` that hold time count)."""
        spans = []
        seats: dict[int, int] = defaultdict(int)
        shared = service.capacity > 1
        buffers: dict[str, tuple[int, int]] = {}
        staff_id, cancelled = staff.id, Status.CANCELLED
        for b in bookings:
            if b.staff_id != staff_id or b.status is cancelled:
                continue
            if shared and b.service_id == service.id:
                seats[b.start_ts] += 1
                continue
            pad = buffers.get(b.service_id)
            if pad is None:
                other = site.services.get(b.service_id)
                pad = (other.buffer_before, other.buffer_after) if other else (0, 0)
                buffers[b.service_id] = pad
            spans.append((b.start_ts - pad[0], b.end_ts + pad[1]))
        return cls(
            service=service,
            now=now,
            held=IntervalSet(spans),
            group_starts=tuple(sorted(seats)),
            group_seats=dict(seats),
            time_off=staff.time_off,
        )

    def reason(self, start: int) -> str | None:
        """Why a grid slot starting at `start` is unavailable, or None when it is available.

        Reasons in order: past, too_soon, too_far, time_off, full, booked.
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
        if self.group_seats and self.group_seats.get(start, 0) >= service.capacity:
            return "full"
        held_start = start - service.buffer_before
        held_end = start + duration + service.buffer_after
        if self.held and self.held.overlaps(held_start, held_end):
            return "booked"
        if self.group_starts:
            # Group sessions share this service's held length, so they overlap a candidate
            # exactly when their starts are closer than that length.
            length = held_end - held_start
            starts = self.group_starts
            i, j = bisect_right(starts, start - length), bisect_left(starts, start + length)
            if any(g != start for g in starts[i:j]):
                return "booked"
        return None


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


def staff_slots(
    site: Site,
    service: Service,
    staff: Staff,
    first: date,
    last: date,
    bookings: Iterable[HoldsTime],
    now: int,
    branches: set[str | None] | None,
) -> dict[str | None, tuple[list[int], list[Slot]]]:
    """One staff member's slots on local dates `first`..`last`, by branch: starts and slots.

    The common case (no time off, no group seats, inside the notice and advance limits) is
    decided by one pointer walking the held spans alongside the rising grid, so the loop
    costs little more than building the `Slot` objects; anything else asks `reason`.
    """
    tz = staff.zone
    lo, hi = day_start(first, tz), day_start(last + _ONE_DAY, tz)
    result: dict[str | None, tuple[list[int], list[Slot]]] = {}
    if lo >= hi:
        return result
    availability = StaffAvailability.build(site, service, staff, bookings, now)
    reason = availability.reason
    step, duration = service.step, service.duration
    before, after = service.buffer_before, service.buffer_after
    simple = not availability.time_off and not availability.group_seats
    soon = now + service.min_notice_minutes * 60
    far = hi if service.max_advance_days is None else now + service.max_advance_days * 86_400
    held = availability.held.bounds
    n_held = len(held)
    fromtimestamp = datetime.fromtimestamp
    staff_id = staff.id
    working = working_time(staff, first, last)
    for branch, spans in working.periods.items():
        if branches is not None and branch not in branches:
            continue
        starts: list[int] = []
        slots: list[Slot] = []
        for period in spans:
            grid = slot_grid(period, working.grid_origin(period), step, duration, lo, hi)
            if not grid:
                continue
            i = bisect_right(held, grid[0] - before)
            i -= i % 2  # the held span holding that point, or the next one
            for start in grid:
                if simple and soon <= start <= far:
                    held_start = start - before
                    while i < n_held and held[i + 1] <= held_start:
                        i += 2
                    why = "booked" if i < n_held and held[i] < start + duration + after else None
                else:
                    why = reason(start)
                starts.append(start)
                slots.append(
                    Slot(
                        start=fromtimestamp(start, tz),
                        end=fromtimestamp(start + duration, tz),
                        staff_id=staff_id,
                        available=why is None,
                        reason=why,
                        branch_id=branch,
                    )
                )
        if slots:
            result[branch] = (starts, slots)
    return result


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
) -> list[Slot]:
    """Every grid slot of `service` on local date `day` (to `last_day`), available or not.

    Pure: the answer depends only on the arguments. Ordered by start, then staff id (then
    branch, for staff whose hours at two branches overlap). Staff who exist but do not
    offer the service (or not at `branch_id`) contribute nothing.
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
    by_staff: dict[str, list[HoldsTime]] = defaultdict(list)
    wanted = {s.id for s in staff}
    for b in bookings:
        if b.staff_id in wanted:
            by_staff[b.staff_id].append(b)
    # Each (staff, branch) run is already ascending; merge the runs by an integer key
    # `start * runs + rank`, rank following staff id then branch, without per-slot tuples.
    runs: list[tuple[list[int], list[Slot]]] = []
    for member in sorted(staff, key=lambda m: m.id):
        found = staff_slots(
            site, service, member, first, last, by_staff[member.id], now_ts, branches
        )
        runs.extend(found[b] for b in sorted(found, key=lambda b: b or ""))
    if len(runs) == 1:
        return runs[0][1]
    keys: list[int] = []
    slots: list[Slot] = []
    count = len(runs)
    for rank, (starts, run_slots) in enumerate(runs):
        keys.extend([start * count + rank for start in starts])
        slots.extend(run_slots)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [slots[i] for i in order]
