"""The rules lab: replay a demand through an engine and report what the rules made of it.

`simulate(catalog, requests)` runs every `Request` against a fresh engine whose clock reads
the request's own time, and sums up a `Report`: how many were booked, why the rest were
refused, how busy each staff member was and how evenly the work was spread. Run it on two
catalogs with the same demand to judge a rule change (a finer grid, a buffer, round robin).

A demand comes from a CSV file (`demand_from_csv`) or is drawn at random with a seed
(`synthetic_demand`). Everything here is deterministic: the same catalog and demand give the
same report, on any machine.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .catalog import ID_PATTERN, Catalog, Site, Staff, load_catalog
from .engine import Engine
from .errors import BookingError, SlotUnavailable, ValidationError
from .intervals import IntervalSet
from .localtime import day_start, local_date, parse_date, to_instant
from .schedule import working_time
from .slots import branch_choice, staff_offering
from .stores import MemoryStore, Store
from .values import Booking

__all__ = [
    "DEFAULT_FIRST_DATE",
    "Report",
    "Request",
    "demand_from_csv",
    "report_table",
    "simulate",
    "synthetic_demand",
]

# Synthetic demand starts here unless told otherwise: a fixed Monday, so the same command
# prints the same table whatever day it runs.
DEFAULT_FIRST_DATE = date(2026, 3, 2)
# Customers ask for quarter hours: `10:15` is a preference a 15-minute grid can meet and a
# 30-minute one cannot, which is what a step change is judged on.
PREFERENCE_MINUTES = 15
NO_SLOT = "no_slot"  # a request for the first free slot of a date that has none
CUSTOMER = {"name": "Simulated customer"}
_ISO_START = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_HHMM = re.compile(r"[0-9]{2}:[0-9]{2}", re.ASCII)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Request:
    """One customer asking, at `at`, to book `service_id` on local `date`.

    `start_time` is the time they want (`"HH:MM"`, an ISO 8601 string with offset or an aware
    datetime); None means the first available slot that date. `staff_id` names the staff
    member they want; None lets the service's assignment rule choose.
    """

    at: datetime
    site_id: str
    service_id: str
    date: date
    start_time: datetime | str | None = None
    staff_id: str | None = None

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
            problems["at"] = "must be an aware datetime"
        for name in ("site_id", "service_id"):
            if not isinstance(getattr(self, name), str):
                problems[name] = "must be a string"
        if self.staff_id is not None and not isinstance(self.staff_id, str):
            problems["staff_id"] = "must be a string or None"
        day: object = self.date
        if isinstance(day, str):
            try:
                object.__setattr__(self, "date", parse_date(day))
            except ValueError as exc:
                problems["date"] = str(exc)
        elif isinstance(day, datetime) or not isinstance(day, date):
            problems["date"] = "must be a date or YYYY-MM-DD"
        start = self.start_time
        if isinstance(start, datetime) and start.utcoffset() is None:
            problems["start_time"] = "a datetime start needs an offset"
        elif start is not None and not isinstance(start, datetime | str):
            problems["start_time"] = "must be HH:MM, an ISO 8601 string, a datetime or None"
        if problems:
            raise ValidationError.of(problems)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What one catalog made of one demand.

    `refused` counts refusals by `details.reason` (`booked`, `off_grid`, `limit_reached`, ...;
    `no_slot` for a first-available request on a date with no free slot), else by error code.
    `utilization` is, per staff member offering a requested service, booked service minutes
    (buffers excluded; a group session counts once) over working minutes after breaks, on
    the dates the demand names. `spread` is the most minus the fewest bookings among those
    staff, those with none included.
    """

    requests: int
    booked: int
    refused: dict[str, int] = field(default_factory=dict)
    utilization: dict[str, float] = field(default_factory=dict)
    spread: int = 0

    @property
    def refused_total(self) -> int:
        """Every refused request."""
        return sum(self.refused.values())

    @property
    def mean_utilization(self) -> float:
        """The mean of `utilization` over its staff (0.0 with none)."""
        if not self.utilization:
            return 0.0
        return math.fsum(self.utilization.values()) / len(self.utilization)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (camelCase keys, like the HTTP API)."""
        return {
            "requests": self.requests,
            "booked": self.booked,
            "refused": dict(self.refused),
            "utilization": dict(self.utilization),
            "meanUtilization": self.mean_utilization,
            "spread": self.spread,
        }


# -- running a demand --------------------------------------------------------------------


def simulate(
    catalog: Catalog | Mapping[str, Any] | str | Path,
    requests: Iterable[Request],
    *,
    store: Store | None = None,
    progress: Progress | None = None,
) -> Report:
    """Replay `requests` in order of `at` (ties keep their order) on a fresh engine whose
    clock reads each request's `at`, and report the outcome.

    `store` defaults to a new `MemoryStore`; any store may be passed (its earlier bookings
    then take time as usual, but only this run's bookings are counted). `progress`, if
    given, is called with (done, total) every 1,000 requests and at the end.
    """
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    ordered = sorted(requests, key=lambda r: to_instant(r.at))
    clock = _RequestClock()
    engine = Engine(catalog, store=store if store is not None else MemoryStore(), clock=clock)
    made: list[Booking] = []
    refused: Counter[str] = Counter()
    total = len(ordered)
    for done, request in enumerate(ordered, start=1):
        clock.now = request.at
        try:
            made.append(_book(engine, request))
        except BookingError as exc:
            reason = exc.details.get("reason")
            refused[reason if isinstance(reason, str) else exc.code] += 1
        if progress is not None and (done % 1000 == 0 or done == total):
            progress(done, total)
    utilization, spread = _workload(catalog, ordered, made)
    return Report(
        requests=total,
        booked=len(made),
        refused=dict(sorted(refused.items())),
        utilization=utilization,
        spread=spread,
    )


class _RequestClock:
    """The engine's clock during a replay: the time of the request being replayed."""

    def __init__(self) -> None:
        self.now = datetime(1970, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _book(engine: Engine, request: Request) -> Booking:
    start = request.start_time
    if start is None:
        free = [
            slot
            for slot in engine.slots(
                request.site_id, request.service_id, request.date, staff_id=request.staff_id
            )
            if slot.available
        ]
        if not free:
            raise SlotUnavailable("no free slot that date", {"reason": NO_SLOT})
        start = free[0].start
    return engine.create_booking(
        request.site_id,
        service_id=request.service_id,
        date=request.date,
        start_time=start,
        customer=CUSTOMER,
        staff_id=request.staff_id,
    )


def _workload(
    catalog: Catalog, requests: Sequence[Request], made: Sequence[Booking]
) -> tuple[dict[str, float], int]:
    """Utilization per staff member and the spread of booking counts, over the staff who
    offer a requested service, on the dates the demand names (per site)."""
    dates: dict[str, set[date]] = defaultdict(set)
    staff: dict[str, dict[str, Staff]] = defaultdict(dict)
    for request in requests:
        site = catalog.sites.get(request.site_id)
        service = site.services.get(request.service_id) if site else None
        if site is None or service is None:
            continue
        dates[site.id].add(request.date)
        for member in staff_offering(site, service):
            staff[site.id].setdefault(member.id, member)
    several = len(staff) > 1
    count: Counter[tuple[str, str]] = Counter((b.site_id, b.staff_id) for b in made)
    served: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for b in made:
        if b.date in dates.get(b.site_id, ()):
            served[(b.site_id, b.staff_id)].append((b.start_ts, b.end_ts))
    utilization: dict[str, float] = {}
    counts: list[int] = []
    for site_id in sorted(staff):
        for staff_id, member in staff[site_id].items():
            counts.append(count[(site_id, staff_id)])
            worked = _working_seconds(member, dates[site_id])
            if worked:
                busy = IntervalSet(served[(site_id, staff_id)]).measure()
                key = f"{site_id}/{staff_id}" if several else staff_id
                utilization[key] = busy / worked
    spread = max(counts) - min(counts) if counts else 0
    return utilization, spread


def _working_seconds(member: Staff, days: Iterable[date]) -> int:
    """Seconds of working time after breaks on local `days`, any branch, overlaps once."""
    total = 0
    for day in days:
        lo, hi = day_start(day, member.zone), day_start(day + timedelta(days=1), member.zone)
        periods = working_time(member, day, day).periods.values()
        worked = IntervalSet(span for found in periods for span in found)
        if lo < hi:  # a date the zone skipped (Pacific/Apia 2011-12-30) has no time
            total += worked.clip(lo, hi).measure()
    return total


# -- demand from a file ------------------------------------------------------------------

CSV_COLUMNS = ("at", "site", "service", "date", "start", "staff")
_REQUIRED_COLUMNS = ("at", "site", "service", "date")
_MAX_LISTED = 20


def demand_from_csv(source: str | Path | io.TextIOBase) -> list[Request]:
    """Requests from CSV with a header row `at,site,service,date,start,staff` (`start` and
    `staff` are optional columns and may be empty in a row).

    `at` is ISO 8601 with an offset; `date` is `YYYY-MM-DD`; `start` is `HH:MM` or ISO 8601
    with an offset. Every bad row is reported, with its row number (the first data row is
    row 1) and line, in one `validation_error`.
    """
    if isinstance(source, str | Path):
        try:
            with open(source, encoding="utf-8-sig", newline="") as fh:
                return _read_csv(fh, str(source))
        except OSError as exc:
            raise ValidationError(
                f"cannot read demand {source}: {exc.strerror or exc}", {"fields": ["demand"]}
            ) from None
    return _read_csv(source, "demand")


def _read_csv(fh: Any, name: str) -> list[Request]:
    reader = csv.reader(fh)
    problems: list[tuple[str, str]] = []  # (where, what is wrong)
    try:
        header = next(reader, None)
        if header is None:
            raise ValidationError(f"{name}: empty; the first row names the columns")
        columns = [c.strip() for c in header]
        for column in columns:
            if column not in CSV_COLUMNS:
                known = ", ".join(CSV_COLUMNS)
                problems.append(("header", f"unknown column {column!r} (known: {known})"))
        for column in _REQUIRED_COLUMNS:
            if column not in columns:
                problems.append(("header", f"column {column!r} is required"))
        for column in set(columns):
            if columns.count(column) > 1:
                problems.append(("header", f"column {column!r} appears twice"))
        if problems:
            _raise(name, problems)
        requests: list[Request] = []
        row_number = 0
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            row_number += 1
            where = f"row {row_number} (line {reader.line_num})"
            if len(row) != len(columns):
                problems.append((where, f"{len(row)} fields, the header has {len(columns)}"))
                continue
            cells = {c: v.strip() for c, v in zip(columns, row, strict=True)}
            request = _request_from_row(cells, where, problems)
            if request is not None:
                requests.append(request)
    except csv.Error as exc:
        problems.append((f"line {reader.line_num}", f"not CSV ({exc})"))
    except UnicodeDecodeError:
        problems.append(("file", "not UTF-8 text"))
    if problems:
        _raise(name, problems)
    return requests


def _request_from_row(
    cells: dict[str, str], where: str, problems: list[tuple[str, str]]
) -> Request | None:
    found = len(problems)
    at: datetime | None = None
    try:
        at = datetime.fromisoformat(cells["at"])
        if at.utcoffset() is None:
            problems.append((f"{where}: at", f"{cells['at']!r} needs an offset (e.g. +01:00 or Z)"))
    except ValueError:
        problems.append((f"{where}: at", f"{cells['at']!r} is not an ISO 8601 date-time"))
    for column in ("site", "service"):
        if not ID_PATTERN.fullmatch(cells[column]):
            problems.append((f"{where}: {column}", f"{cells[column]!r} is not an id"))
    day: date | None = None
    try:
        day = parse_date(cells["date"])
    except ValueError as exc:
        problems.append((f"{where}: date", str(exc)))
    start = cells.get("start") or None
    if start is not None and not (_HHMM.fullmatch(start) or _ISO_START.fullmatch(start)):
        problems.append((f"{where}: start", f"{start!r} is not HH:MM or ISO 8601 with an offset"))
    staff = cells.get("staff") or None
    if staff is not None and not ID_PATTERN.fullmatch(staff):
        problems.append((f"{where}: staff", f"{staff!r} is not an id"))
    if len(problems) > found or at is None or day is None:
        return None
    return Request(at, cells["site"], cells["service"], day, start, staff)


def _raise(name: str, problems: list[tuple[str, str]]) -> None:
    """One `validation_error`: a line per problem (the first 20) in the message, and every
    problem as `{field, message}` in `details.problems`, the field naming row and column."""
    listed = problems[:_MAX_LISTED]
    more = len(problems) - len(listed)
    lines = [f"{name}: {where}: {what}" for where, what in listed]
    if more:
        lines.append(f"{name}: ... and {more} more")
    details = {
        "fields": ["demand"],
        "problems": [{"field": where, "message": what} for where, what in problems],
    }
    raise ValidationError("\n".join(lines), details)


# -- synthetic demand --------------------------------------------------------------------


def synthetic_demand(
    catalog: Catalog,
    *,
    per_day: float,
    days: int,
    seed: int,
    first_date: date = DEFAULT_FIRST_DATE,
    site_id: str | None = None,
    lead_days: int = 7,
) -> list[Request]:
    """A random demand, the same for the same arguments: for each of `days` dates from
    `first_date`, a Poisson number of requests (mean `per_day`) arriving as a Poisson process
    over the `lead_days` before that date.

    Each request asks for a service drawn uniformly from those someone offers that date, at
    a preferred time: a quarter hour drawn uniformly from the hours (after breaks) of a staff
    member drawn uniformly from those who offer it and work that date, so the service fits
    before their period ends. It names no staff member. A date on which nobody works gets no
    requests. Uses `random.Random(seed)` only.
    """
    if not per_day >= 0 or not math.isfinite(per_day):
        raise ValidationError("per_day must be a finite number >= 0", {"fields": ["perDay"]})
    if not 1 <= days <= 3660:
        raise ValidationError("days must be 1..3660", {"fields": ["days"]})
    if not 1 <= lead_days <= 366:
        raise ValidationError("lead_days must be 1..366", {"fields": ["leadDays"]})
    site = _the_site(catalog, site_id)
    rng = random.Random(seed)
    window = lead_days * 86_400
    requests: list[Request] = []
    for offset in range(days):
        day = first_date + timedelta(days=offset)
        menu = _preferences(site, day)
        if not menu or per_day == 0:
            continue
        opens = day_start(day, site.zone)
        # A Poisson process over [opens - window, opens): exponential gaps of mean
        # window / per_day, so the number of arrivals is Poisson with mean per_day.
        moment = opens - window + rng.expovariate(per_day / window)
        while moment < opens:
            service_id, by_staff = menu[rng.randrange(len(menu))]
            member, starts = by_staff[rng.randrange(len(by_staff))]
            start = starts[rng.randrange(len(starts))]
            requests.append(
                Request(
                    at=datetime.fromtimestamp(math.floor(moment), UTC),
                    site_id=site.id,
                    service_id=service_id,
                    date=day,
                    start_time=datetime.fromtimestamp(start, member.zone),
                )
            )
            moment += rng.expovariate(per_day / window)
    requests.sort(key=lambda r: r.at)
    return requests


def _the_site(catalog: Catalog, site_id: str | None) -> Site:
    if site_id is not None:
        return catalog.site(site_id)
    if len(catalog.sites) != 1:
        raise ValidationError("the catalog has several sites: name one", {"fields": ["siteId"]})
    return next(iter(catalog.sites.values()))


def _preferences(site: Site, day: date) -> list[tuple[str, list[tuple[Staff, list[int]]]]]:
    """Per service someone offers on `day`: per such staff member, the quarter-hour starts
    (UTC seconds) on `day` in their zone where the service fits inside their working time."""
    step = PREFERENCE_MINUTES * 60
    menu: list[tuple[str, list[tuple[Staff, list[int]]]]] = []
    for service in site.services.values():
        branches = branch_choice(service, None)
        by_staff: list[tuple[Staff, list[int]]] = []
        for member in staff_offering(site, service):
            periods = working_time(member, day, day).periods
            starts = [
                t
                for branch, spans in periods.items()
                if branches is None or branch in branches
                for lo, hi in spans
                for t in range(-(-lo // step) * step, hi - service.duration + 1, step)
                if local_date(t, member.zone) == day
            ]
            if starts:
                by_staff.append((member, sorted(set(starts))))
        if by_staff:
            menu.append((service.id, by_staff))
    return menu


# -- presenting reports ------------------------------------------------------------------


def report_table(reports: Mapping[str, Report]) -> str:
    """One plain-text table, a column per named report: requests, booked, refused by
    reason (most common first), mean utilization and spread."""
    names = list(reports)
    reasons = Counter[str]()
    for report in reports.values():
        reasons.update(report.refused)
    order = sorted(reasons, key=lambda r: (-reasons[r], r))
    rows: list[tuple[str, list[str]]] = [
        ("requests", [str(r.requests) for r in reports.values()]),
        ("booked", [str(r.booked) for r in reports.values()]),
        ("refused", [str(r.refused_total) for r in reports.values()]),
    ]
    rows += [(f"  {reason}", [str(r.refused.get(reason, 0)) for r in reports.values()])
             for reason in order]  # fmt: skip
    rows += [
        ("mean utilization", [f"{r.mean_utilization:.1%}" for r in reports.values()]),
        ("spread", [str(r.spread) for r in reports.values()]),
    ]
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(name), *(len(cells[i]) for _, cells in rows)) for i, name in enumerate(names)]
    lines = [" " * label_width + "".join(f"  {n:>{w}}" for n, w in zip(names, widths, strict=True))]
    for label, cells in rows:
        lines.append(
            f"{label:<{label_width}}"
            + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True))
        )
    return "\n".join(line.rstrip() for line in lines)
