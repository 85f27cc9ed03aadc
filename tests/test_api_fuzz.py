"""Seeded random requests straight into the WSGI app: junk paths, queries, bodies, headers.

Whatever arrives, the answer is never a 5xx, always a valid envelope whose error code matches
its status (DESIGN.md's table), and the bookings that were accepted never overlap.
"""

from __future__ import annotations

import json
import random
import string
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from optimo_booking import MemoryStore, SQLiteStore
from optimo_booking.api import BookingAPI
from test_api_http import (
    DAY,
    KEY,
    OTHER_KEY,
    check_envelope,
    make_app,
    wsgi_call,
    wsgi_environ,
)

SEED = 20260302

_SITES = ["s1", "s1", "s1", "s2", "quiet", "nope", "", "S1", "s1 ", "%73%31", "\u00e9", "s1/x"]
_IDS = ["bk_0", "", "x" * 300, "../s1", "%00", "\u00ff\u00fe", "bk_" + "0" * 20]
_DATES = [
    DAY, DAY, "2026-03-10", "2026-03-02", "2026-02-23", "2026-04-06", "2026-03-29",
    "2026-10-25", "2026-02-30", "2026-W11-1", "20260309", "", "NaN", "9" * 50,
    "\uff12\uff10\uff12\uff16-03-09", "2026-3-9", "0000-00-00", "1970-01-01", "2100-03-01",
]  # fmt: skip
# Dates at the ends of the calendar must answer 400, never 500 (see test_api_http.py
# and `test_random_requests_with_dates_at_the_ends_of_the_calendar` below).
_PLAUSIBLE_DATES = [DAY, "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"]
EXTREME_DATES = ["0001-01-01", "0001-01-15", "9999-12-15", "9999-12-31"]
_TIMES = [
    "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "09:15", "12:00", "24:00",
    "02:30", "9:00", "", "0900", f"{DAY}T09:00:00+01:00", f"{DAY}T08:00:00Z",
    f"{DAY}T09:00:00", "\uff10\uff19:\uff10\uff10", "99:99",
]  # fmt: skip
_NAMES = ["serviceId", "date", "startTime", "staffId", "branchId", "customer", "notes",
          "status", "limit", "cursor", "colour", "", "\u00e9", "__proto__"]  # fmt: skip
_STATUSES = ["pending", "confirmed", "cancelled", "completed", "no_show", "done", "", "CANCELLED"]
_CONTENT_TYPES = [
    "application/json", "application/json", "application/json", "application/json; charset=utf-8",
    None, "text/plain", "application/jsonx", "", "multipart/form-data; boundary=x",
    "APPLICATION/JSON", "application/json;;;",
]  # fmt: skip


def _junk_text(rng: random.Random, size: int = 12) -> str:
    alphabet = string.printable + "\u00e9\u00ff\u2028\ufeff\U0001f600\x00"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, size)))


