"""Booking placement, pure: validate a request, then pick the staff member and the span.

`prepare_request` needs only the catalog: it checks every field and fixes the start to a UTC
instant before any staff is chosen. `place` then asks the same availability predicate as
slot listing (`StaffAvailability.reason`), so a listed slot can be booked and a start that
is not listed is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from .assignment import rank_candidates
from .catalog import Service, Site, Staff
from .errors import SlotUnavailable, ValidationError
from .localtime import (
    check_supported,
    day_start,
    local_date,
    parse_date,
    parse_hhmm,
    to_instant,
    wall_time_status,
    zone,
)
from .localtime import wall_to_utc as _wall_to_utc
from .schedule import WorkingTime, working_time
from .slots import StaffAvailability, branch_choice, slot_grid, staff_offering
from .values import BusyTime, HeldTime, HoldsTime, Status

_Found = TypeVar("_Found")

MAX_CUSTOMER_BYTES = 4096
MAX_CUSTOMER_DEPTH = 8  # the customer object itself is level 1
MAX_NOTES_CHARS = 2000
_ISO_START = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)
_HHMM = re.compile(r"[0-9]{2}:[0-9]{2}", re.ASCII)


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingRequest:
    """A validated request to book: the start is already a UTC instant."""

    service: Service
    date: date
    start: int
    staff_id: str | None
    branch_id: str | None
    customer: Mapping[str, Any]
    notes: str | None
    hold_id: str | None = None

    def fingerprint(self) -> str:
        """SHA-256 of the normalized request, so `"10:00"` and its ISO form match."""
        fields: list[Any] = [
            self.service.id,
            self.staff_id,
            self.branch_id,
            self.start,
            self.customer,
            self.notes,
        ]
        if self.hold_id is not None:  # requests without a hold keep their old fingerprint
            fields.append({"holdId": self.hold_id})
        canonical = json.dumps(
            fields,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where a booking goes: its staff member, branch and `[start, end)` in UTC seconds."""

    staff: Staff
    branch_id: str | None
    start: int
    end: int


def prepare_request(
    site: Site,
    *,
    service_id: str,
    date: date | str,
    start_time: datetime | str,
    customer: object,
    staff_id: str | None = None,
    branch_id: str | None = None,
    notes: object = None,
    with_customer: bool = True,
) -> BookingRequest:
    """Check every field of a booking request: malformed fields are one `validation_error`
    naming all of them; then unknown ids are `not_found`. Holds and reschedules name no
    customer (`with_customer=False`)."""
    problems: dict[str, str] = {}
    service = _look_up(site.services, service_id, "serviceId", problems)
    staff = _look_up(site.staff, staff_id, "staffId", problems) if staff_id is not None else None
    branch = (
        _look_up(site.branches, branch_id, "branchId", problems) if branch_id is not None else None
    )
    day = _check_date(date, problems)
    checked_customer = check_customer(customer, problems) if with_customer else {}
    checked_notes = _check_notes(notes, problems) if with_customer else None
    branch_known = branch_id is None or branch is not None
    if (
        service is not None
        and staff is not None
        and branch_known
        and staff not in staff_offering(site, service, branch_id=branch_id)
    ):
        where = f" at branch {branch_id!r}" if branch_id else ""
        problems["staffId"] = f"staff {staff.id!r} does not offer {service.id!r}{where}"
    named_but_unknown = (staff_id is not None and staff is None) or not branch_known
    start = None
    if not named_but_unknown:  # the zone to read the start in is not known yet
        reading_zone = (
            staff.zone if staff else (_branch_zone(site, branch.id) if branch else site.zone)
        )
        # An instant with an offset is checked against `date` in the named staff member's
        # zone; with nobody named, `place` keeps the staff for whom it falls on `date`
        # (a booking's date is its start's local date in its staff member's zone).
        start = _check_start(
            start_time, day, reading_zone, problems, date_zone_known=staff is not None
        )
    if problems:
        raise ValidationError.of(problems)
    service = site.service(service_id)
    if staff_id is not None:
        site.staff_member(staff_id)
    if branch_id is not None:
        site.branch(branch_id)
    assert day is not None and start is not None
    return BookingRequest(
        service=service,
        date=day,
        start=start,
        staff_id=staff_id,
        branch_id=branch_id,
        customer=checked_customer,
        notes=checked_notes,
    )


def _look_up(
    known: Mapping[str, _Found], value: object, name: str, problems: dict[str, str]
) -> _Found | None:
    """The catalog entry an id names; a value that is not an id string is a problem."""
    if not isinstance(value, str):
        problems[name] = "must be a string"
        return None
    if not value:
        problems[name] = "must not be empty"
        return None
    return known.get(value)


