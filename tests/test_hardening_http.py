"""The servers survive hostile and slow clients (HTTP side).

Under the production recipe (gunicorn, `gthread` workers):
- a `customer` depth sweep 1..2,000: every answer is 201 or 400, and the day's slots list
  after each accepted booking;
- a malformed chunked body and a body shorter than its `Content-Length` are 400s in the
  error envelope, with no traceback in gunicorn's log;
- four clients that send 5 of 100 promised body bytes do not delay an ordinary GET.

Under `optimo-booking serve`: a 32-client race with no connection reset, slow clients that
get their 408 when the read deadline passes, and an ordinary GET served meanwhile.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from optimo_booking import Engine, MemoryStore, load_catalog
from optimo_booking.api import BookingAPI
from optimo_booking.server import make_api_server
from test_api_gunicorn import (
    KEY,
    SITE,
    Server,
    _gunicorn,
    _wait_for_port,
    _wait_until_answering,
    race_catalog,
)
from test_api_http import check_envelope

# The production recipe of the docs: threads, so a slow client holds a thread, not a worker.
RECIPE = ["--worker-class", "gthread", "--workers", "2", "--threads", "8", "--timeout", "30"]
SLOTS = f"/v1/sites/{SITE}/booking/slots?serviceId=desk&date="
BOOKINGS = f"/v1/sites/{SITE}/booking/bookings"


def _future_day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def _customer_json(depth: int) -> str:
    """A customer object `depth` levels deep as JSON text, built without recursion."""
    if depth == 1:
        return '{"name":"Deep"}'
    inner = '"x"'
    for i in range(depth - 1):
        inner = f"[{inner}]" if i % 2 else f'{{"k":{inner}}}'
    return f'{{"name":"Deep","extra":{inner}}}'


def _raw_exchange(port: int, request: bytes, *, shut_write: bool = False) -> bytes:
    """Send raw bytes on one connection and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _parse_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _post_text(port: int, body: str) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            BOOKINGS,
            body=body.encode(),
            headers={"X-Api-Key": KEY, "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        raw = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    return response.status, check_envelope(response.status, headers, raw)


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"X-Api-Key": KEY})
        response = conn.getresponse()
        raw = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    return response.status, check_envelope(response.status, headers, raw)


