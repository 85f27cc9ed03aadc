"""The JSON shapes of the HTTP contract, shared by the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .values import Booking, Hold, Slot


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


def slots_json_text(slots: Sequence[Slot]) -> str:
    """The JSON text of `[slot_json(s) for s in slots]`, as `json.dumps(..., ensure_ascii=False)`
    writes it, byte for byte, at a fraction of the cost.

    Staff with the same rules share their slots' datetime objects (see `generate_slots`), so
    each distinct datetime is formatted once, looked up by identity (the list keeps every one
    alive while this runs); staff ids and reasons are encoded once each.
    """
    times: dict[int, str] = {}
    words: dict[str | None, str] = {None: "null"}
    parts: list[str] = []
    add = parts.append
    for slot in slots:
        start, end = slot.start, slot.end
        start_text = times.get(id(start))
        if start_text is None:
            start_text = times[id(start)] = start.isoformat(timespec="seconds")
        end_text = times.get(id(end))
        if end_text is None:
            end_text = times[id(end)] = end.isoformat(timespec="seconds")
        staff = words.get(slot.staff_id)
        if staff is None:
            staff = words[slot.staff_id] = json.dumps(slot.staff_id, ensure_ascii=False)
        reason = words.get(slot.reason)
        if reason is None:
            reason = words[slot.reason] = json.dumps(slot.reason, ensure_ascii=False)
        add(
            f'{{"startTime": "{start_text}", "endTime": "{end_text}", '
            f'"available": {"true" if slot.available else "false"}, '
            f'"staffId": {staff}, "reason": {reason}}}'
        )
    return "[" + ", ".join(parts) + "]"


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


def hold_json(hold: Hold) -> dict[str, Any]:
    """A hold as the API shows it; `expiresAt` is a clock instant, in UTC like `createdAt`."""
    return {
        "id": hold.id,
        "serviceId": hold.service_id,
        "staffId": hold.staff_id,
        "branchId": hold.branch_id,
        "date": hold.date.isoformat(),
        "startTime": instant_text(hold.start),
        "endTime": instant_text(hold.end),
        "expiresAt": utc_text(hold.expires_at),
    }
