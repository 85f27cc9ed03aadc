"""The one place where local wall time meets UTC; everything else sees integer UTC seconds.

Zones load from the `tzdata` package, not the OS database, so every machine and worker
computes the same slots. A wall time in a spring-forward gap moves forward by the gap; an
ambiguous wall time (fall-back) means its first occurrence. Both follow from PEP 495's
`fold=0`, which reads a wall time with the offset in force *before* the transition.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.resources
import re
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from .errors import ValidationError

TZDATA_VERSION: str = importlib.import_module("tzdata").IANA_VERSION

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_HHMM_RE = re.compile(r"([0-9]{2}):([0-9]{2})", re.ASCII)
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2999, 12, 31)


@functools.cache
def zone_names() -> frozenset[str]:
    """Every zone key the bundled `tzdata` knows."""
    text = importlib.resources.files("tzdata").joinpath("zones").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def suggest_zone(name: str) -> str | None:
    """The closest known zone key to a misspelt one, if any is close."""
    matches = difflib.get_close_matches(name, sorted(zone_names()), n=1, cutoff=0.75)
    return matches[0] if matches else None


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The zone `name` from the bundled `tzdata` (never the OS database); KeyError if unknown."""
    if name == "UTC":
        name = "Etc/UTC"
    if name not in zone_names():
        raise KeyError(name)
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with resource.open("rb") as fh:
        return ZoneInfo.from_file(fh, key=name)


@functools.lru_cache(maxsize=65_536)
def wall_to_utc(day: date, minute: int, tz: tzinfo) -> int:
    """UTC seconds of `minute` minutes after local midnight of `day` (minute may pass 1440).

    Gap times move forward by the gap and ambiguous times take the first occurrence.
    Cached: staff of one site mostly share their hours, so the same wall times recur.
    """
    extra_days, minute = divmod(minute, 1440)
    if extra_days:
        day = day + timedelta(days=extra_days)
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz, fold=0)
    return int(local.timestamp())


def wall_time_status(day: date, minute: int, tz: tzinfo) -> str:
    """`"ok"`, `"gap"` (the wall time never happens) or `"ambiguous"` (it happens twice)."""
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
    first = local.replace(fold=0).utcoffset()
    second = local.replace(fold=1).utcoffset()
    if first == second:
        return "ok"
    # In a gap, fold=0 reads with the earlier (pre-transition) offset, which is smaller when
    # clocks jump forward; for an ambiguous time the first occurrence has the larger offset.
    assert first is not None and second is not None
    return "gap" if first < second else "ambiguous"


def day_start(day: date, tz: tzinfo) -> int:
    """UTC seconds of the first instant of local `day` (a day that was skipped is empty)."""
    return wall_to_utc(day, 0, tz)


def local_date(instant: int, tz: tzinfo) -> date:
    """The local calendar date of UTC seconds `instant`."""
    return datetime.fromtimestamp(instant, tz).date()


def to_instant(moment: datetime) -> int:
    """UTC seconds of an aware datetime; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no offset")
    return int(moment.timestamp())


def check_supported(day: date) -> date:
    """`day` itself, if within the years the engine serves (1900-2999); else ValueError.

    Slot windows reach days beyond the asked dates, which must stay representable.
    """
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(
            f"{day.isoformat()} is outside the years {FIRST_DATE.year}-{LAST_DATE.year}"
        )
    return day


def parse_date(text: str) -> date:
    """Exactly `YYYY-MM-DD` in ASCII digits (no week dates, basic format or other digits)."""
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a calendar date ({exc})") from None
    return check_supported(day)


def as_date(value: date | str, name: str) -> date:
    """A date from a `date` or `YYYY-MM-DD`; anything else is `validation_error` naming `name`."""
    if isinstance(value, datetime):
        raise ValidationError.of({name: "must be a date, not a date-time"})
    try:
        return check_supported(value) if isinstance(value, date) else parse_date(value)
    except ValueError as exc:
        raise ValidationError.of({name: str(exc)}) from None


def parse_hhmm(text: str, *, allow_24: bool = False) -> int:
    """Minutes after midnight of `HH:MM` in ASCII digits; `24:00` only when `allow_24`."""
    match = _HHMM_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if allow_24 and hours == 24 and minutes == 0:
        return 1440
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


def midnight(day: date) -> datetime:
    """Naive midnight of `day`, only for `dateutil.rrule`, which picks dates, never instants."""
    return datetime.combine(day, time())
