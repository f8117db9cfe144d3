"""/api/v1/alerts: the alert feed, one alert, acknowledge, snooze (docs/api.md, docs/alerts.md).

Thin routes over :mod:`realtime.alerts`. Who may call them is the access-control gate's
business (app/auth/policy.py); who is acting, for the audit trail, comes from
:func:`_current_user`, the one place that knows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from app.api_util import api_error, api_now_ms, api_store
from app.auth import current_principal
from realtime import alerts as alert_ops

bp = Blueprint("api_v1_alerts", __name__, url_prefix="/api/v1/alerts")
USER_HEADER = "X-Floorboard-User"
MAX_LIMIT = 1000


def _current_user() -> str | None:
    """Who is acting. Behind the access-control gate: the signed-in user or API token it
    identified (a header can then never name someone else). Without the gate (this blueprint
    registered on its own, as tests do): the ``X-Floorboard-User`` header."""
    principal = current_principal()
    if principal.kind != "anonymous":
        return principal.audit_name
    if "floorboard.auth" in current_app.extensions:
        return None
    return request.headers.get(USER_HEADER, "").strip() or None


def _visible() -> Callable[[Mapping[str, Any]], bool] | None:
    """Which alerts the caller may see: a signed-in user, those of the agents and queues within
    their reach (app.auth.principal); an API token granted the route, or no gate, all of them."""
    principal = current_principal()
    if principal.kind != "user":
        return None
    return lambda record: principal.can_see(record["kind"], record["subject"])


def _visible_alert(alert_id: str) -> dict[str, Any] | None:
    record = alert_ops.get_alert(api_store(), alert_id, api_now_ms())
    visible = _visible()
    return record if record is not None and (visible is None or visible(record)) else None


@bp.get("")
def feed() -> Any:
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        return api_error(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    now = api_now_ms()
    try:
        rows = alert_ops.list_alerts(api_store(), state=request.args.get("state") or None,
                                     kind=request.args.get("kind") or None, limit=int(raw), now_ms=now,
                                     where=_visible())
    except ValueError as exc:
        return api_error(400, str(exc))
    return jsonify({"generated_ms": now, "count": len(rows), "alerts": rows})


@bp.get("/<path:alert_id>")
def one(alert_id: str) -> Any:
    record = _visible_alert(alert_id)
    if record is None:  # unknown, expired, or outside the caller's reach: the same answer
        return api_error(404, f"unknown alert {alert_id!r}")
    return jsonify(record)


def _act(alert_id: str, minutes: int | None = None) -> Any:
    user = _current_user()
    if user is None:
        return api_error(400, f"say who is acting in the {USER_HEADER} header")
    if _visible() is not None and _visible_alert(alert_id) is None:
        return api_error(404, f"unknown alert {alert_id!r}")
    try:
        if minutes is None:
            record = alert_ops.acknowledge(api_store(), alert_id, user, api_now_ms())
        else:
            record = alert_ops.snooze(api_store(), alert_id, user, minutes, api_now_ms())
    except alert_ops.UnknownAlert as exc:
        return api_error(404, str(exc))
    except alert_ops.AlertResolved as exc:
        return api_error(409, str(exc))
    except alert_ops.AlertError as exc:
        return api_error(400, str(exc))
    return jsonify(record)


@bp.post("/<path:alert_id>/ack")
def ack(alert_id: str) -> Any:
    return _act(alert_id)


@bp.post("/<path:alert_id>/snooze")
def snooze(alert_id: str) -> Any:
    body = request.get_json(silent=True)
    minutes = body.get("minutes") if isinstance(body, dict) else None
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        return api_error(400, 'send a JSON body {"minutes": N}, N a whole number of minutes')
    return _act(alert_id, minutes)
