"""The queue page's view model: live header, agent table, callers waiting, interval rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.presenters import format as fmt
from app.presenters.status import OK, wait_level
from app.presenters.wallboard import sl_caption

STATE_RANK = {"aux": 0, "acw": 1, "on_call": 2, "available": 3}
AGENT_COLUMNS = (
    {"id": "agent", "name": "Agent"},
    {"id": "state", "name": "State"},
    {"id": "reason", "name": "Reason"},
    {"id": "time_in_state", "name": "Time in state"},
)
# Columns that sort by a hidden raw value rather than by their text ("10:00" vs "9:00").
_SORT_KEYS = {"time_in_state": "time_in_state_s", "state": "state_rank"}


def _default_order(row: Mapping[str, Any]) -> tuple[int, float]:
    # The longest in aux first: that is who a supervisor asks about.
    return row["state_rank"], -(row["time_in_state_s"] or 0.0)


def _sort_value(row: Mapping[str, Any], key: str) -> float | str:
    value = row.get(key)
    return value if isinstance(value, int | float) else str(value or "").lower()


def agent_rows(agents: Sequence[Mapping[str, Any]], sort_by: Sequence[Mapping[str, str]] | None = None) -> list[dict[str, Any]]:
    """Table rows, by default the longest in aux first; else by the table's sort_by."""
    rows = [
        {
            "agent": a.get("agent"),
            "state": fmt.humanize(a.get("state") or "unknown"),
            "state_key": a.get("state") or "unknown",
            "state_rank": STATE_RANK.get(a.get("state") or "", 9),
            "reason": fmt.humanize(a["reason"]) if a.get("reason") else "",
            "time_in_state": fmt.clock(a.get("time_in_state_s")),
            "time_in_state_s": a.get("time_in_state_s") or 0.0,
        }
        for a in agents
    ]
    rows.sort(key=_default_order)
    for spec in reversed(list(sort_by or [])):  # stable sorts, least significant key first
        key = _SORT_KEYS.get(spec.get("column_id", ""), spec.get("column_id", ""))
        rows.sort(key=lambda r, k=key: _sort_value(r, k), reverse=spec.get("direction") == "desc")
    return rows


def waiting_rows(waiting: Sequence[Mapping[str, Any]], cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Callers waiting now, the longest first, each with its wait level."""
    ordered = sorted(waiting, key=lambda w: -(w.get("wait_s") or 0.0))
    return [
        {"call": w.get("call"), "wait": fmt.clock(w.get("wait_s")), "level": wait_level(w.get("wait_s"), cfg)}
        for w in ordered
    ]


def _total(rows: Sequence[Mapping[str, Any]], key: str) -> float:
    return sum(float(r.get(key) or 0.0) for r in rows)


def day_rows(intervals: Sequence[Mapping[str, Any]], now_ms: int) -> list[Mapping[str, Any]]:
    """Intervals from the first with calls to the current one (no empty night on the axis)."""
    started = [r for r in intervals if (r.get("start_ms") or 0) <= now_ms]
    first = next((i for i, r in enumerate(started) if r.get("offered")), None)
    if first is None:
        return started[-4:]  # nothing yet today: the last hour, so the axes show where we are
    return started[first:]


def queue_model(
    view: Mapping[str, Any] | None, *, now_ms: int, sort_by: Sequence[Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """Everything the queue page shows for one refresh."""
    if view is None:
        return {"kind": "empty", "message": "Unknown queue", "detail": "No events have named this queue yet."}
    cfg = view.get("config") or {}
    waiting = waiting_rows(view.get("waiting") or [], cfg)
    agents = agent_rows(view.get("agents") or [], sort_by)
    rows = day_rows(view.get("intervals") or [], now_ms)
    longest = max((w.get("wait_s") or 0.0 for w in view.get("waiting") or []), default=None)
    by_state = {k: sum(1 for a in agents if a["state_key"] == k) for k in ("available", "on_call", "acw", "aux")}
    stats = [
        {"label": "Waiting", "value": fmt.count(len(waiting)), "level": wait_level(longest, cfg) if waiting else OK},
        {"label": "Longest wait", "value": fmt.clock(longest or 0.0), "level": wait_level(longest, cfg) if waiting else OK},
        {"label": "Offered today", "value": fmt.count(_total(rows, "offered")), "level": OK},
        {"label": "Answered", "value": fmt.count(_total(rows, "answered")), "level": OK},
        {"label": "Abandoned", "value": fmt.count(_total(rows, "abandoned")), "level": OK},
    ] + [{"label": fmt.humanize(k), "value": fmt.count(v), "level": OK, "state": k} for k, v in by_state.items()]
    return {
        "kind": "live",
        "title": cfg.get("name") or view.get("queue"),
        "caption": f"{sl_caption(cfg)} · target {fmt.pct(cfg.get('sl_target'))}",
        "stats": stats,
        "agents": agents,
        "waiting": waiting,
        "intervals": list(rows),
        "sl_target": cfg.get("sl_target"),
    }