@contextlib.contextmanager
def _slow_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that promise 100 body bytes and send 5."""
    head = (
        f"POST {BOOKINGS} HTTP/1.1\r\nHost: t\r\nX-Api-Key: {KEY}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"se'
    ).encode()
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(head)
            socks.append(sock)
        time.sleep(0.5)  # let the server take them up
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _gunicorn_log_is_clean(log: Path) -> None:
    text = log.read_text("utf-8", errors="replace")
    assert "Traceback" not in text, text
    assert "[ERROR]" not in text, text


# -- gunicorn, the production recipe -------------------------------------------------------


@pytest.fixture(scope="module")
def recipe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """gunicorn with the docs' production flags on the race catalog and a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("recipe")
    catalog = tmp / "catalog.json"
    catalog.write_text(json.dumps(race_catalog()), "utf-8")
    log = tmp / "gunicorn.log"
    log.touch()
    env = {**os.environ, "OPTIMO_CATALOG": str(catalog), "OPTIMO_DB": str(tmp / "b.sqlite3")}
    command = [*_gunicorn(), *RECIPE, "--bind", "127.0.0.1:0", "--error-logfile", str(log),
               "optimo_booking.api:create_app()"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        port = _wait_for_port(log, process)
        _wait_until_answering(port, process)
        yield Server(port, process), log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_customer_depth_sweep_over_http_answers_201_or_400(
    recipe_server: tuple[Server, Path],
) -> None:
    server, log = recipe_server
    day = _future_day(20)
    statuses: Counter[int] = Counter()
    for depth in range(1, 2001):
        hour = 9 + statuses[201]
        body = (
            f'{{"serviceId":"desk","date":"{day}","startTime":"{hour:02d}:00",'
            f'"customer":{_customer_json(depth)}}}'
        )
        status, doc = _post_text(server.port, body)
        statuses[status] += 1
        assert status in (201, 400), (depth, doc)
        if status == 400:
            assert depth > 8, (depth, doc)
            assert doc["error"]["code"] == "validation_error"
            continue
        assert depth <= 8
        slots_status, slots = _get(server.port, SLOTS + day)
        assert slots_status == 200
        reasons = {s["startTime"][11:16]: s["reason"] for s in slots["data"]}
        assert reasons[f"{hour:02d}:00"] == "booked"
    assert statuses == {201: 8, 400: 1992}
    _gunicorn_log_is_clean(log)


def test_malformed_chunked_body_is_a_400(recipe_server: tuple[Server, Path]) -> None:
    server, log = recipe_server
    raw = _raw_exchange(
        server.port,
        (
            f"POST {BOOKINGS} HTTP/1.1\r\nHost: t\r\nX-Api-Key: {KEY}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            "zz\r\n{}\r\n0\r\n\r\n"
        ).encode(),
    )
    status, headers, body = _parse_answer(raw)
    assert status == 400
    doc = check_envelope(status, headers, body)
    assert doc["error"]["code"] == "validation_error"
    assert doc["error"]["details"]["fields"] == ["body"]
    _gunicorn_log_is_clean(log)


def test_body_shorter_than_its_content_length_is_a_400(
    recipe_server: tuple[Server, Path],
) -> None:
    server, log = recipe_server
    raw = _raw_exchange(
        server.port,
        (
            f"POST {BOOKINGS} HTTP/1.1\r\nHost: t\r\nX-Api-Key: {KEY}\r\n"
            'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"se'
        ).encode(),
        shut_write=True,
    )
    status, headers, body = _parse_answer(raw)
    assert status == 400
    assert check_envelope(status, headers, body)["error"]["details"]["fields"] == ["body"]
    _gunicorn_log_is_clean(log)


def test_four_slow_body_clients_do_not_delay_a_get_under_the_recipe(
    recipe_server: tuple[Server, Path],
) -> None:
    server, _ = recipe_server
    day = _future_day(21)
    with _slow_clients(server.port, 4):
        began = time.monotonic()
        status, _ = _get(server.port, SLOTS + day)
        waited = time.monotonic() - began
    assert status == 200
    assert waited < 1.0, f"an ordinary GET waited {waited:.2f} s behind four slow clients"


# -- optimo-booking serve -------------------------------------------------------------------


@pytest.fixture(scope="module")
def serve_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`optimo-booking serve` on a free port with the race catalog."""
    tmp = tmp_path_factory.mktemp("serve")
    catalog = tmp / "catalog.json"
    catalog.write_text(json.dumps(race_catalog()), "utf-8")
    command = [sys.executable, "-m", "optimo_booking.cli", "serve", "--catalog", str(catalog),
               "--db", str(tmp / "b.sqlite3"), "--port", "0"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:([0-9]+)", first)
        assert found, first
        yield int(found.group(1))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_32_clients_racing_through_serve_see_no_reset_and_one_winner(serve_port: int) -> None:
    clients, rounds = 32, 10
    days = [_future_day(30 + r // 8) for r in range(rounds)]
    answers: list[list[Any]] = [[None] * clients for _ in range(rounds)]
    barrier = threading.Barrier(clients)

    def client(i: int) -> None:
        for r in range(rounds):
            body = json.dumps(
                {
                    "serviceId": "desk",
                    "date": days[r],
                    "startTime": f"{9 + r % 8:02d}:00",
                    "customer": {"name": f"c{i}"},
                }
            )
            barrier.wait(timeout=60)
            try:
                answers[r][i] = _post_text(serve_port, body)[0]
                _get(serve_port, SLOTS + days[r])
            except Exception as exc:  # reported below with every other answer
                answers[r][i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    errors = [a for row in answers for a in row if isinstance(a, Exception)]
    assert errors == [], errors[:5]
    for row in answers:
        assert Counter(row) == {201: 1, 409: clients - 1}


def test_serve_answers_slow_clients_408_at_the_deadline_and_others_meanwhile() -> None:
    catalog = load_catalog(race_catalog())
    server = make_api_server(BookingAPI(Engine(catalog, store=MemoryStore())), read_seconds=1.0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        port = server.server_port
        with _slow_clients(port, 4) as slow:
            began = time.monotonic()
            status, _ = _get(port, SLOTS + _future_day(3))
            assert status == 200
            assert time.monotonic() - began < 1.0
            for sock in slow:
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
                status, headers, body = _parse_answer(b"".join(chunks))
                assert status == 408
                assert check_envelope(status, headers, body)["error"]["code"] == ("request_timeout")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as silent:
            began = time.monotonic()
            assert silent.recv(1) == b""  # closed at the deadline, nothing to answer
            assert time.monotonic() - began < 5.0
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
