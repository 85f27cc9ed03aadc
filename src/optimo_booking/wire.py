"""The JSON shapes of the HTTP contract, shared by the API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .values import Booking, Slot


def instant_text(moment: datetime) -> str:
    """ISO 8601 with the local offset, to the second: `2026-03-29T03:00:00+02:00`."""
    return moment.isoformat(timespec="seconds")


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with `Z`: `2026-03-29T01:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_json(slot: Slot) -> dict[str, Any]:
    """A slot as the API shows it."""
    return {
        "startTime": instant_text(slot.start),
        "endTime": instant_text(slot.end),
        "available": slot.available,
        "staffId": slot.staff_id,
        "reason": slot.reason,
    }


def booking_json(booking: Booking) -> dict[str, Any]:
    """A booking as the API shows it."""
    return {
        "id": booking.id,
        "status": str(booking.status),
        "date": booking.date.isoformat(),
        "startTime": instant_text(booking.start),
        "endTime": instant_text(booking.end),
        "serviceId": booking.service_id,
        "staffId": booking.staff_id,
        "branchId": booking.branch_id,
        "customer": dict(booking.customer),
        "notes": booking.notes,
        "createdAt": utc_text(booking.created_at),
        "updatedAt": utc_text(booking.updated_at),
    }
