"""One small reader per catalog object: catalog, site, API key, branch, service, staff, ...

`KEYS` is the table of every object's required and optional keys; the readers take their
keys from it, and a test holds the shipped JSON Schema to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ..intervals import IntervalSet
from ..localtime import zone
from .fields import (
    Problems,
    join,
    read_assignment,
    read_branch_ref,
    read_date,
    read_day_ranges,
    read_flag,
    read_id,
    read_instant,
    read_int,
    read_items,
    read_object,
    read_references,
    read_rrule,
    read_sha256,
    read_text,
    read_weekly,
    read_zone,
    type_name,
)
from .values import (
    MAX_DURATION_MINUTES,
    NO_LIMITS,
    ApiKey,
    Branch,
    Catalog,
    Limits,
    Recurrence,
    Service,
    Site,
    Staff,
    TimeRange,
)

#: object -> (required keys, optional keys), in the order the docs list them.
KEYS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    "catalog": (("sites",), ("$schema",)),
    "site": (("id", "timezone"), ("name", "apiKeys", "branches", "services", "staff")),
    "apiKey": (("id", "sha256"), ()),
    "branch": (("id",), ("name", "timezone")),
    "service": (
        ("id", "durationMinutes"),
        ("name", "slotStepMinutes", "bufferBeforeMinutes", "bufferAfterMinutes", "capacity",
         "minNoticeMinutes", "maxAdvanceDays", "requiresConfirmation", "staffIds", "branchIds",
         "limits", "changeCutoffMinutes", "assignment"),
    ),
    "staff": (
        ("id",),
        ("name", "branchId", "timezone", "weeklyHours", "breaks", "recurring",
         "dateOverrides", "timeOff", "limits"),
    ),
    "limits": ((), ("perDay", "perWeek")),
    "range": (("start", "end"), ("branchId",)),
    "recurring": (("rrule", "dtstart", "hours"), ()),
    "timeOff": (("start", "end"), ("reason",)),
})  # fmt: skip

_T = TypeVar("_T", ApiKey, Branch, Service, Staff)


def _fields(p: Problems, raw: Any, path: str, kind: str) -> dict[str, Any]:
    required, optional = KEYS[kind]
    return read_object(p, raw, path, required, optional)


def read_catalog(p: Problems, raw: Any) -> Catalog:
    """The whole catalog; one API key may belong to one site only."""
    f = _fields(p, raw, "", "catalog")
    if f.get("$schema") is not None:  # where editors find the JSON Schema; nothing else
        read_text(p, f["$schema"], "$schema", "")
    sites: dict[str, Site] = {}
    for path, item in read_items(p, f.get("sites"), "sites"):
        site = read_site(p, item, path)
        if site is None:
            continue
        if site.id in sites:
            p.bad(join(path, "id"), f"duplicate site id {site.id!r}")
        sites[site.id] = site
    owners: dict[str, str] = {}
    for site in sites.values():
        for key in site.api_keys:
            if owners.setdefault(key.sha256, site.id) != site.id:
                p.bad(
                    f"sites[{site.id}].apiKeys[{key.id}].sha256",
                    f"the same key is already a key of site {owners[key.sha256]!r}",
                )
    return Catalog(MappingProxyType(sites))


def _unique(
    p: Problems, raw: Any, path: str, build: Callable[[Any, str], _T | None]
) -> dict[str, _T]:
    """A list of objects with ids, by id; a repeated id is a problem."""
    result: dict[str, _T] = {}
    for item_path, item in read_items(p, raw, path):
        value = build(item, item_path)
        if value is None:
            continue
        if value.id in result:
            p.bad(join(item_path, "id"), f"duplicate id {value.id!r}")
            continue
        result[value.id] = value
    return result


def read_site(p: Problems, raw: Any, path: str) -> Site | None:
    """A site with its keys, branches, staff (read before services, which name them)."""
    f = _fields(p, raw, path, "site")
    site_id = read_id(p, f.get("id"), join(path, "id")) if "id" in f else None
    site_zone = read_zone(p, f.get("timezone"), join(path, "timezone"), optional=True)
    api_keys = _unique(
        p, f.get("apiKeys"), join(path, "apiKeys"), lambda r, q: read_api_key(p, r, q)
    )
    branches = _unique(
        p, f.get("branches"), join(path, "branches"), lambda r, q: read_branch(p, r, q)
    )
    staff = _unique(
        p,
        f.get("staff"),
        join(path, "staff"),
        lambda r, q: read_staff(p, r, q, site_zone, branches),
    )
    services = _unique(
        p,
        f.get("services"),
        join(path, "services"),
        lambda r, q: read_service(p, r, q, staff, branches),
    )
    if site_id is None or site_zone is None:
        return None
    return Site(
        id=site_id,
        name=read_text(p, f.get("name"), join(path, "name"), site_id),
        timezone=site_zone.key,
        zone=site_zone,
        api_keys=tuple(api_keys.values()),
        branches=MappingProxyType(branches),
        services=MappingProxyType(services),
        staff=MappingProxyType(staff),
    )


def read_api_key(p: Problems, raw: Any, path: str) -> ApiKey | None:
    """`{id, sha256}`: a key is only ever held as its digest."""
    f = _fields(p, raw, path, "apiKey")
    key_id = read_id(p, f.get("id"), join(path, "id")) if "id" in f else None
    digest = read_sha256(p, f["sha256"], join(path, "sha256")) if "sha256" in f else None
    if key_id is None or digest is None:
        return None
    return ApiKey(id=key_id, sha256=digest)


def read_branch(p: Problems, raw: Any, path: str) -> Branch | None:
    """`{id, name?, timezone?}`."""
    f = _fields(p, raw, path, "branch")
    branch_id = read_id(p, f.get("id"), join(path, "id")) if "id" in f else None
    branch_zone = read_zone(p, f.get("timezone"), join(path, "timezone"), optional=True)
    if branch_id is None:
        return None
    return Branch(
        id=branch_id,
        name=read_text(p, f.get("name"), join(path, "name"), branch_id),
        timezone=branch_zone.key if branch_zone else None,
    )


#: service key -> (low, high, default) of its whole-number fields (default None: required)
SERVICE_NUMBERS: Mapping[str, tuple[int, int, int | None]] = MappingProxyType({
    "durationMinutes": (1, MAX_DURATION_MINUTES, None),
    "slotStepMinutes": (1, MAX_DURATION_MINUTES, None),  # default: the duration
    "bufferBeforeMinutes": (0, 1440, 0),
    "bufferAfterMinutes": (0, 1440, 0),
    "capacity": (1, 10_000, 1),
    "minNoticeMinutes": (0, 366 * 1440, 0),
    "maxAdvanceDays": (0, 3660, None),  # default: no limit
    "changeCutoffMinutes": (0, 366 * 1440, None),  # default: changes allowed until the start
})  # fmt: skip


def read_service(
    p: Problems, raw: Any, path: str, staff: Mapping[str, Staff], branches: Mapping[str, Branch]
) -> Service | None:
    """A bookable service; its numbers follow `SERVICE_NUMBERS`."""
    f = _fields(p, raw, path, "service")
    service_id = read_id(p, f.get("id"), join(path, "id")) if "id" in f else None
    numbers: dict[str, int | None] = {}
    for key, (low, high, default) in SERVICE_NUMBERS.items():
        if f.get(key) is None:
            numbers[key] = default
        else:
            numbers[key] = read_int(p, f[key], join(path, key), low=low, high=high, default=0)
    duration = numbers["durationMinutes"] or 0
    staff_ids = read_references(p, f.get("staffIds"), join(path, "staffIds"), staff, "staff member")
    branch_ids = read_references(p, f.get("branchIds"), join(path, "branchIds"), branches, "branch")
    limits = read_limits(p, f.get("limits"), join(path, "limits"))
    assignment = read_assignment(p, f.get("assignment"), join(path, "assignment"))
    if service_id is None or duration == 0:
        return None
    return Service(
        id=service_id,
        name=read_text(p, f.get("name"), join(path, "name"), service_id),
        duration_minutes=duration,
        slot_step_minutes=numbers["slotStepMinutes"] or duration,
        buffer_before_minutes=numbers["bufferBeforeMinutes"] or 0,
        buffer_after_minutes=numbers["bufferAfterMinutes"] or 0,
        capacity=numbers["capacity"] or 1,
        min_notice_minutes=numbers["minNoticeMinutes"] or 0,
        max_advance_days=numbers["maxAdvanceDays"],
        requires_confirmation=read_flag(
            p, f.get("requiresConfirmation"), join(path, "requiresConfirmation")
        ),
        staff_ids=staff_ids,
        branch_ids=branch_ids,
        limits=limits,
        change_cutoff_minutes=numbers["changeCutoffMinutes"],
        assignment=assignment,
    )


def read_limits(p: Problems, raw: Any, path: str) -> Limits:
    """`{"perDay": n, "perWeek": n}`, each optional, 1..10000: most time-holding bookings
    and live holds starting in one local day / ISO week."""
    if raw is None:
        return NO_LIMITS
    f = _fields(p, raw, path, "limits")
    found: dict[str, int | None] = {}
    for key in ("perDay", "perWeek"):
        if f.get(key) is not None:
            found[key] = read_int(p, f[key], join(path, key), low=1, high=10_000, default=0)
    return Limits(per_day=found.get("perDay") or None, per_week=found.get("perWeek") or None)


def read_staff(
    p: Problems,
    raw: Any,
    path: str,
    site_zone: ZoneInfo | None,
    branches: Mapping[str, Branch],
) -> Staff | None:
    """A staff member and the rules of their hours, in their zone (own, branch's, site's)."""
    f = _fields(p, raw, path, "staff")

    def at(key: str) -> str:
        return join(path, key)

    staff_id = read_id(p, f.get("id"), at("id")) if "id" in f else None
    branch_id = None
    if f.get("branchId") is not None:
        branch_id = read_branch_ref(p, f["branchId"], at("branchId"), branches)
    own_zone = read_zone(p, f.get("timezone"), at("timezone"), optional=True)
    weekly = read_weekly(p, f.get("weeklyHours"), at("weeklyHours"), branches)
    breaks = read_weekly(p, f.get("breaks"), at("breaks"), None)
    recurring = [
        r for item_path, item in read_items(p, f.get("recurring"), at("recurring"))
        if (r := read_recurrence(p, item, item_path, branches)) is not None
    ]  # fmt: skip
    overrides = read_overrides(p, f.get("dateOverrides"), at("dateOverrides"), branches)
    time_off = read_time_off(p, f.get("timeOff"), at("timeOff"))
    limits = read_limits(p, f.get("limits"), at("limits"))
    branch = branches.get(branch_id) if branch_id else None
    branch_zone = zone(branch.timezone) if branch and branch.timezone else None
    rule_zone = own_zone or branch_zone or site_zone
    if staff_id is None or rule_zone is None:
        return None
    days: list[tuple[TimeRange, ...]] = [*weekly.values(), *overrides.values()]
    days.extend(c.hours for c in recurring)
    return Staff(
        id=staff_id,
        name=read_text(p, f.get("name"), at("name"), staff_id),
        branch_id=branch_id,
        timezone=own_zone.key if own_zone else None,
        zone=rule_zone,
        weekly_hours=MappingProxyType(weekly),
        breaks=MappingProxyType(breaks),
        recurring=tuple(recurring),
        date_overrides=MappingProxyType(overrides),
        time_off=time_off,
        works_at=frozenset(r.branch_id or branch_id for day in days for r in day),
        limits=limits,
    )


def read_recurrence(
    p: Problems, raw: Any, path: str, branches: Mapping[str, Branch]
) -> Recurrence | None:
    """`{rrule, dtstart, hours}`: extra hours on the dates the rule picks."""
    f = _fields(p, raw, path, "recurring")
    start = read_date(p, f["dtstart"], join(path, "dtstart")) if "dtstart" in f else None
    hours = read_day_ranges(p, f.get("hours"), join(path, "hours"), branches)
    text = f.get("rrule")
    if text is None:
        return None
    rule = read_rrule(p, text, join(path, "rrule"), start or date(2000, 1, 1))
    if rule is None or start is None:
        return None
    return Recurrence(rrule=text, dtstart=start, hours=hours, rule=rule)


def read_overrides(
    p: Problems, raw: Any, path: str, branches: Mapping[str, Branch]
) -> dict[date, tuple[TimeRange, ...]]:
    """Ranges keyed by `YYYY-MM-DD`, replacing that date's hours and breaks."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        p.bad(path, f"must be an object keyed by date, not {type_name(raw)}")
        return {}
    result = {}
    for key, value in raw.items():
        day = read_date(p, key, join(path, str(key)))
        ranges = read_day_ranges(p, value, join(path, str(key)), branches)
        if day is not None:
            result[day] = ranges
    return result


def read_time_off(p: Problems, raw: Any, path: str) -> IntervalSet:
    """`[{start, end, reason?}]` as absolute instants with offsets."""
    spans = []
    for item_path, item in read_items(p, raw, path):
        f = _fields(p, item, item_path, "timeOff")
        start = read_instant(p, f["start"], join(item_path, "start")) if "start" in f else None
        end = read_instant(p, f["end"], join(item_path, "end")) if "end" in f else None
        read_text(p, f.get("reason"), join(item_path, "reason"), "")
        if start is not None and end is not None:
            if end <= start:
                p.bad(item_path, "end must be after start")
            else:
                spans.append((start, end))
    return IntervalSet(spans)
