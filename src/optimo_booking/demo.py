"""The bundled demo catalog: a salon with two branches, three staff and four services."""

from __future__ import annotations

import json
from importlib.resources import files

from .catalog import Catalog, load_catalog

DEMO_SITE = "demo-salon"
# The demo site's API key. It is public on purpose: the catalog holds only its digest,
# as for any real key, and a real catalog never ships a key in the code.
DEMO_API_KEY = "demo-salon-key-123"


def demo_catalog() -> Catalog:
    """The bundled demo catalog."""
    text = files("optimo_booking").joinpath("demo_catalog.json").read_text("utf-8")
    return load_catalog(json.loads(text))
