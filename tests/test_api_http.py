"""The HTTP contract over a real socket: success shapes, every error code, the check order.

Each test starts `optimo_booking.server.make_api_server` on 127.0.0.1 with a free port in a
thread and talks to it with `http.client`. Every answer is checked against the envelope
rules of DESIGN.md by `check_envelope` (also used by the fuzz and contract tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import logging
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest

from optimo_booking import Engine, MemoryStore, SQLiteStore, load_catalog
from optimo_booking.api import BookingAPI
from optimo_booking.server import make_api_server

# -- the catalog, keys and clock these tests share (imported by the other API test files) --

SITE = "s1"
OTHER_SITE = "s2"
KEYLESS_SITE = "quiet"  # a site with no API keys: unreachable over HTTP
KEY = "s1-test-key-5f1c0b"
OTHER_KEY = "s2-test-key-9d27aa"
BERLIN = ZoneInfo("Europe/Berlin")
# Monday 2 March 2026, 09:00 in Berlin (08:00 UTC). The clock is deliberately not in UTC:
# `meta.timestamp`, `createdAt` and `updatedAt` must still come out in UTC with `Z`.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
NOW_TEXT = "2026-03-02T08:00:00Z"
DAY = "2026-03-09"  # the Monday after: ann 09:00-12:00, ben 10:00-12:00, cat 10:00-12:00
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

ERROR_STATUS = {
    "validation_error": 400,
    "invalid_cursor": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "slot_unavailable": 409,
    "invalid_transition": 409,
    "too_late": 409,
    "hold_expired": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "idempotency_key_reused": 422,
    "request_timeout": 408,
    "internal_error": 500,
    "storage_busy": 503,
}
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", re.ASCII)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
BOOKING_FIELDS = {
    "id",
    "status",
    "date",
    "startTime",
    "endTime",
    "serviceId",
    "staffId",
    "branchId",
    "customer",
    "notes",
    "createdAt",
    "updatedAt",
}


def digest(key: str) -> str:
    """The SHA-256 hex digest a catalog holds for an API key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_catalog_dict() -> dict[str, Any]:
    """Three sites: `s1` (the one under test), `s2` (another tenant), `quiet` (no keys)."""
    return {
        "sites": [
            {
                "id": SITE,
                "name": "HTTP tests",
                "timezone": "Europe/Berlin",
                "apiKeys": [{"id": "main", "sha256": digest(KEY)}],
                "branches": [{"id": "mitte"}, {"id": "kreuzberg"}],
                "services": [
                    {"id": "cut", "durationMinutes": 30, "minNoticeMinutes": 120,
                     "maxAdvanceDays": 30, "staffIds": ["ann", "ben"]},
                    {"id": "consult", "durationMinutes": 60, "requiresConfirmation": True,
                     "staffIds": ["ann"]},
                    {"id": "class", "durationMinutes": 60, "capacity": 2, "staffIds": ["cat"]},
                ],
                "staff": [
                    {"id": "ann", "branchId": "mitte",
                     "weeklyHours": {d: ["09:00-12:00"] for d in _WEEKDAYS}},
                    {"id": "ben", "branchId": "kreuzberg",
                     "weeklyHours": {d: ["10:00-12:00"] for d in _WEEKDAYS},
                     "timeOff": [{"start": "2026-03-10T10:00:00+01:00",
                                  "end": "2026-03-10T11:00:00+01:00"}]},
                    {"id": "cat", "branchId": "mitte", "weeklyHours": {"mon": ["10:00-12:00"]}},
                ],
            },
            {
                "id": OTHER_SITE,
                "timezone": "Europe/Berlin",
                "apiKeys": [{"id": "main", "sha256": digest(OTHER_KEY)}],
                "services": [{"id": "cut", "durationMinutes": 30}],
                "staff": [{"id": "zed", "weeklyHours": {d: ["09:00-17:00"] for d in _WEEKDAYS}}],
            },
            {
                "id": KEYLESS_SITE,
                "timezone": "UTC",
                "services": [{"id": "cut", "durationMinutes": 30}],
                "staff": [{"id": "quinn", "weeklyHours": {"mon": ["09:00-17:00"]}}],
            },
        ]
    }  # fmt: skip


class MovableClock:
    """The engine's clock: a fixed aware instant that a test can move."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move forward by `timedelta(**delta)` of elapsed time."""
        self.now = (self.now.astimezone(UTC) + timedelta(**delta)).astimezone(self.now.tzinfo)


def make_app(
    store: Any = None, clock: Callable[[], datetime] | None = None, **options: Any
) -> BookingAPI:
    """The API over the test catalog, a store (memory by default) and a fixed clock."""
    engine = Engine(
        load_catalog(api_catalog_dict()),
        store=store if store is not None else MemoryStore(),
        clock=clock or MovableClock(),
    )
    return BookingAPI(engine, **options)


def check_envelope(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Every answer: JSON object envelope, `meta` equal to `X-Request-Id`, code matching status.

    `headers` has lower-case names. Returns the parsed body. A 204 (a released hold) has no
    body, only the request id.
    """
    if status == 204:
        assert body == b"" and headers["x-request-id"], headers
        return {}
    assert headers.get("content-type") == "application/json; charset=utf-8", headers
    assert headers.get("content-length") == str(len(body))
    doc = json.loads(body)
    assert isinstance(doc, dict)
    meta = doc["meta"]
    assert set(meta) == {"requestId", "timestamp"}
    assert meta["requestId"] == headers["x-request-id"]
    assert meta["requestId"]
    assert _TIMESTAMP.fullmatch(meta["timestamp"]), meta
    if status < 400:
        assert status in (200, 201)
        assert set(doc) in ({"data", "meta"}, {"data", "meta", "pagination"})
        if "pagination" in doc:
            assert set(doc["pagination"]) == {"total", "limit", "nextCursor"}
    else:
        assert set(doc) == {"error", "meta"}, doc
        error = doc["error"]
        assert set(error) == {"code", "message", "details"}
        assert ERROR_STATUS[error["code"]] == status, (status, error)
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["details"], dict)
        assert "Traceback" not in body.decode("utf-8", "replace")
        if status == 405:
            assert headers.get("allow")
        if status == 503:
            assert headers.get("retry-after", "").isdigit()
    return doc


# -- a client over a real socket --------------------------------------------------------------


@dataclass
class Reply:
    """One HTTP answer: status, headers (lower-case names), raw body and parsed JSON."""

    status: int
    headers: dict[str, str]
    body: bytes
    json: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> Any:
        """The `data` member of a success envelope."""
        return self.json["data"]

    @property
    def code(self) -> str:
        """The error code of an error envelope."""
        return str(self.json["error"]["code"])

    @property
    def details(self) -> dict[str, Any]:
        """The error details of an error envelope."""
        return dict(self.json["error"]["details"])


_UNSET: Any = object()


class Client:
    """Requests to one server; every answer is checked by `check_envelope`."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = _UNSET,
        raw: bytes | None = None,
        key: str | None = KEY,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "application/json",
    ) -> Reply:
        """Send one request. `body` is sent as JSON, `raw` as given; `key=None` sends no key."""
        sent: dict[str, str] = {}
        if key is not None:
            sent["X-Api-Key"] = key
        payload: bytes | None = None
        if body is not _UNSET:
            payload = json.dumps(body).encode("utf-8")
        elif raw is not None:
            payload = raw
        if payload is not None and content_type is not None:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            data = response.read()
            got = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        doc = check_envelope(response.status, got, data)
        return Reply(response.status, got, data, doc)

    def slots(self, query: Mapping[str, str], site: str = SITE, **kw: Any) -> Reply:
        """GET the slots endpoint."""
        return self.request("GET", f"/v1/sites/{site}/booking/slots?{urlencode(query)}", **kw)

    def bookings(
        self, query: Mapping[str, str] | None = None, site: str = SITE, **kw: Any
    ) -> Reply:
        """GET the bookings list."""
        suffix = f"?{urlencode(query)}" if query else ""
        return self.request("GET", f"/v1/sites/{site}/booking/bookings{suffix}", **kw)

    def create(self, body: Any = _UNSET, site: str = SITE, **kw: Any) -> Reply:
        """POST a booking."""
        return self.request("POST", f"/v1/sites/{site}/booking/bookings", body=body, **kw)

    def set_status(self, booking_id: str, status: Any, site: str = SITE, **kw: Any) -> Reply:
        """PATCH a booking's status."""
        path = f"/v1/sites/{site}/booking/bookings/{quote(booking_id, safe='')}/status"
        return self.request("PATCH", path, body={"status": status}, **kw)


