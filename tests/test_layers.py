"""STYLE.md rule 8: the dependency rule, read from the source with `ast`.

Layers, low to high: errors, intervals, localtime, values, assignment, catalog, schedule,
slots, lifecycle, cursors, placement, wire, openapi, demo, ics (the sans-IO core) < stores <
engine < api < server < simulate < cli. A module may import only lower layers (a store may
import the other store modules); `testing` may import anything below the engine and nothing
imports it;
`sqlite3` is imported only by stores/sqlite.py; and the core never reads the clock, the
environment, a database, a socket or HTTP.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import optimo_booking

PACKAGE = Path(optimo_booking.__file__).resolve().parent
CORE = (
    "errors", "intervals", "localtime", "values", "assignment", "catalog", "schedule", "slots",
    "lifecycle", "cursors", "placement", "wire", "openapi", "demo", "ics",
)  # fmt: skip
RANK: dict[str, int] = {name: i for i, name in enumerate(CORE)}
RANK.update(
    {
        "stores": 20,  # every module of the stores package
        "engine": 30,
        "__init__": 35,  # the public surface re-exports the engine and below
        "api": 40,
        "server": 41,
        "simulate": 45,  # replays a demand through an engine; the cli prints its reports
        "cli": 50,
    }
)
PACKAGES = {"stores", "catalog"}  # layers that are packages; their modules import each other
TESTING_CEILING = RANK["engine"]  # testing may import anything below the engine
FORBIDDEN_IN_CORE_MODULES = {
    "os", "sqlite3", "socket", "socketserver", "http", "urllib", "wsgiref", "subprocess",
    "time", "select", "asyncio", "ssl",
}  # fmt: skip
# clock and environment reads: `datetime.now()`, `date.today()`, `os.getenv(...)`, ...
FORBIDDEN_IN_CORE_CALLS = {
    "now", "utcnow", "today", "getenv", "time", "monotonic", "perf_counter", "time_ns",
}  # fmt: skip


def module_name(path: Path) -> str:
    """`optimo_booking.stores.sqlite` for .../optimo_booking/stores/sqlite.py."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The layer a module of the package belongs to: `stores`, `engine`, `__init__`, ..."""
    parts = module.split(".")
    assert parts[0] == "optimo_booking", module
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports (absolute names; relative imports resolved), with lines."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.level and not node.module:
                # `from . import x`: each name is a module of the package
                found.extend((node.lineno, f"{target}.{a.name}") for a in node.names)
            else:
                found.append((node.lineno, target))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    unknown = [
        module_name(p)
        for p in SOURCES
        if layer_of(module_name(p)) not in RANK and layer_of(module_name(p)) != "testing"
    ]
    assert not unknown, f"give these modules a layer in test_layers.py: {unknown}"
    assert {layer_of(module_name(p)) for p in SOURCES} >= {*CORE, "stores", "engine", "api"}


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_no_upward_import(path: Path) -> None:
    me = layer_of(module_name(path))
    problems = []
    for line, target in imported_modules(path):
        if target != "optimo_booking" and not target.startswith("optimo_booking."):
            continue
        them = layer_of(target)
        where = f"{path.name}:{line} imports {target}"
        if them == "testing":
            if me != "testing":
                problems.append(f"{where} (nothing in the package may import testing)")
            continue
        if me == "testing":
            if RANK[them] >= TESTING_CEILING:
                problems.append(f"{where} (testing may import only what is below the engine)")
            continue
        if them == me and me in PACKAGES:
            continue  # a package's own modules
        if RANK[them] >= RANK[me]:
            problems.append(f"{where} ({them} is not below {me})")
    assert not problems, "\n".join(problems)


def test_sqlite3_only_in_the_sqlite_store() -> None:
    users = [
        f"{module_name(p)}:{line}"
        for p in SOURCES
        for line, target in imported_modules(p)
        if target.split(".")[0] == "sqlite3"
    ]
    assert users, "the SQLite store imports sqlite3"
    assert {u.split(":")[0] for u in users} == {"optimo_booking.stores.sqlite"}, users


