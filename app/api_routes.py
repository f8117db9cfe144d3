"""/api/v1: read-only JSON over the engine's snapshot, live state and the history store.

Thin routes: parse the request, one read from ``realtime``, return JSON. See docs/api.md.
The store and history are attached to the Flask app by :func:`app.api.register_api`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request

from app.api_util import api_error, api_history, api_now_ms, api_store
from realtime.queries import queue_day_intervals
from realtime.runner import engine_alive

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_error(day: str) -> str | None:
    if not _DATE.match(day):
        return f"date must be YYYY-MM-DD, got {day!r}"
    try:
        date.fromisoformat(day)
    except ValueError:
        return f"date {day!r} is not a calendar date"
    return None


def _snapshot_queues() -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    snap = api_store().read_snapshot()
    return snap, {q["id"]: q for q in (snap or {}).get("queues", [])}


@bp.get("/queues")
def queues() -> Any:
    snap, by_id = _snapshot_queues()
    return jsonify({
        "generated_ms": snap["generated_ms"] if snap else None,
        "age_s": (api_now_ms() - snap["generated_ms"]) / 1000 if snap else None,
        "queues": list(by_id.values()),
    })


@bp.get("/queues/<queue>")
def queue(queue: str) -> Any:
    _, by_id = _snapshot_queues()
    view = api_store().read_queue_view(queue, api_now_ms())
    if queue not in by_id or view is None:
        return api_error(404, f"unknown queue {queue!r}")
    return jsonify({**by_id[queue], "agents": view["agents"], "waiting": view["waiting"]})


@bp.get("/queues/<queue>/intervals")
def intervals(queue: str) -> Any:
    store = api_store()
    day = request.args.get("date") or store.timebase.day(api_now_ms())
    problem = _day_error(day)
    if problem:
        return api_error(400, problem)
    if queue not in store.queue_ids():
        return api_error(404, f"unknown queue {queue!r}")
    return jsonify(queue_day_intervals(store, api_history(), queue, day))


@bp.get("/agents/<agent>")
def agent(agent: str) -> Any:
    view = api_store().read_agent_view(agent, api_now_ms())
    if view is None:
        return api_error(404, f"unknown agent {agent!r}")
    return jsonify(view)


@bp.get("/health")
def health() -> Any:
    store, now = api_store(), api_now_ms()
    body = store.read_health(now)
    alive, message = engine_alive(store, now)
    body["engine"] = message
    return jsonify(body), 200 if alive else 503


@bp.get("/deadletters")
def deadletters() -> Any:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        return api_error(400, "limit must be a whole number from 1 to 1000")
    return jsonify({"deadletters": api_store().read_deadletters(int(raw))})