@contextlib.contextmanager
def serving(app: BookingAPI) -> Iterator[Client]:
    """Serve `app` on 127.0.0.1 with a free port in a thread, for the duration of the block."""
    server = make_api_server(app, "127.0.0.1", 0)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield Client(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def booking_body(**changes: Any) -> dict[str, Any]:
    """A valid create body for ann's 09:00 cut on DAY, with changes (None removes a field)."""
    body: dict[str, Any] = {
        "serviceId": "cut",
        "date": DAY,
        "startTime": "09:00",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.org"},
        "staffId": "ann",
    }
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


@pytest.fixture
def clock() -> MovableClock:
    """The engine clock at NOW."""
    return MovableClock()


@pytest.fixture
def client(clock: MovableClock) -> Iterator[Client]:
    """A server over a memory store and the movable clock."""
    with serving(make_app(clock=clock)) as c:
        yield c


@pytest.fixture(params=["memory", "sqlite"])
def any_client(
    request: pytest.FixtureRequest, clock: MovableClock, tmp_path: Path
) -> Iterator[Client]:
    """A server over each store in turn."""
    store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "b.sqlite3")
    with serving(make_app(store=store, clock=clock)) as c:
        yield c
    store.close()


# -- success shapes ---------------------------------------------------------------------------


def test_slots_answer_shape_field_by_field(client: Client) -> None:
    reply = client.slots({"serviceId": "cut", "date": DAY, "staffId": "ann"})
    assert reply.status == 200
    assert set(reply.json) == {"data", "meta"}
    assert reply.json["meta"] == {"requestId": reply.headers["x-request-id"], "timestamp": NOW_TEXT}
    assert _UUID.fullmatch(reply.headers["x-request-id"])
    starts = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    ends = ["09:30", "10:00", "10:30", "11:00", "11:30", "12:00"]
    assert reply.data == [
        {
            "startTime": f"{DAY}T{s}:00+01:00",
            "endTime": f"{DAY}T{e}:00+01:00",
            "available": True,
            "staffId": "ann",
            "reason": None,
        }
        for s, e in zip(starts, ends, strict=True)
    ]


def test_slots_are_ordered_by_start_then_staff(client: Client) -> None:
    data = client.slots({"serviceId": "cut", "date": DAY}).data
    keys = [(s["startTime"], s["staffId"]) for s in data]
    assert keys == sorted(keys)
    assert keys[2:4] == [(f"{DAY}T10:00:00+01:00", "ann"), (f"{DAY}T10:00:00+01:00", "ben")]


def test_slots_carry_their_reason(client: Client) -> None:
    def reasons(day: str) -> dict[str, Any]:
        data = client.slots({"serviceId": "cut", "date": day, "staffId": "ann"}).data
        for s in data:
            assert s["available"] is (s["reason"] is None)
        return {s["startTime"][11:16]: s["reason"] for s in data}

    assert set(reasons("2026-02-23").values()) == {"past"}
    assert reasons("2026-03-02") == {
        "09:00": "too_soon",
        "09:30": "too_soon",
        "10:00": "too_soon",
        "10:30": "too_soon",
        "11:00": None,
        "11:30": None,
    }
    assert set(reasons("2026-04-06").values()) == {"too_far"}
    assert client.create(booking_body(startTime="10:00")).status == 201
    assert reasons(DAY)["10:00"] == "booked"
    ben = client.slots({"serviceId": "cut", "date": "2026-03-10", "staffId": "ben"}).data
    assert [(x["startTime"][11:16], x["reason"]) for x in ben] == [
        ("10:00", "time_off"),
        ("10:30", "time_off"),
        ("11:00", None),
        ("11:30", None),
    ]


def test_slots_branch_filter_and_staff_not_offering(client: Client) -> None:
    data = client.slots({"serviceId": "cut", "date": DAY, "branchId": "kreuzberg"}).data
    assert {s["staffId"] for s in data} == {"ben"}
    # cat exists but does not offer the cut: no slots, not an error
    reply = client.slots({"serviceId": "cut", "date": DAY, "staffId": "cat"})
    assert (reply.status, reply.data) == (200, [])


def test_create_answers_201_with_the_booking_field_by_field(any_client: Client) -> None:
    body = booking_body(notes="window seat")
    reply = any_client.create(body)
    assert reply.status == 201
    assert "idempotent-replayed" not in reply.headers
    assert set(reply.json) == {"data", "meta"}
    assert reply.json["meta"] == {"requestId": reply.headers["x-request-id"], "timestamp": NOW_TEXT}
    data = reply.data
    assert set(data) == BOOKING_FIELDS
    assert isinstance(data["id"], str)
    assert data["id"]
    assert data == {
        "id": data["id"],
        "status": "confirmed",
        "date": DAY,
        "startTime": f"{DAY}T09:00:00+01:00",
        "endTime": f"{DAY}T09:30:00+01:00",
        "serviceId": "cut",
        "staffId": "ann",
        "branchId": "mitte",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.org"},
        "notes": "window seat",
        "createdAt": NOW_TEXT,
        "updatedAt": NOW_TEXT,
    }
    listed = any_client.bookings()
    assert listed.data == [data]


def test_create_without_staff_picks_one_and_without_notes_is_null(client: Client) -> None:
    reply = client.create(booking_body(staffId=None, startTime="10:30"))
    assert reply.status == 201
    assert reply.data["staffId"] == "ann"  # both free, no bookings: service staffIds order
    assert reply.data["notes"] is None
    again = client.create(booking_body(staffId=None, startTime="10:30"))
    assert (again.status, again.data["staffId"], again.data["branchId"]) == (
        201,
        "ben",
        "kreuzberg",
    )


