"""Schemathesis against the app's own OpenAPI document, in-process over WSGI.

Every operation gets at least 200 generated cases (positive and negative), plus the
stateful phase (create a booking, then change its status through the inferred link).
No answer may be a 5xx, every answer must conform to the document, and data the
document calls invalid must be refused with a 4xx.

The cases come from the document the app serves, exactly as a client would read it.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import (
    ensure_resource_availability,
    positive_data_acceptance,
)

from optimo_booking import MemoryStore
from optimo_booking import engine as engine_module
from test_api_http import DAY, KEY, SITE, check_envelope, make_app

APP = make_app(store=MemoryStore())
_NEW_BOOKING_ID = engine_module.new_booking_id
_NEW_HOLD_ID = engine_module.new_hold_id
MIN_EXAMPLES = 200


def _served_document() -> dict[str, Any]:
    """GET /v1/openapi.json from the app itself."""
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        got["status"] = status

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/v1/openapi.json",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(b""),
    }
    body = b"".join(APP(environ, start_response))
    assert got["status"].startswith("200")
    doc: dict[str, Any] = json.loads(body)
    return doc


def test_the_app_serves_its_openapi_document() -> None:
    from optimo_booking.openapi import openapi_document

    assert _served_document() == json.loads(json.dumps(openapi_document()))


# Values a real client sends, so positive cases reach the engine (bookings get created,
# slots listed, statuses changed) instead of stopping at an unknown service.
_DICTIONARIES = {
    "services": {"values": ["cut", "consult", "class"]},
    "staff": {"values": ["ann", "ben", "cat"]},
    "dates": {"values": [DAY, "2026-03-10", "2026-03-11", "2026-03-02", "2026-04-06"]},
    "times": {"values": ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]},
}
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260309,
        # the key through the document's own security scheme, so the auth checks can drop it
        "auth": {"openapi": {"ApiKeyAuth": {"api_key": KEY}}},
        "parameters": {
            "siteId": SITE,
            "query.serviceId": {"dictionary": "services", "probability": 0.7},
            "query.staffId": {"dictionary": "staff", "probability": 0.5},
            "query.date": {"dictionary": "dates", "probability": 0.5},
            "body.serviceId": {"dictionary": "services", "probability": 0.7},
            "body.staffId": {"dictionary": "staff", "probability": 0.5},
            "body.date": {"dictionary": "dates", "probability": 0.7},
            "body.startTime": {"dictionary": "times", "probability": 0.7},
            "path.staffId": {"dictionary": "staff", "probability": 0.7},
        },
        "dictionaries": _DICTIONARIES,
        "generation": {"max-examples": MIN_EXAMPLES, "mode": "all", "database": "none"},
        "phases": {"stateful": {"max-steps": 20}},
    }
)
schema = schemathesis.openapi.from_dict(_served_document(), config=CONFIG)
schema.app = APP

CASES: Counter[str] = Counter()
STATUSES: Counter[tuple[str, int]] = Counter()
STATEFUL: Counter[tuple[str, int]] = Counter()


# field -> the refusals of schema-valid create bodies that no JSON Schema can express
CROSS_FIELD = {
    "startTime": (
        r"starts on .* not |is not on .* for anyone|does not exist|happens twice"
        r"|is not a date-time"
    ),
    "staffId": r"does not offer",
    "customer": r"is over 4096 bytes of JSON|is nested deeper than 8 levels",
}
# the same rules for the other bodies that name a start; a busy span's end must follow its
# start, and its instants must be real calendar dates in the engine's years
# a booking made from a hold keeps the hold's service, start, staff and branch
FROM_A_HOLD = {
    "serviceId": r"the hold is for",
    "startTime": CROSS_FIELD["startTime"] + r"|the hold starts at",
    "staffId": CROSS_FIELD["staffId"] + r"|the hold is with",
    "branchId": r"the hold is at",
}
CROSS_FIELD_BY_OPERATION = {
    "POST /v1/sites/{siteId}/booking/bookings": CROSS_FIELD | FROM_A_HOLD,
    "POST /v1/sites/{siteId}/booking/holds": CROSS_FIELD,
    "PATCH /v1/sites/{siteId}/booking/bookings/{id}": CROSS_FIELD,
    "PUT /v1/sites/{siteId}/booking/staff/{staffId}/busy/{source}": {
        r"spans\[[0-9]+\](\.start|\.end)?": (
            r"end must be after start|outside the years|must be an ISO 8601 date-time"
        ),
    },
}


def _is_positive(case: schemathesis.Case) -> bool:
    return case.meta is None or case.meta.generation.mode.is_positive


def _excluded_checks(case: schemathesis.Case, response: Any) -> list[Any]:
    """Checks skipped for one case, each for a written reason (asserted in its place)."""
    excluded: list[Any] = []
    body = response.json() if response.status_code >= 400 else {}
    code = body.get("error", {}).get("code")
    if code == "not_found" and not {"bookingId", "holdId", "path"} & set(body["error"]["details"]):
        # A reschedule naming an unknown staff member (or a create naming an unknown service)
        # is 404 about that id, not about the booking or hold the link just created.
        assert set(body["error"]["details"]) <= {"staffId", "serviceId", "branchId"}, body
        excluded.append(ensure_resource_availability)
    if not _is_positive(case):
        return excluded
    if case.operation.label == "GET /v1/sites/{siteId}/booking/bookings" and code == (
        "invalid_cursor"
    ):
        # A cursor is opaque and signed: no schema can tell a forged one from a real one,
        # so a schema-valid cursor string is rightly refused. It must be exactly this error.
        assert (response.status_code, body["error"]["details"]) == (400, {"fields": ["cursor"]})
        assert (case.query or {}).get("cursor")
        excluded.append(positive_data_acceptance)
    rules = CROSS_FIELD_BY_OPERATION.get(case.operation.label)
    if rules is not None and code == "validation_error":
        # Rules no JSON Schema states: the start's local date must be `date`, an "HH:MM"
        # start must exist exactly once on that date (DST), an ISO start must be a real
        # calendar date (02-30), the staff member must offer the service, and the customer
        # is at most 4 KiB of compact JSON; a busy span ends after it starts. Any other
        # refusal still fails the check.
        for item in body["error"]["details"]["problems"]:
            field_name, problem = item["field"], item["message"]
            pattern = next((v for k, v in rules.items() if re.fullmatch(k, field_name)), "(?!)")
            assert re.search(pattern, problem), (field_name, problem)
        excluded.append(positive_data_acceptance)
    if code == "idempotency_key_reused":
        # Depends on what was sent before (like a 409): a generated key that an earlier case
        # already used with another body. The document lists this 422 for the operation.
        assert response.status_code == 422
        assert case.headers and case.headers.get("Idempotency-Key")
        excluded.append(positive_data_acceptance)
    return excluded


def _check(case: schemathesis.Case, response: Any, **validate: Any) -> None:
    assert response.status_code < 500, response.text
    headers = {k.lower(): v[0] if isinstance(v, list) else v for k, v in response.headers.items()}
    if response.status_code == 204:  # a released hold: no body, but still the request id
        assert response.content == b"" and headers["x-request-id"], headers
    elif headers.get("content-type") == "text/calendar; charset=utf-8":
        # the two .ics routes answer a calendar, not a JSON envelope (errors stay envelopes)
        assert response.status_code == 200 and case.operation.path.endswith(".ics")
        assert response.content.startswith(b"BEGIN:VCALENDAR\r\n"), response.content[:80]
        assert response.content.endswith(b"END:VCALENDAR\r\n")
        assert headers["x-request-id"]
    else:
        check_envelope(response.status_code, headers, response.content)
    case.validate_response(response, excluded_checks=_excluded_checks(case, response), **validate)


@schema.parametrize()
def test_every_operation_conforms(case: schemathesis.Case) -> None:
    response = case.call()
    CASES[case.operation.label] += 1
    STATUSES[(case.operation.label, response.status_code)] += 1
    _check(case, response)


class _Workflow(schema.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        # Every scenario starts on an empty store with the same booking ids and cursor key,
        # so a replayed scenario meets exactly the same answers (Hypothesis requires it:
        # links feed values of one answer into the next request).
        store = MemoryStore()
        store._secret = b"contract-test-cursor-key"
        APP.engine.store = store
        numbers = itertools.count(1)
        engine_module.new_booking_id = lambda: f"bk_{next(numbers):020d}"
        holds = itertools.count(1)
        engine_module.new_hold_id = lambda: f"hd_{next(holds):020d}"

    def teardown(self) -> None:
        engine_module.new_booking_id = _NEW_BOOKING_ID
        engine_module.new_hold_id = _NEW_HOLD_ID

    def before_call(self, case: schemathesis.Case) -> None:
        # the stateful phase does not apply `parameters`: keep every step on the keyed site
        if case.path_parameters is not None:
            case.path_parameters["siteId"] = SITE

    def validate_response(
        self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        STATEFUL[(case.operation.label, response.status_code)] += 1
        _check(
            case,
            response,
            additional_checks=additional_checks,
            transport_kwargs=kwargs or None,
            recorder=getattr(self, "recorder", None),
        )


class TestStatefulWorkflow(_Workflow.TestCase):  # type: ignore[name-defined,misc]
    """Create bookings and move them through their lifecycle via the inferred links."""

    settings = hypothesis.settings(
        max_examples=100,
        stateful_step_count=10,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )


def test_every_operation_ran_enough_cases() -> None:
    if not CASES or not STATEFUL:
        pytest.skip("the schemathesis tests did not run in this session")
    assert set(CASES) == {
        "GET /v1/sites/{siteId}/booking/slots",
        "GET /v1/sites/{siteId}/booking/bookings",
        "POST /v1/sites/{siteId}/booking/bookings",
        "PATCH /v1/sites/{siteId}/booking/bookings/{id}/status",
        "PATCH /v1/sites/{siteId}/booking/bookings/{id}",
        "POST /v1/sites/{siteId}/booking/holds",
        "DELETE /v1/sites/{siteId}/booking/holds/{id}",
        "PUT /v1/sites/{siteId}/booking/staff/{staffId}/busy/{source}",
        "GET /v1/sites/{siteId}/booking/bookings.ics",
        "GET /v1/sites/{siteId}/booking/bookings/{id}.ics",
    }
    for label, count in CASES.items():
        assert count >= MIN_EXAMPLES, (label, count)
    # positive data did reach the engine: bookings were created and slots listed
    assert STATUSES[("POST /v1/sites/{siteId}/booking/bookings", 201)] > 0, STATUSES
    assert STATUSES[("GET /v1/sites/{siteId}/booking/slots", 200)] > 0, STATUSES
    assert STATUSES[("POST /v1/sites/{siteId}/booking/holds", 201)] > 0, STATUSES
    assert STATUSES[("PUT /v1/sites/{siteId}/booking/staff/{staffId}/busy/{source}", 200)] > 0
    assert STATUSES[("GET /v1/sites/{siteId}/booking/bookings.ics", 200)] > 0, STATUSES
    # the stateful phase followed a created booking to a status change
    assert STATEFUL[("PATCH /v1/sites/{siteId}/booking/bookings/{id}/status", 200)] > 0, STATEFUL
    # ... and a created hold to its release
    assert STATEFUL[("DELETE /v1/sites/{siteId}/booking/holds/{id}", 204)] > 0, STATEFUL
