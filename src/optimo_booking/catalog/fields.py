"""Readers for the catalog's field types: each checks one raw value and reports what is wrong.

Every reader takes the raw value, its path (`sites[0].staff[1].weeklyHours.mon[0]`) and the
`Problems` of the whole load, and returns the value or a default; it never raises, so one
load reports every problem at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule as _rrule

from ..assignment import DEFAULT_ASSIGNMENT, Assignment
from ..localtime import midnight, parse_date, parse_hhmm, suggest_zone, to_instant, zone
from .values import ID_PATTERN, WEEKDAYS, TimeRange

SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
RRULE_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
RRULE_PARTS = frozenset({
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTH",
    "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS",
})  # fmt: skip


@dataclass(slots=True)
class Problems:
    """Every `(path, message)` found while reading one catalog."""

    found: list[tuple[str, str]] = field(default_factory=list)

    def bad(self, path: str, message: str) -> None:
        """Record one problem at `path`."""
        self.found.append((path, message))


def join(path: str, key: str) -> str:
    """The path of `key` inside the object at `path`."""
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    """How a problem message names a value's JSON type."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, Sequence) else type(value).__name__
    )


def did_you_mean(hint: str | None) -> str:
    """` (did you mean 'x'?)`, or nothing."""
    return f" (did you mean {hint!r}?)" if hint else ""


def closest(word: str, choices: set[str] | frozenset[str]) -> str | None:
    """The choice closest to a misspelt word, if one is close."""
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None


# -- shapes ------------------------------------------------------------------------------


def read_object(
    p: Problems, raw: Any, path: str, required: Sequence[str], optional: Sequence[str]
) -> dict[str, Any]:
    """A dict with the given keys; unknown keys and missing required ones are problems."""
    if not isinstance(raw, Mapping):
        p.bad(path, f"must be an object, not {type_name(raw)}")
        return {}
    allowed = set(required) | set(optional)
    for key in raw:
        if key not in allowed:
            p.bad(join(path, str(key)), "unknown key" + did_you_mean(closest(str(key), allowed)))
    for key in required:
        if key not in raw or raw[key] is None:
            p.bad(join(path, key), "is required")
    return {k: v for k, v in raw.items() if k in allowed}


def read_items(p: Problems, raw: Any, path: str) -> list[tuple[str, Any]]:
    """A list's items with their paths; null is an empty list, anything else a problem."""
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        p.bad(path, f"must be a list, not {type_name(raw)}")
        return []
    return [(f"{path}[{i}]", item) for i, item in enumerate(raw)]


# -- scalars -----------------------------------------------------------------------------


def read_id(p: Problems, raw: Any, path: str) -> str | None:
    """An id: 1 to 64 of letters, digits, '.', '_', '-', starting with a letter or digit."""
    if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw):
        p.bad(path, f"{raw!r} is not an id (letters, digits, '.', '_', '-'; at most 64)")
        return None
    return raw


def read_text(p: Problems, raw: Any, path: str, default: str) -> str:
    """A non-empty string; null gives `default`."""
    if raw is None:
        return default
    if not isinstance(raw, str) or not raw.strip():
        p.bad(path, "must be a non-empty string")
        return default
    return raw


def read_int(p: Problems, raw: Any, path: str, *, low: int, high: int, default: int) -> int:
    """A whole number in `low..high`; null gives `default`."""
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int):
        p.bad(path, f"must be a whole number, not {type_name(raw)}")
        return default
    if not low <= raw <= high:
        p.bad(path, f"{raw} is out of range {low}..{high}")
        return default
    return raw


def read_flag(p: Problems, raw: Any, path: str) -> bool:
    """true or false; null is false."""
    if raw is None:
        return False
    if not isinstance(raw, bool):
        p.bad(path, f"must be true or false, not {type_name(raw)}")
        return False
    return raw


def read_assignment(p: Problems, raw: Any, path: str) -> Assignment:
    """One of the assignment rules' names; null is the default."""
    if raw is None:
        return DEFAULT_ASSIGNMENT
    names = [rule.value for rule in Assignment]
    if not isinstance(raw, str) or raw not in names:
        hint = closest(raw, set(names)) if isinstance(raw, str) else None
        p.bad(
            path,
            f"{raw!r} is not an assignment rule; one of {', '.join(names)}" + did_you_mean(hint),
        )
        return DEFAULT_ASSIGNMENT
    return Assignment(raw)


def read_zone(p: Problems, raw: Any, path: str, *, optional: bool) -> ZoneInfo | None:
    """An IANA zone name from the bundled tzdata, with a suggestion for a misspelt one."""
    if raw is None:
        if not optional:
            p.bad(path, "is required")
        return None
    if not isinstance(raw, str):
        p.bad(path, f"must be a zone name, not {type_name(raw)}")
        return None
    try:
        return zone(raw)
    except KeyError:
        p.bad(path, f"unknown time zone {raw!r}" + did_you_mean(suggest_zone(raw)))
        return None