def test_create_accepts_the_iso_start_with_offset(client: Client) -> None:
    reply = client.create(booking_body(startTime=f"{DAY}T08:00:00Z"))
    assert reply.status == 201
    assert reply.data["startTime"] == f"{DAY}T09:00:00+01:00"


def test_status_change_answers_the_booking_and_moves_updated_at(
    any_client: Client, clock: MovableClock
) -> None:
    created = any_client.create(booking_body(serviceId="consult", startTime="10:00"))
    assert (created.status, created.data["status"]) == (201, "pending")
    clock.advance(minutes=5)
    reply = any_client.set_status(created.data["id"], "confirmed")
    assert reply.status == 200
    assert set(reply.json) == {"data", "meta"}
    assert reply.json["meta"]["timestamp"] == "2026-03-02T08:05:00Z"
    expected = {**created.data, "status": "confirmed", "updatedAt": "2026-03-02T08:05:00Z"}
    assert reply.data == expected
    clock.advance(minutes=5)
    same = any_client.set_status(created.data["id"], "confirmed")  # a no-op success
    assert (same.status, same.data) == (200, expected)


def test_list_pages_with_a_cursor_and_null_on_the_last_page(any_client: Client) -> None:
    ids = []
    for start in ("10:00", "09:00", "09:30"):
        reply = any_client.create(booking_body(startTime=start))
        assert reply.status == 201
        ids.append((reply.data["startTime"], reply.data["id"]))
    expected = [i for _, i in sorted(ids)]
    first = any_client.bookings({"limit": "2"})
    assert first.status == 200
    assert set(first.json) == {"data", "meta", "pagination"}
    assert [b["id"] for b in first.data] == expected[:2]
    assert all(set(b) == BOOKING_FIELDS for b in first.data)
    cursor = first.json["pagination"]["nextCursor"]
    assert isinstance(cursor, str)
    assert cursor
    assert first.json["pagination"] == {"total": 3, "limit": 2, "nextCursor": cursor}
    last = any_client.bookings({"limit": "2", "cursor": cursor})
    assert [b["id"] for b in last.data] == expected[2:]
    assert last.json["pagination"] == {"total": 3, "limit": 2, "nextCursor": None}
    # default limit, and an empty cursor means none
    whole = any_client.bookings({"cursor": ""})
    assert whole.json["pagination"] == {"total": 3, "limit": 25, "nextCursor": None}
    assert [b["id"] for b in whole.data] == expected


def test_list_cursor_is_stable_while_rows_are_inserted(client: Client) -> None:
    made = {
        t: client.create(booking_body(startTime=t)).data["id"] for t in ("09:00", "10:00", "11:00")
    }
    first = client.bookings({"limit": "2"})
    assert [b["id"] for b in first.data] == [made["09:00"], made["10:00"]]
    cursor = first.json["pagination"]["nextCursor"]
    made["09:30"] = client.create(booking_body(startTime="09:30")).data["id"]  # before the cursor
    made["11:30"] = client.create(booking_body(startTime="11:30")).data["id"]  # after it
    rest = client.bookings({"limit": "2", "cursor": cursor})
    assert [b["id"] for b in rest.data] == [made["11:00"], made["11:30"]]
    assert rest.json["pagination"] == {"total": 5, "limit": 2, "nextCursor": None}


def test_a_cursor_survives_a_restart_on_the_same_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    store = SQLiteStore(path)
    with serving(make_app(store=store)) as client:
        for start in ("09:00", "09:30", "10:00"):
            client.create(booking_body(startTime=start))
        first = client.bookings({"limit": "2"})
    store.close()
    again = SQLiteStore(path)
    with serving(make_app(store=again)) as client:
        rest = client.bookings({"limit": "2", "cursor": first.json["pagination"]["nextCursor"]})
    again.close()
    assert rest.status == 200
    assert [b["startTime"][11:16] for b in rest.data] == ["10:00"]


def test_list_filters_by_status_and_date(client: Client) -> None:
    a = client.create(booking_body(startTime="09:00")).data
    b = client.create(booking_body(date="2026-03-10", startTime="09:00")).data
    client.set_status(a["id"], "cancelled")
    by_status = client.bookings({"status": "confirmed"})
    assert [x["id"] for x in by_status.data] == [b["id"]]
    assert by_status.json["pagination"]["total"] == 1
    by_date = client.bookings({"date": DAY})
    assert [(x["id"], x["status"]) for x in by_date.data] == [(a["id"], "cancelled")]
    assert client.bookings({"date": "2026-03-11"}).json["pagination"]["total"] == 0


def test_idempotent_replay_answers_200_and_creates_nothing(any_client: Client) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = any_client.create(booking_body(), headers=headers)
    assert first.status == 201
    assert "idempotent-replayed" not in first.headers
    replay = any_client.create(booking_body(), headers=headers)
    assert replay.status == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.data == first.data
    # the normalized request is compared: "09:00" and its ISO form are the same request
    iso = any_client.create(booking_body(startTime=f"{DAY}T09:00:00+01:00"), headers=headers)
    assert (iso.status, iso.data["id"]) == (200, first.data["id"])
    assert any_client.bookings().json["pagination"]["total"] == 1
    other = any_client.create(booking_body(startTime="10:00"), headers=headers)
    assert other.status == 422
    assert other.code == "idempotency_key_reused"
    assert any_client.bookings().json["pagination"]["total"] == 1


def test_idempotent_replay_returns_the_booking_as_it_is_now(client: Client) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = client.create(booking_body(), headers=headers)
    client.set_status(first.data["id"], "cancelled")
    replay = client.create(booking_body(), headers=headers)
    assert (replay.status, replay.data["status"]) == (200, "cancelled")


def test_idempotency_keys_are_scoped_to_the_site(client: Client) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    assert client.create(booking_body(), headers=headers).status == 201
    other = client.create(
        booking_body(staffId="zed"), site=OTHER_SITE, key=OTHER_KEY, headers=headers
    )
    assert other.status == 201


def test_a_refused_request_does_not_use_up_its_key(client: Client) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    assert client.create(booking_body(startTime="09:00")).status == 201
    taken = client.create(booking_body(startTime="09:00"), headers=headers)
    assert (taken.status, taken.code) == (409, "slot_unavailable")
    bad = client.create(booking_body(customer={"name": " "}), headers=headers)
    assert bad.status == 400
    fresh = client.create(booking_body(startTime="09:30"), headers=headers)
    assert fresh.status == 201


def test_a_well_formed_request_id_is_echoed(client: Client) -> None:
    for rid in ("abc-123", "trace:9f.7_x", "a" * 128):
        ok = client.slots({"serviceId": "cut", "date": DAY}, headers={"X-Request-Id": rid})
        assert ok.headers["x-request-id"] == rid
        assert ok.json["meta"]["requestId"] == rid
        error = client.slots({"serviceId": "nope", "date": DAY}, headers={"X-Request-Id": rid})
        assert (error.status, error.json["meta"]["requestId"]) == (404, rid)


@pytest.mark.parametrize("rid", ["", "has space", "a" * 129, "semi;colon", "caf\u00e9"])
def test_a_malformed_request_id_is_replaced(client: Client, rid: str) -> None:
    headers = {"X-Request-Id": rid.encode("utf-8").decode("latin-1")}
    reply = client.slots({"serviceId": "cut", "date": DAY}, headers=headers)
    assert reply.status == 200
    assert _UUID.fullmatch(reply.headers["x-request-id"])


