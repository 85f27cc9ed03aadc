"""Mount the booking API inside a Flask app: Flask serves its own pages, the API lives at /api.

    pip install optimo-booking flask
    flask --app examples/flask_app.py run

Then `curl -H 'X-Api-Key: lindenhof-example-key'
'http://127.0.0.1:5000/api/v1/sites/lindenhof-salon/booking/slots?serviceId=haircut&date=...'`.
The API is a plain WSGI app, so werkzeug's `DispatcherMiddleware` mounts it under a prefix:
the prefix moves to `SCRIPT_NAME` and the API sees its own `/v1/...` paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, jsonify
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from optimo_booking import Engine, SQLiteStore, load_catalog
from optimo_booking.api import BookingAPI

CATALOG = Path(__file__).with_name("site.json")


def make_app(engine: Engine | None = None) -> Flask:
    """A Flask app with the booking API mounted at /api."""
    if engine is None:
        store = SQLiteStore(os.environ.get("OPTIMO_DB", "bookings.sqlite3"))
        engine = Engine(load_catalog(CATALOG), store=store)
    app = Flask(__name__)

    @app.get("/health")
    def health() -> object:
        return jsonify(status="ok")

    # Flask's own routes stay on `app.wsgi_app`; everything under /api goes to the API.
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/api": BookingAPI(engine)})  # type: ignore[method-assign]
    return app


if __name__ == "__main__":
    make_app().run(debug=False)
