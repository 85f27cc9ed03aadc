"""The examples/ directory: both catalogs load alike, and each framework example serves bookings.

Flask, Django and FastAPI are test-only dependencies (the `test` extra); the engine itself
imports none of them.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from optimo_booking import Engine, MemoryStore, load_catalog

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KEY = "lindenhof-example-key"  # examples/site.json holds its SHA-256 digest
SITE = "lindenhof-salon"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday morning
DAY = "2026-12-02"  # a Wednesday: Mara, Jonas and Leyla all work


def load_example(name: str) -> ModuleType:
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def engine() -> Engine:
    return Engine(load_catalog(EXAMPLES / "site.json"), store=MemoryStore(), clock=lambda: NOW)


# -- the catalogs ------------------------------------------------------------------------


def test_the_json_and_toml_catalogs_are_the_same_salon() -> None:
    assert load_catalog(EXAMPLES / "site.json") == load_catalog(EXAMPLES / "site.toml")


def test_the_salon_has_what_the_readme_promises(engine: Engine) -> None:
    site = engine.catalog.site(SITE)
    assert set(site.branches) == {"altstadt", "hafen"}
    assert site.services["styling-class"].capacity == 6
    mara = site.staff["mara"]
    assert mara.breaks and mara.recurring and mara.date_overrides and mara.time_off
    # every other Saturday: 2026-12-05 is one of Mara's Saturdays, 2026-12-12 is not
    assert engine.slots(SITE, "haircut", "2026-12-05", staff_id="mara")
    assert not engine.slots(SITE, "haircut", "2026-12-12", staff_id="mara")
    # the holiday override: Christmas Day is closed, Christmas Eve ends at 13:00
    assert not engine.slots(SITE, "haircut", "2026-12-25")
    eve = engine.slots(SITE, "haircut", "2026-12-24", staff_id="mara")
    assert eve[-1].end.strftime("%H:%M") == "13:00"
    # the lunch break cuts Mara's Wednesday
    starts = {
        s.start.strftime("%H:%M") for s in engine.slots(SITE, "haircut", DAY, staff_id="mara")
    }
    assert "12:15" not in starts and "12:00" in starts and "13:15" in starts
    # time off in August
    assert {s.reason for s in engine.slots(SITE, "haircut", "2026-08-05", staff_id="mara")} <= {
        "time_off", "past",
    }  # fmt: skip


def test_the_group_class_takes_six(engine: Engine) -> None:
    for n in range(6):
        engine.create_booking(
            SITE, service_id="styling-class", date=DAY, start_time="14:00",
            customer={"name": f"Guest {n}"},
        )  # fmt: skip
    slot = engine.slots(SITE, "styling-class", DAY)[0]
    assert (slot.start.strftime("%H:%M"), slot.reason) == ("14:00", "full")


# -- Flask -------------------------------------------------------------------------------


def test_flask_serves_the_mounted_api(engine: Engine) -> None:
    pytest.importorskip("flask", reason="Flask comes with the test extra")
    app = load_example("flask_app").make_app(engine)
    client = app.test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    base = f"/api/v1/sites/{SITE}/booking"
    slots = client.get(f"{base}/slots?serviceId=haircut&date={DAY}", headers={"X-Api-Key": KEY})
    assert slots.status_code == 200
    assert slots.get_json()["data"][0]["startTime"] == f"{DAY}T09:00:00+01:00"
    made = client.post(
        f"{base}/bookings",
        headers={"X-Api-Key": KEY},
        json={
            "serviceId": "haircut",
            "date": DAY,
            "startTime": "09:00",
            "customer": {"name": "Ada"},
        },
    )
    assert made.status_code == 201, made.get_json()
    listed = client.get(f"{base}/bookings", headers={"X-Api-Key": KEY}).get_json()
    assert [b["id"] for b in listed["data"]] == [made.get_json()["data"]["id"]]
    assert client.get(f"{base}/bookings").status_code == 401


# -- Django ------------------------------------------------------------------------------


@pytest.fixture
def django_client(engine: Engine) -> Iterator[Any]:
    pytest.importorskip("django", reason="Django comes with the test extra")
    import django
    from django.conf import settings

    urls = load_example("django_urls")
    if not settings.configured:
        settings.configure(
            ROOT_URLCONF=urls.__name__, ALLOWED_HOSTS=["testserver"], SECRET_KEY="example"
        )
        django.setup()
    from django.test import Client
    from django.test.utils import override_settings

    from optimo_booking.api import BookingAPI

    urls._api = BookingAPI(engine)
    with override_settings(ROOT_URLCONF=urls.__name__):
        yield Client()


def test_django_routes_api_paths_to_the_wsgi_app(django_client: Any) -> None:
    base = f"/api/v1/sites/{SITE}/booking"
    key = {"HTTP_X_API_KEY": KEY}
    slots = django_client.get(f"{base}/slots", {"serviceId": "haircut", "date": DAY}, **key)
    assert slots.status_code == 200
    assert slots.json()["data"][0]["staffId"] == "mara"  # Jonas starts at 10:00
    body = {"serviceId": "haircut", "date": DAY, "startTime": "10:00", "customer": {"name": "Ada"}}
    made = django_client.post(
        f"{base}/bookings", json.dumps(body), content_type="application/json", **key
    )
    assert made.status_code == 201, made.content
    assert made["X-Request-Id"] == made.json()["meta"]["requestId"]
    booking_id = made.json()["data"]["id"]
    cancelled = django_client.patch(
        f"{base}/bookings/{booking_id}/status",
        json.dumps({"status": "cancelled"}),
        content_type="application/json",
        **key,
    )
    assert cancelled.json()["data"]["status"] == "cancelled"
    bad = django_client.post(
        f"{base}/bookings", json.dumps({**body, "date": "x", "colour": 1}),
        content_type="application/json", **key,
    )  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["fields"] == ["colour", "date"]


# -- FastAPI -----------------------------------------------------------------------------


def test_fastapi_calls_the_engine_from_async_endpoints(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi", reason="FastAPI comes with the test extra")
    from fastapi.testclient import TestClient

    monkeypatch.setenv("OPTIMO_DB", str(tmp_path / "fastapi.sqlite3"))
    module = load_example("fastapi_app")
    assert module.app is not None  # the module-level app for uvicorn, on $OPTIMO_DB
    client = TestClient(module.make_app(engine))
    slots = client.get(f"/slots/haircut/{DAY}", params={"staff_id": "mara"})
    assert slots.status_code == 200
    first = slots.json()[0]
    assert first["startTime"] == f"{DAY}T09:00:00+01:00"
    made = client.post(
        "/bookings",
        json={"serviceId": "haircut", "date": DAY, "startTime": "09:00", "staffId": "mara",
              "customer": {"name": "Ada"}},
    )  # fmt: skip
    assert made.status_code == 201, made.json()
    assert made.json()["staffId"] == "mara"
    again = client.post(
        "/bookings",
        json={"serviceId": "haircut", "date": DAY, "startTime": "09:00", "staffId": "mara",
              "customer": {"name": "Bea"}},
    )  # fmt: skip
    assert again.status_code == 409
    assert again.json()["error"]["details"]["reason"] == "booked"
    after = client.get(f"/slots/haircut/{DAY}", params={"staff_id": "mara"}).json()
    assert after[0]["startTime"] != first["startTime"]
    assert date.fromisoformat(DAY).weekday() == 2