def test_openapi_document_is_served_without_a_key(client: Client) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=10)
    try:
        conn.request("GET", "/v1/openapi.json")
        response = conn.getresponse()
        doc = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json; charset=utf-8"
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/v1/sites/{siteId}/booking/slots",
        "/v1/sites/{siteId}/booking/bookings",
        "/v1/sites/{siteId}/booking/bookings/{id}/status",
        "/v1/sites/{siteId}/booking/bookings/{id}",
        "/v1/sites/{siteId}/booking/holds",
        "/v1/sites/{siteId}/booking/holds/{id}",
        "/v1/sites/{siteId}/booking/staff/{staffId}/busy/{source}",
        "/v1/sites/{siteId}/booking/bookings.ics",
        "/v1/sites/{siteId}/booking/bookings/{id}.ics",
    }


# -- every error code of the table ------------------------------------------------------------


def test_validation_error_names_the_fields(client: Client) -> None:
    missing = client.slots({"date": DAY})
    assert (missing.status, missing.code) == (400, "validation_error")
    assert missing.details["fields"] == ["serviceId"]
    bad_date = client.slots({"serviceId": "cut", "date": "2026-02-30"})
    assert (bad_date.status, bad_date.code) == (400, "validation_error")
    body = booking_body(colour="red", customer=None, date="03/09/2026")
    several = client.create(body)
    assert several.status == 400
    # every bad field at once: the body's shape and the engine's field rules alike
    assert several.details["fields"] == ["colour", "customer", "date"]
    assert "colour" in several.json["error"]["message"]


def test_four_wrong_fields_get_one_answer_naming_all_four(client: Client) -> None:
    body = booking_body(
        colour="red", date="2026-02-30", startTime="9am", customer={"name": " ", "email": "x"}
    )
    reply = client.create(body)
    assert (reply.status, reply.code) == (400, "validation_error")
    problems = reply.details["problems"]
    assert [p["field"] for p in problems] == [
        "colour", "customer.email", "customer.name", "date", "startTime",
    ]  # fmt: skip
    assert all(set(p) == {"field", "message"} and p["message"] for p in problems)
    assert reply.details["fields"] == [p["field"] for p in problems]
    assert client.bookings().json["pagination"]["total"] == 0


def test_the_list_names_every_bad_parameter(client: Client) -> None:
    reply = client.request(
        "GET", f"/v1/sites/{SITE}/booking/bookings?limit=0&status=booked&date=2026-3-9&page=2"
    )
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.details["fields"] == ["date", "limit", "page", "status"]


@pytest.mark.parametrize("limit", ["0", "-1", "1e24", "101", "ten", "2.0"])
def test_one_wording_for_the_limit_rule(client: Client, limit: str) -> None:
    reply = client.request("GET", f"/v1/sites/{SITE}/booking/bookings?limit={limit}")
    assert reply.details["problems"] == [
        {"field": "limit", "message": "must be a whole number 1..100"}
    ]


@pytest.mark.parametrize("date", ["2026-02-30", "20260309", "2026-W11-1"])
def test_a_malformed_slots_date_is_named_date(client: Client, date: str) -> None:
    reply = client.slots({"serviceId": "cut", "date": date})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.details["fields"] == ["date"]


@pytest.mark.parametrize(
    ("query", "field_name"),
    [
        ("serviceId=cut&date=2026-03-09&colour=red", "colour"),
        ("serviceId=cut&date=2026-03-09&date=2026-03-10", "date"),
        ("serviceId=cut&serviceId=cut&date=2026-03-09", "serviceId"),
        ("serviceId=cut&date=2026-03-09&staffId=", "staffId"),
        ("serviceId=cut&date=2026-03-09&branchId=", "branchId"),
        ("serviceId=&date=2026-03-09", "serviceId"),
        ("serviceId=cut&date=", "date"),
        ("serviceId=cut&date=2026-03-09&cursor=", "cursor"),  # cursor is not a slots param
        ("serviceId=cut&date=2026-03-09&%C3%A9=1", "\u00e9"),
    ],
)
def test_slots_query_unknown_repeated_or_empty_is_named(
    client: Client, query: str, field_name: str
) -> None:
    reply = client.request("GET", f"/v1/sites/{SITE}/booking/slots?{query}")
    assert (reply.status, reply.code) == (400, "validation_error")
    assert field_name in reply.details["fields"]


@pytest.mark.parametrize(
    ("query", "field_name"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=2.0", "limit"),
        ("limit=", "limit"),
        ("limit=1&limit=2", "limit"),
        ("status=", "status"),
        ("status=booked", "status"),
        ("date=", "date"),
        ("date=2026-3-9", "date"),
        ("cursor=&cursor=", "cursor"),
        ("page=2", "page"),
    ],
)
def test_list_query_errors_are_named(client: Client, query: str, field_name: str) -> None:
    reply = client.request("GET", f"/v1/sites/{SITE}/booking/bookings?{query}")
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.details["fields"] == [field_name]


def test_list_accepts_an_empty_cursor_and_a_bare_limit(client: Client) -> None:
    for query in ("cursor=", "limit=100", "limit=1&cursor=&status=pending&date=2026-03-09"):
        reply = client.request("GET", f"/v1/sites/{SITE}/booking/bookings?{query}")
        assert reply.status == 200, query


@pytest.mark.parametrize(
    ("query", "field_name"),
    [("colour=red", "colour"), ("staffId=ann", "staffId"), ("x=1&x=2", "x"), ("%ff", "query")],
)
def test_post_takes_no_query(client: Client, query: str, field_name: str) -> None:
    reply = client.request(
        "POST", f"/v1/sites/{SITE}/booking/bookings?{query}", body=booking_body()
    )
    assert (reply.status, reply.code) == (400, "validation_error")
    assert field_name in reply.details["fields"]
    assert client.bookings().json["pagination"]["total"] == 0


