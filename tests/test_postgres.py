"""PostgreSQL-only facts: the database's own guarantees (the exclusion constraint, the staff
lock, row locks as `storage_busy`), migrations under a lock, the `schema` option, a pool that
reconnects, choosing a store by URL, `store copy` with verification, and the SIGKILL soak.
The store contract itself runs on PostgreSQL through the `store` fixture in conftest."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import multiprocessing
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import (
    BOOK_DAY,
    BOOK_SITE,
    BOOKING_CATALOG,
    GOOD_CUSTOMER,
    POSTGRES_SKIP,
    POSTGRES_URL,
    FakeClock,
    StoreSpec,
    booking_catalog,
    drop_postgres_schema,
    new_spec,
    refused,
)
from optimo_booking import Engine, SQLiteStore, Status
from optimo_booking.api import BookingAPI
from optimo_booking.cli import main
from optimo_booking.stores import store_from_url


def _schema_versions() -> int:
    """How many migrations this code knows (imported late: psycopg is an extra)."""
    from optimo_booking.stores.postgres import _MIGRATIONS

    return len(_MIGRATIONS)


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_URL is None, reason=POSTGRES_SKIP),
]

REQUEST = {"service_id": "cut", "date": BOOK_DAY, "start_time": "10:00", "customer": GOOD_CUSTOMER}
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "crash_soak.py"


@pytest.fixture
def spec(tmp_path: Path) -> Iterator[StoreSpec]:
    made = new_spec("postgres", tmp_path)
    yield made
    drop_postgres_schema(made)


def url_of(spec: StoreSpec) -> str:
    return f"{spec.location}?schema={spec.schema}"


@pytest.fixture
def opened() -> Iterator[list[Any]]:
    stores: list[Any] = []
    yield stores
    for store in stores:
        store.close()


def pg_store(spec: StoreSpec, opened: list[Any], **options: Any) -> Any:
    from optimo_booking import PostgresStore

    store = PostgresStore(spec.location, schema=spec.schema, **options)
    opened.append(store)
    return store


def sql(spec: StoreSpec, text: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(spec.location, autocommit=True) as conn:
        cur = conn.execute(text.replace("{s}", f'"{spec.schema}"'), params or None)
        return cur.fetchall() if cur.description else []


# -- the database's own guarantee -----------------------------------------------------------


def test_the_exclusion_constraint_refuses_an_overlap_written_past_python(
    spec: StoreSpec, opened: list[Any]
) -> None:
    engine = Engine(booking_catalog(), store=pg_store(spec, opened), clock=FakeClock())
    made = engine.create_booking(BOOK_SITE, **REQUEST, staff_id="ann")
    import psycopg

    # A copy of the row under another id: the same held time of the same staff member.
    clone = (
        "INSERT INTO {s}.bookings SELECT 'bk_clone', site_id, service_id, staff_id, branch_id, "
        "status, start_ts, end_ts, zone, local_date, customer, notes, created_at, updated_at, "
        "{held}, 'bk_clone' FROM {s}.bookings WHERE id = %s"
    )
    # Only the buffer after (10 minutes past the end) is shared: still refused.
    in_buffer = "tstzrange(upper(held) - interval '5 minutes', upper(held) + interval '1 hour')"
    for held in ("held", in_buffer):
        with pytest.raises(psycopg.errors.ExclusionViolation):
            sql(spec, clone.replace("{held}", held), made.id)
    # Touching is not overlapping: a span that starts where the held one ends is allowed.
    sql(spec, clone.replace("{held}", "tstzrange(upper(held), upper(held) + '1h')"), made.id)
    # Cancelled rows hold nothing.
    sql(spec, "UPDATE {s}.bookings SET status = 'cancelled' WHERE id = 'bk_clone'")
    sql(spec, "DELETE FROM {s}.bookings WHERE id = 'bk_clone'")
    sql(spec, clone.replace("{held}", "held").replace("status,", "'cancelled',"), made.id)
    assert [r[0] for r in sql(spec, "SELECT id FROM {s}.bookings ORDER BY id")] == sorted(
        [made.id, "bk_clone"]
    )


def test_group_seats_share_their_span_and_nothing_else(spec: StoreSpec, opened: list[Any]) -> None:
    engine = Engine(booking_catalog(), store=pg_store(spec, opened), clock=FakeClock())
    seats = [
        engine.create_booking(BOOK_SITE, **dict(REQUEST, service_id="class", start_time="11:00"))
        for _ in range(3)
    ]
    rows = sql(spec, "SELECT DISTINCT share_key FROM {s}.bookings")
    assert rows == [(f"class:{seats[0].start_ts}",)]
    refused(
        "slot_unavailable",
        engine.create_booking,
        BOOK_SITE,
        **dict(REQUEST, service_id="class", start_time="11:00"),
    )
    assert len(sql(spec, "SELECT id FROM {s}.bookings")) == 3


def test_held_ranges_include_the_buffers(spec: StoreSpec, opened: list[Any]) -> None:
    engine = Engine(booking_catalog(), store=pg_store(spec, opened), clock=FakeClock())
    made = engine.create_booking(BOOK_SITE, **dict(REQUEST, service_id="color"), staff_id="ann")
    ((lower, upper),) = sql(
        spec, "SELECT lower(held), upper(held) FROM {s}.bookings WHERE id = %s", made.id
    )
    assert lower == made.start - timedelta(minutes=10)
    assert upper == made.end + timedelta(minutes=15)


def test_a_placement_the_database_refuses_is_slot_unavailable_and_writes_nothing(
    spec: StoreSpec, opened: list[Any]
) -> None:
    store = pg_store(spec, opened)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    first = engine.create_booking(BOOK_SITE, **REQUEST, staff_id="ann")
    # A placement that ignores what it is shown: only the constraint stands in its way.
    blind = dataclasses.replace(first, id="bk_blind")
    err = refused(
        "slot_unavailable",
        store.create,
        BOOK_SITE,
        window=(0, 1),
        staff_ids={"ann"},
        decide=lambda _taken: blind,
        idempotency=None,
    )
    assert err.details["reason"] == "booked"
    assert [r[0] for r in sql(spec, "SELECT id FROM {s}.bookings")] == [first.id]


# -- locks and storage_busy ---------------------------------------------------------------------


def test_a_held_staff_lock_is_storage_busy_and_changes_nothing(
    spec: StoreSpec, opened: list[Any]
) -> None:
    import psycopg

    from optimo_booking.stores.postgres import _STAFF_CLASS, _lock_key

    store = pg_store(spec, opened, lock_timeout=0.3)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    with psycopg.connect(spec.location, autocommit=True) as blocker:
        blocker.execute(
            "SELECT pg_advisory_lock(%s, %s)", (_STAFF_CLASS, _lock_key(BOOK_SITE, "ann"))
        )
        err = refused(
            "storage_busy",
            engine.create_booking,
            BOOK_SITE,
            **REQUEST,
            staff_id="ann",
            idempotency_key="k",
        )
        assert err.http_status == 503 and err.details["retryAfterSeconds"] == 1
        # Another staff member's bookings do not wait for ann's lock.
        engine.create_booking(BOOK_SITE, **REQUEST, staff_id="ben")
    assert [b.staff_id for b in engine.list_bookings(BOOK_SITE).items] == ["ben"]
    outcome = engine.create_booking_outcome(
        BOOK_SITE, **REQUEST, staff_id="ann", idempotency_key="k"
    )
    assert not outcome.replayed


def test_a_locked_row_is_storage_busy_for_a_status_change(
    spec: StoreSpec, opened: list[Any]
) -> None:
    import psycopg

    store = pg_store(spec, opened, lock_timeout=0.3)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    made = engine.create_booking(BOOK_SITE, **REQUEST)
    with psycopg.connect(spec.location) as blocker:
        blocker.execute(
            f'SELECT 1 FROM "{spec.schema}".bookings WHERE id = %s FOR UPDATE', (made.id,)
        )
        refused("storage_busy", engine.set_status, BOOK_SITE, made.id, "cancelled")
        blocker.rollback()
    assert engine.get_booking(BOOK_SITE, made.id).status is Status.CONFIRMED


# -- schema, migrations, pool ------------------------------------------------------------------


def _start_store(url: str, schema: str, barrier: Any, results: Any) -> None:
    from optimo_booking import PostgresStore

    barrier.wait(timeout=60)
    try:
        store = PostgresStore(url, schema=schema)
        results.put(("ok", store.schema_version(), store.cursor_secret().hex()))
        store.close()
    except Exception as exc:  # reported by the test
        results.put(("error", repr(exc), ""))


def test_eight_processes_starting_on_an_empty_database_all_come_up(spec: StoreSpec) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(8), ctx.Queue()
    workers = [
        ctx.Process(target=_start_store, args=(spec.location, spec.schema, barrier, results))
        for _ in range(8)
    ]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert {o[0] for o in outcomes} == {"ok"}, outcomes
    assert {o[1] for o in outcomes} == {_schema_versions()}
    assert len({o[2] for o in outcomes}) == 1  # one cursor key, whoever made it
    assert sql(spec, "SELECT version FROM {s}.migrations ORDER BY version") == [
        (n,) for n in range(1, _schema_versions() + 1)
    ]


def test_a_schema_newer_than_the_code_is_refused(spec: StoreSpec, opened: list[Any]) -> None:
    from optimo_booking import BookingError, PostgresStore

    pg_store(spec, opened)
    sql(spec, "INSERT INTO {s}.migrations (version) VALUES (99)")
    with pytest.raises(BookingError, match="version 99, newer than"):
        PostgresStore(spec.location, schema=spec.schema)
    assert sql(spec, "SELECT version FROM {s}.migrations ORDER BY version") == [
        *((n,) for n in range(1, _schema_versions() + 1)),
        (99,),
    ]


def test_tables_live_in_the_schema_asked_for(spec: StoreSpec, opened: list[Any]) -> None:
    pg_store(spec, opened)
    tables = sql(
        spec,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        spec.schema,
    )
    assert [t[0] for t in tables] == [
        "bookings",
        "busy",
        "holds",
        "idempotency_keys",
        "migrations",
        "store_meta",
    ]


def test_two_schemas_are_two_stores(tmp_path: Path, opened: list[Any]) -> None:
    a, b = new_spec("postgres", tmp_path), new_spec("postgres", tmp_path)
    try:
        first, second = pg_store(a, opened), pg_store(b, opened)
        assert first.cursor_secret() != second.cursor_secret()
        Engine(booking_catalog(), store=first, clock=FakeClock()).create_booking(
            BOOK_SITE, **REQUEST
        )
        assert Engine(booking_catalog(), store=second).list_bookings(BOOK_SITE).total == 0
    finally:
        drop_postgres_schema(a)
        drop_postgres_schema(b)


@pytest.mark.parametrize("bad", ["Upper", "has space", "x;drop", "", "1starts_with_digit"])
def test_a_bad_schema_name_is_refused_before_connecting(bad: str) -> None:
    from optimo_booking import PostgresStore

    with pytest.raises(ValueError, match="schema"):
        PostgresStore("postgresql://nowhere.invalid/db", schema=bad)


def test_the_pool_reconnects_after_its_connections_are_killed(
    spec: StoreSpec, opened: list[Any]
) -> None:
    store = pg_store(spec, opened)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    made = engine.create_booking(BOOK_SITE, **REQUEST)
    killed = sql(
        spec,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = '' AND pid <> pg_backend_pid() AND datname = current_database()"
        " AND backend_type = 'client backend'",
    )
    assert killed, "no pooled connection to kill"
    # The pool checks a connection before lending it, so no caller sees the dead ones.
    for _ in range(5):
        assert engine.get_booking(BOOK_SITE, made.id).id == made.id


def test_the_window_lookup_is_an_index_scan(spec: StoreSpec, opened: list[Any]) -> None:
    store = pg_store(spec, opened)
    sql(
        spec,
        "INSERT INTO {s}.bookings SELECT 'bk_' || i, 'bk', 'trim', "
        "(ARRAY['ann','ben','cat'])[i % 3 + 1], NULL, 'confirmed', i * 900, i * 900 + 900, "
        "'UTC', '2026-03-09', '{}', NULL, '', '', "
        "tstzrange(to_timestamp(i * 900), to_timestamp(i * 900 + 900)), 'bk_' || i "
        "FROM generate_series(1, 20000) AS i",
    )
    sql(spec, "ANALYZE {s}.bookings")
    plan = store.explain_window_query(BOOK_SITE, ["ann"])
    assert "Index Scan using bookings_by_" in plan, plan
    assert "Seq Scan" not in plan, plan


# -- choosing a store ----------------------------------------------------------------------------


def test_a_postgres_url_carries_the_store_options(spec: StoreSpec) -> None:
    from optimo_booking import PostgresStore

    pg = store_from_url(f"{url_of(spec)}&lock_timeout=2.5&max_connections=3")
    assert isinstance(pg, PostgresStore)
    assert (pg.schema, pg.lock_timeout, pg.max_connections) == (spec.schema, 2.5, 3)
    pg.close()
    with pytest.raises(ValueError, match="max_connections"):
        store_from_url(f"{url_of(spec)}&max_connections=many")
    for bad in ("0", "-1", "nan", "inf"):
        with pytest.raises(ValueError, match="lock_timeout"):
            store_from_url(f"{url_of(spec)}&lock_timeout={bad}")


def test_create_app_reads_optimo_store(spec: StoreSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    from optimo_booking import PostgresStore
    from optimo_booking.api import create_app

    monkeypatch.setenv("OPTIMO_STORE", url_of(spec))
    app = create_app()
    assert isinstance(app.engine.store, PostgresStore)
    assert app.engine.store.schema == spec.schema
    app.engine.store.close()
    direct = create_app(store_url=url_of(spec))
    assert isinstance(direct.engine.store, PostgresStore)
    direct.engine.store.close()


def test_the_package_imports_without_the_postgres_extra() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"
        "import optimo_booking\n"
        "from optimo_booking import Engine, MemoryStore, SQLiteStore\n"
        "try:\n"
        "    from optimo_booking import PostgresStore\n"
        "except ImportError as exc:\n"
        "    print('refused:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "refused: PostgresStore needs the postgres extra" in out.stdout, out


# -- store copy ----------------------------------------------------------------------------------

HOUR = 3600


def _bulk(n: int) -> list[Any]:
    """`n` bookings of the booking catalog's `trim` service, 15 minutes apart per staff."""
    from conftest import booking

    out = []
    start = datetime(2027, 1, 4, 0, 0, tzinfo=UTC)
    staff = ("ann", "ben", "cat")
    for i in range(n):
        b = booking(
            start + timedelta(minutes=15 * (i // 3)), 15, staff=staff[i % 3], service="trim"
        )
        out.append(
            dataclasses.replace(
                b,
                id=f"bk_{i:020x}",
                site_id=BOOK_SITE,
                customer={"name": f"Bulk {i}", "tags": ["a", i], "n": {"x": 1.5}},
                notes=None if i % 5 else f"note {i} ✂\x00",
                status=Status.CANCELLED if i % 11 == 0 else Status.CONFIRMED,
            )
        )
    return out


def _wsgi_get(app: BookingAPI, path: str, query: str, key: str) -> dict[str, Any]:
    import io

    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"] = status

    body = b"".join(
        app(
            {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "HTTP_X_API_KEY": key,
                "wsgi.input": io.BytesIO(b""),
                "SERVER_NAME": "test",
                "SERVER_PORT": "80",
                "wsgi.url_scheme": "http",
            },
            start_response,
        )
    )
    assert captured["status"].startswith("200"), (captured, body[:300])
    return dict(json.loads(body))


def _walk_api(app: BookingAPI, key: str) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    cursors: list[str] = []
    query = "limit=100"
    while True:
        page = _wsgi_get(app, f"/v1/sites/{BOOK_SITE}/booking/bookings", query, key)
        rows.extend(page["data"])
        cursor = page["pagination"]["nextCursor"]
        if not cursor:
            return rows, cursors
        cursors.append(cursor)
        query = f"limit=100&cursor={quote(cursor)}"


def test_store_copy_moves_ten_thousand_bookings_from_sqlite_into_postgres(
    spec: StoreSpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    key = "copy-test-key"
    raw = json.loads(json.dumps(BOOKING_CATALOG))
    raw["sites"][0]["apiKeys"] = [{"id": "t", "sha256": hashlib.sha256(key.encode()).hexdigest()}]
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(raw))
    source_path = tmp_path / "source.sqlite3"
    source = SQLiteStore(source_path)
    source.import_rows(_bulk(10_000), [], source.cursor_secret())
    engine = Engine(booking_catalog(), store=source, clock=FakeClock())
    # A few made by the engine: buffers, a group session, idempotency keys, a status change.
    made = [
        engine.create_booking(BOOK_SITE, **dict(REQUEST, service_id="color"), idempotency_key="c"),
        *(
            engine.create_booking(
                BOOK_SITE, **dict(REQUEST, service_id="class", start_time="14:00")
            )
            for _ in range(3)
        ),
    ]
    engine.set_status(BOOK_SITE, made[0].id, "confirmed")
    before = SQLiteStore(source_path)
    source_rows, source_cursors = _walk_api(
        BookingAPI(Engine(load(catalog_file), store=before)), key
    )
    before.close()

    target = url_of(spec)
    assert main(["store", "copy", str(source_path), target]) == 2  # no catalog for PostgreSQL
    assert "--catalog is needed" in capsys.readouterr().err
    assert main(["store", "copy", str(source_path), target, "--catalog", str(catalog_file)]) == 0
    out = capsys.readouterr().out
    assert "copied 10004 bookings and 1 idempotency keys" in out and "verified" in out

    pg = store_from_url(target)
    try:
        app = BookingAPI(Engine(load(catalog_file), store=pg))
        rows, cursors = _walk_api(app, key)
        assert len(source_rows) == 10_004
        assert rows == source_rows
        assert cursors == source_cursors
        # A cursor handed out by the SQLite deployment pages on in PostgreSQL.
        page = _wsgi_get(
            app,
            f"/v1/sites/{BOOK_SITE}/booking/bookings",
            f"limit=100&cursor={quote(source_cursors[40])}",
            key,
        )
        assert page["data"] == source_rows[4100:4200]
        replay = Engine(booking_catalog(), store=pg, clock=FakeClock()).create_booking_outcome(
            BOOK_SITE, **dict(REQUEST, service_id="color"), idempotency_key="c"
        )
        assert replay.replayed and replay.booking.id == made[0].id
        shares = sql(
            spec, "SELECT count(DISTINCT share_key) FROM {s}.bookings WHERE service_id = 'class'"
        )
        assert shares == [(1,)]
    finally:
        pg.close()
    # A non-empty target is refused, and left as it was.
    assert main(["store", "copy", str(source_path), target, "--catalog", str(catalog_file)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert sql(spec, "SELECT count(*) FROM {s}.bookings") == [(10_004,)]


def load(path: Path) -> Any:
    from optimo_booking import load_catalog

    return load_catalog(path)


def test_a_copy_whose_bookings_overlap_loads_nothing(spec: StoreSpec, tmp_path: Path) -> None:
    source = SQLiteStore(tmp_path / "s.sqlite3")
    rows = _bulk(2)
    assert rows[1].status is Status.CONFIRMED
    twin = dataclasses.replace(rows[1], id="bk_twin")
    source.import_rows([*rows, twin], [], source.cursor_secret())
    source.close()
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(BOOKING_CATALOG))
    args = [
        "store",
        "copy",
        str(tmp_path / "s.sqlite3"),
        url_of(spec),
        "--catalog",
        str(catalog_file),
    ]
    assert main(args) == 2
    assert sql(spec, "SELECT count(*) FROM {s}.bookings") == [(0,)]


# -- crash safety ----------------------------------------------------------------------------------

CRASH_CYCLES = 50


def test_sigkill_at_random_moments_loses_no_acknowledged_booking(
    spec: StoreSpec, tmp_path: Path
) -> None:
    module_spec = importlib.util.spec_from_file_location("crash_soak", SCRIPT)
    assert module_spec is not None and module_spec.loader is not None
    soak = importlib.util.module_from_spec(module_spec)
    sys.modules.setdefault("crash_soak", soak)
    module_spec.loader.exec_module(soak)
    seed = random.randrange(2**31)
    report = soak.soak(
        tmp_path / "scratch", CRASH_CYCLES, seed, max_wait=0.4, store_url=url_of(spec)
    )
    print(f"\nSIGKILL soak on PostgreSQL, seed {seed}: {report}")
    assert report.problems == [], report.problems
    assert report.cycles == CRASH_CYCLES
    assert report.kills_mid_write >= CRASH_CYCLES // 2, f"seed {seed}: {report}"
    assert report.rows >= report.printed > 0
    # The constraint's own check, in SQL: no overlapping time-holding rows.
    overlaps = sql(
        spec,
        "SELECT count(*) FROM {s}.bookings a JOIN {s}.bookings b ON a.site_id = b.site_id "
        "AND a.staff_id = b.staff_id AND a.id < b.id AND a.held && b.held "
        "AND a.share_key <> b.share_key WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'",
    )
    assert overlaps == [(0,)]


def test_store_copy_goes_back_from_postgres_into_sqlite(spec: StoreSpec, tmp_path: Path) -> None:
    from optimo_booking.stores.copy import inventory

    pg = store_from_url(url_of(spec))
    engine = Engine(booking_catalog(), store=pg, clock=FakeClock())
    engine.create_booking(BOOK_SITE, **REQUEST, idempotency_key="a", notes="n\x00")
    engine.create_booking(BOOK_SITE, **dict(REQUEST, service_id="class"))
    assert main(["store", "copy", url_of(spec), str(tmp_path / "back.sqlite3")]) == 0
    back = SQLiteStore(tmp_path / "back.sqlite3")
    try:
        assert inventory(back) == inventory(pg)  # type: ignore[arg-type]
        assert inventory(back).bookings == 2
    finally:
        back.close()
        pg.close()
