"""Call the engine from async code: a FastAPI app whose endpoints run it in a thread pool.

    pip install optimo-booking fastapi uvicorn
    uvicorn --app-dir examples fastapi_app:app

The engine is synchronous (its SQLite store blocks on disk and on its write lock), so
async endpoints hand each call to a worker thread with `run_in_threadpool` and never
block the event loop. `BookingError`s become JSON answers from their own `code` and
`http_status`, the same mapping the bundled WSGI app uses.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from optimo_booking import BookingError, Engine, SQLiteStore, load_catalog
from optimo_booking.wire import booking_json, slot_json

CATALOG = Path(__file__).with_name("site.json")
SITE = "lindenhof-salon"


class NewBooking(BaseModel):
    """The body of a booking request (the engine validates the values themselves)."""

    service_id: str = Field(alias="serviceId")
    date: str
    start_time: str = Field(alias="startTime")
    customer: dict[str, Any]
    staff_id: str | None = Field(default=None, alias="staffId")
    notes: str | None = None


def make_app(engine: Engine | None = None) -> FastAPI:
    """A FastAPI app serving slots and bookings of the example salon."""
    if engine is None:
        store = SQLiteStore(os.environ.get("OPTIMO_DB", "bookings.sqlite3"))
        engine = Engine(load_catalog(CATALOG), store=store)
    app = FastAPI(title="Salon Lindenhof bookings")

    @app.exception_handler(BookingError)
    async def booking_error(request: Request, exc: BookingError) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        return JSONResponse(body, status_code=exc.http_status)

    @app.get("/slots/{service_id}/{day}")
    async def slots(service_id: str, day: date, staff_id: str | None = None) -> list[Any]:
        found = await run_in_threadpool(engine.slots, SITE, service_id, day, staff_id=staff_id)
        return [slot_json(s) for s in found if s.available]

    @app.post("/bookings", status_code=201)
    async def book(request: NewBooking) -> dict[str, Any]:
        booking = await run_in_threadpool(
            lambda: engine.create_booking(
                SITE,
                service_id=request.service_id,
                date=request.date,
                start_time=request.start_time,
                customer=request.customer,
                staff_id=request.staff_id,
                notes=request.notes,
            )
        )
        return booking_json(booking)

    return app


app = make_app()  # for `uvicorn fastapi_app:app`; bookings in $OPTIMO_DB (bookings.sqlite3)
