"""Invariant checks: plain functions that raise `AssertionError` naming the slot and booking.

They compute their expectations from the catalog's rules with a small brute-force oracle
written independently of the engine's hot path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from ..catalog import Service, Site, Staff, TimeRange
from ..values import Booking, Slot

_DAY = 86_400
_ONE_DAY = timedelta(days=1)


def _iso(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).isoformat()


# -- spans -------------------------------------------------------------------------------


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def held_span(site: Site, booking: Booking) -> tuple[int, int]:
    """UTC seconds `[start - bufferBefore, end + bufferAfter)` the booking holds its staff for.

    A booking of a service the site does not know holds its bare `[start, end)`.
    """
    service = site.services.get(booking.service_id)
    before = service.buffer_before if service else 0
    after = service.buffer_after if service else 0
    return _ts(booking.start) - before, _ts(booking.end) + after


def slot_held_span(service: Service, slot: Slot) -> tuple[int, int]:
    """UTC seconds the slot would hold if booked: its service time plus the buffers."""
    return _ts(slot.start) - service.buffer_before, _ts(slot.end) + service.buffer_after


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _describe(slot: Slot) -> str:
    branch = f" at {slot.branch_id}" if slot.branch_id else ""
    return f"slot {slot.start.isoformat()}..{slot.end.isoformat()} of {slot.staff_id}{branch}"


def _describe_span(span: tuple[int, int]) -> str:
    return f"[{_iso(span[0])}, {_iso(span[1])})"


def _as_service(site: Site, service: Service | str) -> Service:
    return site.service(service) if isinstance(service, str) else service


def _holding(bookings: Iterable[Booking], staff_id: str) -> list[Booking]:
    return [b for b in bookings if b.staff_id == staff_id and b.status.holds_time]


# -- the schedule oracle -----------------------------------------------------------------


def _wall(day: date, minute: int, tz: tzinfo) -> int:
    # PEP 495 fold=0: a gap time moves forward by the gap, an ambiguous one is the first.
    extra, minute = divmod(minute, 1440)
    d = day + timedelta(days=extra)
    return int(datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=tz).timestamp())


def _rules(staff: Staff, day: date) -> tuple[tuple[TimeRange, ...], tuple[TimeRange, ...]]:
    override = staff.date_overrides.get(day)
    if override is not None:
        return override, ()
    hours = tuple(staff.weekly_hours.get(day.weekday(), ()))
    for rec in staff.recurring:
        if rec.dates_between(day, day):
            hours += rec.hours
    return hours, tuple(staff.breaks.get(day.weekday(), ()))


def _cut(span: tuple[int, int], cuts: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces = [span]
    for c_start, c_end in cuts:
        next_pieces = []
        for start, end in pieces:
            if c_end <= start or c_start >= end:
                next_pieces.append((start, end))
                continue
            if start < c_start:
                next_pieces.append((start, c_start))
            if c_end < end:
                next_pieces.append((c_end, end))
        pieces = next_pieces
    return pieces


def _worked_on(staff: Staff, day: date) -> dict[str | None, list[tuple[int, int]]]:
    """UTC spans the rules of local `day` put to work, by branch (breaks of that day removed)."""
    tz = staff.zone
    if _wall(day, 0, tz) == _wall(day + _ONE_DAY, 0, tz):
        return {}  # a date the zone skipped has no hours
    hours, breaks = _rules(staff, day)
    cuts = [(_wall(day, b.start, tz), _wall(day, b.end, tz)) for b in breaks]
    result: dict[str | None, list[tuple[int, int]]] = {}
    for r in hours:
        span = (_wall(day, r.start, tz), _wall(day, r.end, tz))
        result.setdefault(r.branch_id or staff.branch_id, []).extend(_cut(span, cuts))
    return result


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _worked_between(
    staff: Staff, first: date, last: date
) -> dict[str | None, list[tuple[int, int]]]:
    spans: dict[str | None, list[tuple[int, int]]] = {}
    day = first
    while day <= last:
        for branch, found in _worked_on(staff, day).items():
            spans.setdefault(branch, []).extend(found)
        day += _ONE_DAY
    return {branch: _merged(found) for branch, found in spans.items()}


def _local_date(instant: int, tz: tzinfo) -> date:
    return datetime.fromtimestamp(instant, tz).date()


def _staff_for(site: Site, slot: Slot) -> Staff:
    staff = site.staff.get(slot.staff_id)
    if staff is None:
        raise AssertionError(f"{_describe(slot)} names staff {slot.staff_id!r}, not in the site")
    return staff


def _offering(
    site: Site, service: Service, staff_id: str | None, branch_id: str | None
) -> tuple[list[Staff], set[str | None] | None]:
    staff = [site.staff[s] for s in service.staff_ids] or list(site.staff.values())
    if staff_id is not None:
        staff = [s for s in staff if s.id == staff_id]
    if branch_id is not None:
        allowed: set[str | None] | None = (
            set() if service.branch_ids and branch_id not in service.branch_ids else {branch_id}
        )
    else:
        allowed = set(service.branch_ids) if service.branch_ids else None
    return staff, allowed


# -- invariant checks --------------------------------------------------------------------


def check_slots_ordered(slots: Sequence[Slot]) -> None:
    """Slots come by start instant, then staff id, with no slot listed twice."""
    keys = [(_ts(s.start), s.staff_id, s.branch_id or "") for s in slots]
    for i, (before, after) in enumerate(itertools.pairwise(keys)):
        if before[:2] > after[:2]:
            raise AssertionError(
                f"slots out of order at {i}: {_describe(slots[i])} before {_describe(slots[i + 1])}"
            )
    seen: set[tuple[int, str, str]] = set()
    for slot, key in zip(slots, keys, strict=True):
        if key in seen:
            raise AssertionError(f"{_describe(slot)} is listed twice")
        seen.add(key)


def check_slots_on_date(
    site: Site, slots: Iterable[Slot], day: date, last_day: date | None = None
) -> None:
    """Each slot starts on local date `day` (to `last_day`) in its staff member's zone.

    Also checks that `start` and `end` are expressed in that zone.
    """
    last = day if last_day is None else last_day
    for slot in slots:
        staff = _staff_for(site, slot)
        for name, moment in (("start", slot.start), ("end", slot.end)):
            there = moment.astimezone(staff.zone)
            if (there.replace(tzinfo=None), there.utcoffset()) != (
                moment.replace(tzinfo=None),
                moment.utcoffset(),
            ):
                raise AssertionError(
                    f"{_describe(slot)}: {name} is not in {staff.zone.key} "
                    f"(there it is {there.isoformat()})"
                )
        local = _local_date(_ts(slot.start), staff.zone)
        if not day <= local <= last:
            span = str(day) if last == day else f"{day}..{last}"
            raise AssertionError(
                f"{_describe(slot)} starts on {local} in {staff.zone.key}, not on {span}"
            )


def check_slots_within_hours(site: Site, slots: Iterable[Slot]) -> None:
    """Each slot's service time `[start, end)` lies in its staff member's working hours.

    Hours are recomputed from the catalog rules (weekly and recurring hours, or that date's
    override; less that date's breaks) for the slot's branch, in the staff member's zone.
    """
    for slot in slots:
        staff = _staff_for(site, slot)
        start, end = _ts(slot.start), _ts(slot.end)
        # A range of local date d ends before local date d + 2 begins (d + 3 when the zone
        # skipped a day), so two days back is enough.
        first = _local_date(start, staff.zone) - 2 * _ONE_DAY
        last = _local_date(end - 1, staff.zone)
        periods = _worked_between(staff, first, last).get(slot.branch_id, [])
        if not any(p_start <= start and end <= p_end for p_start, p_end in periods):
            shown = ", ".join(_describe_span(p) for p in periods if p[1] > start - _DAY) or "none"
            raise AssertionError(
                f"{_describe(slot)} is outside working hours; hours near it: {shown}"
            )


def check_elapsed_duration(service: Service, slots: Iterable[Slot]) -> None:
    """Each slot lasts the service's duration in elapsed time (not wall-clock difference)."""
    for slot in slots:
        elapsed = _ts(slot.end) - _ts(slot.start)
        if elapsed != service.duration:
            raise AssertionError(
                f"{_describe(slot)} lasts {elapsed} s of elapsed time; "
                f"{service.id} lasts {service.duration} s"
            )


def check_slot_grid(
    site: Site,
    service: Service | str,
    day: date,
    slots: Iterable[Slot],
    *,
    staff_id: str | None = None,
    branch_id: str | None = None,
) -> None:
    """The slots listed for `day` are exactly the grid: `p + k * step` per working period.

    For every staff member offering the service (and branch filter), every maximal working
    period `p` gives starts `p + k * step` (elapsed time) with `start + duration <= end`
    that fall on local `day`. A period that began more than two days before `day` is not
    judged (engines may bound how far back they look for a period's start).
    """
    service = _as_service(site, service)
    offering, allowed = _offering(site, service, staff_id, branch_id)
    expected: set[tuple[str, str | None, int]] = set()
    unjudged: dict[tuple[str, str | None], list[tuple[int, int]]] = {}
    for staff in offering:
        tz = staff.zone
        lo, hi = _wall(day, 0, tz), _wall(day + _ONE_DAY, 0, tz)
        known_from = _wall(day - 2 * _ONE_DAY, 0, tz)
        known_to = _wall(day + 3 * _ONE_DAY, 0, tz)
        worked = _worked_between(staff, day - 5 * _ONE_DAY, day + 2 * _ONE_DAY)
        for branch, periods in worked.items():
            if allowed is not None and branch not in allowed:
                continue
            for p_start, p_end in periods:
                if p_end <= lo or p_start >= hi:
                    continue
                if p_start < known_from or (p_end >= known_to and hi + service.duration > p_end):
                    unjudged.setdefault((staff.id, branch), []).append((p_start, p_end))
                    continue
                k = max(0, -((p_start - lo) // service.step))
                start = p_start + k * service.step
                while start < hi and start + service.duration <= p_end:
                    expected.add((staff.id, branch, start))
                    start += service.step

    def judged(key: tuple[str, str | None, int]) -> bool:
        spans = unjudged.get((key[0], key[1]), [])
        return not any(s <= key[2] < e for s, e in spans)

    listed: dict[tuple[str, str | None, int], Slot] = {}
    for slot in slots:
        key = (slot.staff_id, slot.branch_id, _ts(slot.start))
        if key in listed:
            raise AssertionError(f"{_describe(slot)} is listed twice")
        listed[key] = slot
    extra = sorted(k for k in listed.keys() - expected if judged(k))
    missing = sorted((k for k in expected - listed.keys()), key=lambda k: (k[2], k[0], k[1] or ""))
    if extra:
        slot = listed[extra[0]]
        raise AssertionError(
            f"{_describe(slot)} is not on the grid of {service.id} "
            f"(step {service.step} s from each working period's start); {len(extra)} such"
        )
    if missing:
        staff_key, branch, start = missing[0]
        local = datetime.fromtimestamp(start, site.staff[staff_key].zone)
        raise AssertionError(
            f"grid slot {local.isoformat()} of {staff_key}"
            f"{f' at {branch}' if branch else ''} for {service.id} on {day} is missing; "
            f"{len(missing)} missing"
        )


def _expected_reason(
    site: Site, service: Service, slot: Slot, bookings: Sequence[Booking], now: int
) -> str | None:
    staff = _staff_for(site, slot)
    start = _ts(slot.start)
    if start < now:
        return "past"
    if start < now + service.min_notice_minutes * 60:
        return "too_soon"
    if service.max_advance_days is not None and start > now + service.max_advance_days * _DAY:
        return "too_far"
    if any(_overlap((start, start + service.duration), span) for span in staff.time_off):
        return "time_off"
    if _limit_reached(staff, service, slot.start.date(), bookings):
        return "limit_reached"
    wanted = slot_held_span(service, slot)
    seats = 0
    blocked = False
    for b in _holding(bookings, staff.id):
        if service.capacity > 1 and b.service_id == service.id and _ts(b.start) == start:
            seats += 1
        elif _overlap(held_span(site, b), wanted):
            blocked = True
    if service.capacity > 1 and seats >= service.capacity:
        return "full"
    return "booked" if blocked else None


def _limit_reached(staff: Staff, service: Service, day: date, bookings: Sequence[Booking]) -> bool:
    """Whether the staff member's or the service's day / ISO-week limit is already used up
    by the bookings holding time (the slot path's limits, by brute force)."""
    mine = list(_holding(bookings, staff.id))
    week = day.isocalendar()[:2]
    for limits, only in ((staff.limits, None), (service.limits, service.id)):
        counted = [b for b in mine if only is None or b.service_id == only]
        if limits.per_day is not None and sum(b.date == day for b in counted) >= limits.per_day:
            return True
        if limits.per_week is not None and (
            sum(b.date.isocalendar()[:2] == week for b in counted) >= limits.per_week
        ):
            return True
    return False


def check_slot_reasons(
    site: Site,
    service: Service | str,
    slots: Iterable[Slot],
    bookings: Sequence[Booking],
    now: datetime,
) -> None:
    """Each slot's `available`/`reason` is the first rule that applies, recomputed by brute force.

    Order: `past`, `too_soon`, `too_far`, `time_off`, `limit_reached`, `full`, `booked`; None
    when available (busy time and holds are not inputs here).
    """
    service = _as_service(site, service)
    now_ts = _ts(now)
    for slot in slots:
        want = _expected_reason(site, service, slot, bookings, now_ts)
        if slot.reason != want:
            raise AssertionError(
                f"{_describe(slot)} has reason {slot.reason!r}, expected {want!r} "
                f"(now {now.isoformat()}, {service.id}: notice {service.min_notice_minutes} min, "
                f"advance {service.max_advance_days} d, capacity {service.capacity})"
            )


def check_no_available_overlaps_bookings(
    site: Site, service: Service | str, slots: Iterable[Slot], bookings: Iterable[Booking]
) -> None:
    """No available slot's held span overlaps the held span of a booking holding its staff.

    The one exception is a group session: with capacity above one, a booking of the same
    service and staff at the same start shares the slot rather than blocking it.
    """
    service = _as_service(site, service)
    holding = list(bookings)
    for slot in slots:
        if not slot.available:
            continue
        wanted = slot_held_span(service, slot)
        for b in _holding(holding, slot.staff_id):
            shared = b.service_id == service.id and _ts(b.start) == _ts(slot.start)
            if service.capacity > 1 and shared:
                continue
            span = held_span(site, b)
            if _overlap(span, wanted):
                raise AssertionError(
                    f"{_describe(slot)} is available, but its held span {_describe_span(wanted)} "
                    f"overlaps booking {b.id} ({b.status}) holding {_describe_span(span)}"
                )


def check_booked_never_available(
    site: Site, service: Service | str, slots: Iterable[Slot], bookings: Iterable[Booking]
) -> None:
    """A slot taken by bookings that hold time is not available.

    For each booking of `service` that holds time, the listed slot of the same staff member
    at the same start is unavailable (for a group service: once all its seats are taken).
    `check_slot_reasons` says which reason it must carry.
    """
    service = _as_service(site, service)
    seats: dict[tuple[str, int], list[Booking]] = {}
    for b in bookings:
        if b.service_id == service.id and b.status.holds_time:
            seats.setdefault((b.staff_id, _ts(b.start)), []).append(b)
    for slot in slots:
        taken = seats.get((slot.staff_id, _ts(slot.start)), [])
        if len(taken) < service.capacity:
            continue
        if slot.available:
            ids = ", ".join(b.id for b in taken)
            raise AssertionError(
                f"{_describe(slot)} is available though booked by {ids} "
                f"(capacity {service.capacity})"
            )


def check_slot_invariants(
    site: Site,
    service: Service | str,
    day: date,
    slots: Sequence[Slot],
    bookings: Sequence[Booking],
    now: datetime,
    *,
    staff_id: str | None = None,
    branch_id: str | None = None,
) -> None:
    """Every check of this module on one `generate_slots` answer for a single `day`."""
    service = _as_service(site, service)
    check_slots_ordered(slots)
    check_slots_on_date(site, slots, day)
    check_slots_within_hours(site, slots)
    check_elapsed_duration(service, slots)
    check_slot_grid(site, service, day, slots, staff_id=staff_id, branch_id=branch_id)
    check_no_available_overlaps_bookings(site, service, slots, bookings)
    check_booked_never_available(site, service, slots, bookings)
    check_slot_reasons(site, service, slots, bookings, now)
