"""A stdlib WSGI server for the API: one command from a clone to a working API.

It is built to survive ordinary abuse: a listen backlog of 128 so bursts queue instead of
being reset, a bounded pool of worker threads, and a deadline on reading each request so a
client that sends slowly (or not at all) gives its thread back. For production, run the app
under gunicorn (see the docs); this server is for development, demos and small sites.
"""

from __future__ import annotations

import io
import logging
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .api import BookingAPI
from .catalog import Catalog
from .demo import DEMO_API_KEY, DEMO_SITE
from .engine import Engine
from .localtime import TZDATA_VERSION
from .stores import redacted, store_from_url

log = logging.getLogger("optimo_booking.server")

BACKLOG = 128
THREADS = 16
READ_SECONDS = 10.0  # the whole request, headers and body, must arrive within this
WRITE_SECONDS = 30.0


class _DeadlineReader(io.RawIOBase):
    """A socket's read side with one deadline for everything read through it.

    A per-call socket timeout would let a client that trickles one byte at a time hold a
    thread forever; a deadline bounds the whole request.
    """

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._sock.settimeout(left)
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(WRITE_SECONDS)


class _QuietServerHandler(ServerHandler):
    """wsgiref's handler, logging through `logging` instead of printing tracebacks."""

    def log_exception(self, exc_info: Any) -> None:
        log.error("error while serving a request", exc_info=exc_info)


class RequestHandler(WSGIRequestHandler):
    """One connection: read under a deadline, answer with the app, log nothing per request.

    Access logging is the app's own `optimo_booking.access` logger.
    """

    read_seconds = READ_SECONDS

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by a reader with a deadline
        self.connection.settimeout(WRITE_SECONDS)
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self.read_seconds))

    def handle(self) -> None:
        """wsgiref's `handle`, with a handler that logs instead of printing to stderr."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # timed out or reset before the request line: nothing to answer
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _QuietServerHandler(
            self.rfile,
            self.wfile,  # type: ignore[arg-type]  # socketserver's writer, typed loosely
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # type: ignore[attr-defined]  # wsgiref's backpointer
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        """Silence wsgiref's stderr line per request."""


class PooledWSGIServer(WSGIServer):
    """`wsgiref`'s server with a bounded thread pool and a deep listen backlog."""

    request_queue_size = BACKLOG
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], threads: int = THREADS, read_seconds: float = READ_SECONDS
    ) -> None:
        handler = type("RequestHandler", (RequestHandler,), {"read_seconds": read_seconds})
        super().__init__(address, handler)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="optimo-http")

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a pool thread; it waits in the pool's queue when all are busy."""
        self._pool.submit(self._serve_one, request, client_address)

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except OSError:  # the client went away or timed out: nothing to answer
            pass
        except Exception:
            log.exception("error while serving %s", client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log instead of printing a traceback to stderr."""
        log.exception("error while serving %s", client_address)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_api_server(
    app: BookingAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    threads: int = THREADS,
    read_seconds: float = READ_SECONDS,
) -> PooledWSGIServer:
    """A server bound to `host:port` (port 0 picks a free one) with `threads` workers, each
    request to arrive whole within `read_seconds`."""
    server = PooledWSGIServer((host, port), threads, read_seconds)
    server.set_app(app)
    return server


def serve(
    catalog: Catalog, *, db: str, host: str, port: int, demo: bool, threads: int = THREADS
) -> None:
    """Serve `catalog` on the store `db` names (a path or a store URL) until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = BookingAPI(Engine(catalog, store=store_from_url(db)))
    server = make_api_server(app, host, port, threads=threads)
    url = f"http://{host}:{server.server_port}"
    where = redacted(db)
    print(f"optimo-booking API on {url} (bookings in {where}, tzdata {TZDATA_VERSION})", flush=True)
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
