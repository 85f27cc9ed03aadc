"""The README cannot go stale: its lifecycle table and its testing example are checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from optimo_booking.lifecycle import transition_table_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_lifecycle_table_is_the_one_generated_from_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- lifecycle-table -->\n(.*?)\n<!-- /lifecycle-table -->", text, re.S)
    assert match is not None
    assert match.group(1) == transition_table_markdown()


def test_the_readme_testing_example_runs_and_passes() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(# tests/test_my_booking_rules\.py.*?)```", text, re.S)
    assert len(blocks) == 1
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    namespace["test_my_catalog_keeps_the_engines_promises"]()