def test_psycopg_only_in_the_postgres_store() -> None:
    """The `postgres` extra is optional: nothing else may need it to import."""
    users = [
        f"{module_name(p)}:{line}"
        for p in SOURCES
        for line, target in imported_modules(p)
        if target.split(".")[0] in ("psycopg", "psycopg_pool")
    ]
    assert users, "the PostgreSQL store imports psycopg"
    assert {u.split(":")[0] for u in users} == {"optimo_booking.stores.postgres"}, users


CORE_FILES = sorted(
    p
    for p in SOURCES
    if layer_of(module_name(p)) in CORE and layer_of(module_name(p)) != "__init__"
)


@pytest.mark.parametrize("path", CORE_FILES, ids=module_name)
def test_the_core_is_sans_io(path: Path) -> None:
    name = module_name(path)
    tree = ast.parse(path.read_text("utf-8"), str(path))
    problems = [
        f"{name}.py:{line} imports {target}"
        for line, target in imported_modules(path)
        if target.split(".")[0] in FORBIDDEN_IN_CORE_MODULES
    ]
    name = name.removeprefix("optimo_booking.").replace(".", "/")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            # `time.time()`, `datetime.now()`; a bare `time()` is datetime.time (midnight)
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_IN_CORE_CALLS:
                problems.append(f"{name}.py:{node.lineno} calls .{func.attr}()")
            if isinstance(func, ast.Name) and func.id == "getenv":
                problems.append(f"{name}.py:{node.lineno} calls getenv()")
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            problems.append(f"{name}.py:{node.lineno} reads .environ")
    assert not problems, "\n".join(problems)


def test_the_sans_io_check_would_catch_a_clock_read(tmp_path: Path) -> None:
    tree = ast.parse("import datetime\nx = datetime.datetime.now(datetime.UTC)\nself.now")
    calls = [
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    ]
    assert calls == ["now"]


def test_the_checker_sees_imports() -> None:
    # the walker resolves relative imports, or every test above would pass vacuously
    sqlite_store = PACKAGE / "stores" / "sqlite.py"
    targets = {t for _, t in imported_modules(sqlite_store)}
    assert {"sqlite3", "optimo_booking.errors", "optimo_booking.stores.base"} <= targets
    api_targets = {t for _, t in imported_modules(PACKAGE / "api.py")}
    assert {"optimo_booking.engine", "optimo_booking.stores"} <= api_targets


def test_every_core_layer_has_its_files_checked() -> None:
    assert {layer_of(module_name(p)) for p in CORE_FILES} == set(CORE)


OPTIONAL_LIBRARIES = {"icalendar", "recurring_ical_events"}  # the `ics` extra


def module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Imports run when the module loads: top level, outside `if TYPE_CHECKING:` blocks."""
    found: list[tuple[int, str]] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # runs when called, not when the module loads
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.append((node.lineno, node.module or ""))
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_optional_libraries_load_lazily_and_only_in_ics() -> None:
    # `import optimo_booking` (and every module) must work without the `ics` extra
    problems = []
    for path in SOURCES:
        name = module_name(path)
        for line, target in imported_modules(path):
            if target.split(".")[0] in OPTIONAL_LIBRARIES and name != "optimo_booking.ics":
                problems.append(f"{name}:{line} imports {target} (only ics may)")
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for line, target in module_level_imports(tree):
            if target.split(".")[0] in OPTIONAL_LIBRARIES:
                problems.append(f"{name}:{line} imports {target} when it loads")
    assert not problems, "\n".join(problems)
    ics_targets = {t for _, t in imported_modules(PACKAGE / "ics.py")}
    assert ics_targets >= OPTIONAL_LIBRARIES, "the checker sees the lazy imports"
    tree = ast.parse("import a\nif TYPE_CHECKING:\n    import b\ndef f():\n    import c\n")
    assert [t for _, t in module_level_imports(tree)] == ["a"]