def test_patch_takes_no_query_and_only_a_status(client: Client) -> None:
    made = client.create(booking_body()).data
    path = f"/v1/sites/{SITE}/booking/bookings/{made['id']}/status"
    with_query = client.request("PATCH", f"{path}?force=1", body={"status": "cancelled"})
    assert (with_query.status, with_query.details["fields"]) == (400, ["force"])
    extra = client.request("PATCH", path, body={"status": "cancelled", "reason": "x"})
    assert (extra.status, extra.details["fields"]) == (400, ["reason"])
    unknown = client.request("PATCH", path, body={"status": "done"})
    assert (unknown.status, unknown.code, unknown.details["fields"]) == (
        400,
        "validation_error",
        ["status"],
    )
    not_text = client.request("PATCH", path, body={"status": 1})
    assert (not_text.status, not_text.code) == (400, "validation_error")
    assert client.bookings().data[0]["status"] == "confirmed"  # nothing changed


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"serviceId": ""}, "serviceId"),
        ({"serviceId": 7}, "serviceId"),
        ({"date": ""}, "date"),
        ({"date": "2026-03-09T09:00"}, "date"),
        ({"startTime": ""}, "startTime"),
        ({"startTime": "9:00"}, "startTime"),
        ({"startTime": "09:00:00"}, "startTime"),
        ({"startTime": "24:00"}, "startTime"),
        ({"startTime": "2026-03-09T09:00:00"}, "startTime"),  # no offset
        ({"startTime": "2026-03-10T09:00:00+01:00"}, "startTime"),  # not on `date`
        ({"staffId": ""}, "staffId"),
        ({"branchId": ""}, "branchId"),
        ({"customer": "Ada"}, "customer"),
        ({"customer": []}, "customer"),
        ({"customer": {}}, "customer.name"),
        ({"customer": {"name": " \t\n"}}, "customer.name"),
        ({"customer": {"name": 5}}, "customer.name"),
        ({"customer": {"name": "A", "email": "no-at-sign"}}, "customer.email"),
        ({"customer": {"name": "A", "email": "a@b"}}, "customer.email"),
        ({"customer": {"name": "A", "email": "a b@c.de"}}, "customer.email"),
        ({"customer": {"name": "A", "email": "a@@c.de"}}, "customer.email"),
        ({"customer": {"name": "A", "blob": "x" * 4100}}, "customer"),
        ({"notes": "n" * 2001}, "notes"),
        ({"notes": 5}, "notes"),
        ({"staffId": "cat"}, "staffId"),  # exists, does not offer the cut
    ],
)
def test_create_body_errors_are_named(
    client: Client, changes: dict[str, Any], field_name: str
) -> None:
    reply = client.create(booking_body(**changes))
    assert (reply.status, reply.code) == (400, "validation_error"), reply.json
    assert field_name in reply.details["fields"]
    assert client.bookings().json["pagination"]["total"] == 0


def test_a_customer_of_exactly_4_kib_is_accepted(client: Client) -> None:
    name = "A"
    filler = "x" * (4096 - len(json.dumps({"name": name, "f": ""}, separators=(",", ":"))))
    customer = {"name": name, "f": filler}
    assert len(json.dumps(customer, separators=(",", ":")).encode()) == 4096
    assert client.create(booking_body(customer=customer)).status == 201


@pytest.mark.parametrize(
    ("day", "start"),
    [("2026-03-29", "02:30"), ("2026-10-25", "02:30")],
    ids=["spring-gap", "fall-back-ambiguous"],
)
def test_a_wall_time_that_is_not_one_instant_asks_for_the_offset(
    client: Client, day: str, start: str
) -> None:
    reply = client.create(booking_body(date=day, startTime=start))
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.details["fields"] == ["startTime"]
    assert "offset" in reply.json["error"]["message"]


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\u00e9".encode().decode("latin-1")])
def test_a_malformed_idempotency_key_is_validation_error(client: Client, key: str) -> None:
    reply = client.create(booking_body(), headers={"Idempotency-Key": key})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.details["fields"] == ["Idempotency-Key"]


def test_invalid_cursor_altered_or_other_filters(client: Client) -> None:
    for start in ("09:00", "09:30"):
        client.create(booking_body(startTime=start))
    cursor = client.bookings({"limit": "1"}).json["pagination"]["nextCursor"]
    payload, mac = cursor.split(".")
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    for bad in (f"{flipped}.{mac}", f"{payload}.{mac[:-2]}", "garbage", "a.b.c", "...", "%%"):
        reply = client.bookings({"limit": "1", "cursor": bad})
        assert (reply.status, reply.code) == (400, "invalid_cursor"), bad
    other = client.bookings({"limit": "1", "cursor": cursor, "status": "confirmed"})
    assert (other.status, other.code) == (400, "invalid_cursor")
    # not bound to limit
    assert client.bookings({"limit": "5", "cursor": cursor}).status == 200


def test_a_cursor_of_another_site_is_invalid(client: Client) -> None:
    for start in ("09:00", "09:30"):
        client.create(booking_body(staffId="zed", startTime=start), site=OTHER_SITE, key=OTHER_KEY)
    theirs = client.bookings({"limit": "1"}, site=OTHER_SITE, key=OTHER_KEY)
    cursor = theirs.json["pagination"]["nextCursor"]
    reply = client.bookings({"limit": "1", "cursor": cursor})
    assert (reply.status, reply.code) == (400, "invalid_cursor")


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY[:-1], KEY + "0", KEY.upper()])
def test_unauthorized_without_a_known_key(client: Client, key: str | None) -> None:
    headers = {"X-Api-Key": key} if key is not None else None
    for reply in (
        client.slots({"serviceId": "cut", "date": DAY}, key=None, headers=headers),
        client.bookings(key=None, headers=headers),
        client.create(booking_body(), key=None, headers=headers),
        client.set_status("bk_x", "cancelled", key=None, headers=headers),
    ):
        assert (reply.status, reply.code) == (401, "unauthorized")


@pytest.mark.parametrize("site", [OTHER_SITE, "no-such-site", KEYLESS_SITE])
def test_forbidden_for_another_site_or_a_site_that_does_not_exist(
    client: Client, site: str
) -> None:
    for reply in (
        client.slots({"serviceId": "cut", "date": DAY}, site=site),
        client.bookings(site=site),
        client.create(booking_body(), site=site),
        client.set_status("bk_x", "cancelled", site=site),
    ):
        assert (reply.status, reply.code) == (403, "forbidden")


def test_not_found_for_unknown_service_staff_branch(client: Client) -> None:
    cases = [
        ({"serviceId": "nope", "date": DAY}, {"serviceId": "nope"}),
        ({"serviceId": "cut", "date": DAY, "staffId": "nobody"}, {"staffId": "nobody"}),
        ({"serviceId": "cut", "date": DAY, "branchId": "moon"}, {"branchId": "moon"}),
    ]
    for query, details in cases:
        reply = client.slots(query)
        assert (reply.status, reply.code, reply.details) == (404, "not_found", details)
    for changes in ({"serviceId": "nope"}, {"staffId": "nobody"}, {"branchId": "moon"}):
        reply = client.create(booking_body(**changes))
        assert (reply.status, reply.code) == (404, "not_found"), changes
        assert reply.details == changes


