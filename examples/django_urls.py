"""Route /api/... of a Django project to the booking API: add these `urlpatterns` to yours.

    pip install optimo-booking django

A Django view hands the request to the API's WSGI callable as a WSGI environ (Django's
`request.META` already is one) and turns the WSGI answer back into an `HttpResponse`.
Keys, errors and JSON are the API's own, exactly as over `optimo-booking serve`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from optimo_booking import Engine, SQLiteStore, load_catalog
from optimo_booking.api import BookingAPI

CATALOG = Path(__file__).with_name("site.json")
_api: BookingAPI | None = None


def booking_api() -> BookingAPI:
    """The one API object of this process, built on first use (after settings are loaded)."""
    global _api  # noqa: PLW0603 - one engine per process, like Django's own connections
    if _api is None:
        store = SQLiteStore(os.environ.get("OPTIMO_DB", "bookings.sqlite3"))
        _api = BookingAPI(Engine(load_catalog(CATALOG), store=store))
    return _api


@csrf_exempt  # API clients authenticate with X-Api-Key, not with a session cookie
def mounted_api(request: HttpRequest, path: str) -> HttpResponse:
    """Call the WSGI app with this request; `path` is what follows /api."""
    environ: dict[str, Any] = dict(request.META)
    environ["SCRIPT_NAME"] = request.META.get("SCRIPT_NAME", "") + "/api"
    environ["PATH_INFO"] = "/" + path
    environ["wsgi.input"] = io.BytesIO(request.body)
    environ["CONTENT_LENGTH"] = str(len(request.body))
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        answer["status"], answer["headers"] = status, headers

    chunks: Iterable[bytes] = booking_api()(environ, start_response)
    response = HttpResponse(b"".join(chunks), status=int(answer["status"].split()[0]))
    for name, value in answer["headers"]:
        response[name] = value
    return response


urlpatterns = [re_path(r"^api/(?P<path>v1/.*)$", mounted_api)]
