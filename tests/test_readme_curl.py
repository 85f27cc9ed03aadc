"""README's "Over HTTP" curl commands, run with curl against the real `optimo-booking serve`.

The server is the installed console script on the bundled demo catalog, in a temporary
directory, on a free port. The commands are taken from the README as written; only the port,
the booking id (from the POST's answer) and, should the README's date no longer be bookable,
the date are rewritten.
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


def readme_curl_commands() -> list[str]:
    """The curl commands of the first sh block under '## Over HTTP', continuations joined."""
    text = README.read_text("utf-8")
    section = text.split("\n## Over HTTP\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "no sh block in README's Over HTTP section"
    joined = block.group(1).replace("\\\n", " ")
    commands = [line.strip() for line in joined.splitlines() if line.strip()]
    assert all(c.startswith("curl ") for c in commands), commands
    return commands


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
    process = subprocess.Popen(
        [*_console_script(), "serve", "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # bounded: the server prints it before serving
        found = re.search(r"http://127\.0\.0\.1:([0-9]+)", first)
        assert found, f"unexpected first line from serve: {first!r}"
        assert "demo-salon-key-123" in process.stdout.readline()  # the demo key is printed
        yield int(found.group(1))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        assert (cwd / "bookings.sqlite3").exists()  # the default --db, in the working dir


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


def test_the_readme_curl_examples_work_against_serve(served_port: int, tmp_path: Path) -> None:
    commands = readme_curl_commands()
    assert len(commands) == 4
    day = bookable_day(datetime.now(UTC).date())

    def prepared(command: str, booking_id: str = "") -> str:
        assert f"127.0.0.1:{README_PORT}" in command
        command = command.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{served_port}")
        command = command.replace(README_DAY, day)
        return command.replace("BOOKING_ID", booking_id)

    slots_cmd, create_cmd, list_cmd, patch_cmd = commands

    status, doc = run_curl(prepared(slots_cmd), tmp_path)
    assert status == 200
    assert doc["data"], "the README's slot query lists no slots"
    fifteen = [s for s in doc["data"] if s["startTime"][11:16] == "15:00" and s["available"]]
    assert fifteen, "the README books 15:00, which is not listed as available"

    status, doc = run_curl(prepared(create_cmd), tmp_path)
    assert status == 201, doc
    booking = doc["data"]
    assert booking["status"] == "confirmed"
    assert (booking["date"], booking["startTime"][11:16]) == (day, "15:00")
    assert booking["customer"] == {"name": "Ada"}

    status, doc = run_curl(prepared(list_cmd), tmp_path)
    assert status == 200
    assert [b["id"] for b in doc["data"]] == [booking["id"]]
    assert doc["pagination"] == {"total": 1, "limit": 10, "nextCursor": None}

    status, doc = run_curl(prepared(patch_cmd, booking["id"]), tmp_path)
    assert status == 200
    assert (doc["data"]["id"], doc["data"]["status"]) == (booking["id"], "cancelled")

    # the README's POST carries an Idempotency-Key: running it again replays the booking
    status, doc = run_curl(prepared(create_cmd), tmp_path)
    assert status == 200
    assert (doc["data"]["id"], doc["data"]["status"]) == (booking["id"], "cancelled")


def test_bookable_day_keeps_the_readme_date_while_it_is_bookable() -> None:
    assert bookable_day(date(2026, 11, 27)) == README_DAY
    assert bookable_day(date(2026, 12, 8)) == "2026-12-14"
    assert bookable_day(date(2026, 9, 1)) == "2026-09-07"


def test_the_readme_post_body_has_exactly_the_required_fields() -> None:
    commands = readme_curl_commands()
    body = json.loads(shlex.split(commands[1])[shlex.split(commands[1]).index("-d") + 1])
    assert set(body) == {"serviceId", "date", "startTime", "customer"}
