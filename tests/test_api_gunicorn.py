"""The production deployment of the README: gunicorn, 4 worker processes, one SQLite file.

32 clients race for one capacity-1 slot: exactly one wins, the others get 409. With one
Idempotency-Key shared by all 32, there is one booking and every answer carries its id.
`create_app` uses the system clock, so the slots are on dates computed from today.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
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

from test_api_http import check_envelope, digest

SITE = "race"
KEY = "gunicorn-race-key-1"
CLIENTS = 32
START_TIMEOUT = 60.0


def _gunicorn() -> list[str]:
    beside = Path(sys.executable).with_name("gunicorn")
    if beside.exists():
        return [str(beside)]
    if shutil.which("gunicorn"):
        return ["gunicorn"]
    return [sys.executable, "-m", "gunicorn"]


def race_catalog() -> dict[str, Any]:
    """One site in UTC: a capacity-1 service offered by one staff member every day."""
    return {
        "sites": [
            {
                "id": SITE,
                "timezone": "UTC",
                "apiKeys": [{"id": "race", "sha256": digest(KEY)}],
                "services": [{"id": "desk", "durationMinutes": 60, "capacity": 1}],
                "staff": [
                    {
                        "id": "solo",
                        "weeklyHours": {
                            d: ["09:00-17:00"]
                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                        },
                    }
                ],
            }
        ]
    }


@dataclass
class Server:
    """A running gunicorn: its port and process."""

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
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            got = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        return response.status, got, check_envelope(response.status, got, raw)


def _wait_for_port(log: Path, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log.read_text(errors='replace')}")
        found = re.search(r"Listening at: http://127\.0\.0\.1:([0-9]+)", log.read_text("utf-8"))
        if found:
            return int(found.group(1))
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text(errors='replace')}")


def _wait_until_answering(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/v1/openapi.json")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn never answered")


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn --workers 4 on 127.0.0.1 (a free port) with the race catalog and a fresh DB."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    catalog = tmp / "catalog.json"
    catalog.write_text(json.dumps(race_catalog()), "utf-8")
    log = tmp / "gunicorn.log"
    env = {
        **os.environ,
        "OPTIMO_CATALOG": str(catalog),
        "OPTIMO_DB": str(tmp / "bookings.sqlite3"),
    }
    command = [
        *_gunicorn(),
        "--workers",
        "4",
        "--bind",
        "127.0.0.1:0",  # gunicorn binds a free port and logs it
        "--timeout",
        "60",
        "--error-logfile",
        str(log),
        "optimo_booking.api:create_app()",
    ]
    log.touch()
    process = subprocess.Popen(
        command, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        port = _wait_for_port(log, process)
        _wait_until_answering(port, process)
        yield Server(port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _future_day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def _race(server: Server, body: dict[str, Any], headers: dict[str, str] | None = None) -> list[Any]:
    """CLIENTS threads POST at once (released by a barrier); returns their answers."""
    barrier = threading.Barrier(CLIENTS)
    answers: list[Any] = [None] * CLIENTS

    def client(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            answers[i] = server.request("POST", f"/v1/sites/{SITE}/booking/bookings", body, headers)
        except Exception as exc:  # reported below, with every other answer
            answers[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    errors = [a for a in answers if isinstance(a, Exception)]
    assert not errors, errors
    return answers


def _bookings_on(server: Server, day: str) -> list[dict[str, Any]]:
    status, _, doc = server.request("GET", f"/v1/sites/{SITE}/booking/bookings?date={day}")
    assert status == 200
    assert doc["pagination"]["total"] == len(doc["data"])
    return list(doc["data"])


def test_four_workers_serve_one_catalog(gunicorn_server: Server) -> None:
    day = _future_day(5)
    status, _, doc = gunicorn_server.request(
        "GET", f"/v1/sites/{SITE}/booking/slots?serviceId=desk&date={day}"
    )
    assert status == 200
    assert [s["startTime"][11:16] for s in doc["data"]] == [f"{h:02d}:00" for h in range(9, 17)]


def test_32_racing_posts_for_one_slot_give_one_booking(gunicorn_server: Server) -> None:
    day = _future_day(7)
    body = {"serviceId": "desk", "date": day, "startTime": "10:00", "customer": {"name": "Race"}}
    answers = _race(gunicorn_server, body)
    statuses = Counter(status for status, _, _ in answers)
    assert statuses == {201: 1, 409: CLIENTS - 1}, statuses
    for status, _, doc in answers:
        if status == 409:
            assert doc["error"]["code"] == "slot_unavailable"
            assert doc["error"]["details"]["reason"] == "booked"
    (winner,) = [doc["data"] for status, _, doc in answers if status == 201]
    assert [b["id"] for b in _bookings_on(gunicorn_server, day)] == [winner["id"]]
    status, _, doc = gunicorn_server.request(
        "GET", f"/v1/sites/{SITE}/booking/slots?serviceId=desk&date={day}"
    )
    reasons = {s["startTime"][11:16]: s["reason"] for s in doc["data"]}
    assert reasons["10:00"] == "booked"


def test_32_racing_posts_with_one_idempotency_key_give_one_booking(
    gunicorn_server: Server,
) -> None:
    day = _future_day(8)
    body = {"serviceId": "desk", "date": day, "startTime": "11:00", "customer": {"name": "Same"}}
    answers = _race(gunicorn_server, body, {"Idempotency-Key": f"race-{day}"})
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) <= {200, 201}, statuses
    assert statuses[201] == 1, statuses
    ids = {doc["data"]["id"] for _, _, doc in answers}
    assert len(ids) == 1
    for status, headers, _ in answers:
        if status == 200:
            assert headers["idempotent-replayed"] == "true"
        else:
            assert "idempotent-replayed" not in headers
    assert [b["id"] for b in _bookings_on(gunicorn_server, day)] == list(ids)
