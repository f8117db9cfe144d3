"""What every /api/v1 blueprint needs: the store and history the app was built with, the clock,
and JSON errors of one shape (``{"error": "..."}``, see docs/api.md)."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, jsonify

from realtime.history import History
from realtime.store import Store


def api_store() -> Store:
    return current_app.extensions["floorboard.store"]


def api_history() -> History | None:
    return current_app.extensions.get("floorboard.history")


def api_now_ms() -> int:
    return time.time_ns() // 1_000_000


def api_error(status: int, message: str) -> Any:
    return jsonify({"error": message}), status