def test_not_found_for_unknown_booking_and_another_sites_booking(client: Client) -> None:
    unknown = client.set_status("bk_0000", "cancelled")
    assert (unknown.status, unknown.code) == (404, "not_found")
    theirs = client.create(booking_body(staffId="zed"), site=OTHER_SITE, key=OTHER_KEY).data
    reply = client.set_status(theirs["id"], "cancelled")
    assert (reply.status, reply.code) == (404, "not_found")
    mine = client.bookings(site=OTHER_SITE, key=OTHER_KEY).data
    assert [(b["id"], b["status"]) for b in mine] == [(theirs["id"], "confirmed")]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1",
        "/v1/sites",
        "/v1/sites/s1",
        "/v1/sites/s1/booking",
        "/v1/sites/s1/booking/slots/",
        "/v1/sites/s1/booking/bookings/",
        "/v1/sites/s1/booking/bookings/x/y",
        "/v1/sites/s1/booking/bookings/x/status/",
        "/v1/sites/s1/booking/holds/",
        "/v1/sites/s1/booking/holds/x/y",
        "/v1/sites/s1/booking/staff/ann/busy",
        "/v1/sites/s1/booking/staff/ann/busy/google/x",
        "/v1/sites//booking/slots",
        "/v2/sites/s1/booking/slots",
        "/V1/sites/s1/booking/slots",
        "/v1/openapi.yaml",
    ],
)
def test_not_found_for_unknown_routes(client: Client, path: str) -> None:
    for method in ("GET", "POST", "DELETE"):
        reply = client.request(method, path, key=None)
        assert (reply.status, reply.code) == (404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v1/sites/s1/booking/slots", "GET"),
        ("DELETE", "/v1/sites/s1/booking/slots", "GET"),
        ("HEAD", "/v1/sites/s1/booking/slots", "GET"),
        ("PUT", "/v1/sites/s1/booking/bookings", "GET, POST"),
        ("DELETE", "/v1/sites/s1/booking/bookings", "GET, POST"),
        ("GET", "/v1/sites/s1/booking/bookings/bk_1/status", "PATCH"),
        ("POST", "/v1/sites/s1/booking/bookings/bk_1/status", "PATCH"),
        ("PUT", "/v1/sites/s1/booking/bookings/bk_1/status", "PATCH"),
        ("OPTIONS", "/v1/sites/s1/booking/bookings", "GET, POST"),
    ],
)
def test_method_not_allowed_with_allow(client: Client, method: str, path: str, allow: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=10)
    try:
        conn.request(method, path, headers={"X-Api-Key": KEY})
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    assert response.status == 405
    assert headers["allow"] == allow
    if method != "HEAD":  # a HEAD answer has no body on the wire
        doc = check_envelope(405, headers, body)
        assert doc["error"]["code"] == "method_not_allowed"


def test_slot_unavailable_says_why(client: Client, clock: MovableClock) -> None:
    assert client.create(booking_body()).status == 201
    cases = [
        (booking_body(), "booked"),
        (booking_body(startTime="09:15"), "off_grid"),
        (booking_body(startTime="12:00"), "outside_hours"),  # after hours
        (booking_body(date="2026-03-02", startTime="10:00"), "too_soon"),
        (booking_body(date="2026-04-06"), "too_far"),
        (booking_body(date="2026-02-23"), "past"),
        (booking_body(date="2026-03-10", staffId="ben", startTime="10:30"), "time_off"),
    ]
    for body, reason in cases:
        reply = client.create(body)
        assert (reply.status, reply.code) == (409, "slot_unavailable"), body
        assert reply.details["reason"] == reason, body
    assert client.bookings().json["pagination"]["total"] == 1


def test_slot_unavailable_full_for_a_group_session(client: Client) -> None:
    body = booking_body(serviceId="class", staffId="cat", startTime="10:00")
    assert client.create(body).status == 201
    assert client.create(body).status == 201
    full = client.create(body)
    assert (full.status, full.code, full.details["reason"]) == (409, "slot_unavailable", "full")


def test_invalid_transition_with_from_to_allowed(client: Client) -> None:
    made = client.create(booking_body()).data
    assert client.set_status(made["id"], "cancelled").status == 200
    reply = client.set_status(made["id"], "confirmed")
    assert (reply.status, reply.code) == (409, "invalid_transition")
    assert reply.details["from"] == "cancelled"
    assert reply.details["to"] == "confirmed"
    assert reply.details["allowed"] == []
    early = client.create(booking_body(startTime="10:00")).data
    too_early = client.set_status(early["id"], "completed")  # before it starts
    assert (too_early.status, too_early.code) == (409, "invalid_transition")
    assert too_early.details["allowed"] == ["cancelled"]
    assert client.bookings({"status": "confirmed"}).data == [early]


def test_payload_too_large_is_answered_without_reading_the_body(client: Client) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=10)
    try:
        conn.putrequest("POST", f"/v1/sites/{SITE}/booking/bookings")
        conn.putheader("X-Api-Key", KEY)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(64 * 1024 + 1))
        conn.endheaders()  # and never send the body
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    assert response.status == 413
    doc = check_envelope(413, headers, body)
    assert doc["error"]["code"] == "payload_too_large"


class _Unreadable(io.RawIOBase):
    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body must not be read")

    readline = readlines = read  # type: ignore[assignment]


def wsgi_call(app: BookingAPI, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Call the WSGI app in-process; returns status, lower-case headers and the body."""
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        got["status"] = int(status.split(" ", 1)[0])
        got["headers"] = {k.lower(): v for k, v in headers}

    body = b"".join(app(environ, start_response))
    return got["status"], got["headers"], body


def wsgi_environ(
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    stream: Any = None,
) -> dict[str, Any]:
    """A WSGI environ as a server would build it; header names map to `HTTP_*` keys."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": stream if stream is not None else io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        upper = name.upper().replace("-", "_")
        if upper in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[upper] = value
        else:
            environ[f"HTTP_{upper}"] = value
    return environ


def test_payload_too_large_never_touches_the_stream() -> None:
    environ = wsgi_environ(
        "POST",
        f"/v1/sites/{SITE}/booking/bookings",
        headers={"X-Api-Key": KEY, "Content-Type": "application/json", "Content-Length": "70000"},
        stream=_Unreadable(),
    )
    status, headers, body = wsgi_call(make_app(), environ)
    assert status == 413
    assert check_envelope(status, headers, body)["error"]["details"] == {"maxBytes": 65536}


def test_a_terminated_body_without_length_is_read_only_up_to_the_limit() -> None:
    big = b'{"serviceId": "' + b"x" * (70 * 1024) + b'"}'
    environ = wsgi_environ(
        "POST",
        f"/v1/sites/{SITE}/booking/bookings",
        headers={"X-Api-Key": KEY, "Content-Type": "application/json"},
        stream=io.BytesIO(big),
    )
    environ["wsgi.input_terminated"] = True  # a server that decoded a chunked body (gunicorn)
    status, headers, body = wsgi_call(make_app(), environ)
    assert (status, check_envelope(status, headers, body)["error"]["code"]) == (
        413,
        "payload_too_large",
    )


@pytest.mark.parametrize(
    "tail",
    [b"\r\n", b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n'],
    ids=["no-length", "chunked"],
)
def test_a_body_without_content_length_is_answered(client: Client, tail: bytes) -> None:
    head = (
        f"POST /v1/sites/{SITE}/booking/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-Api-Key: {KEY}\r\nContent-Type: application/json\r\nConnection: close\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", client.port), timeout=3) as sock:
        sock.sendall(head + tail)
        try:
            first = sock.recv(200)
        except TimeoutError:
            first = b""
    assert first.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400", b"HTTP/1.0 411", b"HTTP/1.1 411"))


def test_a_body_of_exactly_64_kib_is_not_too_large(client: Client) -> None:
    body = booking_body(notes="n")
    text = json.dumps(body)
    padded = (text[:-1] + " " * (64 * 1024 - len(text)) + "}").encode()
    assert len(padded) == 64 * 1024
    assert client.create(raw=padded).status == 201


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "json", ""],
)
def test_unsupported_media_type(client: Client, content_type: str | None) -> None:
    reply = client.create(booking_body(), content_type=content_type)
    assert (reply.status, reply.code) == (415, "unsupported_media_type")
    made = client.create(booking_body()).data
    patch = client.request(
        "PATCH",
        f"/v1/sites/{SITE}/booking/bookings/{made['id']}/status",
        body={"status": "cancelled"},
        content_type=content_type,
    )
    assert (patch.status, patch.code) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json;x=1"]
)
def test_json_media_type_with_parameters_is_accepted(client: Client, content_type: str) -> None:
    assert client.create(booking_body(), content_type=content_type).status == 201


