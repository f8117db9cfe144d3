"""/api/v1/intraday: the plan of the rest of today, overlays, apply/undo, what-if (docs/api.md).

Thin routes over :mod:`realtime.intraday_store`. The plan itself is computed by the engine
(realtime/intraday.py); these routes only read it, or record a change that the next engine run
takes into account. Who may call them is decided by app/auth/policy.py; who is acting, for the
audit, is the caller the gate identified.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from app.api_util import api_error, api_now_ms, api_store
from app.auth import current_principal
from app.presenters.intraday import local_ms
from realtime import intraday_store as plan_ops

bp = Blueprint("api_v1_intraday", __name__, url_prefix="/api/v1/intraday")


def _user() -> str:
    return current_principal().audit_name


def _body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def _range(body: dict[str, Any], now: int) -> tuple[int, int] | str:
    """``start_ms``/``end_ms``, or ``start``/``end`` as local HH:MM today."""
    if isinstance(body.get("start_ms"), int) and isinstance(body.get("end_ms"), int):
        return body["start_ms"], body["end_ms"]
    store = api_store()
    day = store.timebase.day(now)
    start = local_ms(day, body.get("start"), store.settings.timezone) if isinstance(body.get("start"), str) else None
    end = local_ms(day, body.get("end"), store.settings.timezone) if isinstance(body.get("end"), str) else None
    if start is None or end is None:
        return 'give "start" and "end" as local "HH:MM" today, or "start_ms" and "end_ms"'
    return start, end


def _number(body: dict[str, Any], key: str, default: float) -> float | None:
    value = body.get(key, default)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _fail(exc: plan_ops.IntradayError) -> Any:
    status = 404 if isinstance(exc, plan_ops.UnknownItem) else 409 if isinstance(exc, plan_ops.StaleAction) else 400
    return api_error(status, str(exc))


@bp.get("")
def view() -> Any:
    body = plan_ops.read_view(api_store())
    if body is None:
        return api_error(404, "no intraday plan yet: the engine computes it from a forecast and schedules")
    return jsonify(body)


@bp.get("/<queue>")
def queue(queue: str) -> Any:
    plan = plan_ops.read_queue_plan(api_store(), queue)
    if plan is None:
        return api_error(404, f"no intraday plan for queue {queue!r}")
    summary = next((q for q in (plan_ops.read_view(api_store()) or {}).get("queues", []) if q["id"] == queue), None)
    return jsonify({**plan, "summary": summary})


@bp.get("/overlays")
def overlays() -> Any:
    now = api_now_ms()
    return jsonify({"day": api_store().timebase.day(now), "overlays": plan_ops.list_overlays(api_store(), api_store().timebase.day(now))})


@bp.post("/overlays")
def add_overlay() -> Any:
    body, now = _body(), api_now_ms()
    if body is None or not isinstance(body.get("queue"), str):
        return api_error(400, 'send a JSON body {"queue", "start", "end", "volume_multiplier", "label"}')
    span = _range(body, now)
    mult = _number(body, "volume_multiplier", 1.0)
    if isinstance(span, str) or mult is None:
        return api_error(400, span if isinstance(span, str) else "volume_multiplier must be a number, e.g. 1.3")
    label = body.get("label", "")
    try:
        record = plan_ops.add_overlay(api_store(), body["queue"], span[0], span[1], mult,
                                      label=label if isinstance(label, str) else "", user=_user(), now_ms=now)
    except plan_ops.IntradayError as exc:
        return _fail(exc)
    return jsonify(record), 201


@bp.delete("/overlays/<overlay_id>")
def remove_overlay(overlay_id: str) -> Any:
    try:
        return jsonify(plan_ops.remove_overlay(api_store(), overlay_id, user=_user(), now_ms=api_now_ms()))
    except plan_ops.IntradayError as exc:
        return _fail(exc)


@bp.post("/actions/<action_id>/apply")
def apply(action_id: str) -> Any:
    try:
        return jsonify(plan_ops.apply_action(api_store(), action_id, _user(), api_now_ms()))
    except plan_ops.IntradayError as exc:
        return _fail(exc)


@bp.get("/audit")
def audit() -> Any:
    day = api_store().timebase.day(api_now_ms())
    return jsonify({"day": day, "audit": plan_ops.list_audit(api_store(), day)})


@bp.post("/audit/<audit_id>/undo")
def undo(audit_id: str) -> Any:
    try:
        return jsonify(plan_ops.undo_action(api_store(), audit_id, _user(), api_now_ms()))
    except plan_ops.IntradayError as exc:
        return _fail(exc)


@bp.post("/what-if")
def what_if() -> Any:
    body, now = _body(), api_now_ms()
    if body is None or not isinstance(body.get("queue"), str):
        return api_error(400, 'send a JSON body {"queue", "start", "end", "agents_delta", "volume_multiplier"}')
    span = _range(body, now)
    delta, mult = _number(body, "agents_delta", 0.0), _number(body, "volume_multiplier", 1.0)
    if isinstance(span, str) or delta is None or mult is None:
        return api_error(400, span if isinstance(span, str) else "agents_delta and volume_multiplier must be numbers")
    try:
        return jsonify(plan_ops.what_if(api_store(), body["queue"], span[0], span[1], agents_delta=delta,
                                        volume_multiplier=mult))
    except plan_ops.IntradayError as exc:
        return _fail(exc)
