"""The shipped JSON Schema and the loader agree: generated catalogs pass both, broken ones neither.

The loader checks a few things no schema can (zones exist, a day's ranges do not overlap,
references name known ids), so agreement is one-way for those; everything in the broken
corpus below is something both must refuse.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from optimo_booking import load_catalog
from optimo_booking import testing as obt
from optimo_booking.catalog import KEYS
from optimo_booking.errors import CatalogError

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(files("optimo_booking").joinpath("catalog.schema.json").read_text("utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


# Where each object of the loader's key table sits in the schema.
SCHEMA_OBJECTS = {
    "catalog": SCHEMA,
    "site": SCHEMA["$defs"]["site"],
    "apiKey": SCHEMA["$defs"]["apiKey"],
    "branch": SCHEMA["$defs"]["branch"],
    "service": SCHEMA["$defs"]["service"],
    "staff": SCHEMA["$defs"]["staff"],
    "range": SCHEMA["$defs"]["rangeObject"],
    "recurring": SCHEMA["$defs"]["recurring"],
    "timeOff": SCHEMA["$defs"]["timeOff"],
    "limits": SCHEMA["$defs"]["limits"],
}


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_every_object_has_the_loaders_keys_and_no_others(kind: str) -> None:
    required, optional = KEYS[kind]
    schema = SCHEMA_OBJECTS[kind]
    assert set(schema["properties"]) == {*required, *optional}
    assert sorted(schema["required"]) == sorted(required)
    assert schema["additionalProperties"] is False


@settings(max_examples=60, deadline=None)
@given(obt.catalogs())
def test_every_generated_catalog_is_valid_for_the_schema(raw: dict[str, Any]) -> None:
    load_catalog(raw)  # the strategy's promise
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(raw)]
    assert not errors, errors


@pytest.mark.parametrize(
    "path",
    [ROOT / "src/optimo_booking/demo_catalog.json", ROOT / "examples/site.json"],
    ids=lambda p: p.name,
)
def test_the_shipped_catalogs_are_valid(path: Path) -> None:
    raw = json.loads(path.read_text("utf-8"))
    load_catalog(path)
    assert not list(VALIDATOR.iter_errors(raw))


def _base() -> dict[str, Any]:
    return {
        "sites": [
            {
                "id": "salon",
                "timezone": "Europe/Berlin",
                "apiKeys": [{"id": "k", "sha256": "a" * 64}],
                "branches": [{"id": "mitte"}],
                "services": [{"id": "cut", "durationMinutes": 30, "staffIds": ["ann"]}],
                "staff": [
                    {
                        "id": "ann",
                        "branchId": "mitte",
                        "weeklyHours": {"mon": ["09:00-12:00", {"start": "13:00", "end": "17:00"}]},
                        "breaks": {"mon": ["10:30-10:45"]},
                        "recurring": [
                            {"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", "dtstart": "2026-01-03",
                             "hours": ["10:00-14:00"]}
                        ],
                        "dateOverrides": {"2026-12-24": ["09:00-13:00"], "2026-12-25": []},
                        "timeOff": [{"start": "2026-08-01T00:00:00+02:00",
                                     "end": "2026-08-15T00:00:00+02:00", "reason": "holiday"}],
                    }
                ],
            }
        ]
    }  # fmt: skip


def _site(c: dict[str, Any]) -> dict[str, Any]:
    site: dict[str, Any] = c["sites"][0]
    return site


def _ann(c: dict[str, Any]) -> dict[str, Any]:
    staff: dict[str, Any] = _site(c)["staff"][0]
    return staff


BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "no sites": lambda c: c.pop("sites"),
    "sites not a list": lambda c: c.update(sites={"salon": {}}),
    "misspelt site key": lambda c: _site(c).update(timeZone="Europe/Berlin"),
    "site without id": lambda c: _site(c).pop("id"),
    "id with a space": lambda c: _site(c).update(id="my salon"),
    "zone not a string": lambda c: _site(c).update(timezone=1),
    "misspelt service key": lambda c: _site(c)["services"][0].update(duration=30),
    "duration as text": lambda c: _site(c)["services"][0].update(durationMinutes="30"),
    "duration zero": lambda c: _site(c)["services"][0].update(durationMinutes=0),
    "capacity a boolean": lambda c: _site(c)["services"][0].update(capacity=True),
    "buffer over a day": lambda c: _site(c)["services"][0].update(bufferAfterMinutes=1441),
    "confirmation as text": lambda c: _site(c)["services"][0].update(requiresConfirmation="no"),
    "staff ids not a list": lambda c: _site(c)["services"][0].update(staffIds="ann"),
    "unknown assignment rule": lambda c: _site(c)["services"][0].update(assignment="random"),
    "assignment not a string": lambda c: _site(c)["services"][0].update(assignment=1),
    "api key digest too short": lambda c: _site(c)["apiKeys"][0].update(sha256="abc"),
    "api key with the key itself": lambda c: _site(c)["apiKeys"][0].update(key="secret"),
    "misspelt branch key": lambda c: _site(c)["branches"][0].update(tz="Europe/Berlin"),
    "misspelt staff key": lambda c: _ann(c).update(weeklyhours={}),
    "misspelt weekday": lambda c: _ann(c)["weeklyHours"].update(monday=["09:00-12:00"]),
    "range without a dash": lambda c: _ann(c)["weeklyHours"].update(tue=["09:00"]),
    "range with seconds": lambda c: _ann(c)["weeklyHours"].update(tue=["09:00:00-12:00"]),
    "range hour 25": lambda c: _ann(c)["weeklyHours"].update(tue=["09:00-25:00"]),
    "range as a number": lambda c: _ann(c)["weeklyHours"].update(tue=[900]),
    "ranges not a list": lambda c: _ann(c)["weeklyHours"].update(tue="09:00-12:00"),
    "range object without end": lambda c: _ann(c)["weeklyHours"].update(tue=[{"start": "09:00"}]),
    "branch on a break": lambda c: _ann(c)["breaks"].update(
        tue=[{"start": "10:00", "end": "10:15", "branchId": "mitte"}]
    ),
    "recurring without hours": lambda c: _ann(c)["recurring"][0].pop("hours"),
    "recurring with a typo": lambda c: _ann(c)["recurring"][0].update(dtStart="2026-01-03"),
    "rrule not a string": lambda c: _ann(c)["recurring"][0].update(rrule=["FREQ=WEEKLY"]),
    "override date as a week date": lambda c: _ann(c)["dateOverrides"].update({"2026-W52-4": []}),
    "override not a list": lambda c: _ann(c)["dateOverrides"].update({"2026-12-31": "closed"}),
    "time off without offset": lambda c: _ann(c)["timeOff"][0].update(start="2026-08-01T00:00:00"),
    "time off as a date": lambda c: _ann(c)["timeOff"][0].update(end="2026-08-15"),
    "time off with a typo": lambda c: _ann(c)["timeOff"][0].update(until="2026-08-15"),
    "an unknown top-level key": lambda c: c.update(version=2),
}


def test_the_base_of_the_broken_corpus_is_valid() -> None:
    load_catalog(_base())
    assert not list(VALIDATOR.iter_errors(_base()))


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_schema_and_loader_both_refuse(name: str) -> None:
    raw = copy.deepcopy(_base())
    BROKEN[name](raw)
    assert not VALIDATOR.is_valid(raw), f"the schema accepts: {name}"
    with pytest.raises(CatalogError):
        load_catalog(raw)
