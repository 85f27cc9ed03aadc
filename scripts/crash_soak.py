#!/usr/bin/env python
"""Crash soak for a booking store: kill a writing process with SIGKILL, again and again.

Each cycle starts a child process that opens the booking file and books random slots of the
bundled demo catalog (some with idempotency keys, some then cancelled or confirmed), printing
each booking id only after `create_booking` has returned. The parent kills the child with
SIGKILL at a random moment, reopens the file and checks:

* `PRAGMA integrity_check` is `ok` and `PRAGMA foreign_key_check` finds nothing;
* every id the child printed is in the file (a returned booking is durable);
* no two bookings holding time overlap for one staff member beyond capacity;
* the store still opens and lists every row.

    python scripts/crash_soak.py --cycles 500            # a fresh file in a temp directory
    python scripts/crash_soak.py --cycles 50 --db x.sqlite3 --seed 7
    python scripts/crash_soak.py --cycles 50 --store 'postgresql://localhost/db?schema=soak'

On PostgreSQL the file checks are replaced by SQL: every printed id is a row, and a self-join
finds no two time-holding rows of one staff member whose held ranges overlap outside a
shared group session.

`tests/test_crash.py` runs a short soak through `soak()`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from optimo_booking import Booking, BookingError, Engine, SQLiteStore
from optimo_booking.cli import demo_catalog
from optimo_booking.stores import store_from_url

_ID = re.compile(r"bk_[0-9a-f]{20}")
# The child's fixed "now": every demo service can be booked for weeks after it.
NOW = "2026-03-02T08:00:00+01:00"


# -- the child -----------------------------------------------------------------------------------


def child(where: str, seed: int) -> None:
    """Book random slots forever, printing each id once `create_booking` has returned."""
    now = datetime.fromisoformat(NOW)
    engine = Engine(demo_catalog(), store=store_from_url(where), clock=lambda: now)
    site = next(iter(engine.catalog.sites.values()))
    services = sorted(site.services)
    rng = random.Random(seed)
    made: list[str] = []
    print("ready", flush=True)
    while True:
        service = rng.choice(services)
        day = now.date() + timedelta(days=rng.randint(1, 40))
        free = [s for s in engine.slots(site.id, service, day) if s.available]
        if not free:
            continue
        slot = rng.choice(free)
        key = f"soak-{seed}-{len(made)}" if rng.random() < 0.3 else None
        # The only writer books a slot just listed as available: any refusal is a bug, and
        # ends the child with an error the parent reports.
        b = engine.create_booking(
            site.id,
            service_id=service,
            date=day,
            start_time=slot.start if rng.random() < 0.5 else slot.start.strftime("%H:%M"),
            customer={"name": f"Soak {seed}", "email": "soak@example.org"},
            staff_id=slot.staff_id if rng.random() < 0.5 else None,
            idempotency_key=key,
        )
        print(b.id, flush=True)
        made.append(b.id)
        if made and rng.random() < 0.3:
            target = rng.choice(made)
            with contextlib.suppress(BookingError):  # e.g. confirming a cancelled booking
                engine.set_status(site.id, target, rng.choice(["cancelled", "confirmed"]))


# -- the parent ----------------------------------------------------------------------------------


@dataclass
class SoakReport:
    """What a soak did: cycles run, ids printed, kills that landed while bookings were made."""

    cycles: int = 0
    printed: int = 0
    rows: int = 0
    kills_mid_write: int = 0
    problems: list[str] = field(default_factory=list)


def crash_cycle(
    path: Path, rng: random.Random, *, max_wait: float = 0.6, store_url: str | None = None
) -> list[str]:
    """Run one child, SIGKILL it at a random moment, and return the ids it printed.

    The child writes to `store_url` when given, else to the SQLite file `path`; its output
    goes to files beside `path` either way.
    """
    out_path = path.with_name(path.name + ".out")
    err_path = path.with_name(path.name + ".err")
    where = store_url or str(path)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", where, "--seed", str(rng.randrange(2**31))],
            stdout=out,
            stderr=err,
        )
    try:
        if rng.random() < 0.85:  # most kills land while bookings are being written
            deadline = time.monotonic() + 30
            while "ready" not in out_path.read_text() and proc.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
        time.sleep(rng.uniform(0, max_wait))
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    lines = out_path.read_text().splitlines()
    errors = err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    if proc.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the child stopped by itself (exit {proc.returncode}):\n{errors}")
    return [line for line in lines if _ID.fullmatch(line)]


def check_file(path: Path, printed: set[str]) -> tuple[int, list[str]]:
    """Reopen the file after a crash; returns (rows, problems found)."""
    problems: list[str] = []
    conn = sqlite3.connect(path)
    try:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"integrity_check: {integrity}")
        dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
        if dangling:
            problems.append(f"foreign_key_check: {dangling[:5]}")
        # A child killed before its first migration committed leaves no tables: fine, as
        # long as it returned nothing (the store then migrates the file when it opens it).
        migrated = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bookings'"
        ).fetchone()
        stored = {r[0] for r in conn.execute("SELECT id FROM bookings")} if migrated else set()
    finally:
        conn.close()
    lost = printed - stored
    if lost:
        problems.append(f"{len(lost)} returned bookings are missing: {sorted(lost)[:5]}")
    problems += _overlaps(path, stored)
    return len(stored), problems


def check_postgres(url: str, printed: set[str]) -> tuple[int, list[str]]:
    """Reconnect after a crash; returns (rows, problems found), checked in SQL and through
    a freshly opened store."""
    import psycopg  # noqa: PLC0415 - only PostgreSQL soaks need it

    store = store_from_url(url)  # migrates the schema if no child ever got that far
    schema = f'"{getattr(store, "schema", "optimo_booking")}"'
    store.close()
    base = url.split("?", 1)[0]
    with psycopg.connect(base) as conn:
        stored = {r[0] for r in conn.execute(f"SELECT id FROM {schema}.bookings")}
        overlapping = conn.execute(
            f"SELECT a.id, b.id FROM {schema}.bookings a JOIN {schema}.bookings b "
            "ON a.site_id = b.site_id AND a.staff_id = b.staff_id AND a.id < b.id "
            "AND a.held && b.held AND a.share_key <> b.share_key "
            "WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"
        ).fetchall()
        dangling = conn.execute(
            f"SELECT k.key FROM {schema}.idempotency_keys k LEFT JOIN {schema}.bookings b "
            "ON b.id = k.booking_id WHERE b.id IS NULL"
        ).fetchall()
    problems = [f"overlap in SQL: {a} and {b}" for a, b in overlapping]
    if dangling:
        problems.append(f"idempotency keys without a booking: {dangling[:5]}")
    lost = printed - stored
    if lost:
        problems.append(f"{len(lost)} returned bookings are missing: {sorted(lost)[:5]}")
    problems += _overlaps(url, stored)
    return len(stored), problems


def _overlaps(path: Path | str, stored: set[str]) -> list[str]:
    """Held-span overlaps per staff member, through a freshly opened store."""
    store = SQLiteStore(path) if isinstance(path, Path) else store_from_url(path)
    try:
        engine = Engine(demo_catalog(), store=store)
        site = next(iter(engine.catalog.sites.values()))
        rows = []
        cursor = None
        while True:
            page = engine.list_bookings(site.id, limit=100, cursor=cursor)
            rows.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        store.close()
    problems = []
    if {b.id for b in rows} != stored:
        problems.append("the list does not show exactly the stored rows")
    held = sorted(
        (b for b in rows if b.status.holds_time),
        key=lambda b: (b.staff_id, b.start_ts),
    )
    services = site.services

    def span(b: Booking) -> tuple[int, int]:
        s = services[b.service_id]
        return b.start_ts - s.buffer_before, b.end_ts + s.buffer_after

    seats: dict[tuple[str, str, int], int] = {}
    for b in held:
        k = (b.staff_id, b.service_id, b.start_ts)
        seats[k] = seats.get(k, 0) + 1
        if seats[k] > services[b.service_id].capacity:
            problems.append(f"session over capacity: {k}")
    for i, a in enumerate(held):
        hi_a = span(a)[1]
        for b in held[i + 1 :]:
            if b.staff_id != a.staff_id:
                break
            lo_b, _ = span(b)
            if lo_b >= hi_a:
                continue
            group = (
                a.service_id == b.service_id
                and a.start_ts == b.start_ts
                and services[a.service_id].capacity > 1
            )
            if not group:
                problems.append(f"overlap: {a.id} and {b.id} ({a.staff_id})")
    return problems


def soak(
    path: Path, cycles: int, seed: int, *, max_wait: float = 0.6, store_url: str | None = None
) -> SoakReport:
    """Run `cycles` crash cycles on `path` (or on `store_url`, with scratch files beside
    `path`); stop at the first cycle that finds a problem."""
    rng = random.Random(seed)
    report = SoakReport()
    printed: set[str] = set()
    for _ in range(cycles):
        ids = crash_cycle(path, rng, max_wait=max_wait, store_url=store_url)
        printed.update(ids)
        report.cycles += 1
        report.kills_mid_write += bool(ids)
        if store_url is not None:
            report.rows, problems = check_postgres(store_url, printed)
        else:
            report.rows, problems = check_file(path, printed)
        if problems:
            report.problems = [f"cycle {report.cycles} (seed {seed}): {p}" for p in problems]
            break
    report.printed = len(printed)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200, help="kill cycles (default 200)")
    parser.add_argument("--db", type=Path, help="the SQLite file (default: a fresh temp file)")
    parser.add_argument("--store", help="a postgresql:// URL to soak instead of an SQLite file")
    parser.add_argument("--seed", type=int, help="random seed (default: random)")
    parser.add_argument("--max-wait", type=float, default=0.6, help="longest life of a child")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.seed)
        return 0
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    # The store warns about old SQLite versions each time it opens a file; once is enough.
    print(f"SQLite {sqlite3.sqlite_version}")
    logging.getLogger("optimo_booking.sqlite").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="optimo-soak-") as tmp:
        path = args.db or Path(tmp) / "soak.sqlite3"
        started = time.monotonic()
        report = soak(path, args.cycles, seed, max_wait=args.max_wait, store_url=args.store)
        took = time.monotonic() - started
    print(
        f"seed {seed}: {report.cycles} cycles in {took:.1f} s, {report.printed} bookings "
        f"returned, {report.rows} rows, {report.kills_mid_write} kills while writing"
    )
    for problem in report.problems:
        print("PROBLEM:", problem)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
