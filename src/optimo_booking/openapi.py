"""The OpenAPI 3.1 document of the HTTP API, built here so it ships inside the package.

It describes exactly what `optimo_booking.api.BookingAPI` does: parameters, bodies, every
status and the error envelope. It is served at `GET /v1/openapi.json` without a key.
"""

from __future__ import annotations

from typing import Any

from .values import Status

# Years 1900-2999 (the engine's range), months and days in range; `format: date` says the
# rest (no 30 February).
_YEAR_MONTH_DAY = "(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = f"^{_YEAR_MONTH_DAY}$"
DATE_SCHEMA = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
# "HH:MM" 00:00..23:59, or ISO 8601 with an offset, every field in range.
START_PATTERN = (
    "^(([01][0-9]|2[0-3]):[0-5][0-9]"
    f"|{_YEAR_MONTH_DAY}"
    "T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))$"
)
# Python's white space (what `str.isspace` and `str.strip` use), as an ECMA-262 class:
# JSON Schema's own `\s` differs (it lacks U+001C-U+001F and U+0085, and has U+FEFF).
PY_SPACE = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

_ERRORS = {
    400: "validation_error or invalid_cursor: a parameter or field is missing or malformed",
    401: "unauthorized: no X-Api-Key, or an unknown key",
    403: "forbidden: a valid key of another site (or of no site by that id)",
    404: "not_found: unknown site, service, staff, branch, booking or route",
    405: "method_not_allowed, with an Allow header",
    409: "slot_unavailable (details.reason) or invalid_transition (details.from, to, allowed)",
    408: "request_timeout: the body did not arrive before the server's read deadline",
    413: "payload_too_large: a body over 64 KiB",
    415: "unsupported_media_type: a body that is not application/json",
    422: "idempotency_key_reused: the same Idempotency-Key with another body",
    500: "internal_error: never with a traceback",
    503: "storage_busy: the store's lock was not free in time; retry after Retry-After",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    if status == 405:
        headers["Allow"] = {"schema": {"type": "string"}}
    if status == 503:
        headers["Retry-After"] = {"schema": {"type": "string"}}
    return {
        "description": _ERRORS[status],
        "headers": headers,
        "content": {"application/json": {"schema": _ref("ErrorEnvelope")}},
    }


def _ok(description: str, schema: dict[str, Any], **headers: Any) -> dict[str, Any]:
    all_headers = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}, **headers}
    return {
        "description": description,
        "headers": all_headers,
        "content": {"application/json": {"schema": schema}},
    }


