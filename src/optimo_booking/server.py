"""A threaded stdlib WSGI server for the API: one command from a clone to a working API."""

from __future__ import annotations

import logging
import socketserver
import sys
from datetime import timedelta
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .api import BookingAPI
from .catalog import Catalog
from .demo import DEMO_API_KEY, DEMO_SITE
from .engine import Engine
from .localtime import TZDATA_VERSION
from .stores import SQLiteStore


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """`wsgiref`'s server, one thread per request."""

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    """Leaves access logging to the app's own `optimo_booking.access` logger."""

    def log_message(self, format: str, *args: object) -> None:
        """Silence wsgiref's stderr line per request."""


def make_api_server(app: BookingAPI, host: str = "127.0.0.1", port: int = 0) -> WSGIServer:
    """A threaded server bound to `host:port` (port 0 picks a free one)."""
    return make_server(host, port, app, ThreadingWSGIServer, QuietHandler)


def serve(catalog: Catalog, *, db: str, host: str, port: int, demo: bool) -> None:
    """Serve `catalog` on an SQLite file until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = BookingAPI(Engine(catalog, store=SQLiteStore(db)))
    server = make_api_server(app, host, port)
    url = f"http://{host}:{server.server_port}"
    print(f"optimo-booking API on {url} (bookings in {db}, tzdata {TZDATA_VERSION})", flush=True)
    if demo:
        tomorrow = (app.engine.now() + timedelta(days=1)).date().isoformat()
        print(f"demo site {DEMO_SITE!r}, API key: {DEMO_API_KEY}", flush=True)
        print(
            f"try: curl -H 'X-Api-Key: {DEMO_API_KEY}' "
            f"'{url}/v1/sites/{DEMO_SITE}/booking/slots?serviceId=haircut&date={tomorrow}'",
            flush=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
