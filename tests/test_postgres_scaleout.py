"""Scale-out on one PostgreSQL database, as two hosts would run it: two independent
`optimo-booking serve --store postgresql://...` processes on two ports.

* 32 clients race through both servers for the same slot, round after round: exactly one
  201 per slot, every other answer 409, and afterwards no two rows overlap (checked in SQL).
* PostgreSQL is stopped while clients write and started again: the app answers 503
  `storage_busy` with `Retry-After` during the outage, recovers without being restarted, and
  every booking it acknowledged is in the database.

`serve` uses the system clock, so the slots are on dates computed from today.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import POSTGRES_SKIP, POSTGRES_URL, StoreSpec, drop_postgres_schema, new_spec
from test_api_http import check_envelope, digest

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_URL is None, reason=POSTGRES_SKIP),
]

SITE = "race"
KEY = "scale-out-key-1"
CLIENTS = 32
ROUNDS = 200
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "pg_test_cluster.sh"
STAFF = ("solo", "duo")
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def race_catalog() -> dict[str, Any]:
    """One site in UTC: a capacity-1 service held 20 minutes (15 and a 5-minute buffer) on a
    20-minute grid, so neighbouring slots touch; two staff working every day."""
    return {
        "sites": [
            {
                "id": SITE,
                "timezone": "UTC",
                "apiKeys": [{"id": "race", "sha256": digest(KEY)}],
                "services": [
                    {
                        "id": "desk",
                        "durationMinutes": 15,
                        "slotStepMinutes": 20,
                        "bufferAfterMinutes": 5,
                    },
                ],
                "staff": [
                    {"id": s, "weeklyHours": {d: ["08:00-20:00"] for d in WEEK}} for s in STAFF
                ],
            }
        ]
    }


@dataclass
class Server:
    """A running `optimo-booking serve`: its port and process."""

    port: int
    process: subprocess.Popen[bytes]

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """One request; the answer's envelope is checked."""
        sent = {"X-Api-Key": KEY, **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            got = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        return response.status, got, check_envelope(response.status, got, raw)


def start_server(catalog: Path, store_url: str, log: Path) -> Server:
    """`optimo-booking serve --store URL --port 0`, once it prints its address."""
    command = [
        sys.executable, "-m", "optimo_booking.cli", "serve",
        "--catalog", str(catalog), "--store", store_url, "--port", "0",
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text("utf-8", errors="replace")
        found = re.search(r"API on http://127\.0\.0\.1:([0-9]+)", text)
        if found:
            assert "password" not in text
            return Server(int(found.group(1)), process)
        if process.poll() is not None:
            raise AssertionError(f"serve exited:\n{text}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"serve did not start:\n{log.read_text(errors='replace')}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def spec(tmp_path: Path) -> Iterator[StoreSpec]:
    made = new_spec("postgres", tmp_path)
    yield made
    drop_postgres_schema(made)


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(race_catalog()), "utf-8")
    return path


def first_day() -> datetime:
    """Midnight UTC a few days from now: every slot of the tests is in the future."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=3)


def slot(n: int) -> tuple[str, str, str]:
    """The `n`th (date, start, staff) of the race: 36 slots a day per staff member."""
    day = first_day() + timedelta(days=n // (36 * len(STAFF)))
    within = n % (36 * len(STAFF))
    start = day.replace(hour=8) + timedelta(minutes=20 * (within // len(STAFF)))
    return day.date().isoformat(), start.isoformat(), STAFF[within % len(STAFF)]


def sql(spec: StoreSpec, text: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(spec.location, autocommit=True) as conn:
        return conn.execute(text.replace("{s}", f'"{spec.schema}"')).fetchall()


OVERLAPS = (
    "SELECT count(*) FROM {s}.bookings a JOIN {s}.bookings b ON a.site_id = b.site_id "
    "AND a.staff_id = b.staff_id AND a.id < b.id AND a.held && b.held "
    "AND a.share_key <> b.share_key WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"
)


def test_two_servers_on_one_database_give_each_slot_exactly_one_winner(
    spec: StoreSpec, catalog: Path, tmp_path: Path
) -> None:
    url = f"{spec.location}?schema={spec.schema}"
    servers = [start_server(catalog, url, tmp_path / f"serve{i}.log") for i in range(2)]
    try:
        # The four endpoints, through each server.
        day, _, staff = slot(0)
        path = f"/v1/sites/{SITE}/booking"
        for server in servers:
            status, _, doc = server.request(
                "GET", f"{path}/slots?serviceId=desk&date={day}&staffId={staff}"
            )
            assert status == 200 and doc["data"][0]["available"]

        barrier = threading.Barrier(CLIENTS)
        answers: list[list[tuple[int, str, str]]] = [[] for _ in range(ROUNDS)]
        failures: list[BaseException] = []

        def client(n: int) -> None:
            try:
                for r in range(ROUNDS):
                    day, start, staff = slot(r)
                    barrier.wait(timeout=120)
                    status, _, doc = servers[n % 2].request(
                        "POST",
                        f"{path}/bookings",
                        {
                            "serviceId": "desk",
                            "date": day,
                            "startTime": start,
                            "staffId": staff,
                            "customer": {"name": f"client {n}"},
                        },
                    )
                    code = doc["data"]["id"] if status == 201 else doc["error"]["code"]
                    answers[r].append((status, code, f"server {n % 2}"))
            except BaseException as exc:  # reported in the test's thread
                failures.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        assert not failures, failures[:3]
        winners = []
        for r, got in enumerate(answers):
            statuses = Counter(status for status, _, _ in got)
            assert statuses == {201: 1, 409: CLIENTS - 1}, (r, got)
            assert {code for status, code, _ in got if status == 409} == {"slot_unavailable"}
            winners.extend(code for status, code, _ in got if status == 201)
        # Both servers won some rounds: the race really ran through both hosts.
        assert {where for got in answers for status, _, where in got if status == 201} == {
            "server 0",
            "server 1",
        }
        assert sql(spec, "SELECT count(*) FROM {s}.bookings") == [(ROUNDS,)]
        assert sorted(r[0] for r in sql(spec, "SELECT id FROM {s}.bookings")) == sorted(winners)
        assert sql(spec, OVERLAPS) == [(0,)]
        print(f"\n{ROUNDS} rounds x {CLIENTS} clients on 2 servers: {len(winners)} winners")

        # List on one server, change a status on the other, see it on the first.
        status, _, page = servers[0].request("GET", f"{path}/bookings?limit=5")
        assert status == 200 and page["pagination"]["total"] == ROUNDS
        first = page["data"][0]["id"]
        status, _, _ = servers[1].request(
            "PATCH", f"{path}/bookings/{first}/status", {"status": "cancelled"}
        )
        assert status == 200
        status, _, page = servers[0].request("GET", f"{path}/bookings?limit=5&status=cancelled")
        assert [b["id"] for b in page["data"]] == [first]
    finally:
        for server in servers:
            stop(server)


def test_the_app_survives_a_postgres_restart_and_loses_nothing_acknowledged(
    spec: StoreSpec, catalog: Path, tmp_path: Path
) -> None:
    cluster = os.environ.get("OPTIMO_TEST_POSTGRES_DIR")
    if not cluster:
        pytest.skip(
            "restarting PostgreSQL needs the throwaway cluster of scripts/pg_test_cluster.sh "
            "(OPTIMO_TEST_POSTGRES_DIR)"
        )
    url = f"{spec.location}?schema={spec.schema}&lock_timeout=1"
    server = start_server(catalog, url, tmp_path / "serve.log")
    path = f"/v1/sites/{SITE}/booking/bookings"
    acknowledged: set[str] = set()
    seen: Counter[tuple[int, str]] = Counter()
    retry_after: set[str] = set()
    stop_writing = threading.Event()
    lock = threading.Lock()
    counter = iter(range(10**6))

    def writer() -> None:
        while not stop_writing.is_set():
            with lock:
                n = next(counter)
            day, start, staff = slot(n)
            status, headers, doc = server.request(
                "POST",
                path,
                {
                    "serviceId": "desk",
                    "date": day,
                    "startTime": start,
                    "staffId": staff,
                    "customer": {"name": f"writer {n}"},
                },
            )
            with lock:
                if status == 201:
                    acknowledged.add(doc["data"]["id"])
                    seen[(status, "created")] += 1
                else:
                    seen[(status, doc["error"]["code"])] += 1
                    if status == 503:
                        retry_after.add(headers.get("retry-after", ""))

    def created() -> int:
        with lock:
            return seen[(201, "created")]

    writers = [threading.Thread(target=writer) for _ in range(4)]
    try:
        for t in writers:
            t.start()
        deadline = time.monotonic() + 60
        while created() < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run([str(SCRIPT), "pause", cluster], check=True)
        time.sleep(3)  # longer than the store's lock_timeout: requests must fail fast
        with lock:
            during = seen[(503, "storage_busy")]
        subprocess.run([str(SCRIPT), "resume", cluster], check=True)
        before = created()
        deadline = time.monotonic() + 60
        while created() < before + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_writing.set()
        for t in writers:
            t.join(timeout=120)
        stop(server)
    print(f"\nanswers around a PostgreSQL restart: {dict(seen)}")
    assert during > 0, seen
    assert retry_after == {"1"}, retry_after
    assert created() >= before + 20, f"no recovery after the restart: {seen}"
    # Only created or storage_busy: no 500, no traceback, no double booking.
    assert set(seen) <= {(201, "created"), (503, "storage_busy")}, seen
    stored = {r[0] for r in sql(spec, "SELECT id FROM {s}.bookings")}
    assert acknowledged <= stored, sorted(acknowledged - stored)[:5]
    assert sql(spec, OVERLAPS) == [(0,)]
