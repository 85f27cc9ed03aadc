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
import struct
from bisect import bisect_right
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import accumulate, repeat
from operator import add
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
        return zone("Etc/UTC")  # one object for both names, as `one_offset` expects
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


# -- offset changes, read from the zone's own tzdata file ---------------------------------------

# Rules of a TZif footer are evaluated up to this year, past the last date the engine serves.
_LAST_RULE_YEAR = LAST_DATE.year + 2
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_TZ_NAME = r"(?:[^<0-9:.,+-]+|<[A-Za-z0-9+-]+>)"
_TZ_OFFSET = r"[+-]?[0-9]{1,3}(?::[0-9]{2}(?::[0-9]{2})?)?"
_TZ_RULE = (
    rf"(J?)([0-9]{{1,3}})(?:/({_TZ_OFFSET}))?"
    rf"|M([0-9]{{1,2}})\.([0-9])\.([0-9])(?:/({_TZ_OFFSET}))?"
)
_TZ_STRING = re.compile(
    rf"{_TZ_NAME}({_TZ_OFFSET})(?:{_TZ_NAME}({_TZ_OFFSET})?,(.*),(.*))?", re.ASCII
)
_TZ_RULE_RE = re.compile(_TZ_RULE, re.ASCII)


@functools.cache
def offset_changes(name: str) -> tuple[int, ...] | None:
    """UTC seconds where zone `name` may change its UTC offset, sorted; None if unreadable.

    Read from the zone's TZif file in the bundled `tzdata`: its transition list, then the
    footer's DST rule evaluated for every year after it to past 2999. The list may hold
    instants where nothing changes (every UTC new year in the footer's range, where Python's
    `zoneinfo` re-reads the rule), never lacks one where the offset does change, so between two
    neighbours every instant has one offset, and `fold` can only be 1 at the start of the span.
    """
    if name == "UTC":
        name = "Etc/UTC"
    if name not in zone_names():
        return None
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    try:
        return _tzif_changes(resource.read_bytes())
    except (ValueError, IndexError, struct.error):
        return None


def _tzif_changes(data: bytes) -> tuple[int, ...] | None:
    """The offset changes of one TZif file (RFC 8536), as `offset_changes` describes them."""
    header = struct.Struct(">4sc15x6l")
    magic, version, isut, isstd, leaps, count, types, chars = header.unpack_from(data, 0)
    if magic != b"TZif" or leaps:
        return None  # leap-second files are not what `zoneinfo` reads the bundled zones as
    at, width, footer = header.size, 4, ""
    if version != b"\x00":
        # Skip the 32-bit block; the 64-bit one follows with its own header, then the footer.
        at += count * 5 + types * 6 + chars + leaps * 8 + isstd + isut
        magic, version, isut, isstd, leaps, count, types, chars = header.unpack_from(data, at)
        if magic != b"TZif" or leaps:
            return None
        at, width = at + header.size, 8
        end = at + count * (width + 1) + types * 6 + chars + isstd + isut
        footer = data[end:].decode("ascii").strip("\n")
    times = struct.unpack_from(f">{count}{'q' if width == 8 else 'l'}", data, at)
    kinds = data[at + count * width : at + count * (width + 1)]
    offsets = [
        struct.unpack_from(">l", data, at + count * (width + 1) + 6 * i)[0] for i in range(types)
    ]
    changes = {
        t
        for k, t in enumerate(times)
        if k in (0, count - 1) or offsets[kinds[k]] != offsets[kinds[k - 1]]
    }
    if footer:
        rule_changes = _footer_changes(footer)
        if rule_changes is None:
            return None
        # The rule governs only after the last listed transition.
        changes.update(rule_changes[bisect_right(rule_changes, times[-1]) if times else 0 :])
    return tuple(sorted(changes))


