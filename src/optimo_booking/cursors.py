"""Opaque, signed keyset cursors for booking lists.

A cursor holds the `(start, id)` of the last row served and a digest of the filters, signed
with HMAC-SHA256 under a secret the store keeps, so cursors work across processes and
restarts and are refused when altered or reused with other filters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from .errors import InvalidCursor

_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _filters_digest(filters: Mapping[str, str | None]) -> str:
    canonical = json.dumps(dict(filters), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def encode_cursor(
    secret: bytes, filters: Mapping[str, str | None], position: tuple[int, str]
) -> str:
    """A cursor pointing after `position` for these filters."""
    payload = json.dumps(
        {"s": position[0], "i": position[1], "f": _filters_digest(filters)},
        separators=(",", ":"),
    ).encode("utf-8")
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_cursor(secret: bytes, filters: Mapping[str, str | None], cursor: str) -> tuple[int, str]:
    """The `(start, id)` a cursor points after; `InvalidCursor` if altered or for other filters."""
    invalid = InvalidCursor("the cursor is not valid for this list", {"fields": ["cursor"]})
    try:
        payload_text, mac_text = cursor.split(".")
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except (ValueError, UnicodeError):
        raise invalid from None
    expected = hmac.new(secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise invalid
    data = json.loads(payload)
    if data.get("f") != _filters_digest(filters):
        raise InvalidCursor(
            "the cursor belongs to a list with other filters", {"fields": ["cursor"]}
        )
    return int(data["s"]), str(data["i"])
