"""The Python examples of docs/stores.md that need PostgreSQL run, against the test database
(their `postgresql://app@db-host/bookings` stands for it), in a directory holding `site.json`."""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest

from conftest import POSTGRES_SKIP, POSTGRES_URL, StoreSpec, drop_postgres_schema
from test_docs import POSTGRES_EXAMPLE

DOC = Path(__file__).resolve().parent.parent / "docs" / "stores.md"
EXAMPLE_URL = POSTGRES_EXAMPLE


def python_blocks() -> list[str]:
    """The examples that name the stand-in server (test_docs.py runs all the others)."""
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text("utf-8"), re.S | re.M)
    return [b for b in blocks if EXAMPLE_URL in b]


def test_the_docs_have_python_examples() -> None:
    assert len(python_blocks()) >= 2


@pytest.mark.postgres
@pytest.mark.skipif(POSTGRES_URL is None, reason=POSTGRES_SKIP)
def test_every_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert POSTGRES_URL is not None and "?" not in POSTGRES_URL
    demo = importlib.resources.files("optimo_booking").joinpath("demo_catalog.json")
    (tmp_path / "site.json").write_text(demo.read_text("utf-8"), "utf-8")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    try:
        for block in python_blocks():
            exec(block.replace(EXAMPLE_URL, POSTGRES_URL), namespace)
        engine = namespace["engine"]
        app = namespace["app"]
        assert engine.store.schema == "optimo_booking"  # type: ignore[attr-defined]
        assert app.engine.store.schema == "salon"  # type: ignore[attr-defined]
        engine.store.close()  # type: ignore[attr-defined]
        app.engine.store.close()  # type: ignore[attr-defined]
    finally:
        for schema in ("optimo_booking", "salon"):
            drop_postgres_schema(StoreSpec("postgres", POSTGRES_URL, schema))
