"""The OpenAPI 3.1 document of the HTTP API, shipped as the data file `openapi.json`.

It describes exactly what `optimo_booking.api.BookingAPI` does: parameters, bodies, every
status and the error envelope. It is served at `GET /v1/openapi.json` without a key; a test
validates it against the OpenAPI 3.1 schema and checks it against the code's enums.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib.resources import files
from typing import Any

__all__ = ["openapi_bytes", "openapi_document"]


@functools.cache
def openapi_bytes() -> bytes:
    """The shipped document, byte for byte, as the API serves it."""
    return files("optimo_booking").joinpath("openapi.json").read_bytes()


@functools.cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(openapi_bytes())
    return document


def openapi_document() -> dict[str, Any]:
    """The document as a fresh dict (a copy: callers may change theirs freely)."""
    return copy.deepcopy(_document())