def _param(
    name: str, where: str, schema: dict[str, Any], required: bool, about: str
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": about}


def _envelope(data: dict[str, Any], *, paginated: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {"data": data, "meta": _ref("Meta")}
    required = ["data", "meta"]
    if paginated:
        properties["pagination"] = _ref("Pagination")
        required.append("pagination")
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document as a dict."""
    site = _param("siteId", "path", {"type": "string"}, True, "the site's id")
    authed_errors = {str(code): _error(code) for code in (400, 401, 403, 404, 405, 500, 503)}
    body_errors = {str(code): _error(code) for code in (408, 409, 413, 415)}
    statuses = [s.value for s in Status]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "optimo-booking",
            "version": "1",
            "description": "Appointment booking: slots, bookings, and booking status.",
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKeyAuth": []}],
        "paths": {
            "/v1/sites/{siteId}/booking/slots": {
                "get": {
                    "operationId": "listSlots",
                    "summary": "Slots of a service on a local date, available or not",
                    "parameters": [
                        site,
                        _param(
                            "serviceId",
                            "query",
                            {"type": "string", "minLength": 1},
                            True,
                            "service",
                        ),
                        _param(
                            "date",
                            "query",
                            DATE_SCHEMA,
                            True,
                            "YYYY-MM-DD",
                        ),
                        _param(
                            "staffId",
                            "query",
                            {"type": "string", "minLength": 1},
                            False,
                            "one staff member",
                        ),
                        _param(
                            "branchId",
                            "query",
                            {"type": "string", "minLength": 1},
                            False,
                            "one branch",
                        ),
                    ],
                    "responses": {
                        "200": _ok(
                            "the slots, by start then staff",
                            _envelope({"type": "array", "items": _ref("Slot")}),
                        ),
                        **authed_errors,
                    },
                }
            },
            "/v1/sites/{siteId}/booking/bookings": {
                "get": {
                    "operationId": "listBookings",
                    "summary": "The site's bookings by start then id, a page at a time",
                    "parameters": [
                        site,
                        _param(
                            "limit",
                            "query",
                            {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                            False,
                            "page size",
                        ),
                        _param(
                            "cursor",
                            "query",
                            {"type": "string"},
                            False,
                            "nextCursor of the page before",
                        ),
                        _param(
                            "status",
                            "query",
                            {"type": "string", "enum": statuses},
                            False,
                            "only this status",
                        ),
                        _param(
                            "date",
                            "query",
                            DATE_SCHEMA,
                            False,
                            "local date of the start",
                        ),
                    ],
                    "responses": {
                        "200": _ok(
                            "a page of bookings",
                            _envelope({"type": "array", "items": _ref("Booking")}, paginated=True),
                        ),
                        **authed_errors,
                    },
                },
                "post": {
                    "operationId": "createBooking",
                    "summary": "Book a slot",
                    "parameters": [
                        site,
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                            "description": "repeat-safe retries: the same key and body return the first booking",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("CreateBooking")}},
                    },
                    "responses": {
                        "201": _ok("the new booking", _envelope(_ref("Booking"))),
                        "200": _ok(
                            "a replay: the booking first created with this Idempotency-Key",
                            _envelope(_ref("Booking")),
                            **{
                                "Idempotent-Replayed": {
                                    "schema": {"type": "string", "enum": ["true"]}
                                }
                            },
                        ),
                        **authed_errors,
                        **body_errors,
                        "422": _error(422),
                    },
                },
            },
            "/v1/sites/{siteId}/booking/bookings/{id}/status": {
                "patch": {
                    "operationId": "setBookingStatus",
                    "summary": "Move a booking through its status lifecycle",
                    "parameters": [
                        site,
                        _param("id", "path", {"type": "string"}, True, "booking id"),
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("StatusChange")}},
                    },
                    "responses": {
                        "200": _ok("the booking after the change", _envelope(_ref("Booking"))),
                        **authed_errors,
                        **body_errors,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "ApiKeyAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Api-Key",
                    "description": "API key obtained from the CMS dashboard.",
                }
            },
            "headers": {
                "X-Request-Id": {
                    "description": "equal to meta.requestId",
                    "schema": {"type": "string"},
                }
            },
            "schemas": {
                "Meta": {
                    "type": "object",
                    "required": ["requestId", "timestamp"],
                    "properties": {
                        "requestId": {"type": "string"},
                        "timestamp": {
                            "type": "string",
                            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                        },
                    },
                    "additionalProperties": False,
                },
                "Pagination": {
                    "type": "object",
                    "required": ["total", "limit", "nextCursor"],
                    "properties": {
                        "total": {"type": "integer", "minimum": 0},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                        "nextCursor": {"type": ["string", "null"]},
                    },
                    "additionalProperties": False,
                },
                "ErrorEnvelope": {
                    "type": "object",
                    "required": ["error", "meta"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "details"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "object"},
                            },
                            "additionalProperties": False,
                        },
                        "meta": _ref("Meta"),
                    },
                    "additionalProperties": False,
                },
                "Slot": {
                    "type": "object",
                    "required": ["startTime", "endTime", "available", "staffId", "reason"],
                    "properties": {
                        "startTime": {
                            "type": "string",
                            "description": "ISO 8601 with the local offset",
                        },
                        "endTime": {"type": "string"},
                        "available": {"type": "boolean"},
                        "staffId": {"type": "string"},
                        "reason": {
                            "type": ["string", "null"],
                            "enum": [
                                None,
                                "past",
                                "too_soon",
                                "too_far",
                                "time_off",
                                "full",
                                "booked",
                            ],
                        },
                    },
                    "additionalProperties": False,
                },
                "Customer": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "pattern": f"[^{PY_SPACE}]"},
                        "email": {
                            "type": "string",
                            "pattern": f"^[^@{PY_SPACE}]+@[^@{PY_SPACE}.]+(\\.[^@{PY_SPACE}.]+)+$",
                        },
                    },
                    "description": "any JSON object with a non-blank name; at most 8 levels deep and 4 KiB as compact JSON",
                },
                "Booking": {
                    "type": "object",
                    "required": [
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
                    ],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"type": "string", "enum": statuses},
                        "date": DATE_SCHEMA,
                        "startTime": {"type": "string"},
                        "endTime": {"type": "string"},
                        "serviceId": {"type": "string"},
                        "staffId": {"type": "string"},
                        "branchId": {"type": ["string", "null"]},
                        "customer": {"type": "object"},
                        "notes": {"type": ["string", "null"]},
                        "createdAt": {"type": "string"},
                        "updatedAt": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
                "CreateBooking": {
                    "type": "object",
                    "required": ["serviceId", "date", "startTime", "customer"],
                    "properties": {
                        "serviceId": {"type": "string", "minLength": 1},
                        "date": DATE_SCHEMA,
                        "startTime": {"type": "string", "pattern": START_PATTERN},
                        "customer": _ref("Customer"),
                        "staffId": {"type": "string", "minLength": 1},
                        "branchId": {"type": "string", "minLength": 1},
                        "notes": {"type": ["string", "null"], "maxLength": 2000},
                    },
                    "additionalProperties": False,
                },
                "StatusChange": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": statuses}},
                    "additionalProperties": False,
                },
            },
        },
    }
