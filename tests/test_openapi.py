"""The shipped OpenAPI document: a valid OpenAPI 3.1 file that agrees with the code."""

from __future__ import annotations

import json
from importlib.resources import files

from openapi_spec_validator import validate

from optimo_booking import errors
from optimo_booking.openapi import openapi_bytes, openapi_document
from optimo_booking.values import Status


def test_the_document_is_a_data_file_of_the_package() -> None:
    shipped = files("optimo_booking").joinpath("openapi.json").read_bytes()
    assert openapi_bytes() == shipped
    assert json.loads(shipped)["openapi"] == "3.1.0"


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(openapi_document())  # raises with the offending path on any error


def test_callers_get_their_own_copy() -> None:
    first = openapi_document()
    first["paths"].clear()
    assert openapi_document()["paths"]


def _leaf_errors() -> set[type[errors.BookingError]]:
    found: set[type[errors.BookingError]] = set()
    todo = [errors.BookingError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_code_and_status_is_documented() -> None:
    doc = openapi_document()
    envelope = doc["components"]["schemas"]["ErrorEnvelope"]
    documented_codes = set(envelope["properties"]["error"]["properties"]["code"]["enum"])
    assert documented_codes == {cls.code for cls in _leaf_errors()}
    statuses = {
        int(status)
        for path in doc["paths"].values()
        for operation in path.values()
        for status in operation["responses"]
    }
    assert {cls.http_status for cls in _leaf_errors()} <= statuses


def test_status_enums_follow_the_lifecycle() -> None:
    schemas = openapi_document()["components"]["schemas"]
    values = [s.value for s in Status]
    assert schemas["Booking"]["properties"]["status"]["enum"] == values
    assert schemas["StatusChange"]["properties"]["status"]["enum"] == values
