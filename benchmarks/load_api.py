"""HTTP load on the real deployment: gunicorn workers on one SQLite file, against the engine.

For each worker count, starts `gunicorn --workers N 'optimo_booking.api:create_app()'` on
127.0.0.1 (a free port), drives it with stdlib client threads, and measures requests per
second and p50/p99 latency for POST bookings (each a distinct free slot) and GET slots.
Then calls the same operations on an `Engine` over an `SQLiteStore` directly, in one thread,
and prints how much of the engine's throughput survives HTTP.

Loopback only; every phase is bounded in count (`--requests`) and time (`--max-seconds`).

    python benchmarks/load_api.py                      # 2 and 4 workers, 8 clients
    python benchmarks/load_api.py --workers 4 --clients 16 --requests 1000
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from optimo_booking import Engine, SQLiteStore, load_catalog

HOST = "127.0.0.1"  # loopback only, by design
SITE = "load"
KEY = "load-test-key"
SERVICE = "cut"
STAFF = [f"s{i}" for i in range(8)]
FIRST_HOUR, LAST_HOUR = 8, 20  # working hours, every day
STEP_MINUTES = 30
START_TIMEOUT = 60.0


def catalog() -> dict[str, Any]:
    """One site in Berlin: a 30-minute capacity-1 service, 8 staff working 08:00-20:00 daily."""
    week = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    hours = [f"{FIRST_HOUR:02d}:00-{LAST_HOUR:02d}:00"]
    return {
        "sites": [
            {
                "id": SITE,
                "timezone": "Europe/Berlin",
                "apiKeys": [{"id": "load", "sha256": hashlib.sha256(KEY.encode()).hexdigest()}],
                "services": [{"id": SERVICE, "durationMinutes": STEP_MINUTES}],
                "staff": [{"id": s, "weeklyHours": {d: hours for d in week}} for s in STAFF],
            }
        ]
    }


def slot_starts() -> list[str]:
    """Every grid start of a working day, `HH:MM`."""
    minutes = range(FIRST_HOUR * 60, LAST_HOUR * 60, STEP_MINUTES)
    return [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]


def booking_requests(first_day: date) -> Iterator[dict[str, Any]]:
    """Create bodies for distinct free slots: day by day, time by time, staff by staff."""
    for offset in itertools.count():
        day = (first_day + timedelta(days=offset)).isoformat()
        for start in slot_starts():
            for staff in STAFF:
                yield {
                    "serviceId": SERVICE,
                    "date": day,
                    "startTime": start,
                    "staffId": staff,
                    "customer": {"name": "Load Test", "email": "load@example.org"},
                }


@dataclass
class Result:
    """One measured phase."""

    label: str
    operation: str
    latencies: list[float]  # seconds
    elapsed: float  # wall-clock seconds
    failures: int

    @property
    def throughput(self) -> float:
        """Completed operations per second of wall-clock time."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def row(self) -> str:
        """A line of the results table."""
        return (
            f"{self.label:<18} {self.operation:<13} {len(self.latencies):>6} {self.failures:>5} "
            f"{self.throughput:>9.1f} {self.percentile(50):>8.2f} {self.percentile(99):>8.2f}"
        )


HEADER = (
    f"{'setup':<18} {'operation':<13} {'n':>6} {'fail':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
)