def place(
    site: Site,
    request: BookingRequest,
    bookings: Iterable[HoldsTime],
    now: int,
    *,
    holds: Iterable[HeldTime] = (),
    busy: Iterable[BusyTime] = (),
    last_assigned: str | None = None,
) -> Placement:
    """Choose staff for `request` given the time taken, or raise `SlotUnavailable`.

    A named staff member must have the start as an available grid slot. Otherwise the
    service's assignment rule ranks the staff for whom the start is a grid slot, and the
    first of them for whom it is available wins (`fewest_that_day` counts bookings and live
    holds taking time that local day; `last_assigned`, for `round_robin`, is the staff
    member holding the service's most recently created booking, read by the store in the
    same atomic step). A start no candidate's working period covers is `outside_hours`;
    one inside a period but off its grid is `off_grid`.
    """
    service = request.service
    candidates = staff_offering(
        site, service, staff_id=request.staff_id, branch_id=request.branch_id
    )
    branches = branch_choice(service, request.branch_id)
    day = request.date
    taken = _TakenByStaff.read(bookings, holds, busy, now, day)
    on_grid: list[tuple[Staff, str | None]] = []
    on_the_date: list[Staff] = []
    for member in candidates:
        if local_date(request.start, member.zone) != day:
            continue  # the booking's date is its start's local date in the staff's zone
        on_the_date.append(member)
        starts = grid_starts(member, service, day, branches)
        if request.start in starts:
            on_grid.append((member, starts[request.start]))
    ranked = rank_candidates(
        service.assignment,
        [member.id for member, _ in on_grid],
        order=[member.id for member in site.staff_for(service)],
        load=taken.that_day,
        last=last_assigned,
    )
    # Without seats to share, time taken that meets the candidate's held span makes it
    # unavailable whatever else applies: a cheap test that spares building the predicate
    # for every staff member of a busy hour.
    span = (
        request.start - service.buffer_before,
        request.start + service.duration + service.buffer_after,
    )
    quick = service.capacity == 1
    pads: dict[str, tuple[int, int]] = {}
    for i in ranked:
        member, branch = on_grid[i]
        if quick and taken.meets(site, member.id, span, pads):
            continue
        if taken.availability(site, service, member, now).reason(request.start) is None:
            return Placement(
                staff=member,
                branch_id=branch,
                start=request.start,
                end=request.start + service.duration,
            )
    if candidates and not on_the_date:
        message = f"the start is not on {request.date} for anyone who offers this service"
        raise ValidationError(
            f"startTime: {message}",
            {"fields": ["startTime"], "problems": {"startTime": message}},
        )
    # Nobody is free: the reason of the first in the service's order, or why no grid has it.
    if on_grid:
        first = on_grid[0][0]
        reason = taken.availability(site, service, first, now).reason(request.start)
    else:
        fits = {_grid_branch(m, service, request.start, day, branches)[0] for m in on_the_date}
        reason = "off_grid" if "off_grid" in fits else "outside_hours"
    reason = reason or "off_grid"
    raise SlotUnavailable(
        f"the slot is not available ({reason})",
        {
            "reason": reason,
            "startTime": datetime.fromtimestamp(request.start, site.zone).isoformat(),
        },
    )


@dataclass(slots=True)
class _TakenByStaff:
    """The time taken around a request, grouped by staff member once per placement."""

    bookings: dict[str, list[HoldsTime]]
    holds: dict[str, list[HeldTime]]  # live ones only
    busy: dict[str, list[BusyTime]]
    that_day: Counter[str]  # bookings and live holds taking time on the request's date

    @classmethod
    def read(
        cls,
        bookings: Iterable[HoldsTime],
        holds: Iterable[HeldTime],
        busy: Iterable[BusyTime],
        now: int,
        day: date,
    ) -> _TakenByStaff:
        by_staff: dict[str, list[HoldsTime]] = defaultdict(list)
        held: dict[str, list[HeldTime]] = defaultdict(list)
        blocked: dict[str, list[BusyTime]] = defaultdict(list)
        that_day: Counter[str] = Counter()
        cancelled = Status.CANCELLED  # every other status holds time
        for b in bookings:
            if b.status is not cancelled:
                by_staff[b.staff_id].append(b)
                if b.date == day:
                    that_day[b.staff_id] += 1
        for h in holds:
            if now < h.expires_ts:
                held[h.staff_id].append(h)
                if h.date == day:
                    that_day[h.staff_id] += 1
        for spell in busy:
            blocked[spell.staff_id].append(spell)
        return cls(by_staff, held, blocked, that_day)

    def availability(
        self, site: Site, service: Service, member: Staff, now: int
    ) -> StaffAvailability:
        """The full predicate for one staff member."""
        staff_id = member.id
        return StaffAvailability.build(
            site,
            service,
            member,
            self.bookings.get(staff_id, ()),
            now,
            holds=self.holds.get(staff_id, ()),
            busy=self.busy.get(staff_id, ()),
        )

    def meets(
        self,
        site: Site,
        staff_id: str,
        span: tuple[int, int],
        pads: dict[str, tuple[int, int]],
    ) -> bool:
        """Whether a booking or live hold of the staff member (its buffers included), or one
        of their busy spans, meets `span`."""
        lo, hi = span
        for item in (*self.bookings.get(staff_id, ()), *self.holds.get(staff_id, ())):
            pad = pads.get(item.service_id)
            if pad is None:
                other = site.services.get(item.service_id)
                pad = (other.buffer_before, other.buffer_after) if other else (0, 0)
                pads[item.service_id] = pad
            if item.start_ts - pad[0] < hi and item.end_ts + pad[1] > lo:
                return True
        return any(b.start_ts < hi and b.end_ts > lo for b in self.busy.get(staff_id, ()))


