"""Docs that are generated from code stay equal to it (the examples run in test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

from optimo_booking.lifecycle import transition_table_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_the_lifecycle_table_is_the_one_generated_from_the_code() -> None:
    text = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- lifecycle-table -->\n(.*?)\n<!-- /lifecycle-table -->", text, re.S)
    assert match is not None
    assert match.group(1) == transition_table_markdown()


def test_the_readme_tour_is_at_most_twenty_lines() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text.split("\n## A tour\n", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    lines = [line for line in tour.splitlines() if line.strip()]
    assert len(lines) <= 20, len(lines)
    assert text.index("optimo-booking serve") < text.index("## A tour")  # the two commands first