def run_clients(
    call: Callable[[int], bool], *, count: int, clients: int, max_seconds: float
) -> tuple[list[float], float, int]:
    """`count` calls spread over `clients` threads, stopping at the deadline."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    failures = [0]
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(counter)
            if i >= count:
                return
            began = time.perf_counter()
            ok = call(i)
            took = time.perf_counter() - began
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max_seconds + 30)
    return latencies, time.perf_counter() - began, failures[0]


def http_call(port: int, method: str, path: str, body: Any = None, expect: int = 200) -> bool:
    """One request on a fresh connection (gunicorn's sync workers close after each answer)."""
    headers = {"X-Api-Key": KEY}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == expect
    except OSError:
        return False
    finally:
        conn.close()


def gunicorn_command() -> list[str]:
    """gunicorn beside this Python, else on PATH, else as a module."""
    beside = Path(sys.executable).with_name("gunicorn")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("gunicorn")
    return [found] if found else [sys.executable, "-m", "gunicorn"]


@contextmanager
def gunicorn(
    workers: int, catalog_path: Path, db_path: Path, log: Path, store_url: str | None = None
) -> Iterator[int]:
    """A running gunicorn with `workers` processes; yields its port; always terminated.

    Bookings go to the SQLite file `db_path`, or to `store_url` when given.
    """
    env = {**os.environ, "OPTIMO_CATALOG": str(catalog_path), "OPTIMO_DB": str(db_path)}
    if store_url is not None:
        env["OPTIMO_STORE"] = store_url
    log.write_text("")
    command = [*gunicorn_command(), "--workers", str(workers), "--bind", f"{HOST}:0"]
    command += ["--backlog", "256", "--error-logfile", str(log), "optimo_booking.api:create_app()"]
    process = subprocess.Popen(
        command,
        cwd=db_path.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = _wait_for_port(process, log)
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"gunicorn did not answer:\n{log.read_text()}")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_for_port(process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()}")
        found = re.search(r"Listening at: http://127\.0\.0\.1:([0-9]+)", log.read_text())
        if found:
            return int(found.group(1))
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        conn.request("GET", "/v1/openapi.json")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def measure_http(
    args: argparse.Namespace, workers: int, tmp: Path, first_day: date
) -> list[Result]:
    """POST bookings, then GET slots of the booked days, against gunicorn with `workers`."""
    catalog_path = tmp / "catalog.json"
    catalog_path.write_text(json.dumps(catalog()))
    db_path = tmp / f"http-{workers}.sqlite3"
    label = f"gunicorn w={workers}"
    bodies = list(itertools.islice(booking_requests(first_day), args.requests))
    days = sorted({b["date"] for b in bodies})
    base = f"/v1/sites/{SITE}/booking"
    results = []
    with gunicorn(workers, catalog_path, db_path, tmp / f"gunicorn-{workers}.log") as port:
        http_call(port, "GET", f"{base}/slots?serviceId={SERVICE}&date={days[0]}")  # warm up
        lat, took, fail = run_clients(
            lambda i: http_call(port, "POST", f"{base}/bookings", bodies[i], expect=201),
            count=len(bodies),
            clients=args.clients,
            max_seconds=args.max_seconds,
        )
        results.append(Result(label, "POST bookings", lat, took, fail))
        lat, took, fail = run_clients(
            lambda i: http_call(
                port, "GET", f"{base}/slots?serviceId={SERVICE}&date={days[i % len(days)]}"
            ),
            count=args.requests,
            clients=args.clients,
            max_seconds=args.max_seconds,
        )
        results.append(Result(label, "GET slots", lat, took, fail))
    return results


def measure_engine(args: argparse.Namespace, tmp: Path, first_day: date) -> list[Result]:
    """The same operations on an Engine over an SQLiteStore, called directly in one thread."""
    store = SQLiteStore(tmp / "direct.sqlite3")
    engine = Engine(load_catalog(catalog()), store=store)
    bodies = list(itertools.islice(booking_requests(first_day), args.requests))
    days = sorted({b["date"] for b in bodies})

    def book(i: int) -> bool:
        b = bodies[i]
        engine.create_booking(
            SITE,
            service_id=b["serviceId"],
            date=b["date"],
            start_time=b["startTime"],
            staff_id=b["staffId"],
            customer=b["customer"],
        )
        return True

    def slots(i: int) -> bool:
        engine.slots(SITE, SERVICE, days[i % len(days)])
        return True

    try:
        engine.slots(SITE, SERVICE, days[0])  # warm up
        results = []
        for operation, call in (("POST bookings", book), ("GET slots", slots)):
            lat, took, fail = run_clients(
                call, count=args.requests, clients=1, max_seconds=args.max_seconds
            )
            results.append(Result("engine direct", operation, lat, took, fail))
        return results
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print the table and the HTTP/engine ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="2,4", help="gunicorn worker counts (default 2,4)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--requests", type=int, default=400, help="requests per operation and setup (default 400)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=30.0, help="time cap per phase (default 30)"
    )
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    if not workers or min(workers) < 1 or args.clients < 1 or args.requests < 1:
        parser.error("workers, clients and requests must be positive")
    if args.requests > 100_000 or args.clients > 256 or args.max_seconds > 600:
        parser.error("bounded on purpose: at most 100000 requests, 256 clients, 600 s a phase")
    first_day = datetime.now(UTC).date() + timedelta(days=2)
    print(
        f"optimo-booking HTTP load: {args.requests} requests per phase, {args.clients} clients, "
        f"cap {args.max_seconds:.0f} s per phase, {os.cpu_count()} CPUs, on {HOST}"
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="optimo-load-") as tmp_name:
        tmp = Path(tmp_name)
        for w in workers:
            results += measure_http(args, w, tmp, first_day)
        results += measure_engine(args, tmp, first_day)
    print(HEADER)
    for r in results:
        print(r.row())
    direct = {r.operation: r for r in results if r.label == "engine direct"}
    print("\nHTTP throughput as a share of direct engine calls (one thread):")
    for r in results:
        if r.label == "engine direct":
            continue
        base = direct[r.operation]
        ratio = r.throughput / base.throughput if base.throughput else float("nan")
        print(
            f"  {r.label:<16} {r.operation:<13} {ratio:6.2f}x "
            f"(p50 {r.percentile(50):.2f} ms vs {base.percentile(50):.2f} ms)"
        )
    failed = sum(r.failures for r in results)
    if failed:
        print(f"\n{failed} requests failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