def _junk_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(10 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**64, 10**300, rng.randint(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, 5e-324, rng.random()])
    if kind in (4, 5):
        return rng.choice([_junk_text(rng), rng.choice(_DATES), rng.choice(_TIMES), "ann", "cut"])
    if kind in (6, 7):
        return [_junk_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_NAMES): _junk_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _good_booking_body(rng: random.Random) -> dict[str, Any]:
    """A body that is often bookable: many land on free slots, the rest collide."""
    service, staff = rng.choice(
        [("cut", "ann"), ("cut", "ben"), ("consult", "ann"), ("class", "cat")]
    )
    body: dict[str, Any] = {
        "serviceId": service,
        "date": rng.choice(_PLAUSIBLE_DATES),
        "startTime": rng.choice(["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]),
        "customer": {"name": rng.choice(["Ada", "Grace", "\u00c9mile", "\u674e"])},
    }
    if rng.random() < 0.5:
        body["staffId"] = staff
    return body


def _booking_body(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.5:
        return _good_booking_body(rng)
    body: dict[str, Any] = {
        "serviceId": rng.choice(["cut", "cut", "consult", "class", "nope", ""]),
        "date": rng.choice(_DATES),
        "startTime": rng.choice(_TIMES),
        "customer": rng.choice(
            [
                {"name": "Ada"},
                {"name": "Ada", "email": "ada@example.org"},
                {"name": " "},
                {"name": "A", "email": "bad"},
                {"name": "A", "x": "y" * rng.choice([10, 5000])},
                "Ada",
                {},
            ]
        ),
    }
    if rng.random() < 0.5:
        body["staffId"] = rng.choice(["ann", "ben", "cat", "zed", "nobody", ""])
    if rng.random() < 0.2:
        body["branchId"] = rng.choice(["mitte", "kreuzberg", "moon", ""])
    if rng.random() < 0.2:
        body["notes"] = rng.choice([None, "note", "n" * 2001, 5])
    return body


def _mutated(rng: random.Random, body: dict[str, Any]) -> dict[str, Any]:
    for _ in range(rng.choice([0, 0, 1, 2])):
        action = rng.randrange(3)
        if action == 0 and body:
            body.pop(rng.choice(list(body)))
        elif action == 1:
            body[rng.choice(_NAMES)] = _junk_value(rng)
        elif body:
            body[rng.choice(list(body))] = _junk_value(rng)
    return body


def _raw_body(rng: random.Random, method: str) -> bytes:
    kind = rng.randrange(20)
    if kind < 12:
        body = _booking_body(rng) if method == "POST" else {"status": rng.choice(_STATUSES)}
        return json.dumps(_mutated(rng, body)).encode()
    if kind < 15:
        return json.dumps(_junk_value(rng)).encode()
    if kind == 15:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    if kind == 16:
        return rng.choice(
            [b"[" * 5000, b"{" * 3000, b'{"a": NaN}', b'{"a": 1e999}', b"\xef\xbb\xbf{}"]
        )
    if kind == 17:
        text = json.dumps(_booking_body(rng))
        return text.replace('"Ada"', rng.choice(['"\\ud800"', "1" * 5000, "Infinity"])).encode()
    if kind == 18:
        return json.dumps(_booking_body(rng))[: rng.randint(0, 60)].encode()
    return b'{"status": "cancelled", "status": "confirmed"}'


def _route(rng: random.Random, booking_ids: list[str], chaos: bool) -> tuple[str, str]:
    """A path and a method; without chaos, site `s1` and the method the route takes."""
    site = rng.choice(_SITES) if chaos else "s1"
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "get", "BREW", ""]
    kind = rng.randrange(12 if chaos else 10)
    if kind < 3:
        path, usual = f"/v1/sites/{site}/booking/slots", ["GET"]
    elif kind < 7:
        path, usual = f"/v1/sites/{site}/booking/bookings", ["GET", "POST", "POST"]
    elif kind < 10:
        ident = rng.choice(booking_ids) if booking_ids and rng.random() < 0.7 else rng.choice(_IDS)
        path, usual = f"/v1/sites/{site}/booking/bookings/{ident}/status", ["PATCH"]
    elif kind == 10:
        path = rng.choice(["/", "", "/v1", "/v1/openapi.json", "/v1/sites", "//", "/v1/sites/s1"])
        usual = ["GET"]
    else:
        path = "/" + "/".join(_junk_text(rng, 6) for _ in range(rng.randint(1, 6)))
        usual = ["GET"]
    method = rng.choice(methods) if chaos and rng.random() < 0.3 else rng.choice(usual)
    return method, path


def _query(rng: random.Random, chaos: bool, method: str, path: str) -> str:
    if not chaos:
        if path.endswith("/slots"):
            pairs = [
                ("serviceId", rng.choice(["cut", "consult", "class"])),
                ("date", rng.choice(_PLAUSIBLE_DATES)),
            ]
            if rng.random() < 0.3:
                pairs.append(("staffId", rng.choice(["ann", "ben", "cat"])))
        elif path.endswith("/bookings") and method == "GET":
            pairs = [("limit", rng.choice(["1", "5", "100"]))]
            if rng.random() < 0.3:
                pairs.append(("status", rng.choice(_STATUSES[:5])))
        else:
            pairs = []
        return urlencode(pairs)
    kind = rng.randrange(8)
    if kind == 0:
        return ""
    if kind == 1:
        return rng.choice(["%ff", "a=%zz", "&&&", "=", "a&a", "limit=%EF%BC%91", "date=%00"])
    pairs = []
    if rng.random() < 0.8:
        pairs.append(("serviceId", rng.choice(["cut", "cut", "consult", "nope", ""])))
    if rng.random() < 0.8:
        pairs.append(("date", rng.choice(_DATES)))
    for _ in range(rng.choice([0, 0, 1, 2])):
        name = rng.choice(_NAMES)
        value = rng.choice(
            ["", "1", "25", "100", "101", "0", "-1", "x", "ann", "mitte", "cancelled",
             "9" * 400, _junk_text(rng)]
        )  # fmt: skip
        pairs.append((name, value))
    rng.shuffle(pairs)
    return urlencode(pairs)


def random_environ(rng: random.Random, booking_ids: list[str]) -> dict[str, Any]:
    """One random request as a WSGI environ: half plausible, half chaos."""
    chaos = rng.random() < 0.5
    method, path = _route(rng, booking_ids, chaos)
    headers: dict[str, str] = {}
    key = KEY
    if chaos:
        key = rng.choice([KEY, KEY, KEY, OTHER_KEY, None, "", "nope", _junk_text(rng)])
    if key is not None:
        headers["X-Api-Key"] = key
    body = b""
    if method.upper() in ("POST", "PATCH", "PUT") or (chaos and rng.random() < 0.1):
        body = _raw_body(rng, method.upper())
        content_type = rng.choice(_CONTENT_TYPES) if chaos else "application/json"
        if content_type is not None:
            headers["Content-Type"] = content_type
    if rng.random() < 0.3:
        pool = ["k1", "k2", "k3", "", " ", "x" * 300, _junk_text(rng)] if chaos else ["k1", "k2"]
        headers["Idempotency-Key"] = rng.choice(pool)
    if rng.random() < 0.2:
        headers["X-Request-Id"] = rng.choice(["req-1", "", "a" * 200, _junk_text(rng)])
    query = _query(rng, chaos, method.upper(), path)
    environ = wsgi_environ(method, path, query=query, body=body, headers=headers)
    if chaos and rng.random() < 0.15:
        environ["CONTENT_LENGTH"] = rng.choice(
            ["", "abc", "-1", "1e3", " 5", "99999999", "\uff11", str(len(body) + 10), "0", "3"]
        )
    # a server hands PATH_INFO as latin-1 decoded bytes
    environ["PATH_INFO"] = path.encode("utf-8", "surrogatepass").decode("latin-1")
    return environ


def _check_answer(
    environ: dict[str, Any], status: int, headers: dict[str, str], body: bytes
) -> str:
    where = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']!r}?{environ['QUERY_STRING']!r}"
    assert status < 500, (where, body[:300])
    if environ["PATH_INFO"] == "/v1/openapi.json" and environ["REQUEST_METHOD"].upper() == "GET":
        assert status == 200
        assert json.loads(body)["openapi"].startswith("3.1")
        return "openapi"
    doc = check_envelope(status, headers, body)
    if status < 400:
        method = environ["REQUEST_METHOD"].upper()
        assert (method, status) in {("GET", 200), ("POST", 201), ("POST", 200), ("PATCH", 200)}
        return str(status)
    return str(doc["error"]["code"])


def _no_overlaps(app: BookingAPI) -> None:
    """Accepted bookings holding time: cut/consult never overlap; a class holds 2 seats."""
    engine = app.engine
    rows = []
    cursor = None
    while True:
        page = engine.list_bookings("s1", limit=100, cursor=cursor)
        rows.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    held = [b for b in rows if b.status.holds_time]
    seats = Counter((b.staff_id, b.start_ts) for b in held if b.service_id == "class")
    assert all(n <= 2 for n in seats.values()), seats
    for a in held:
        for b in held:
            if a.id >= b.id or a.staff_id != b.staff_id:
                continue
            same_session = a.service_id == b.service_id == "class" and a.start_ts == b.start_ts
            overlap = a.start_ts < b.end_ts and b.start_ts < a.end_ts
            assert same_session or not overlap, (a, b)


def _fuzz(app: BookingAPI, count: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    booking_ids: list[str] = []
    for _ in range(count):
        environ = random_environ(rng, booking_ids)
        status, headers, body = wsgi_call(app, environ)
        outcome = _check_answer(environ, status, headers, body)
        seen[outcome] += 1
        if status == 201:
            booking_ids.append(json.loads(body)["data"]["id"])
    _no_overlaps(app)
    return seen


def test_3000_random_requests_on_the_memory_store() -> None:
    seen = _fuzz(make_app(store=MemoryStore()), 3000, SEED)
    # the fuzzer reaches deep enough to be worth its time
    for outcome in ("200", "201", "validation_error", "unauthorized", "forbidden", "not_found",
                    "method_not_allowed", "slot_unavailable", "unsupported_media_type",
                    "invalid_transition", "idempotency_key_reused"):  # fmt: skip
        assert seen[outcome] > 0, (outcome, seen)
    assert sum(seen.values()) == 3000


@pytest.mark.parametrize("seed", [SEED + 1])
def test_600_random_requests_on_the_sqlite_store(tmp_path: Path, seed: int) -> None:
    store = SQLiteStore(tmp_path / "fuzz.sqlite3", synchronous="NORMAL")
    try:
        seen = _fuzz(make_app(store=store), 600, seed)
    finally:
        store.close()
    assert seen["201"] > 0
    assert seen["validation_error"] > 0


def test_random_requests_with_dates_at_the_ends_of_the_calendar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "_DATES", _DATES + EXTREME_DATES * 4)
    monkeypatch.setattr(module, "_PLAUSIBLE_DATES", _PLAUSIBLE_DATES + EXTREME_DATES)
    _fuzz(make_app(store=MemoryStore()), 1000, SEED + 2)
