"""The booking endpoints as a plain WSGI application: `BookingAPI(engine)`.

The seed's four (slots, list, create, status) plus reschedule (`PATCH` a booking), holds
(`POST`/`DELETE`) and busy time (`PUT` one source's spans of a staff member).

Routing, parsing and error mapping are thin; every rule of substance lives in the engine.
Checks run in the order docs/http.md gives: route (404), method (405), key (401), key's
site (403), media type (415), size (413), parameters and body (400), then the engine. Every
`BookingError` becomes an HTTP answer in one function, `_error_response`, from the error's
own `code` and `http_status`; anything else is a logged 500 without a traceback in the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from .catalog import load_catalog
from .demo import demo_catalog
from .engine import LIMIT_RULE, MAX_BUSY_SPANS, MAX_PAGE, Engine, idempotency_key_problem
from .errors import (
    BookingError,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from .ics import bookings_to_ics
from .lifecycle import parse_status
from .localtime import as_date
from .openapi import openapi_bytes
from .placement import prepare_request
from .stores import store_from_url
from .wire import booking_json, hold_json, instant_text, slots_json_text, utc_text

__all__ = ["BookingAPI", "create_app"]

MAX_BODY_BYTES = 64 * 1024
# A busy-time body may carry 10,000 spans (about 60 bytes each), so it may be larger.
MAX_BUSY_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)
_LIMIT = re.compile(r"[0-9]{1,3}", re.ASCII)
_SLOTS = re.compile(r"/v1/sites/([^/]+)/booking/slots")
_BOOKINGS = re.compile(r"/v1/sites/([^/]+)/booking/bookings")
_STATUS = re.compile(r"/v1/sites/([^/]+)/booking/bookings/([^/]+)/status")
_BOOKING = re.compile(r"/v1/sites/([^/]+)/booking/bookings/([^/]+)")
_HOLDS = re.compile(r"/v1/sites/([^/]+)/booking/holds")
_HOLD = re.compile(r"/v1/sites/([^/]+)/booking/holds/([^/]+)")
_BUSY = re.compile(r"/v1/sites/([^/]+)/booking/staff/([^/]+)/busy/([^/]+)")
DEFAULT_HOLD_SECONDS = 600
_BOOKINGS_ICS = re.compile(r"/v1/sites/([^/]+)/booking/bookings\.ics")
_BOOKING_ICS = re.compile(r"/v1/sites/([^/]+)/booking/bookings/([^/]+)\.ics")
CALENDAR_PAGE = 100  # bookings read per page while writing a calendar feed

access_log = logging.getLogger("optimo_booking.access")
error_log = logging.getLogger("optimo_booking.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = Mapping[str, Any]


@dataclass(slots=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]
    # The `data` member already as JSON text (the slot list), written before `meta`.
    data_text: str | None = None
    raw: tuple[str, bytes] | None = None  # (content type, bytes) sent as is, not as JSON


class BookingAPI:
    """A WSGI app serving the booking endpoints of every site in the engine's catalog."""

    def __init__(self, engine: Engine, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        # digest -> site id; keys are only ever held as SHA-256 digests.
        self._digests: list[tuple[bytes, str]] = [
            (bytes.fromhex(key.sha256), site.id)
            for site in engine.catalog.sites.values()
            for key in site.api_keys
        ]
        self._openapi = openapi_bytes()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        began = time.perf_counter()
        incoming = str(environ.get("HTTP_X_REQUEST_ID", ""))
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = _path(environ)
        try:
            if method == "GET" and path == "/v1/openapi.json":
                return self._send_raw(
                    start_response, request_id, self._openapi, began, method, path
                )
            answer = self._handle(environ, method, path)
        except BookingError as exc:
            if exc.http_status >= 500:
                error_log.error("request %s failed: %s", request_id, exc.code, exc_info=exc)
            answer = _error_response(exc)
        except Exception:
            error_log.exception("unexpected error in request %s", request_id)
            answer = _error_response(InternalError("something went wrong; the error was logged"))
        return self._send(start_response, request_id, answer, began, method, path)

    # -- dispatch ----------------------------------------------------------------------------

    def _handle(self, environ: Environ, method: str, path: str) -> _Answer:
        route = _route(path)
        if route is None:
            raise NotFound(f"no route {path!r}", {"path": path})
        name, allowed, params = route
        if method not in allowed:
            raise MethodNotAllowed(f"{method} is not allowed here", {"allow": sorted(allowed)})
        site_id = params[0]
        if name in ("calendar", "booking_calendar"):
            return self._calendar(environ, site_id, params[1] if len(params) > 1 else None)
        self._authorize(environ, site_id)
        limit = MAX_BUSY_BODY_BYTES if name == "busy" else self.max_body_bytes
        body = self._body(environ, limit) if method in ("POST", "PATCH", "PUT") else {}
        if name == "slots":
            return self._slots(environ, site_id)
        if name == "bookings" and method == "GET":
            return self._list(environ, site_id)
        if name == "bookings":
            return self._create(environ, site_id, body)
        if name == "booking":
            return self._reschedule(environ, site_id, params[1], body)
        if name == "holds":
            return self._hold(environ, site_id, body)
        if name == "hold":
            _query(environ, required=(), optional=())
            self.engine.release_hold(site_id, params[1])
            return _Answer(204, {}, [])
        if name == "busy":
            return self._set_busy(environ, site_id, params[1], params[2], body)
        return self._set_status(environ, site_id, params[1], body)

    def _authorize(self, environ: Environ, site_id: str, key: str | None = None) -> None:
        key = key or environ.get("HTTP_X_API_KEY")
        if not key:
            raise Unauthorized("send your API key in the X-Api-Key header")
        digest = hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).digest()
        owner: str | None = None
        for known, known_site in self._digests:  # every digest is compared: constant time
            if hmac.compare_digest(digest, known):
                owner = known_site
        if owner is None:
            raise Unauthorized("unknown API key")
        if owner != site_id:
            raise Forbidden("this API key belongs to another site")

    def _body(self, environ: Environ, max_bytes: int) -> dict[str, Any]:
        media = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        if media != "application/json":
            raise UnsupportedMediaType(
                "send the body as application/json", {"contentType": media or None}
            )
        length_text = str(environ.get("CONTENT_LENGTH") or "")
        stream = environ["wsgi.input"]
        if length_text:
            if not length_text.isascii() or not length_text.isdigit():
                raise ValidationError("bad Content-Length", {"fields": ["Content-Length"]})
            length = int(length_text)
            if length > max_bytes:
                raise PayloadTooLarge(
                    f"the body is over {max_bytes} bytes", {"maxBytes": max_bytes}
                )
            raw = _read_body(stream, length)
            if len(raw) < length:
                raise ValidationError(
                    f"the body ended after {len(raw)} of {length} bytes (Content-Length)",
                    {"fields": ["body"]},
                )
        elif not environ.get("wsgi.input_terminated"):
            # No length and a stream the server does not end for us: reading would wait on
            # the socket for a body that may never come, so there is no body.
            raw = b""
        else:
            raw = _read_body(stream, max_bytes + 1)
            if len(raw) > max_bytes:
                raise PayloadTooLarge(
                    f"the body is over {max_bytes} bytes", {"maxBytes": max_bytes}
                )
        return parse_json_object(raw)

    # -- endpoints ---------------------------------------------------------------------------

    def _slots(self, environ: Environ, site_id: str) -> _Answer:
        q, problems = _query(
            environ, required=("serviceId", "date"), optional=("staffId", "branchId")
        )
        _check(problems, q, "date", lambda text: as_date(text, "date"))
        _raise_if(problems)
        slots = self.engine.slots(
            site_id,
            q["serviceId"],
            q["date"],
            staff_id=q.get("staffId"),
            branch_id=q.get("branchId"),
        )
        return _Answer(200, {}, [], data_text=slots_json_text(slots))

    def _list(self, environ: Environ, site_id: str) -> _Answer:
        q, problems = _query(environ, required=(), optional=("limit", "cursor", "status", "date"))
        limit = 25
        if "limit" in q and "limit" not in problems:
            if _LIMIT.fullmatch(q["limit"]) and 1 <= int(q["limit"]) <= MAX_PAGE:
                limit = int(q["limit"])
            else:
                problems["limit"] = LIMIT_RULE
        _check(problems, q, "status", parse_status)
        _check(problems, q, "date", lambda text: as_date(text, "date"))
        _raise_if(problems)
        page = self.engine.list_bookings(
            site_id,
            limit=limit,
            cursor=q.get("cursor") or None,
            status=q.get("status"),
            date=q.get("date"),
        )
        return _Answer(
            200,
            {
                "data": [booking_json(b) for b in page.items],
                "pagination": {
                    "total": page.total,
                    "limit": page.limit,
                    "nextCursor": page.next_cursor,
                },
            },
            [],
        )

    def _create(self, environ: Environ, site_id: str, body: dict[str, Any]) -> _Answer:
        _, problems = _query(environ, required=(), optional=())
        problems.update(
            _fields(
                body,
                required=("serviceId", "date", "startTime", "customer"),
                optional=("staffId", "branchId", "notes", "holdId"),
            )
        )
        _texts(problems, body, ("serviceId", "date", "startTime", "staffId", "branchId", "holdId"))
        key = environ.get("HTTP_IDEMPOTENCY_KEY")
        if problems:
            # Name the engine's problems with the rest of the body too, in the same answer.
            problems = {**self._request_problems(site_id, body, problems), **problems}
            key_problem = idempotency_key_problem(str(key) if key is not None else None)
            if key_problem:
                problems["Idempotency-Key"] = key_problem
            _raise_if(problems)
        outcome = self.engine.create_booking_outcome(
            site_id,
            service_id=body["serviceId"],
            date=body["date"],
            start_time=body["startTime"],
            customer=body["customer"],
            staff_id=body.get("staffId"),
            branch_id=body.get("branchId"),
            notes=body.get("notes"),
            idempotency_key=str(key) if key is not None else None,
            hold_id=body.get("holdId"),
        )
        if outcome.replayed:
            return _Answer(
                200, {"data": booking_json(outcome.booking)}, [("Idempotent-Replayed", "true")]
            )
        return _Answer(201, {"data": booking_json(outcome.booking)}, [])

    def _request_problems(
        self, site_id: str, body: Mapping[str, Any], known: Mapping[str, str]
    ) -> dict[str, str]:
        """What the engine would say about the body's fields that passed the HTTP checks."""

        def field(name: str, stand_in: Any = None) -> Any:
            return stand_in if name in known else body.get(name, stand_in)

        try:
            prepare_request(
                self.engine.catalog.site(site_id),
                service_id=field("serviceId", ""),
                date=field("date", ""),
                start_time=field("startTime", ""),
                customer=field("customer", {}),
                staff_id=field("staffId"),
                branch_id=field("branchId"),
                notes=field("notes"),
            )
        except ValidationError as exc:
            return {k: v for k, v in exc.problem_map().items() if k.split(".")[0] not in known}
        except BookingError:
            pass  # an unknown id: not_found comes after the 400, once the body is well formed
        return {}

    def _reschedule(
        self, environ: Environ, site_id: str, booking_id: str, body: dict[str, Any]
    ) -> _Answer:
        _, problems = _query(environ, required=(), optional=())
        problems.update(_fields(body, required=("date", "startTime"), optional=("staffId",)))
        _texts(problems, body, ("date", "startTime", "staffId"))
        _raise_if(problems)
        booking = self.engine.reschedule(
            site_id,
            booking_id,
            date=body["date"],
            start_time=body["startTime"],
            staff_id=body.get("staffId"),
        )
        return _Answer(200, {"data": booking_json(booking)}, [])

    def _hold(self, environ: Environ, site_id: str, body: dict[str, Any]) -> _Answer:
        _, problems = _query(environ, required=(), optional=())
        problems.update(
            _fields(
                body,
                required=("serviceId", "date", "startTime"),
                optional=("staffId", "branchId", "ttlSeconds"),
            )
        )
        _texts(problems, body, ("serviceId", "date", "startTime", "staffId", "branchId"))
        seconds = body.get("ttlSeconds", DEFAULT_HOLD_SECONDS)
        if isinstance(seconds, float) and seconds.is_integer():
            seconds = int(seconds)  # JSON Schema's integer includes 600.0
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 60 <= seconds <= 86_400:
            problems["ttlSeconds"] = "must be a whole number 60..86400"
        _raise_if(problems)
        hold = self.engine.hold(
            site_id,
            service_id=body["serviceId"],
            date=body["date"],
            start_time=body["startTime"],
            staff_id=body.get("staffId"),
            branch_id=body.get("branchId"),
            ttl=timedelta(seconds=seconds),
        )
        return _Answer(201, {"data": hold_json(hold)}, [])

    def _set_busy(
        self,
        environ: Environ,
        site_id: str,
        staff_id: str,
        source: str,
        body: dict[str, Any],
    ) -> _Answer:
        _, problems = _query(environ, required=(), optional=())
        problems.update(_fields(body, required=("spans",), optional=()))
        raw = body.get("spans")
        pairs: list[tuple[object, object]] = []
        if "spans" in problems:
            pass
        elif not isinstance(raw, list):
            problems["spans"] = "must be a list"
        elif len(raw) > MAX_BUSY_SPANS:
            problems["spans"] = f"at most {MAX_BUSY_SPANS} spans"
        else:
            for i, item in enumerate(raw):
                path = f"spans[{i}]"
                if not isinstance(item, dict):
                    problems[path] = "must be an object with start and end"
                    continue
                for k in sorted(set(item) - {"start", "end"}):
                    problems[f"{path}.{k}"] = "unknown field"
                for k in sorted({"start", "end"} - set(item)):
                    problems[f"{path}.{k}"] = "is required"
                pairs.append((item.get("start"), item.get("end")))
                if (
                    len(problems) >= 20
                ):  # enough to fix a generator; a 10,000-line error helps nobody
                    break
        _raise_if(problems)
        stored = self.engine.set_busy(site_id, staff_id, source, pairs)
        spans = [{"start": instant_text(a), "end": instant_text(b)} for a, b in stored]
        return _Answer(200, {"data": {"staffId": staff_id, "source": source, "spans": spans}}, [])

    def _set_status(
        self, environ: Environ, site_id: str, booking_id: str, body: dict[str, Any]
    ) -> _Answer:
        _, problems = _query(environ, required=(), optional=())
        problems.update(_fields(body, required=("status",), optional=()))
        _check(problems, body, "status", parse_status)
        _raise_if(problems)
        booking = self.engine.set_status(site_id, booking_id, body["status"])
        return _Answer(200, {"data": booking_json(booking)}, [])

    def _calendar(self, environ: Environ, site_id: str, booking_id: str | None) -> _Answer:
        """Bookings as an iCalendar feed. Calendar apps that subscribe to a URL cannot send
        headers, so these two routes also take the key as `?key=` (the header wins)."""
        header_key = environ.get("HTTP_X_API_KEY")
        query_key = _query_key(environ)
        self._authorize(environ, site_id, str(header_key) if header_key else query_key)
        if booking_id is None:
            q, problems = _query(environ, required=(), optional=("status", "date", "key"))
            _check(problems, q, "status", parse_status)
            _check(problems, q, "date", lambda text: as_date(text, "date"))
            _raise_if(problems)
            bookings = self._all_bookings(site_id, status=q.get("status"), date=q.get("date"))
        else:
            _, problems = _query(environ, required=(), optional=("key",))
            _raise_if(problems)
            bookings = [self.engine.get_booking(site_id, booking_id)]
        try:
            payload = bookings_to_ics(bookings, self.engine.catalog)
        except ModuleNotFoundError as exc:
            raise InternalError(str(exc)) from None  # the message names the missing extra
        return _Answer(200, {}, [], raw=("text/calendar; charset=utf-8", payload))

    def _all_bookings(self, site_id: str, *, status: str | None, date: str | None) -> list[Any]:
        """Every booking matching the list's filters, in the list's order, page by page."""
        found: list[Any] = []
        cursor: str | None = None
        while True:
            page = self.engine.list_bookings(
                site_id, limit=CALENDAR_PAGE, cursor=cursor, status=status, date=date
            )
            found.extend(page.items)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    # -- sending -----------------------------------------------------------------------------

    def _meta(self, request_id: str) -> dict[str, str]:
        try:
            moment = self.engine.now()
        except Exception:  # a broken clock must not also break the error envelope
            error_log.exception("the engine's clock failed")
            moment = datetime.now(UTC)
        return {"requestId": request_id, "timestamp": utc_text(moment)}

    def _send(
        self,
        start_response: StartResponse,
        request_id: str,
        answer: _Answer,
        began: float,
        method: str,
        path: str,
    ) -> list[bytes]:
        if answer.status == 204:
            start_response(
                _status_line(204),
                [("X-Request-Id", request_id), ("Cache-Control", "no-store"), *answer.headers],
            )
            _log_access(method, path, 204, began, request_id)
            return []
        if answer.raw is not None:
            content_type, payload = answer.raw
            start_response(
                _status_line(answer.status),
                [
                    ("Content-Type", content_type),
                    ("Content-Length", str(len(payload))),
                    ("X-Request-Id", request_id),
                    ("Cache-Control", "no-store"),
                    *answer.headers,
                ],
            )
            _log_access(method, path, answer.status, began, request_id)
            return [payload]
        body = dict(answer.body)
        body["meta"] = self._meta(request_id)
        if answer.data_text is not None:
            # What `json.dumps({"data": ..., "meta": ...})` writes, the data already encoded.
            meta = json.dumps(body["meta"], ensure_ascii=False)
            text = f'{{"data": {answer.data_text}, "meta": {meta}}}'
            try:
                payload = text.encode("utf-8")
            except UnicodeEncodeError:  # an unpaired surrogate in a catalog id
                payload = json.dumps(json.loads(text)).encode("ascii")
        else:
            try:
                payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:  # an unpaired surrogate echoed from the request
                payload = json.dumps(body).encode("ascii")
        headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            ("X-Request-Id", request_id),
            ("Cache-Control", "no-store"),
            *answer.headers,
        ]
        start_response(_status_line(answer.status), headers)
        _log_access(method, path, answer.status, began, request_id)
        return [payload]

    def _send_raw(
        self,
        start_response: StartResponse,
        request_id: str,
        payload: bytes,
        began: float,
        method: str,
        path: str,
    ) -> list[bytes]:
        start_response(
            _status_line(200),
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(payload))),
                ("X-Request-Id", request_id),
            ],
        )
        _log_access(method, path, 200, began, request_id)
        return [payload]