def test_storage_busy_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    store = SQLiteStore(path, busy_timeout=0.2)
    with serving(make_app(store=store)) as client:
        made = client.create(booking_body(startTime="11:00")).data
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            busy = client.create(booking_body())
            assert (busy.status, busy.code) == (503, "storage_busy")
            assert busy.headers["retry-after"] == "1"
            patch = client.set_status(made["id"], "cancelled")
            assert (patch.status, patch.code) == (503, "storage_busy")
            # readers are not blocked by the writer's lock (WAL)
            assert client.slots({"serviceId": "cut", "date": DAY}).status == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # nothing was written, and a retry succeeds
        assert [b["status"] for b in client.bookings().data] == ["confirmed"]
        assert client.create(booking_body()).status == 201
        assert client.set_status(made["id"], "cancelled").status == 200
    store.close()


class _ExplodingStore(MemoryStore):
    def create(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret-detail: /srv/db password=hunter2")


def _assert_logged_with_traceback(caplog: pytest.LogCaptureFixture, exc_type: type) -> None:
    records = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert records, "the 500 was not logged with its traceback"
    assert any(exc_type in _chain(r.exc_info[1]) for r in records if r.exc_info), records


def _chain(error: BaseException | None) -> list[type]:
    """The types of an exception and of every exception it was raised from, as logged."""
    types: list[type] = []
    while error is not None:
        types.append(type(error))
        error = error.__cause__ or error.__context__
    return types


def test_internal_error_hides_the_traceback_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    with serving(make_app(store=_ExplodingStore())) as client:
        reply = client.create(booking_body())
        slots = client.slots({"serviceId": "cut", "date": DAY})
    assert (reply.status, reply.code) == (500, "internal_error")
    text = reply.body.decode()
    for leak in ("Traceback", "secret-detail", "hunter2", "RuntimeError", ".py"):
        assert leak not in text
    assert reply.json["meta"]["timestamp"] == NOW_TEXT
    _assert_logged_with_traceback(caplog, RuntimeError)
    assert slots.status == 200  # the app keeps serving


class _ClockThatFailsOnCreate(MovableClock):
    armed = False

    def __call__(self) -> datetime:
        if self.armed:
            raise ZeroDivisionError("clock exploded")
        return self.now


def test_internal_error_from_a_failing_clock(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    clock = _ClockThatFailsOnCreate()
    with serving(make_app(clock=clock)) as client:
        clock.armed = True
        reply = client.create(booking_body())
        clock.armed = False
        assert client.bookings().json["pagination"]["total"] == 0
    assert (reply.status, reply.code) == (500, "internal_error")
    assert "clock exploded" not in reply.body.decode()
    assert "Traceback" not in reply.body.decode()
    _assert_logged_with_traceback(caplog, ZeroDivisionError)


def test_a_failing_database_answers_500_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    path = tmp_path / "broken.sqlite3"
    store = SQLiteStore(path)
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database file " * 512)
    with serving(make_app(store=store)) as client:
        reply = client.create(booking_body())
    assert (reply.status, reply.code) == (500, "internal_error")
    assert "Traceback" not in reply.body.decode()
    _assert_logged_with_traceback(caplog, sqlite3.DatabaseError)


# -- the check order: route, method, key, key's site, media type, size, params/body, engine --


@pytest.mark.parametrize(
    ("method", "path", "key", "content_type", "raw", "length", "expected"),
    [
        # route before method and key
        ("DELETE", "/v1/nowhere", None, None, None, None, "not_found"),
        # method before key
        ("PUT", "/v1/sites/s1/booking/slots", None, None, None, None, "method_not_allowed"),
        ("DELETE", "/v1/sites/nope/booking/bookings", "bad", "text/plain", b"x", None,
         "method_not_allowed"),
        # key before the key's site, media type, size and body
        ("POST", "/v1/sites/s1/booking/bookings", None, "text/plain", b"[", None,
         "unauthorized"),
        ("POST", "/v1/sites/nope/booking/bookings", "bad", "text/plain", b"[", 99999,
         "unauthorized"),
        # the key's site before media type and size (also for a site that does not exist)
        ("POST", "/v1/sites/s2/booking/bookings", KEY, "text/plain", b"[", 99999, "forbidden"),
        ("PATCH", "/v1/sites/nope/booking/bookings/x/status", KEY, "text/plain", b"[", None,
         "forbidden"),
        # media type before size
        ("POST", "/v1/sites/s1/booking/bookings", KEY, "text/plain", b"[", 99999,
         "unsupported_media_type"),
        # size before parsing
        ("POST", "/v1/sites/s1/booking/bookings", KEY, "application/json", b"[", 99999,
         "payload_too_large"),
        # body before the engine (the unknown service is never looked up)
        ("POST", "/v1/sites/s1/booking/bookings", KEY, "application/json",
         b'{"serviceId": "nope", "date": "2026-03-09", "startTime": "09:00", '
         b'"customer": {"name": "A"}, "extra": 1}', None, "validation_error"),
        ("PATCH", "/v1/sites/s1/booking/bookings/bk_unknown/status", KEY, "application/json",
         b'{"status": "done"}', None, "validation_error"),
        # then the engine
        ("PATCH", "/v1/sites/s1/booking/bookings/bk_unknown/status", KEY, "application/json",
         b'{"status": "cancelled"}', None, "not_found"),
    ],
)  # fmt: skip
def test_check_order(
    method: str,
    path: str,
    key: str | None,
    content_type: str | None,
    raw: bytes | None,
    length: int | None,
    expected: str,
) -> None:
    headers: dict[str, str] = {}
    if key is not None:
        headers["X-Api-Key"] = key
    if content_type is not None:
        headers["Content-Type"] = content_type
    environ = wsgi_environ(method, path, body=raw or b"", headers=headers)
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    status, got, body = wsgi_call(make_app(), environ)
    doc = check_envelope(status, got, body)
    assert doc["error"]["code"] == expected


def test_query_checked_before_the_engine(client: Client) -> None:
    # an unknown service with a bad query parameter: the parameter is reported, not the service
    reply = client.slots({"serviceId": "nope", "date": DAY, "colour": "red"})
    assert (reply.status, reply.code, reply.details["fields"]) == (
        400,
        "validation_error",
        ["colour"],
    )


# -- inputs that crash naive parsers: 400, never 500 ------------------------------------------

_VALID = json.dumps(booking_body())


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 60_000,  # RecursionError inside json.loads (and under the 64 KiB limit)
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        _VALID[:-1].encode() + b', "n": ' + b"9" * 5000 + b"}",  # int over 4300 digits
        _VALID.replace('"09:00"', "1" + "0" * 5000).encode(),
        _VALID[:-1].encode() + b', "n": 1e400}',
        _VALID.replace('"Ada Lovelace"', "-1e400").encode(),
        _VALID.replace('"Ada Lovelace"', "NaN").encode(),
        _VALID.replace('"Ada Lovelace"', "Infinity").encode(),
        _VALID.replace('"Ada Lovelace"', "-Infinity").encode(),
        _VALID.replace('"Ada Lovelace"', '"\\ud800"').encode(),  # a lone surrogate
        _VALID.replace('"Ada Lovelace"', '"Ada \\udfff Lovelace"').encode(),
        _VALID[:-1].encode() + b', "notes": "\\udbff"}',
        _VALID[:-1].encode() + b', "serviceId": "cut"}',  # a duplicate key
        b'{"customer": {"name": "A", "name": "B"}}',
        b"[]",
        b"[1, 2]",
        b'"a string"',
        b"42",
        b"null",
        b"true",
        b"",
        b" ",
        b"\xff\xfe{}",
        b"\xef\xbb\xbf" + _VALID.encode(),  # a UTF-8 byte-order mark
        _VALID.encode("utf-16"),
        b'{"serviceId": "cut"',
        b"{'serviceId': 'cut'}",
        _VALID.replace("2026-03-09", "2026-W11-1").encode(),
        _VALID.replace("2026-03-09", "20260309").encode(),
        _VALID.replace("2026-03-09", "\uff12\uff10\uff12\uff16-03-09").encode(),
        _VALID.replace("2026-03-09", "2026-03-09 ").encode(),
        _VALID.replace("2026-03-09", "+2026-03-09").encode(),
        _VALID.replace('"09:00"', '"\uff10\uff19:\uff10\uff10"').encode(),
        _VALID.replace('"09:00"', '"0900"').encode(),
        _VALID.replace('"09:00"', '"T09:00"').encode(),
        _VALID.replace('"09:00"', "9.0").encode(),
        _VALID.replace('"09:00"', '"2026-03-09T09:00:00+25:00"').encode(),
        _VALID.replace('"09:00"', '"2026-03-09T09:00:00.5+01:00"').encode(),
        _VALID.replace('"09:00"', '"2026-W11-1T09:00:00+01:00"').encode(),
        _VALID.replace('"09:00"', '"\\u0000"').encode(),
        _VALID.replace('"cut"', '{"id": "cut"}').encode(),
        _VALID.replace('"cut"', '["cut"]').encode(),
        _VALID.replace('"ann"', "true").encode(),
    ],
)
def test_hostile_bodies_are_validation_errors(client: Client, raw: bytes) -> None:
    reply = client.create(raw=raw)
    assert (reply.status, reply.code) == (400, "validation_error"), raw[:80]
    assert client.bookings().json["pagination"]["total"] == 0