_SCHEDULE_CACHE_SIZE = 8192
# (id(staff), day) -> (staff, its working time that day). The staff object is kept and
# compared, so an id reused by another object after garbage collection never hits.
_schedules: dict[tuple[int, date], tuple[Staff, WorkingTime]] = {}


def day_schedule(staff: Staff, day: date) -> WorkingTime:
    """`working_time(staff, day, day)`, remembered: placement asks it for every candidate of
    every create, and a staff member's rules for a date never change."""
    key = (id(staff), day)
    hit = _schedules.get(key)
    if hit is not None and hit[0] is staff:
        return hit[1]
    working = working_time(staff, day, day)
    if len(_schedules) >= _SCHEDULE_CACHE_SIZE:
        _schedules.clear()
    _schedules[key] = (staff, working)
    return working


_GridKey = tuple[int, int, date, frozenset[str | None] | None]
# (id(staff), id(service), day, branches) -> (staff, service, {start: branch}); the objects
# are kept and compared for the same reason as in `_schedules`.
_grids: dict[_GridKey, tuple[Staff, Service, dict[int, str | None]]] = {}


def grid_starts(
    staff: Staff, service: Service, day: date, branches: set[str | None] | None
) -> dict[int, str | None]:
    """The grid starts of `service` on local `day` in the staff member's working periods at
    `branches` (None: any), each with its period's branch (the first listed, if two)."""
    chosen = None if branches is None else frozenset(branches)
    key = (id(staff), id(service), day, chosen)
    hit = _grids.get(key)
    if hit is not None and hit[0] is staff and hit[1] is service:
        return hit[2]
    working = day_schedule(staff, day)
    lo, hi = day_start(day, staff.zone), day_start(day + timedelta(days=1), staff.zone)
    starts: dict[int, str | None] = {}
    for branch, periods in working.periods.items():
        if chosen is not None and branch not in chosen:
            continue
        for period in periods:
            origin = working.grid_origin(period)
            for start in slot_grid(period, origin, service.step, service.duration, lo, hi):
                starts.setdefault(start, branch)
    if len(_grids) >= _SCHEDULE_CACHE_SIZE:
        _grids.clear()
    _grids[key] = (staff, service, starts)
    return starts


def _grid_branch(
    staff: Staff, service: Service, start: int, day: date, branches: set[str | None] | None
) -> tuple[str, str | None]:
    """`slot` and the period's branch when `start` is a grid slot of a working period; else
    `off_grid` when a period `[start, end)` covers it, or `outside_hours`."""
    working = day_schedule(staff, day)
    fit = "outside_hours"
    for branch, periods in working.periods.items():
        if branches is not None and branch not in branches:
            continue
        for period in periods:
            if not period[0] <= start < period[1]:
                continue
            if (
                start + service.duration <= period[1]
                and (start - working.grid_origin(period)) % service.step == 0
            ):
                return "slot", branch
            fit = "off_grid"
    return fit, None


def _branch_zone(site: Site, branch_id: str) -> ZoneInfo:
    branch = site.branches[branch_id]
    return zone(branch.timezone) if branch.timezone else site.zone


def _check_date(value: date | str, problems: dict[str, str]) -> date | None:
    if isinstance(value, datetime):
        problems["date"] = "must be a date, not a date-time"
        return None
    if not isinstance(value, date | str):
        problems["date"] = "must be a date or a string YYYY-MM-DD"
        return None
    try:
        return check_supported(value) if isinstance(value, date) else parse_date(value)
    except ValueError as exc:
        problems["date"] = str(exc)
        return None


