"""Stores keep bookings; the engine's atomic check-and-insert happens inside them.

`PostgresStore` is imported on first use, so the package works without the `postgres` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = ["MemoryStore", "PostgresStore", "SQLiteStore", "Store", "store_from_url"]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        return postgres_store_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def postgres_store_class() -> type[PostgresStore]:
    """`PostgresStore`, or an `ImportError` that says which extra to install."""
    try:
        from .postgres import PostgresStore  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise ImportError(
            "PostgresStore needs the postgres extra: pip install 'optimo-booking[postgres]'"
            f" ({exc})"
        ) from exc
    return PostgresStore


_STORE_OPTIONS = ("schema", "max_connections", "lock_timeout")


def store_from_url(url: str) -> Store:
    """The store a URL names: `postgresql://...` (or `postgres://`) for PostgreSQL;
    `sqlite:///relative.sqlite3`, `sqlite:////absolute/path` or a plain file path for SQLite.

    A PostgreSQL URL may carry the store's own options as query parameters (`schema`,
    `max_connections`, `lock_timeout`); they are taken out before the URL reaches libpq.
    """
    scheme = url.split(":", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        options = {k: v for k, v in query if k in _STORE_OPTIONS}
        rest = urlencode([(k, v) for k, v in query if k not in _STORE_OPTIONS])
        store_class = postgres_store_class()
        try:
            max_connections = int(options.get("max_connections", 10))
            lock_timeout = float(options.get("lock_timeout", 5.0))
        except ValueError:
            raise ValueError(
                "max_connections must be a whole number and lock_timeout a number of seconds"
            ) from None
        return store_class(
            urlunsplit(parts._replace(query=rest)),
            schema=options.get("schema", "optimo_booking"),
            max_connections=max_connections,
            lock_timeout=lock_timeout,
        )
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise ValueError(f"an SQLite URL is sqlite:///path, not {url!r}")
        return SQLiteStore(path)
    if scheme:
        raise ValueError(
            f"unknown store URL scheme {scheme!r}: use a path, sqlite:/// or postgresql://"
        )
    return SQLiteStore(url)


def redacted(url: str) -> str:
    """`url` with any password replaced by `***`, for logs and banners."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
