"""One error base, `BookingError`; each leaf carries its stable API `code` and an HTTP status hint.

Callers map errors through these two attributes, never through an `isinstance` ladder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class BookingError(Exception):
    """Base of every error the engine raises on purpose; `code` is the API's error code."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class ValidationError(BookingError):
    """A parameter, body field or catalog field is missing or malformed.

    `details.fields` names the fields and `details.problems` lists each as `{field,
    message}`, so a request with four bad fields hears about all four at once.
    """

    code = "validation_error"
    http_status = 400

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details)
        problems = self.details.get("problems")
        if isinstance(problems, Mapping):
            self.details["problems"] = [
                {"field": name, "message": text} for name, text in problems.items()
            ]
        elif problems is None and "fields" in self.details:
            self.details["problems"] = [
                {"field": name, "message": message} for name in self.details["fields"]
            ]

    @classmethod
    def of(cls, problems: Mapping[str, str]) -> ValidationError:
        """One error naming every `field -> message` of `problems`, fields in sorted order."""
        fields = sorted(problems)
        message = "; ".join(f"{name}: {problems[name]}" for name in fields)
        return cls(message, {"fields": fields, "problems": {f: problems[f] for f in fields}})

    def problem_map(self) -> dict[str, str]:
        """`field -> message` of every problem, to merge with problems found elsewhere."""
        found: dict[str, str] = {}
        for item in self.details.get("problems", []):
            if isinstance(item, Mapping) and "field" in item:
                found[str(item["field"])] = str(item["message"])
        return found


class CatalogError(ValidationError):
    """A catalog failed validation; `problems` lists every `(path, message)` found."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"{path}: {message}" if path else message for path, message in problems]
        noun = "problem" if len(lines) == 1 else "problems"
        super().__init__(
            f"catalog has {len(lines)} {noun}:\n" + "\n".join(lines),
            {"problems": [{"path": p, "message": m} for p, m in problems]},
        )


class InvalidCursor(BookingError):
    """A pagination cursor was altered or belongs to other filters."""

    code = "invalid_cursor"
    http_status = 400


class Unauthorized(BookingError):
    """No API key, or a key that no site knows."""

    code = "unauthorized"
    http_status = 401


class Forbidden(BookingError):
    """A valid API key of another site."""

    code = "forbidden"
    http_status = 403


class NotFound(BookingError):
    """Unknown site, service, staff, branch, booking or route."""

    code = "not_found"
    http_status = 404


class MethodNotAllowed(BookingError):
    """The route exists but not with this method; `details["allow"]` lists the methods."""

    code = "method_not_allowed"
    http_status = 405


class SlotUnavailable(BookingError):
    """The requested start is not an available slot; `details["reason"]` says why."""

    code = "slot_unavailable"
    http_status = 409


class TooLate(BookingError):
    """A reschedule or cancellation after the service's change cut-off; `details["deadline"]`."""

    code = "too_late"
    http_status = 409


class HoldExpired(BookingError):
    """A hold that expired, was released or was already turned into a booking."""

    code = "hold_expired"
    http_status = 409


class InvalidTransition(BookingError):
    """A status change the lifecycle table does not allow."""

    code = "invalid_transition"
    http_status = 409


class RequestTimeout(BookingError):
    """The client stopped sending its request body before the server's read timeout."""

    code = "request_timeout"
    http_status = 408


class PayloadTooLarge(BookingError):
    """A request body over the size limit."""

    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(BookingError):
    """A request body that is not `application/json`."""

    code = "unsupported_media_type"
    http_status = 415


class IdempotencyKeyReused(BookingError):
    """The same idempotency key was sent with a different request."""

    code = "idempotency_key_reused"
    http_status = 422


class StorageBusy(BookingError):
    """The store could not take its write lock in time; safe to retry."""

    code = "storage_busy"
    http_status = 503


class InternalError(BookingError):
    """Something unexpected; the message never carries a traceback."""

    code = "internal_error"
    http_status = 500