def read_date(p: Problems, raw: Any, path: str) -> date | None:
    """`YYYY-MM-DD` (or a TOML date)."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    try:
        return parse_date(raw)
    except ValueError as exc:
        p.bad(path, str(exc))
        return None


def read_instant(p: Problems, raw: Any, path: str) -> int | None:
    """An ISO 8601 date-time with an offset (or a TOML offset date-time), as UTC seconds."""
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw)
        except ValueError:
            p.bad(path, f"{raw!r} is not an ISO 8601 date-time")
            return None
    if not isinstance(raw, datetime):
        p.bad(path, f"must be an ISO 8601 date-time with offset, not {type_name(raw)}")
        return None
    try:
        return to_instant(raw)
    except ValueError:
        p.bad(path, f"{raw.isoformat()} needs an offset such as +01:00")
        return None


def read_sha256(p: Problems, raw: Any, path: str) -> str | None:
    """A 64-digit hex SHA-256 digest, lower-cased."""
    if not (isinstance(raw, str) and SHA256_PATTERN.fullmatch(raw)):
        p.bad(path, "must be the 64-digit hex SHA-256 digest of the key")
        return None
    return raw.lower()


def read_references(
    p: Problems, raw: Any, path: str, known: Mapping[str, Any], what: str
) -> tuple[str, ...]:
    """A list of ids of known things, each at most once."""
    found: list[str] = []
    for item_path, item in read_items(p, raw, path):
        if not isinstance(item, str):
            p.bad(item_path, f"must be an id string, not {type_name(item)}")
        elif item not in known:
            p.bad(item_path, f"unknown {what} {item!r}")
        elif item in found:
            p.bad(item_path, f"{item!r} is listed twice")
        else:
            found.append(item)
    return tuple(found)


def read_branch_ref(p: Problems, raw: Any, path: str, branches: Mapping[str, Any]) -> str | None:
    """The id of a branch of the site being read."""
    if not isinstance(raw, str):
        p.bad(path, f"must be a branch id, not {type_name(raw)}")
        return None
    if raw not in branches:
        p.bad(path, f"unknown branch {raw!r}")
        return None
    return raw


# -- time ranges -------------------------------------------------------------------------


def read_range(
    p: Problems, raw: Any, path: str, branches: Mapping[str, Any] | None
) -> TimeRange | None:
    """`"HH:MM-HH:MM"` or `{start, end, branchId?}` (`branches` None: no `branchId` allowed).

    `24:00` is a valid end; an end before its start runs past midnight; start == end is empty.
    """
    branch_id: str | None = None
    if isinstance(raw, str):
        start_text, sep, end_text = raw.partition("-")
        if not sep:
            p.bad(path, f"{raw!r} is not a range HH:MM-HH:MM")
            return None
    elif isinstance(raw, Mapping):
        optional = ["branchId"] if branches is not None else []
        fields = read_object(p, raw, path, ["start", "end"], optional)
        if "start" not in fields or "end" not in fields:
            return None
        start_text, end_text = fields["start"], fields["end"]
        if fields.get("branchId") is not None and branches is not None:
            branch_id = read_branch_ref(p, fields["branchId"], join(path, "branchId"), branches)
    else:
        p.bad(path, f"must be 'HH:MM-HH:MM' or an object, not {type_name(raw)}")
        return None
    start = end = None
    try:
        start = parse_hhmm(start_text)
    except ValueError:
        p.bad(path, f"start {start_text!r} is not HH:MM")
    try:
        end = parse_hhmm(end_text, allow_24=True)
    except ValueError:
        p.bad(path, f"end {end_text!r} is not HH:MM")
    if start is None or end is None:
        return None
    if start == end:
        p.bad(path, f"{start_text}-{end_text} is empty; an end before a start runs overnight")
        return None
    if end < start:
        end += 1440  # runs past midnight
    return TimeRange(start=start, end=end, branch_id=branch_id)


def read_day_ranges(
    p: Problems, raw: Any, path: str, branches: Mapping[str, Any] | None
) -> tuple[TimeRange, ...]:
    """One day's ranges, sorted; two that overlap are a problem."""
    ranges = []
    for item_path, item in read_items(p, raw, path):
        found = read_range(p, item, item_path, branches)
        if found is not None:
            ranges.append((found, item_path))
    ranges.sort(key=lambda pair: pair[0].start)
    reach = -1  # the latest end among the ranges before this one
    for found, item_path in ranges:
        if found.start < reach:
            p.bad(item_path, "overlaps another range of the same day")
        reach = max(reach, found.end)
    return tuple(r for r, _ in ranges)


def read_weekly(
    p: Problems, raw: Any, path: str, branches: Mapping[str, Any] | None
) -> dict[int, tuple[TimeRange, ...]]:
    """Ranges keyed by weekday `mon`..`sun` (0..6)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        p.bad(path, f"must be an object keyed by weekday, not {type_name(raw)}")
        return {}
    result = {}
    for key, value in raw.items():
        if key not in WEEKDAYS:
            hint = closest(str(key), set(WEEKDAYS))
            p.bad(join(path, str(key)), "unknown weekday (mon..sun)" + did_you_mean(hint))
            continue
        result[WEEKDAYS.index(key)] = read_day_ranges(p, value, join(path, key), branches)
    return result


def read_rrule(p: Problems, text: Any, path: str, start: date) -> _rrule.rrule | None:
    """An RRULE that picks dates: FREQ DAILY..YEARLY and no BYHOUR-style parts."""
    if not isinstance(text, str):
        p.bad(path, f"must be an RRULE string, not {type_name(text)}")
        return None
    parts = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if not sep or key.upper() not in RRULE_PARTS:
            accepted = ", ".join(sorted(RRULE_PARTS))
            p.bad(path, f"{part!r} is not an RRULE part that picks dates ({accepted})")
            return None
        parts[key.upper()] = value.upper()
    if parts.get("FREQ") not in RRULE_FREQS:
        p.bad(path, f"FREQ must be one of {', '.join(sorted(RRULE_FREQS))}")
        return None
    try:
        rule = _rrule.rrulestr(text, dtstart=midnight(start))
    except (ValueError, TypeError) as exc:
        p.bad(path, f"bad RRULE: {exc}")
        return None
    if not isinstance(rule, _rrule.rrule):
        p.bad(path, "must be a single RRULE")
        return None
    return rule
