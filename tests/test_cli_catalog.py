"""`optimo-booking catalog check FILE` and `--version`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optimo_booking.cli import main
from optimo_booking.localtime import TZDATA_VERSION
from optimo_booking.stores.sqlite import SQLITE_VERSION

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("name", ["site.json", "site.toml"])
def test_a_good_catalog_gets_a_one_line_summary(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "check", str(EXAMPLES / name)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.splitlines()) == 1
    assert "ok: 1 site (lindenhof-salon), 2 branches, " in out
    assert f"tzdata {TZDATA_VERSION}" in out


def test_a_broken_catalog_lists_every_problem_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {
        "sites": [
            {
                "id": "a b",
                "timezone": "Europe/Berln",
                "services": [{"id": "cut", "durationMinutes": "30"}],
                "staff": [{"id": "ann", "weeklyHours": {"mon": ["9-17"], "mon_": []}}],
            }
        ],
        "extra": 1,
    }
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), "utf-8")
    assert main(["catalog", "check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == f"{path}: 7 problems"
    paths = sorted(line.strip().split(": ")[0] for line in lines[1:])
    assert paths == sorted(
        [
            "extra",
            "sites[0].id",
            "sites[0].timezone",
            "sites[0].services[0].durationMinutes",
            "sites[0].staff[0].weeklyHours.mon[0]",
            "sites[0].staff[0].weeklyHours.mon[0]",
            "sites[0].staff[0].weeklyHours.mon_",
        ]
    )


def test_an_unreadable_file_is_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "check", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_version_reports_tzdata_and_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"tzdata {TZDATA_VERSION}" in out and f"SQLite {SQLITE_VERSION}" in out