def _read_body(stream: Any, size: int) -> bytes:
    """Up to `size` bytes of the request body; a failed read is the client's error, not ours.

    Servers raise their own exceptions here (gunicorn's for bad chunking, a socket timeout
    for a client that stops sending), so every failure of the read becomes a 4xx.
    """
    try:
        data = stream.read(size)
    except TimeoutError:
        raise RequestTimeout("the request body did not arrive in time") from None
    except Exception as exc:
        raise ValidationError(
            f"the request body could not be read ({type(exc).__name__})", {"fields": ["body"]}
        ) from None
    if not isinstance(data, bytes):
        raise ValidationError("the request body could not be read", {"fields": ["body"]})
    return data


def _error_response(exc: BookingError) -> _Answer:
    """The one mapping from a `BookingError` to an HTTP answer, from the error's own fields."""
    headers: list[tuple[str, str]] = []
    details = dict(exc.details)
    if exc.http_status == 405:
        headers.append(("Allow", ", ".join(details.get("allow", []))))
    if exc.http_status == 503:
        headers.append(("Retry-After", str(details.get("retryAfterSeconds", 1))))
    body = {"error": {"code": exc.code, "message": exc.message, "details": details}}
    return _Answer(exc.http_status, body, headers)


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def _log_access(method: str, path: str, status: int, began: float, request_id: str) -> None:
    elapsed = (time.perf_counter() - began) * 1000
    access_log.info("%s %s %d %.1fms %s", method, path, status, elapsed, request_id)


