"""The catalog's values: sites, branches, services and staff, frozen once loaded."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as _rrule

from ..assignment import DEFAULT_ASSIGNMENT, Assignment
from ..errors import NotFound
from ..intervals import IntervalSet
from ..localtime import midnight

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
MAX_DURATION_MINUTES = 7 * 1440


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeRange:
    """Wall-clock minutes after local midnight, `[start, end)`; `end` may pass 1440 (overnight)."""

    start: int
    end: int
    branch_id: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < 1440 or not self.start < self.end <= self.start + 1440:
            raise ValueError(f"bad time range {self.start}-{self.end}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Recurrence:
    """Extra hours on the dates an RRULE picks; the rule chooses dates, never wall times."""

    rrule: str
    dtstart: date
    hours: tuple[TimeRange, ...]
    rule: _rrule.rrule = field(compare=False, repr=False)

    def dates_between(self, first: date, last: date) -> set[date]:
        """The dates in `[first, last]` this rule picks.

        `rrule` walks every occurrence from `dtstart`; a daily or weekly rule without
        COUNT repeats every `INTERVAL` days or weeks, so its start moves forward by whole
        repeats to just before `first`, and a date centuries on costs what next week does.
        """
        rule = self.rule
        parts = dict(part.upper().split("=", 1) for part in self.rrule.split(";"))
        days = {"DAILY": 1, "WEEKLY": 7}.get(parts["FREQ"])
        if days is not None and "COUNT" not in parts:
            stride = days * int(parts.get("INTERVAL", "1"))
            repeats = (first - self.dtstart).days // stride - 1
            if repeats > 0:
                start = self.dtstart + timedelta(days=repeats * stride)
                rule = rule.replace(dtstart=midnight(start))
        hits = rule.between(midnight(first), midnight(last), inc=True)
        return {hit.date() for hit in hits}


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """An API key as its SHA-256 hex digest; the key itself is never stored."""

    id: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch:
    """A place where staff work; `timezone` None means the site's."""

    id: str
    name: str
    timezone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Most time-holding bookings and live holds starting in one local day / ISO week."""

    per_day: int | None = None
    per_week: int | None = None

    def __bool__(self) -> bool:
        return self.per_day is not None or self.per_week is not None


NO_LIMITS = Limits()


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """Something bookable: its length, grid step, buffers, seats and notice rules."""

    id: str
    name: str
    duration_minutes: int
    slot_step_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    capacity: int = 1
    min_notice_minutes: int = 0
    max_advance_days: int | None = None
    requires_confirmation: bool = False
    staff_ids: tuple[str, ...] = ()
    branch_ids: tuple[str, ...] = ()
    limits: Limits = NO_LIMITS  # counted per staff member
    change_cutoff_minutes: int | None = None
    assignment: Assignment = DEFAULT_ASSIGNMENT  # who takes a booking that names nobody

    @property
    def duration(self) -> int:
        """Length in seconds."""
        return self.duration_minutes * 60

    @property
    def step(self) -> int:
        """Grid step in seconds."""
        return self.slot_step_minutes * 60

    @property
    def buffer_before(self) -> int:
        """Seconds held before the start."""
        return self.buffer_before_minutes * 60

    @property
    def buffer_after(self) -> int:
        """Seconds held after the end."""
        return self.buffer_after_minutes * 60


@dataclass(frozen=True, slots=True, kw_only=True)
class Staff:
    """A person with their availability rules; `zone` is the resolved zone of those rules."""

    id: str
    name: str
    branch_id: str | None
    timezone: str | None
    zone: ZoneInfo
    weekly_hours: Mapping[int, tuple[TimeRange, ...]]
    breaks: Mapping[int, tuple[TimeRange, ...]]
    recurring: tuple[Recurrence, ...]
    date_overrides: Mapping[date, tuple[TimeRange, ...]]
    time_off: IntervalSet
    works_at: frozenset[str | None]  # branches of its ranges (None: no branch)
    limits: Limits = NO_LIMITS


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """One customer of the CMS: its zone, keys, branches, services and staff, in catalog order."""

    id: str
    name: str
    timezone: str
    zone: ZoneInfo
    api_keys: tuple[ApiKey, ...]
    branches: Mapping[str, Branch]
    services: Mapping[str, Service]
    staff: Mapping[str, Staff]

    def service(self, service_id: str) -> Service:
        """The service, or `NotFound`."""
        try:
            return self.services[service_id]
        except KeyError:
            raise NotFound(f"unknown service {service_id!r}", {"serviceId": service_id}) from None

    def staff_member(self, staff_id: str) -> Staff:
        """The staff member, or `NotFound`."""
        try:
            return self.staff[staff_id]
        except KeyError:
            raise NotFound(f"unknown staff {staff_id!r}", {"staffId": staff_id}) from None

    def branch(self, branch_id: str) -> Branch:
        """The branch, or `NotFound`."""
        try:
            return self.branches[branch_id]
        except KeyError:
            raise NotFound(f"unknown branch {branch_id!r}", {"branchId": branch_id}) from None

    def staff_for(self, service: Service) -> list[Staff]:
        """Staff who offer `service`, in the service's `staffIds` order, else catalog order."""
        if service.staff_ids:
            return [self.staff[s] for s in service.staff_ids]
        return list(self.staff.values())


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every site, by id, in catalog order."""

    sites: Mapping[str, Site]

    def site(self, site_id: str) -> Site:
        """The site, or `NotFound`."""
        try:
            return self.sites[site_id]
        except KeyError:
            raise NotFound(f"unknown site {site_id!r}", {"siteId": site_id}) from None
