"""The README and docs/ cannot rot: their Python blocks run, and they cover what they promise.

Every fenced ```python block of README.md and docs/*.md runs, in order, in one namespace per
file: blocks with `>>>` prompts run as doctests, the others as plain code, and any `test_*`
function a page defines is then called. They run in a scratch directory that holds a link
to examples/, so files they create do not land in the repository.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

import pytest

from optimo_booking import errors
from optimo_booking.catalog import KEYS, WEEKDAYS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# Examples that need a PostgreSQL server name this stand-in URL; test_docs_stores.py runs them
# against the test server.
POSTGRES_EXAMPLE = "postgresql://app@db-host/bookings"


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """`(line, code)` of every fenced Python block of a page."""
    text = page.read_text("utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_docs_are_there() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    assert {
        "catalog.md", "scheduling.md", "http.md", "stores.md", "testing.md", "decisions.md",
    } <= names  # fmt: skip


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_python_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks(page)
    if page.name not in ("decisions.md",):
        assert blocks, f"{page.name} has no Python example"
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    parser = doctest.DocTestParser()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for line, code in blocks:
        if POSTGRES_EXAMPLE in code:
            continue
        where = f"{page.relative_to(ROOT)}:{line}"
        if ">>> " in code:
            test = parser.get_doctest(code, namespace, where, str(page), line - 1)
            runner = doctest.DocTestRunner(optionflags=flags)
            report: list[str] = []
            runner.run(test, out=report.append, clear_globs=False)
            assert not runner.failures, "".join(report)
            namespace.update(test.globs)  # DocTest works on a copy; later blocks build on it
        else:
            before = set(namespace)
            exec(compile(code, where, "exec"), namespace)
            for name in sorted(set(namespace) - before):
                if name.startswith("test_") and callable(namespace[name]):
                    namespace[name]()


OUTSIDE = re.compile(r"\.\./shared|DESIGN\.md|STYLE\.md")


def _project_texts() -> list[Path]:
    found = [*PAGES, *sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "examples").iterdir())]
    return [p for p in found if p.is_file() and p.suffix in {".md", ".py", ".json", ".toml"}]


@pytest.mark.parametrize("path", _project_texts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_points_outside_the_repository(path: Path) -> None:
    text = path.read_text("utf-8")
    assert not OUTSIDE.search(text), OUTSIDE.search(text)
    if path.suffix == ".md":
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            assert (path.parent / target.split("#")[0]).exists(), f"broken link {target}"


def test_the_readme_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for page in DOCS.glob("*.md"):
        assert f"docs/{page.name}" in readme, page.name


def test_every_catalog_key_is_described() -> None:
    text = (DOCS / "catalog.md").read_text("utf-8")
    keys = {key for required, optional in KEYS.values() for key in (*required, *optional)}
    missing = sorted(k for k in keys | set(WEEKDAYS) if f"`{k}`" not in text)
    assert not missing, missing


def test_every_reason_is_described() -> None:
    text = (DOCS / "scheduling.md").read_text("utf-8")
    reasons = ["past", "too_soon", "too_far", "time_off", "busy", "limit_reached", "full"]
    reasons += ["held", "booked", "off_grid", "outside_hours"]
    assert not [r for r in reasons if f"`{r}`" not in text]


def _error_classes() -> set[type[errors.BookingError]]:
    found: set[type[errors.BookingError]] = set()
    todo = [errors.BookingError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_code_and_header_is_described() -> None:
    text = (DOCS / "http.md").read_text("utf-8")
    for cls in _error_classes():
        assert f"`{cls.code}`" in text and str(cls.http_status) in text, cls.code
    for header in ("X-Api-Key", "Idempotency-Key", "X-Request-Id", "Retry-After"):
        assert f"`{header}`" in text, header
