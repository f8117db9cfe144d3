"""The read-only JSON API under /api/v1/ (routes in app.api_routes; see docs/api.md)."""

from __future__ import annotations

from flask import Flask

from app.api_routes import bp
from realtime.history import History
from realtime.store import Store


def register_api(server: Flask, store: Store, history: History | None = None) -> None:
    """Attach the /api/v1 routes, with the store and history they read, to the Flask server."""
    server.extensions["floorboard.store"] = store
    server.extensions["floorboard.history"] = history
    server.register_blueprint(bp)
