"""The catalog: sites, branches, services and staff as frozen values, loaded and validated.

`load_catalog` takes a dict, a JSON file or a TOML file. Validation collects every problem
with the path of its field (`sites[0].staff[1].weeklyHours.mon[0]: ...`), so a catalog with
three typos reports three lines. Unknown keys are problems too: a typo must not pass silently.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dateutil import rrule as _rrule

from .errors import CatalogError, NotFound
from .intervals import IntervalSet
from .localtime import midnight, parse_date, parse_hhmm, suggest_zone, to_instant, zone

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
MAX_DURATION_MINUTES = 7 * 1440
_SHA256 = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_RRULE_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_RRULE_KEYS = {
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTH",
    "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS",
}  # fmt: skip


# -- values ------------------------------------------------------------------------------


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


# -- loading -----------------------------------------------------------------------------


def load_catalog(source: Mapping[str, Any] | str | Path) -> Catalog:
    """Load and validate a catalog from a dict, or a `.json` / `.toml` file path.

    Raises `CatalogError` listing every problem with its field path.
    """
    if isinstance(source, Mapping):
        raw: Any = source
    else:
        raw = _read_file(Path(source))
    reader = _Reader()
    catalog = reader.catalog(raw)
    if reader.problems or catalog is None:
        raise CatalogError(reader.problems)
    return catalog


def _read_file(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError([("", f"cannot read {path}: {exc.strerror or exc}")]) from None
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(data.decode("utf-8"))
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise CatalogError([("", f"{path} is nested too deeply to read")]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CatalogError([("", f"{path} is not valid {_kind(path)}: {exc}")]) from None


def _kind(path: Path) -> str:
    return "TOML" if path.suffix.lower() == ".toml" else "JSON"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_Fields = dict[str, Any]
_T = TypeVar("_T", ApiKey, Branch, Service, Staff)


class _Reader:
    """Walks raw catalog data, building values and collecting `(path, message)` problems."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.branches: Mapping[str, Branch] = {}  # of the site being read

    def bad(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    # -- generic shapes --

    def obj(self, raw: Any, path: str, required: Iterable[str], optional: Iterable[str]) -> _Fields:
        """A dict with the given keys; unknown keys and missing required ones are problems."""
        if not isinstance(raw, Mapping):
            self.bad(path, f"must be an object, not {_type_name(raw)}")
            return {}
        required, optional = list(required), list(optional)
        allowed = set(required) | set(optional)
        for key in raw:
            if key not in allowed:
                hint = _closest(str(key), allowed)
                self.bad(_join(path, str(key)), "unknown key" + _did_you_mean(hint))
        for key in required:
            if key not in raw or raw[key] is None:
                self.bad(_join(path, key), "is required")
        return {k: v for k, v in raw.items() if k in allowed}

    def items(self, raw: Any, path: str) -> list[tuple[str, Any]]:
        """A list's items with their paths; anything else is a problem."""
        if raw is None:
            return []
        if not isinstance(raw, list | tuple):
            self.bad(path, f"must be a list, not {_type_name(raw)}")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(raw)]

    def ident(self, raw: Any, path: str) -> str | None:
        if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw):
            self.bad(path, f"{raw!r} is not an id (letters, digits, '.', '_', '-'; at most 64)")
            return None
        return raw

    def branch_ref(self, raw: Any, path: str) -> str | None:
        """A reference to a branch of the site being read."""
        if not isinstance(raw, str):
            self.bad(path, f"must be a branch id, not {_type_name(raw)}")
            return None
        if raw not in self.branches:
            self.bad(path, f"unknown branch {raw!r}")
            return None
        return raw

    def text(self, raw: Any, path: str, default: str) -> str:
        if raw is None:
            return default
        if not isinstance(raw, str) or not raw.strip():
            self.bad(path, "must be a non-empty string")
            return default
        return raw

    def integer(self, raw: Any, path: str, *, low: int, high: int, default: int) -> int:
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.bad(path, f"must be a whole number, not {_type_name(raw)}")
            return default
        if not low <= raw <= high:
            self.bad(path, f"{raw} is out of range {low}..{high}")
            return default
        return raw

    def flag(self, raw: Any, path: str) -> bool:
        if raw is None:
            return False
        if not isinstance(raw, bool):
            self.bad(path, f"must be true or false, not {_type_name(raw)}")
            return False
        return raw

    def timezone(self, raw: Any, path: str, *, optional: bool) -> ZoneInfo | None:
        if raw is None:
            if not optional:
                self.bad(path, "is required")
            return None
        if not isinstance(raw, str):
            self.bad(path, f"must be a zone name, not {_type_name(raw)}")
            return None
        try:
            return zone(raw)
        except KeyError:
            hint = suggest_zone(raw)
            self.bad(path, f"unknown time zone {raw!r}" + _did_you_mean(hint))
            return None

    def day(self, raw: Any, path: str) -> date | None:
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        try:
            return parse_date(raw)
        except ValueError as exc:
            self.bad(path, str(exc))
            return None

    def instant(self, raw: Any, path: str) -> int | None:
        if isinstance(raw, str):
            try:
                raw = datetime.fromisoformat(raw)
            except ValueError:
                self.bad(path, f"{raw!r} is not an ISO 8601 date-time")
                return None
        if not isinstance(raw, datetime):
            self.bad(path, f"must be an ISO 8601 date-time with offset, not {_type_name(raw)}")
            return None
        try:
            return to_instant(raw)
        except ValueError:
            self.bad(path, f"{raw.isoformat()} needs an offset such as +01:00")
            return None

    # -- time ranges --

    def time_range(self, raw: Any, path: str, *, branch_ok: bool) -> TimeRange | None:
        branch_id: str | None = None
        if isinstance(raw, str):
            start_text, sep, end_text = raw.partition("-")
            if not sep:
                self.bad(path, f"{raw!r} is not a range HH:MM-HH:MM")
                return None
        elif isinstance(raw, Mapping):
            optional = ["branchId"] if branch_ok else []
            fields = self.obj(raw, path, ["start", "end"], optional)
            if "start" not in fields or "end" not in fields:
                return None
            start_text, end_text = fields["start"], fields["end"]
            if fields.get("branchId") is not None:
                branch_id = self.branch_ref(fields["branchId"], _join(path, "branchId"))
        else:
            self.bad(path, f"must be 'HH:MM-HH:MM' or an object, not {_type_name(raw)}")
            return None
        start = end = None
        try:
            start = parse_hhmm(start_text)
        except ValueError:
            self.bad(path, f"start {start_text!r} is not HH:MM")
        try:
            end = parse_hhmm(end_text, allow_24=True)
        except ValueError:
            self.bad(path, f"end {end_text!r} is not HH:MM")
        if start is None or end is None:
            return None
        if start == end:
            self.bad(
                path, f"{start_text}-{end_text} is empty; an end before a start runs overnight"
            )
            return None
        if end < start:
            end += 1440  # runs past midnight
        return TimeRange(start=start, end=end, branch_id=branch_id)

    def day_ranges(self, raw: Any, path: str, *, branch_ok: bool) -> tuple[TimeRange, ...]:
        ranges = []
        for item_path, item in self.items(raw, path):
            found = self.time_range(item, item_path, branch_ok=branch_ok)
            if found is not None:
                ranges.append((found, item_path))
        ranges.sort(key=lambda pair: pair[0].start)
        reach = -1  # the latest end among the ranges before this one
        for found, item_path in ranges:
            if found.start < reach:
                self.bad(item_path, "overlaps another range of the same day")
            reach = max(reach, found.end)
        return tuple(r for r, _ in ranges)

    def weekly(self, raw: Any, path: str, *, branch_ok: bool) -> dict[int, tuple[TimeRange, ...]]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.bad(path, f"must be an object keyed by weekday, not {_type_name(raw)}")
            return {}
        result = {}
        for key, value in raw.items():
            if key not in WEEKDAYS:
                hint = _closest(str(key), set(WEEKDAYS))
                self.bad(_join(path, str(key)), "unknown weekday (mon..sun)" + _did_you_mean(hint))
                continue
            result[WEEKDAYS.index(key)] = self.day_ranges(
                value, _join(path, key), branch_ok=branch_ok
            )
        return result

    # -- catalog parts --

    def catalog(self, raw: Any) -> Catalog | None:
        fields = self.obj(raw, "", ["sites"], [])
        sites: dict[str, Site] = {}
        for path, item in self.items(fields.get("sites"), "sites"):
            site = self.site(item, path)
            if site is None:
                continue
            if site.id in sites:
                self.bad(_join(path, "id"), f"duplicate site id {site.id!r}")
            sites[site.id] = site
        owners: dict[str, str] = {}
        for site in sites.values():
            for key in site.api_keys:
                if owners.setdefault(key.sha256, site.id) != site.id:
                    self.bad(
                        f"sites[{site.id}].apiKeys[{key.id}].sha256",
                        f"the same key is already a key of site {owners[key.sha256]!r}",
                    )
        return Catalog(MappingProxyType(sites))

    def site(self, raw: Any, path: str) -> Site | None:
        f = self.obj(
            raw, path, ["id", "timezone"], ["name", "apiKeys", "branches", "services", "staff"]
        )
        site_id = self.ident(f.get("id"), _join(path, "id")) if "id" in f else None
        site_zone = self.timezone(f.get("timezone"), _join(path, "timezone"), optional=True)
        api_keys = self.unique(f.get("apiKeys"), _join(path, "apiKeys"), self.api_key)
        branches = self.unique(f.get("branches"), _join(path, "branches"), self.branch)
        self.branches = branches
        branch_zones = {b.id: zone(b.timezone) for b in branches.values() if b.timezone}
        staff = self.unique(
            f.get("staff"),
            _join(path, "staff"),
            lambda raw, p: self.staff(raw, p, site_zone, branch_zones, branches),
        )
        services = self.unique(
            f.get("services"),
            _join(path, "services"),
            lambda raw, p: self.service(raw, p, staff, branches),
        )
        if site_id is None or site_zone is None:
            return None
        return Site(
            id=site_id,
            name=self.text(f.get("name"), _join(path, "name"), site_id),
            timezone=site_zone.key,
            zone=site_zone,
            api_keys=tuple(api_keys.values()),
            branches=MappingProxyType(branches),
            services=MappingProxyType(services),
            staff=MappingProxyType(staff),
        )

    def unique(self, raw: Any, path: str, build: Callable[[Any, str], _T | None]) -> dict[str, _T]:
        result: dict[str, _T] = {}
        for item_path, item in self.items(raw, path):
            value = build(item, item_path)
            if value is None:
                continue
            if value.id in result:
                self.bad(_join(item_path, "id"), f"duplicate id {value.id!r}")
                continue
            result[value.id] = value
        return result

    def api_key(self, raw: Any, path: str) -> ApiKey | None:
        f = self.obj(raw, path, ["id", "sha256"], [])
        key_id = self.ident(f.get("id"), _join(path, "id")) if "id" in f else None
        digest = f.get("sha256")
        if "sha256" in f and not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            self.bad(_join(path, "sha256"), "must be the 64-digit hex SHA-256 digest of the key")
            return None
        if key_id is None or not isinstance(digest, str):
            return None
        return ApiKey(id=key_id, sha256=digest.lower())

    def branch(self, raw: Any, path: str) -> Branch | None:
        f = self.obj(raw, path, ["id"], ["name", "timezone"])
        branch_id = self.ident(f.get("id"), _join(path, "id")) if "id" in f else None
        branch_zone = self.timezone(f.get("timezone"), _join(path, "timezone"), optional=True)
        if branch_id is None:
            return None
        return Branch(
            id=branch_id,
            name=self.text(f.get("name"), _join(path, "name"), branch_id),
            timezone=branch_zone.key if branch_zone else None,
        )

    def service(
        self, raw: Any, path: str, staff: Mapping[str, Staff], branches: Mapping[str, Branch]
    ) -> Service | None:
        f = self.obj(
            raw,
            path,
            ["id", "durationMinutes"],
            [
                "name", "slotStepMinutes", "bufferBeforeMinutes", "bufferAfterMinutes",
                "capacity", "minNoticeMinutes", "maxAdvanceDays", "requiresConfirmation",
                "staffIds", "branchIds",
            ],
        )  # fmt: skip
        service_id = self.ident(f.get("id"), _join(path, "id")) if "id" in f else None

        def p(key: str) -> str:
            return _join(path, key)

        duration = self.integer(
            f.get("durationMinutes"),
            p("durationMinutes"),
            low=1,
            high=MAX_DURATION_MINUTES,
            default=0,
        )
        step = self.integer(
            f.get("slotStepMinutes"),
            p("slotStepMinutes"),
            low=1,
            high=MAX_DURATION_MINUTES,
            default=duration,
        )
        before = self.integer(
            f.get("bufferBeforeMinutes"), p("bufferBeforeMinutes"), low=0, high=1440, default=0
        )
        after = self.integer(
            f.get("bufferAfterMinutes"), p("bufferAfterMinutes"), low=0, high=1440, default=0
        )
        capacity = self.integer(f.get("capacity"), p("capacity"), low=1, high=10_000, default=1)
        notice = self.integer(
            f.get("minNoticeMinutes"), p("minNoticeMinutes"), low=0, high=366 * 1440, default=0
        )
        advance: int | None = None
        if f.get("maxAdvanceDays") is not None:
            advance = self.integer(
                f["maxAdvanceDays"], p("maxAdvanceDays"), low=0, high=3660, default=0
            )
        staff_ids = self.references(f.get("staffIds"), p("staffIds"), staff, "staff member")
        branch_ids = self.references(f.get("branchIds"), p("branchIds"), branches, "branch")
        if service_id is None or duration == 0:
            return None
        return Service(
            id=service_id,
            name=self.text(f.get("name"), p("name"), service_id),
            duration_minutes=duration,
            slot_step_minutes=step or duration,
            buffer_before_minutes=before,
            buffer_after_minutes=after,
            capacity=capacity,
            min_notice_minutes=notice,
            max_advance_days=advance,
            requires_confirmation=self.flag(
                f.get("requiresConfirmation"), p("requiresConfirmation")
            ),
            staff_ids=staff_ids,
            branch_ids=branch_ids,
        )

    def references(
        self, raw: Any, path: str, known: Mapping[str, Any], what: str
    ) -> tuple[str, ...]:
        found: list[str] = []
        for item_path, item in self.items(raw, path):
            if not isinstance(item, str):
                self.bad(item_path, f"must be an id string, not {_type_name(item)}")
            elif item not in known:
                self.bad(item_path, f"unknown {what} {item!r}")
            elif item in found:
                self.bad(item_path, f"{item!r} is listed twice")
            else:
                found.append(item)
        return tuple(found)

    def staff(
        self,
        raw: Any,
        path: str,
        site_zone: ZoneInfo | None,
        branch_zones: Mapping[str, ZoneInfo],
        branches: Mapping[str, Branch],
    ) -> Staff | None:
        f = self.obj(
            raw,
            path,
            ["id"],
            [
                "name",
                "branchId",
                "timezone",
                "weeklyHours",
                "breaks",
                "recurring",
                "dateOverrides",
                "timeOff",
            ],
        )

        def p(key: str) -> str:
            return _join(path, key)

        staff_id = self.ident(f.get("id"), p("id")) if "id" in f else None
        branch_id = None
        if f.get("branchId") is not None:
            branch_id = self.branch_ref(f["branchId"], p("branchId"))
        own_zone = self.timezone(f.get("timezone"), p("timezone"), optional=True)
        weekly = self.weekly(f.get("weeklyHours"), p("weeklyHours"), branch_ok=True)
        breaks = self.weekly(f.get("breaks"), p("breaks"), branch_ok=False)
        recurring = [
            r for item_path, item in self.items(f.get("recurring"), p("recurring"))
            if (r := self.recurrence(item, item_path)) is not None
        ]  # fmt: skip
        overrides = self.overrides(f.get("dateOverrides"), p("dateOverrides"))
        time_off = self.time_off(f.get("timeOff"), p("timeOff"))
        rule_zone = own_zone or (branch_zones.get(branch_id) if branch_id else None) or site_zone
        if staff_id is None or rule_zone is None:
            return None
        return Staff(
            id=staff_id,
            name=self.text(f.get("name"), p("name"), staff_id),
            branch_id=branch_id,
            timezone=own_zone.key if own_zone else None,
            zone=rule_zone,
            weekly_hours=MappingProxyType(weekly),
            breaks=MappingProxyType(breaks),
            recurring=tuple(recurring),
            date_overrides=MappingProxyType(overrides),
            time_off=time_off,
            works_at=frozenset(
                r.branch_id or branch_id
                for day in (*weekly.values(), *overrides.values(), *(c.hours for c in recurring))
                for r in day
            ),
        )

    def recurrence(self, raw: Any, path: str) -> Recurrence | None:
        f = self.obj(raw, path, ["rrule", "dtstart", "hours"], [])
        start = self.day(f["dtstart"], _join(path, "dtstart")) if "dtstart" in f else None
        hours = self.day_ranges(f.get("hours"), _join(path, "hours"), branch_ok=True)
        text = f.get("rrule")
        if text is None:
            return None
        rule = self.rrule(text, _join(path, "rrule"), start or date(2000, 1, 1))
        if rule is None or start is None:
            return None
        return Recurrence(rrule=text, dtstart=start, hours=hours, rule=rule)

    def rrule(self, text: Any, path: str, start: date) -> _rrule.rrule | None:
        if not isinstance(text, str):
            self.bad(path, f"must be an RRULE string, not {_type_name(text)}")
            return None
        parts = {}
        for part in text.split(";"):
            key, sep, value = part.partition("=")
            if not sep or key.upper() not in _RRULE_KEYS:
                accepted = ", ".join(sorted(_RRULE_KEYS))
                self.bad(path, f"{part!r} is not an RRULE part that picks dates ({accepted})")
                return None
            parts[key.upper()] = value.upper()
        if parts.get("FREQ") not in _RRULE_FREQS:
            self.bad(path, f"FREQ must be one of {', '.join(sorted(_RRULE_FREQS))}")
            return None
        try:
            rule = _rrule.rrulestr(text, dtstart=midnight(start))
        except (ValueError, TypeError) as exc:
            self.bad(path, f"bad RRULE: {exc}")
            return None
        if not isinstance(rule, _rrule.rrule):
            self.bad(path, "must be a single RRULE")
            return None
        return rule

    def overrides(self, raw: Any, path: str) -> dict[date, tuple[TimeRange, ...]]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.bad(path, f"must be an object keyed by date, not {_type_name(raw)}")
            return {}
        result = {}
        for key, value in raw.items():
            day = self.day(key, _join(path, str(key)))
            ranges = self.day_ranges(value, _join(path, str(key)), branch_ok=True)
            if day is not None:
                result[day] = ranges
        return result

    def time_off(self, raw: Any, path: str) -> IntervalSet:
        spans = []
        for item_path, item in self.items(raw, path):
            f = self.obj(item, item_path, ["start", "end"], ["reason"])
            start = self.instant(f["start"], _join(item_path, "start")) if "start" in f else None
            end = self.instant(f["end"], _join(item_path, "end")) if "end" in f else None
            if start is not None and end is not None:
                if end <= start:
                    self.bad(item_path, "end must be after start")
                else:
                    spans.append((start, end))
        return IntervalSet(spans)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, Sequence) else type(value).__name__
    )


def _did_you_mean(hint: str | None) -> str:
    return f" (did you mean {hint!r}?)" if hint else ""


def _closest(word: str, choices: set[str]) -> str | None:
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None
