"""The catalog: sites, branches, services and staff as frozen values, loaded and validated.

`load_catalog` takes a dict, a JSON file or a TOML file. Validation collects every problem
with the path of its field (`sites[0].staff[1].weeklyHours.mon[0]: ...`), so a catalog with
three typos reports three lines. Unknown keys are problems too: a typo must not pass silently.

The package: `values` (the frozen values), `fields` (a reader per field type),
`readers` (a reader per object, and `KEYS`, the table of every object's keys).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CatalogError
from .fields import Problems
from .readers import KEYS, read_catalog
from .values import (
    ID_PATTERN,
    MAX_DURATION_MINUTES,
    WEEKDAYS,
    ApiKey,
    Branch,
    Catalog,
    Limits,
    Recurrence,
    Service,
    Site,
    Staff,
    TimeRange,
)

__all__ = [
    "ID_PATTERN",
    "KEYS",
    "MAX_DURATION_MINUTES",
    "WEEKDAYS",
    "ApiKey",
    "Branch",
    "Catalog",
    "Limits",
    "Recurrence",
    "Service",
    "Site",
    "Staff",
    "TimeRange",
    "load_catalog",
]


def load_catalog(source: Mapping[str, Any] | str | Path) -> Catalog:
    """Load and validate a catalog from a dict, or a `.json` / `.toml` file path.

    Raises `CatalogError` listing every problem with its field path.
    """
    if isinstance(source, Mapping):
        raw: Any = source
    else:
        raw = _read_file(Path(source))
    problems = Problems()
    catalog = read_catalog(problems, raw)
    if problems.found:
        raise CatalogError(problems.found)
    return catalog


def _read_file(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError([("", f"cannot read {path}: {exc.strerror or exc}")]) from None
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(data.decode("utf-8"))
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise CatalogError([("", f"{path} is nested too deeply to read")]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CatalogError([("", f"{path} is not valid {_kind(path)}: {exc}")]) from None


def _kind(path: Path) -> str:
    return "TOML" if path.suffix.lower() == ".toml" else "JSON"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