def _path(environ: Environ) -> str:
    raw = str(environ.get("PATH_INFO", "") or "/")
    # WSGI hands PATH_INFO as latin-1 decoded bytes; read it back as UTF-8.
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def _route(path: str) -> tuple[str, frozenset[str], tuple[str, ...]] | None:
    for name, pattern, methods in (
        ("calendar", _BOOKINGS_ICS, frozenset({"GET"})),
        ("booking_calendar", _BOOKING_ICS, frozenset({"GET"})),
        ("slots", _SLOTS, frozenset({"GET"})),
        ("bookings", _BOOKINGS, frozenset({"GET", "POST"})),
        ("status", _STATUS, frozenset({"PATCH"})),
        ("booking", _BOOKING, frozenset({"PATCH"})),
        ("holds", _HOLDS, frozenset({"POST"})),
        ("hold", _HOLD, frozenset({"DELETE"})),
        ("busy", _BUSY, frozenset({"PUT"})),
    ):
        match = pattern.fullmatch(path)
        if match:
            return name, methods, match.groups()
    return None


def _query_key(environ: Environ) -> str | None:
    """The `key` query parameter, if given once and not empty (`_query` reports the rest)."""
    try:
        pairs = parse_qsl(str(environ.get("QUERY_STRING", "")), errors="strict")
    except (ValueError, UnicodeDecodeError):
        return None
    keys = [value for name, value in pairs if name == "key"]
    return keys[0] if len(keys) == 1 and keys[0] else None