def _check_start(
    value: datetime | str,
    day: date | None,
    zone: ZoneInfo,
    problems: dict[str, str],
    *,
    date_zone_known: bool,
) -> int | None:
    instant: int | None = None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            problems["startTime"] = "a date-time start needs an offset"
            return None
        instant = _supported_instant(value, problems)
        if instant is None:
            return None
    elif isinstance(value, str) and _HHMM.fullmatch(value):
        try:
            minute = parse_hhmm(value)
        except ValueError as exc:
            problems["startTime"] = str(exc)
            return None
        if day is None:  # a time of day, but on no valid date: nothing more to check
            return None
        status = wall_time_status(day, minute, zone)
        if status != "ok":
            what = "does not exist (clocks skip it)" if status == "gap" else "happens twice"
            problems["startTime"] = (
                f"{value} on {day} {what} in {zone.key}; send the start with its offset"
            )
            return None
        return _wall_to_utc(day, minute, zone)  # on `day` in `zone` by construction
    elif isinstance(value, str) and _ISO_START.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            problems["startTime"] = f"{value!r} is not a date-time ({exc})"
            return None
        instant = _supported_instant(parsed, problems)
        if instant is None:
            return None
    elif isinstance(value, str):
        problems["startTime"] = f"{value!r} is not HH:MM or an ISO 8601 date-time with offset"
        return None
    else:
        problems["startTime"] = "must be a string or a datetime"
        return None
    if date_zone_known and day is not None and local_date(instant, zone) != day:
        problems["startTime"] = f"starts on {local_date(instant, zone)} in {zone.key}, not {day}"
        return None
    return instant


def _supported_instant(moment: datetime, problems: dict[str, str]) -> int | None:
    try:
        check_supported(moment.date())
    except ValueError:
        problems["startTime"] = f"{moment.isoformat()} is outside the years the engine serves"
        return None
    return to_instant(moment)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_value_problem(value: object, *, max_depth: int, max_bytes: int) -> str | None:
    """Why `value` is not plain JSON within `max_depth` levels and `max_bytes`; None if it is.

    Iterative, so the refusal never depends on how deep the caller's stack already is, and
    bounded: it stops as soon as a lower bound of the compact JSON size passes `max_bytes`.
    """
    budget = max_bytes
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth > max_depth:
                return f"is nested deeper than {max_depth} levels"
            budget -= 1 + len(item)  # brackets and separators
            if budget < 0:
                return f"is over {max_bytes} bytes of JSON"
            if isinstance(item, dict):
                for key, inner in item.items():
                    if not isinstance(key, str):
                        return "has a key that is not a string"
                    budget -= len(key) + 3
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            budget -= len(item) + 2
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "must be plain JSON: no NaN or Infinity"
            budget -= 1
        elif item is None or isinstance(item, int):
            budget -= 1
        else:
            return f"holds a {type(item).__name__}, which is not a JSON value"
        if budget < 0:
            return f"is over {max_bytes} bytes of JSON"
    return None


def check_customer(value: object, problems: dict[str, str]) -> dict[str, Any]:
    """A customer object with a non-empty `name`, an address-like `email`, at most 4 KiB of
    JSON and 8 levels deep; checked without recursion before anything serializes it."""
    if not isinstance(value, Mapping):
        problems["customer"] = "must be an object with a name"
        return {}
    customer = dict(value)
    shape = json_value_problem(customer, max_depth=MAX_CUSTOMER_DEPTH, max_bytes=MAX_CUSTOMER_BYTES)
    if shape is not None:
        problems["customer"] = shape
        return {}
    try:
        text = json.dumps(customer, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        size = len(text.encode("utf-8"))
    except (UnicodeEncodeError, TypeError, ValueError):
        problems["customer"] = "must be plain JSON: no NaN, no unpaired surrogates"
        return {}
    if size > MAX_CUSTOMER_BYTES:
        problems["customer"] = f"is over {MAX_CUSTOMER_BYTES} bytes of JSON"  # one wording
        return {}
    customer = dict(json.loads(text))  # a deep copy: the caller's later changes stay out
    name = customer.get("name")
    if not isinstance(name, str) or not name.strip():
        problems["customer.name"] = "is required and must not be blank"
    email = customer.get("email")
    if email is not None and not (isinstance(email, str) and looks_like_email(email)):
        problems["customer.email"] = "does not look like an email address"
    return customer


def looks_like_email(text: str) -> bool:
    """One `@`, a non-empty local part, a dotted domain, and no white space."""
    if text.count("@") != 1 or any(c.isspace() for c in text):
        return False
    local, domain = text.split("@")
    labels = domain.split(".")
    return bool(local) and len(labels) >= 2 and all(labels)


def _check_notes(value: object, problems: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems["notes"] = "must be a string"
        return None
    if len(value) > MAX_NOTES_CHARS:
        problems["notes"] = f"is {len(value)} characters; at most {MAX_NOTES_CHARS}"
    elif not _encodable(value):
        problems["notes"] = "must be text without unpaired surrogates"
    return value
