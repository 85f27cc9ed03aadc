"""The `optimo-booking` command: `slots`, `serve`, `catalog check`, `store copy`,
`keys new`, `busy import` of another calendar's busy time from an ICS file, and `simulate`
(the rules lab)."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn, cast

from .catalog import Catalog, Site, load_catalog
from .demo import demo_catalog
from .engine import Engine, catalog_held_span
from .errors import BookingError, CatalogError, ValidationError
from .ics import busy_from_ics
from .localtime import TZDATA_VERSION, as_date, to_instant
from .server import THREADS, serve
from .simulate import (
    DEFAULT_FIRST_DATE,
    demand_from_csv,
    report_table,
    simulate,
    synthetic_demand,
)
from .stores import redacted, store_from_url
from .stores.copy import Portable, copy_store
from .stores.sqlite import SQLITE_VERSION
from .values import Slot
from .wire import slot_json

_CELLS_PER_LINE = 6
BUSY_DAYS = 90  # how far ahead `busy import` reads by default
MAX_BUSY_DAYS = 731


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one clear line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _package_version() -> str:
    try:
        return version("optimo-booking")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "unknown"


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 1024:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number 1..1024")
    return int(text)


def _days(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_BUSY_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number 1..{MAX_BUSY_DAYS}")
    return int(text)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of requests a day (0..1e6)")
    return value


def _simulated_days(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 3660:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days 1..3660")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command line, with one subcommand per job."""
    parser = _Parser(prog="optimo-booking", description="Availability and booking engine.")
    parser.add_argument(
        "--version",
        action="version",
        version=(
            f"optimo-booking {_package_version()} "
            f"(tzdata {TZDATA_VERSION}, SQLite {SQLITE_VERSION})"
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    slots = commands.add_parser("slots", help="list a service's slots on a date")
    slots.add_argument("--catalog", type=Path, help="catalog .json or .toml (default: demo)")
    slots.add_argument("--site", help="site id (default: the catalog's only site)")
    slots.add_argument("--service", required=True, help="service id")
    slots.add_argument("--date", required=True, help="local date YYYY-MM-DD")
    slots.add_argument("--staff", help="only this staff member")
    slots.add_argument("--branch", help="only this branch")
    slots.add_argument("--now", help="pretend it is this ISO 8601 instant (with offset)")
    slots.add_argument("--json", action="store_true", help="print the API's JSON slot shape")

    serve = commands.add_parser("serve", help="serve the HTTP API (threaded stdlib server)")
    serve.add_argument("--catalog", type=Path, help="catalog .json or .toml (default: demo)")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--db", help="SQLite file (default: bookings.sqlite3)")
    where.add_argument(
        "--store",
        help="store URL: a path or sqlite:///path for SQLite, postgresql://... for PostgreSQL "
        "(default: $OPTIMO_STORE, else bookings.sqlite3)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8080, help="port, 0 for any (default: %(default)s)"
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        default=THREADS,
        help="worker threads; more connections wait in a queue (default: %(default)s)",
    )

    catalog = commands.add_parser("catalog", help="catalog files")
    catalog_commands = catalog.add_subparsers(
        dest="catalog_command", required=True, parser_class=_Parser
    )
    check = catalog_commands.add_parser(
        "check", help="list every problem of a catalog file, or summarize what it holds"
    )
    check.add_argument("file", type=Path, help="catalog .json or .toml")
    store = commands.add_parser("store", help="booking stores")
    store_commands = store.add_subparsers(dest="store_command", required=True, parser_class=_Parser)
    copy = store_commands.add_parser(
        "copy",
        help="copy every booking, idempotency key and the cursor key into an empty store",
    )
    copy.add_argument("source", help="store URL or SQLite path to copy from")
    copy.add_argument("target", help="store URL or SQLite path to copy into (must be empty)")
    copy.add_argument(
        "--catalog",
        type=Path,
        help="the catalog the bookings were made with (needed for a PostgreSQL target: "
        "its buffers and capacities give each booking's held span)",
    )
    simulate = commands.add_parser(
        "simulate",
        help="replay one demand on catalogs and compare the outcomes",
        description="Replay one demand on each catalog and print a table, a column per "
        "catalog: requests, booked, refused by reason, mean utilization, spread.",
    )
    simulate.add_argument("--catalog", type=Path, help="catalog .json or .toml (default: demo)")
    simulate.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        metavar="CATALOG",
        help="another catalog to replay the same demand on (repeatable)",
    )
    demand = simulate.add_mutually_exclusive_group(required=True)
    demand.add_argument(
        "--demand", type=Path, metavar="FILE.csv", help="requests: at,site,service,date,start,staff"
    )
    demand.add_argument(
        "--synthetic",
        type=_rate,
        metavar="PER_DAY",
        help="random requests, a Poisson number a day with this mean",
    )
    simulate.add_argument(
        "--days", type=_simulated_days, help="synthetic: how many dates (default: 7)"
    )
    simulate.add_argument("--seed", type=int, help="synthetic: the random seed (default: 0)")
    simulate.add_argument(
        "--first-date",
        help=f"synthetic: the first date (default: {DEFAULT_FIRST_DATE.isoformat()})",
    )
    simulate.add_argument("--site", help="synthetic: site id (default: the catalog's only site)")
    simulate.add_argument("--json", action="store_true", help="print JSON for tools")
    simulate.add_argument("--quiet", action="store_true", help="no progress on stderr")

    busy = commands.add_parser("busy", help="busy time from other calendars")
    busy_commands = busy.add_subparsers(dest="busy_command", required=True, parser_class=_Parser)
    busy_import = busy_commands.add_parser(
        "import",
        help="store an ICS file's busy time for a staff member, replacing that source's",
        description="Read FILE.ics (- for stdin), expand its events from now to --days ahead, "
        "and store them as the busy time of one source, replacing what that source held. "
        "All-day and floating times are read in X-WR-TIMEZONE, else the staff member's zone.",
    )
    busy_import.add_argument("file", metavar="FILE.ics", help="an iCalendar file, or - for stdin")
    busy_import.add_argument("--catalog", type=Path, help="catalog .json or .toml (default: demo)")
    busy_import.add_argument("--site", help="site id (default: the catalog's only site)")
    busy_import.add_argument("--staff", required=True, help="the staff member the time blocks")
    busy_import.add_argument(
        "--source", required=True, help="a name for this calendar, e.g. google or dentist"
    )
    busy_import.add_argument(
        "--store",
        help="the store the server uses: a path or sqlite:///path for SQLite, "
        "postgresql://... for PostgreSQL (default: $OPTIMO_STORE, else bookings.sqlite3)",
    )
    busy_import.add_argument(
        "--days",
        type=_days,
        default=BUSY_DAYS,
        help="how many days ahead to read (default: %(default)s)",
    )
    busy_import.add_argument("--now", help="pretend it is this ISO 8601 instant (with offset)")

    keys = commands.add_parser("keys", help="API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    new_key = key_commands.add_parser("new", help="print a fresh key and its catalog entry")
    new_key.add_argument("--site", required=True, help="the site the key is for")
    new_key.add_argument("--id", default="key", help="the key's id in the catalog")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad arguments or input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "slots":
            return _slots(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "keys":
            return _new_key(args)
        if args.command == "catalog":
            return _check_catalog(args.file)
        if args.command == "store":
            return _copy_store(args)
        if args.command == "busy":
            return _busy_import(args)
        if args.command == "simulate":
            return _simulate(args)
    except BookingError as exc:
        print(f"optimo-booking: error: {exc.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _stdout_closed()
    except (ValueError, ImportError) as exc:  # a bad store URL, or a missing extra
        print(f"optimo-booking: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse guards


def _stdout_closed() -> int:
    """Leave quietly when the reader of stdout went away (`... | head`), as the shell expects.

    Pointing stdout at /dev/null keeps the interpreter's final flush from raising again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13  # SIGPIPE


def _engine(args: argparse.Namespace) -> tuple[Engine, Site]:
    catalog = load_catalog(args.catalog) if args.catalog else demo_catalog()
    clock = None
    if args.now:
        now = _parse_now(args.now)

        def clock() -> datetime:
            return now

    if args.site is None:
        if len(catalog.sites) != 1:
            raise _usage("--site is required: the catalog has several sites")
        site = next(iter(catalog.sites.values()))
    else:
        site = catalog.site(args.site)
    return Engine(catalog, clock=clock), site


def _parse_now(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
        to_instant(moment)
    except ValueError:
        raise _usage(f"--now {text!r} is not an ISO 8601 instant with offset") from None
    return moment


def _usage(message: str) -> BookingError:
    return ValidationError(message)


def _slots(args: argparse.Namespace) -> int:
    engine, site = _engine(args)
    found = engine.slots(
        site.id, args.service, args.date, staff_id=args.staff, branch_id=args.branch
    )
    if args.json:
        print(json.dumps([slot_json(s) for s in found], indent=2))
        return 0
    print(_timeline(site, args.service, args.date, found))
    return 0


def _serve(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog) if args.catalog else demo_catalog()
    where = args.store or args.db or os.environ.get("OPTIMO_STORE") or "bookings.sqlite3"
    serve(
        catalog,
        db=where,
        host=args.host,
        port=args.port,
        demo=args.catalog is None,
        threads=args.threads,
    )
    return 0


def _check_catalog(path: Path) -> int:
    """Every problem with its path and exit status 1, or a one-line summary and 0."""
    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        noun = "problem" if len(exc.problems) == 1 else "problems"
        print(f"{path}: {len(exc.problems)} {noun}", file=sys.stderr)
        for where, message in exc.problems:
            print(f"  {where}: {message}" if where else f"  {message}", file=sys.stderr)
        return 1
    sites = list(catalog.sites.values())

    def count(total: int, one: str, many: str) -> str:
        return f"{total} {one if total == 1 else many}"

    holds = ", ".join(
        [
            count(len(sites), "site", "sites") + f" ({', '.join(s.id for s in sites)})",
            count(sum(len(s.branches) for s in sites), "branch", "branches"),
            count(sum(len(s.services) for s in sites), "service", "services"),
            f"{sum(len(s.staff) for s in sites)} staff",
            count(sum(len(s.api_keys) for s in sites), "API key", "API keys"),
        ]
    )
    print(f"{path}: ok: {holds}; tzdata {TZDATA_VERSION}")
    return 0


def _copy_store(args: argparse.Namespace) -> int:
    target_is_postgres = args.target.split(":", 1)[0].lower() in ("postgresql", "postgres")
    if target_is_postgres and args.catalog is None:
        raise _usage(
            "--catalog is needed to copy into PostgreSQL: each booking's held span "
            "(buffers) and group-session seats come from the catalog"
        )
    hold = catalog_held_span(load_catalog(args.catalog)) if args.catalog else None
    source = store_from_url(args.source)
    try:
        target = store_from_url(args.target)
        try:
            tally = copy_store(cast(Portable, source), cast(Portable, target), hold)
        finally:
            target.close()
    finally:
        source.close()
    print(
        f"copied {tally.bookings} bookings and {tally.idempotency_keys} idempotency keys "
        f"from {redacted(args.source)} to {redacted(args.target)}; "
        f"verified, sha256 {tally.checksum}"
    )
    return 0


def _busy_import(args: argparse.Namespace) -> int:
    """Expand the file over [now, now + days), then store it as one source's busy time."""
    data = _read_input(args.file)
    checked, site = _engine(args)  # the catalog, site and staff are checked before the store opens
    member = site.staff_member(args.staff)
    first = checked.now()
    last = first + timedelta(days=args.days)
    spans = busy_from_ics(data, first, last, zone=member.zone)  # no `ics` extra: ImportError
    # The file is read and checked above; only now is the store opened and written.
    store = store_from_url(args.store or os.environ.get("OPTIMO_STORE") or "bookings.sqlite3")
    try:
        engine = Engine(checked.catalog, store=store, clock=checked.clock)
        stored = engine.set_busy(site.id, member.id, args.source, spans)
    finally:
        store.close()
    tz = member.zone
    print(
        f"{member.name} [{member.id}] {tz.key}: {len(stored)} busy spans stored from source "
        f"{args.source!r} ({len(spans)} read from {args.file}, "
        f"{first.astimezone(tz):%Y-%m-%d %H:%M} to {last.astimezone(tz):%Y-%m-%d %H:%M})"
    )
    for start, end in stored:
        print(f"  {start.isoformat()}  {end.isoformat()}")
    return 0


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise _usage(f"cannot read {name}: {exc.strerror or exc}") from None


def _new_key(args: argparse.Namespace) -> int:
    key = secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    print(f"API key for site {args.site!r} (shown once; store it now): {key}")
    print("Add this to the site's apiKeys in the catalog:")
    print(json.dumps({"id": args.id, "sha256": digest}))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    catalogs: dict[str, Catalog] = {}
    for path in [args.catalog, *args.compare]:
        name = "demo" if path is None else str(path)
        while name in catalogs:
            name += "'"
        catalogs[name] = demo_catalog() if path is None else load_catalog(path)
    first = next(iter(catalogs.values()))
    described: dict[str, Any]
    if args.demand is not None:
        extra = [f"--{n.replace('_', '-')}" for n in ("days", "seed", "first_date", "site")
                 if getattr(args, n) is not None]  # fmt: skip
        if extra:
            raise _usage(f"{', '.join(extra)}: only with --synthetic")
        requests = demand_from_csv(args.demand)
        described = {"source": str(args.demand)}
    else:
        days = 7 if args.days is None else args.days
        seed = 0 if args.seed is None else args.seed
        first_date = (
            as_date(args.first_date, "--first-date") if args.first_date else DEFAULT_FIRST_DATE
        )
        requests = synthetic_demand(
            first, per_day=args.synthetic, days=days, seed=seed, first_date=first_date,
            site_id=args.site,
        )  # fmt: skip
        described = {
            "source": "synthetic",
            "perDay": args.synthetic,
            "days": days,
            "seed": seed,
            "firstDate": first_date.isoformat(),
        }
    described["requests"] = len(requests)
    reports = {
        name: simulate(catalog, requests, progress=_progress(name, args.quiet))
        for name, catalog in catalogs.items()
    }
    if args.json:
        body = {
            "demand": described,
            "reports": [{"catalog": n, **r.as_json()} for n, r in reports.items()],
        }
        print(json.dumps(body, indent=2))
        return 0
    print(f"demand: {_describe_demand(described)}")
    print()
    print(report_table(reports))
    return 0


def _describe_demand(described: Mapping[str, Any]) -> str:
    count = f"{described['requests']} requests"
    if described["source"] != "synthetic":
        return f"{described['source']}, {count}"
    return (
        f"synthetic, {described['perDay']:g} a day for {described['days']} days from "
        f"{described['firstDate']}, seed {described['seed']}: {count}"
    )


_PROGRESS_FROM = 5_000  # requests; shorter runs finish before a progress line helps


def _progress(name: str, quiet: bool) -> Callable[[int, int], None] | None:
    """A progress line on stderr for long runs, when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < _PROGRESS_FROM:
            return
        end = "\n" if done == total else ""
        print(f"\r{name}: {done}/{total} requests", end=end, file=sys.stderr, flush=True)

    return show


def _timeline(site: Site, service_id: str, day: str, found: list[Slot]) -> str:
    """A per-staff block of times, each marked free or with the reason it is not."""
    service = site.services[service_id]
    lines = [f"{service.name} ({service.duration_minutes} min) at {site.name} on {day}"]
    if not found:
        lines.append("  no slots: nobody offers this service on that date")
        return "\n".join(lines)
    by_staff: dict[str, list[Slot]] = {}
    for slot in found:
        by_staff.setdefault(slot.staff_id, []).append(slot)
    for staff_id, slots in by_staff.items():
        member = site.staff[staff_id]
        free = sum(s.available for s in slots)
        zone = member.zone.key
        lines.append("")
        lines.append(f"{member.name} [{staff_id}] {zone}: {free} of {len(slots)} free")
        cells = [_cell(s) for s in slots]
        for i in range(0, len(cells), _CELLS_PER_LINE):
            lines.append("  " + "".join(cells[i : i + _CELLS_PER_LINE]).rstrip())
    return "\n".join(lines)


def _cell(slot: Slot) -> str:
    state = "free" if slot.available else str(slot.reason)
    return f"{slot.start:%H:%M} {state:<10}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
