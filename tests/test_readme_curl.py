"""README's "Over HTTP" walk-through, run by bash as written against the real `serve`.

The server is the installed console script on the bundled demo catalog, in a temporary
directory, on a free port. The script is the README's sh block as written: it captures the
new booking's id itself. Only the port and, should the README's date no longer be bookable,
the date are rewritten. Starting the server prints what a newcomer needs and no warning.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from test_api_http import check_envelope

README = Path(__file__).resolve().parent.parent / "README.md"
README_PORT = "8080"
README_DAY = "2026-12-07"
DEMO_MAX_ADVANCE_DAYS = 60  # the demo haircut's maxAdvanceDays

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def readme_walkthrough() -> str:
    """The first sh block under '## Over HTTP'."""
    text = README.read_text("utf-8")
    section = text.split("\n## Over HTTP\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "no sh block in README's Over HTTP section"
    return block.group(1)


def readme_curl_commands() -> list[str]:
    """The walk-through's curl commands, continuations joined, variables left as written."""
    joined = readme_walkthrough().replace("\\\n", " ")
    return [c for c in (line.strip() for line in joined.splitlines()) if "curl " in c]


def bookable_day(today: date) -> str:
    """README's date if the demo haircut can still be booked on it, else the next Monday."""
    readme_day = date.fromisoformat(README_DAY)
    if today < readme_day <= today + timedelta(days=DEMO_MAX_ADVANCE_DAYS - 1):
        return README_DAY
    day = today + timedelta(days=1)
    while day.weekday() != 0:  # Monday: alice (09-18) and chiara (15-19) both work
        day += timedelta(days=1)
    return day.isoformat()


def _console_script() -> list[str]:
    beside = Path(sys.executable).with_name("optimo-booking")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "optimo_booking.cli"]


@pytest.fixture(scope="module")
def served_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`optimo-booking serve --port 0` in an empty directory; yields the port it printed."""
    cwd = tmp_path_factory.mktemp("serve")
    stderr_file = cwd.parent / "serve-stderr.txt"
    process = subprocess.Popen(
        [*_console_script(), "serve", "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr_file.open("w"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # bounded: the server prints it before serving
        found = re.search(r"http://127\.0\.0\.1:([0-9]+)", first)
        assert found, f"unexpected first line from serve: {first!r}"
        assert "demo-salon-key-123" in process.stdout.readline()  # the demo key is printed
        assert process.stdout.readline().startswith("try: curl ")  # and a line to paste
        yield int(found.group(1))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        assert (cwd / "bookings.sqlite3").exists()  # the default --db, in the working dir
        logged = stderr_file.read_text("utf-8")
        assert "WARNING" not in logged and "Traceback" not in logged, logged


def run_curl(command: str, tmp: Path) -> tuple[int, dict[str, Any]]:
    """Run one curl command line (plus -D to capture headers); returns status and envelope."""
    argv = shlex.split(command)
    header_file = tmp / "headers.txt"
    completed = subprocess.run(
        [*argv, "-D", str(header_file), "--max-time", "20"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = header_file.read_text("latin-1").splitlines()
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, check_envelope(status, headers, completed.stdout)


def _documents(output: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON documents the script printed, and its other lines."""
    decoder = json.JSONDecoder()
    documents: list[dict[str, Any]] = []
    lines: list[str] = []
    rest = output.strip()
    while rest:
        if rest.startswith("{"):
            document, end = decoder.raw_decode(rest)
            documents.append(document)
            rest = rest[end:].lstrip()
        else:
            line, _, rest = rest.partition("\n")
            lines.append(line)
            rest = rest.lstrip()
    return documents, lines


def run_walkthrough(port: int, day: str) -> tuple[list[dict[str, Any]], str]:
    """Run the README's sh block with bash; returns the documents it printed and the id."""
    script = readme_walkthrough().replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}")
    script = script.replace(README_DAY, day)
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    documents, lines = _documents(completed.stdout)
    assert len(lines) == 1 and lines[0].startswith("booked bk_"), lines
    return documents, lines[0].removeprefix("booked ")


@pytest.mark.skipif(shutil.which("bash") is None, reason="the walk-through is a bash script")
@pytest.mark.skipif(shutil.which("python3") is None, reason="the script reads JSON with python3")
def test_the_readme_walkthrough_runs_as_written_against_serve(
    served_port: int, tmp_path: Path
) -> None:
    assert len(readme_curl_commands()) == 4
    day = bookable_day(datetime.now(UTC).date())

    (slots, listed, cancelled), booking_id = run_walkthrough(served_port, day)
    assert slots["data"], "the README's slot query lists no slots"
    fifteen = [s for s in slots["data"] if s["startTime"][11:16] == "15:00" and s["available"]]
    assert fifteen, "the README books 15:00, which is not listed as available"
    assert [b["id"] for b in listed["data"]] == [booking_id]
    assert listed["pagination"] == {"total": 1, "limit": 10, "nextCursor": None}
    booking = listed["data"][0]
    assert (booking["status"], booking["date"], booking["startTime"][11:16]) == (
        "confirmed", day, "15:00",
    )  # fmt: skip
    assert booking["customer"] == {"name": "Ada"}
    assert (cancelled["data"]["id"], cancelled["data"]["status"]) == (booking_id, "cancelled")

    # Run again: the POST's Idempotency-Key replays the same booking, and cancelling a
    # cancelled booking is a no-op success.
    (_, listed_again, cancelled_again), again_id = run_walkthrough(served_port, day)
    assert again_id == booking_id
    assert [b["id"] for b in listed_again["data"]] == [booking_id]
    assert cancelled_again["data"]["status"] == "cancelled"

    # The envelope and headers of one of the README's requests, checked in full.
    status, doc = run_curl(
        f"curl -s -H 'X-Api-Key: demo-salon-key-123' "
        f"'http://127.0.0.1:{served_port}/v1/sites/demo-salon/booking/bookings?limit=10'",
        tmp_path,
    )
    assert status == 200 and [b["id"] for b in doc["data"]] == [booking_id]


def test_bookable_day_keeps_the_readme_date_while_it_is_bookable() -> None:
    assert bookable_day(date(2026, 11, 27)) == README_DAY
    assert bookable_day(date(2026, 12, 8)) == "2026-12-14"
    assert bookable_day(date(2026, 9, 1)) == "2026-09-07"


def test_the_readme_post_body_has_exactly_the_required_fields() -> None:
    post = next(c for c in readme_curl_commands() if "-X POST" in c)
    argv = shlex.split(post.split("$(", 1)[1])
    body = json.loads(argv[argv.index("-d") + 1])
    assert set(body) == {"serviceId", "date", "startTime", "customer"}