def test_a_body_nested_100000_deep_is_400_when_the_limit_allows_it() -> None:
    app = make_app(max_body_bytes=200_000)
    raw = b"[" * 100_000
    environ = wsgi_environ(
        "POST",
        f"/v1/sites/{SITE}/booking/bookings",
        body=raw,
        headers={"X-Api-Key": KEY, "Content-Type": "application/json"},
    )
    status, headers, body = wsgi_call(app, environ)
    assert (status, check_envelope(status, headers, body)["error"]["code"]) == (
        400,
        "validation_error",
    )


def test_a_body_nested_100000_deep_is_too_large_by_default(client: Client) -> None:
    reply = client.create(raw=b"[" * 100_000)
    assert (reply.status, reply.code) == (413, "payload_too_large")


@pytest.mark.parametrize(
    "query",
    [
        "limit=%EF%BC%91%EF%BC%90",  # full-width "10"
        "limit=%D9%A1",  # Arabic-Indic one
        "limit=" + "9" * 5000,
        "limit=1e3",
        "limit=0x10",
        "limit=%201",
        "limit=1%00",
        "date=2026-W10-1",
        "date=20260310",
        "date=2026-03-10T00:00",
        "date=%EF%BC%92026-03-10",
        "date=2026-13-01",
        "date=NaN",
        "status=%ff",
        "cursor=%ff",
        "limit=%ff",
        "%ff=1",
        "date=2026-03-10&date=2026-03-10",
    ],
)
def test_hostile_list_queries_are_validation_errors(client: Client, query: str) -> None:
    reply = client.request("GET", f"/v1/sites/{SITE}/booking/bookings?{query}")
    assert (reply.status, reply.code) == (400, "validation_error"), query


@pytest.mark.parametrize(
    "date",
    ["2026-W10-1", "20260310", "2026-03-10T00:00:00Z", "\uff12\uff10\uff12\uff16-03-10", "NaN",
     "9" * 5000, "-2026-03-10", "2026-02-29", "0000-01-01"],
)  # fmt: skip
def test_hostile_slot_dates_are_validation_errors(client: Client, date: str) -> None:
    reply = client.slots({"serviceId": "cut", "date": date})
    assert (reply.status, reply.code) == (400, "validation_error"), date


@pytest.mark.parametrize("date", ["0001-01-01", "0001-01-20", "9999-12-01", "9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_never_answer_500(client: Client, date: str) -> None:
    slots = client.slots({"serviceId": "cut", "date": date})
    create = client.create(booking_body(date=date))
    assert slots.status < 500, slots.json
    assert create.status < 500, create.json


@pytest.mark.parametrize(
    ("date", "start"),
    [("9999-12-31", "9999-12-31T23:30:00-12:00"), ("0001-01-01", "0001-01-01T00:00:00+14:00")],
)
def test_an_iso_start_beyond_the_calendar_is_validation_error(
    client: Client, date: str, start: str
) -> None:
    reply = client.create(booking_body(date=date, startTime=start))
    assert (reply.status, reply.code) == (400, "validation_error")


def test_hostile_paths_and_headers_never_answer_500(client: Client) -> None:
    paths = [
        "/v1/sites/%ff/booking/slots",
        "/v1/sites/%00/booking/bookings",
        "/v1/sites/s1/booking/bookings/%ff%fe/status",
        "/v1/sites/s1/booking/bookings/" + "x" * 5000 + "/status",
        "/v1/sites/" + "%C3%A9" * 100 + "/booking/slots",
        "//v1/sites/s1/booking/slots",
        "/v1/sites/s1/booking/slots/../slots",
    ]
    for path in paths:
        for method in ("GET", "PATCH"):
            reply = client.request(method, path, body={"status": "cancelled"})
            assert reply.status < 500, path
    weird_keys = ["\u00ff" * 10, "k" * 10_000, "%00"]
    for key in weird_keys:
        reply = client.slots({"serviceId": "cut", "date": DAY}, key=key)
        assert (reply.status, reply.code) == (401, "unauthorized")


def test_a_bad_idempotency_key_is_named_with_the_body_problems(client: Client) -> None:
    reply = client.request(
        "POST",
        f"/v1/sites/{SITE}/booking/bookings",
        body=booking_body(date="x", colour="red"),
        headers={"Idempotency-Key": "has space"},
    )
    assert (reply.status, reply.details["fields"]) == (400, ["Idempotency-Key", "colour", "date"])