def _query(
    environ: Environ, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, str]]:
    """Query parameters and their problems: unknown, repeated, missing or empty ones."""
    text = str(environ.get("QUERY_STRING", ""))
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return {}, {"query": "the query string is malformed"}
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    allowed = set(required) | set(optional)
    for name, value in pairs:
        if name not in allowed:
            problems[name] = "unknown parameter"
        elif name in values:
            problems[name] = "given more than once"
        elif value == "" and name != "cursor":
            problems[name] = "must not be empty"
        values.setdefault(name, value)
    for name in required:
        if name not in values:
            problems[name] = "is required"
    return values, problems


def _fields(
    body: Mapping[str, Any], *, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, str]:
    """Problems of a body's shape: unknown fields and missing required ones."""
    problems: dict[str, str] = {}
    allowed = set(required) | set(optional)
    for name in body:
        if name not in allowed:
            problems[name] = "unknown field"
    for name in required:
        if body.get(name) is None:
            problems[name] = "is required"
    return problems


def _check(
    problems: dict[str, str], values: Mapping[str, Any], name: str, read: Callable[[Any], Any]
) -> None:
    """Add what `read` finds wrong with `values[name]`, unless it is absent or already named."""
    if name in values and name not in problems and values[name] is not None:
        try:
            read(values[name])
        except ValidationError as exc:
            problems.update(exc.problem_map())


