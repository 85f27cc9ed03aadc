"""docs/rules-lab.md stays true: its Python examples run as doctests, and the command it
shows prints exactly the output it shows."""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest

from optimo_booking.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "rules-lab.md"
PYTHON = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
CONSOLE = re.compile(r"^```console\n\$ (optimo-booking [^\n]*)\n(.*?)^```", re.S | re.M)


def test_the_python_examples_run() -> None:
    text = PAGE.read_text("utf-8")
    blocks = PYTHON.findall(text)
    assert blocks
    parser = doctest.DocTestParser()
    namespace: dict[str, object] = {}
    for number, code in enumerate(blocks):
        test = parser.get_doctest(code, namespace, f"rules-lab block {number}", str(PAGE), 0)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        report: list[str] = []
        runner.run(test, out=report.append, clear_globs=False)
        assert not runner.failures, "".join(report)
        namespace.update(test.globs)


@pytest.mark.parametrize(
    ("command", "output"), CONSOLE.findall(PAGE.read_text("utf-8")), ids=lambda v: v[:60]
)
def test_the_command_prints_what_the_page_shows(
    command: str, output: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out == output
