"""The booking status lifecycle as a literal table, applied by one small function.

`TRANSITIONS[current][target]` is the time rule a move must satisfy; a final status maps to
`{}`. A move missing from the table, or failing its time rule, is `InvalidTransition`
naming `from`, `to` and the statuses `allowed` at that moment.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from .errors import InvalidTransition, ValidationError
from .values import Status


class TimeRule(enum.StrEnum):
    """When, relative to the booking, a move may happen."""

    ANY_TIME = "any time"
    BEFORE_END = "before the booking ends (now < end)"
    AFTER_START = "once the booking has started (now >= start)"


TRANSITIONS: Final[Mapping[Status, Mapping[Status, TimeRule]]] = {
    Status.PENDING: {
        Status.CONFIRMED: TimeRule.BEFORE_END,
        Status.CANCELLED: TimeRule.ANY_TIME,
    },
    Status.CONFIRMED: {
        Status.COMPLETED: TimeRule.AFTER_START,
        Status.CANCELLED: TimeRule.BEFORE_END,
        Status.NO_SHOW: TimeRule.AFTER_START,
    },
    Status.CANCELLED: {},
    Status.COMPLETED: {},
    Status.NO_SHOW: {},
}


def parse_status(value: object) -> Status:
    """A status from its string; anything but the five known names is `validation_error`."""
    for status in Status:
        if value == status.value:
            return status
    known = ", ".join(s.value for s in Status)
    raise ValidationError.of({"status": f"{value!r} is not one of {known}"})


def _rule_holds(rule: TimeRule, now: int, start: int, end: int) -> bool:
    if rule is TimeRule.BEFORE_END:
        return now < end
    if rule is TimeRule.AFTER_START:
        return now >= start
    return True


def allowed_moves(current: Status, now: int, start: int, end: int) -> list[Status]:
    """Statuses the booking may move to at `now`, in table order."""
    return [
        target
        for target, rule in TRANSITIONS[current].items()
        if _rule_holds(rule, now, start, end)
    ]


def next_status(current: Status, target: Status, *, now: int, start: int, end: int) -> Status:
    """The status after asking to move `current` to `target` at `now` (UTC seconds).

    The same status again is a no-op success. Anything the table or its time rule refuses
    raises `InvalidTransition`.
    """
    if target is current:
        return current
    rule = TRANSITIONS[current].get(target)
    if rule is not None and _rule_holds(rule, now, start, end):
        return target
    allowed = [s.value for s in allowed_moves(current, now, start, end)]
    details: dict[str, object] = {"from": current.value, "to": target.value, "allowed": allowed}
    if rule is None:
        why = "is final" if not TRANSITIONS[current] else f"cannot become {target.value}"
        message = f"a {current.value} booking {why}"
    else:
        details["rule"] = rule.value
        message = f"{current.value} -> {target.value} is allowed only {rule.value}"
    raise InvalidTransition(message, details)


def transition_table_markdown() -> str:
    """The lifecycle as a Markdown table, generated from `TRANSITIONS` for the docs."""
    rows = ["| from | to | when |", "|---|---|---|"]
    for current, moves in TRANSITIONS.items():
        if not moves:
            rows.append(f"| `{current.value}` | (final) | |")
        for target, rule in moves.items():
            rows.append(f"| `{current.value}` | `{target.value}` | {rule.value} |")
    return "\n".join(rows)