def _raise_if(problems: Mapping[str, str]) -> None:
    """One `validation_error` naming every problem found, if there are any."""
    if problems:
        raise ValidationError.of(problems)


def _texts(problems: dict[str, str], body: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """Fields that, when present and not already named, must be non-empty strings."""
    for name in names:
        if name in body and name not in problems:
            if not isinstance(body[name], str):
                problems[name] = "must be a string"
            elif not body[name]:
                problems[name] = "must not be empty"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A strict JSON object: no NaN/Infinity, no duplicate keys, no huge or infinite numbers."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise ValidationError("the JSON body is nested too deeply", {"fields": ["body"]}) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"the body is not valid JSON: {exc}", {"fields": ["body"]}) from None
    if not isinstance(value, dict):
        raise ValidationError("the body must be a JSON object", {"fields": ["body"]})
    return value


def create_app(
    catalog_path: str | None = None,
    db_path: str | None = None,
    *,
    store_url: str | None = None,
) -> BookingAPI:
    """An app for WSGI servers such as gunicorn: `gunicorn 'optimo_booking.api:create_app()'`.

    The store is `store_url` (a path, `sqlite:///path` or `postgresql://...`), else
    `db_path` (an SQLite file), else `OPTIMO_STORE`, else `OPTIMO_DB`, else
    `bookings.sqlite3`. The catalog is `catalog_path`, else `OPTIMO_CATALOG`, else the demo.
    """
    catalog_path = catalog_path or os.environ.get("OPTIMO_CATALOG")
    url = (
        store_url
        or db_path
        or os.environ.get("OPTIMO_STORE")
        or os.environ.get("OPTIMO_DB", "bookings.sqlite3")
    )
    catalog = load_catalog(catalog_path) if catalog_path else demo_catalog()
    return BookingAPI(Engine(catalog, store=store_from_url(url)))
