"""docs/rules-lab.md stays true: the command it shows prints exactly the output it shows
(its Python examples run in tests/test_docs.py, with every page's)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from optimo_booking.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "rules-lab.md"
CONSOLE = re.compile(r"^```console\n\$ (optimo-booking [^\n]*)\n(.*?)^```", re.S | re.M)
EXAMPLES = CONSOLE.findall(PAGE.read_text("utf-8"))


def test_the_page_shows_a_command() -> None:
    assert EXAMPLES


@pytest.mark.parametrize(("command", "output"), EXAMPLES, ids=lambda v: v[:60])
def test_the_command_prints_what_the_page_shows(
    command: str, output: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out == output
