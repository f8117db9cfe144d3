"""The read-only JSON API under /api/v1/ (routes in app.api_routes; see docs/api.md)."""

from __future__ import annotations

from flask import Flask

from app.api_alerts import bp as alerts_bp
from app.api_intraday import bp as intraday_bp
from app.api_routes import bp
from realtime.history import History
from realtime.store import Store


def register_api(server: Flask, store: Store, history: History | None = None) -> None:
    """Attach the /api/v1 routes, with the store and history they read, to the Flask server.

    Access control must be in front first (:func:`app.auth.install`): every route is checked
    against its rule in app/auth/policy.py, and the API is never served without that gate.
    """
    if "floorboard.auth" not in server.extensions:
        raise RuntimeError("install access control (app.auth.install) before registering the API")
    server.extensions["floorboard.store"] = store
    server.extensions["floorboard.history"] = history
    server.register_blueprint(bp)
    server.register_blueprint(alerts_bp)
    server.register_blueprint(intraday_bp)