@functools.cache
def _footer_changes(footer: str) -> tuple[int, ...] | None:
    """Instants where a TZif footer's POSIX TZ rule may change the offset, sorted.

    From the year before the engine's first to past its last; cached by the rule's text,
    which most zones share with others (94 distinct rules for 598 zones in tzdata 2026).
    """
    match = _TZ_STRING.fullmatch(footer)
    if match is None:
        return None
    std_text, dst_text, start_text, end_text = match.groups()
    if start_text is None:
        return ()  # one fixed offset from the last transition on
    std = -_tz_seconds(std_text)
    dst = -_tz_seconds(dst_text) if dst_text else std + 3600
    found: list[int] = []
    for year in range(FIRST_DATE.year - 1, _LAST_RULE_YEAR + 1):
        new_year = (date(year, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86_400
        found.append(new_year)  # `zoneinfo` evaluates the rule per UTC year
        for text, offset in ((start_text, std), (end_text, dst)):
            local = _rule_instants(text, year)
            if local is None:
                return None
            found.extend(t - offset for t in local)
    return tuple(sorted(found))


def _tz_seconds(text: str) -> int:
    """Seconds of a POSIX `[+-]hh[:mm[:ss]]`, sign kept as written."""
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")]
    parts += [0] * (3 - len(parts))
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _rule_instants(text: str, year: int) -> list[int] | None:
    """Local-epoch seconds at which a POSIX rule `Jn`, `n` or `Mm.w.d` fires in `year`.

    A zero-based day `n` is read both as POSIX says and one day earlier, which is how
    `zoneinfo` reads it; the extra instant costs nothing but a fallback.
    """
    match = _TZ_RULE_RE.fullmatch(text)
    if match is None:
        return None
    julian, day_text, day_time, month, week, weekday, month_time = match.groups()
    jan1 = date(year, 1, 1).toordinal()
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if month is not None:
        m, w, d = int(month), int(week), int(weekday)
        if not (1 <= m <= 12 and 1 <= w <= 5 and 0 <= d <= 6):
            return None
        first = date(year, m, 1)
        # POSIX weekdays run from Sunday = 0; `isoweekday` has Sunday = 7.
        day = 1 + (d - first.isoweekday()) % 7 + (w - 1) * 7
        month_days = (date(year + m // 12, m % 12 + 1, 1) - first).days
        while day > month_days:
            day -= 7
        ordinals = [first.toordinal() + day - 1]
        clock = month_time
    elif julian:
        n = int(day_text)
        ordinals = [jan1 + n - 1 + (1 if leap and n >= 60 else 0)]
        clock = day_time
    else:
        n = int(day_text)
        ordinals = [jan1 + n - 1, jan1 + n]
        clock = day_time
    seconds = 7200 if clock is None else _tz_seconds(clock)
    return [(o - _EPOCH_ORDINAL) * 86_400 + seconds for o in ordinals]


def one_offset(tz: tzinfo, first: int, last: int) -> bool:
    """True when every instant of `[first, last]` has the UTC offset `first` has in `tz`.

    Decided from the zone's offset changes when `tz` is a zone this module loaded from the
    bundled `tzdata`; any other `tzinfo` answers False (callers then convert each instant).
    """
    key = getattr(tz, "key", None)
    if not isinstance(key, str) or key not in zone_names() or zone(key) is not tz:
        return False
    changes = offset_changes(key)
    if changes is None:
        return False
    i = bisect_right(changes, first)
    return i == len(changes) or changes[i] > last


def local_datetimes(instants: range, tz: tzinfo) -> list[datetime]:
    """`datetime.fromtimestamp(t, tz)` for every `t` of an evenly stepped range.

    Where the zone keeps one offset over the whole range (and the first instant is not the
    second occurrence of a repeated wall time), the first is converted and the rest follow by
    adding the step, which gives the very same values; across an offset change each instant
    is converted on its own.
    """
    if not instants:
        return []
    first = datetime.fromtimestamp(instants[0], tz)
    if len(instants) == 1:
        return [first]
    if first.fold == 0 and one_offset(tz, instants[0], instants[-1]):
        step = timedelta(seconds=instants.step)
        return list(accumulate(repeat(step, len(instants) - 1), add, initial=first))
    fromtimestamp = datetime.fromtimestamp
    return [fromtimestamp(t, tz) for t in instants]
