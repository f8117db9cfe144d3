"""The adherence page's view model: exceptions ranked by impact, team figures, alert state.

Pure: the engine's adherence view and the open alerts in, plain rows out. Times out are
computed from ``out_since_ms`` and the page's clock, so they keep counting between ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.presenters import format as fmt
from staffing.adherence import adherence_ratio, conformance_ratio

# How the two judgements read on screen: an icon and a word, never colour alone.
SEVERITY = {
    "critical": {"icon": "▲", "word": "Critical", "level": "critical"},
    "warning": {"icon": "●", "word": "Warning", "level": "warning"},
}
IMPACT = {
    "hurts": {"icon": "↓", "word": "Hurts SL", "level": "critical"},
    "neutral": {"icon": "→", "word": "Neutral", "level": "none"},
    "helps": {"icon": "↑", "word": "Helps SL", "level": "ok"},
}
ALL_TEAMS = ""
# Rows rendered at once: enough for the worst morning of a 500-agent floor, small enough for
# the page to stay quick; the count of the rest is shown.
MAX_ROWS = 300


def _actual(state: str | None, reason: str | None) -> str:
    if not state:
        return "Unknown"
    if state == "aux":
        return f"Aux: {fmt.humanize(reason or 'other')}"
    return fmt.humanize(state)


def _alert_cell(alert: Mapping[str, Any] | None, now_ms: int, tz: str) -> dict[str, Any]:
    if alert is None:
        return {"id": None, "state": "none", "text": ""}
    snoozed = (alert.get("snoozed_until_ms") or 0) > now_ms
    if snoozed:
        text = f"Snoozed until {fmt.local_time(alert['snoozed_until_ms'], tz, '%H:%M')}"
    elif alert.get("state") == "acknowledged":
        text = f"Acknowledged by {alert.get('acked_by') or 'someone'}"
    else:
        text = "Open"
    return {"id": alert["id"], "state": "snoozed" if snoozed else alert.get("state", "open"), "text": text}


def exception_rows(
    exceptions: Sequence[Mapping[str, Any]],
    alerts_by_agent: Mapping[str, Mapping[str, Any]],
    *,
    now_ms: int,
    tz: str,
) -> list[dict[str, Any]]:
    rows = []
    for e in exceptions:
        out_s = max(0.0, (now_ms - e["out_since_ms"]) / 1000) if e.get("out_since_ms") else e.get("out_s", 0.0)
        end = e.get("scheduled_end_ms")
        scheduled = fmt.humanize(e.get("scheduled") or "none")
        rows.append({
            "agent": e["agent"],
            "name": e.get("name") or e["agent"],
            "team": e.get("team") or "—",
            "scheduled": scheduled + (f" until {fmt.local_time(end, tz, '%H:%M')}" if end else ""),
            "actual": _actual(e.get("actual_state"), e.get("actual_reason")),
            "since": fmt.local_time(e.get("out_since_ms"), tz, "%H:%M"),
            "out": fmt.clock(out_s),
            "severity": SEVERITY.get(e.get("severity", ""), SEVERITY["warning"]) | {"key": e.get("severity", "warning")},
            "impact": IMPACT.get(e.get("impact", "neutral"), IMPACT["neutral"]) | {"key": e.get("impact", "neutral")},
            "alert": _alert_cell(alerts_by_agent.get(e["agent"]), now_ms, tz),
        })
    return rows


def _team_rows(teams: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    return [
        {"team": name or "—", "agents": fmt.count(t.get("agents")), "adherence": fmt.pct(t.get("adherence_pct")),
         "conformance": fmt.pct(t.get("conformance_pct")), "out_now": fmt.count(t.get("out_now"))}
        for name, t in sorted(teams.items())
    ]


def _sum_teams(teams: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Floor figures over some teams: sums of seconds, then the ratios (never a mean of %)."""
    total = {k: sum(t.get(k) or 0.0 for t in teams.values())
             for k in ("agents", "scheduled_s", "out_beyond_grace_s", "scheduled_on_queue_s", "worked_on_queue_s")}
    # The one definition of both ratios (NaN where nothing was scheduled: shown as "—").
    total["adherence_pct"] = float(adherence_ratio(total["scheduled_s"], total["out_beyond_grace_s"]))
    total["conformance_pct"] = float(conformance_ratio(total["worked_on_queue_s"], total["scheduled_on_queue_s"]))
    return total


def _everyone(_kind: str, _value: str | None) -> bool:
    return True


def adherence_model(
    view: Mapping[str, Any] | None,
    alerts: Sequence[Mapping[str, Any]],
    *,
    team: str | None,
    now_ms: int,
    tz: str,
    can_see: Callable[[str, str | None], bool] = _everyone,
) -> dict[str, Any]:
    """``can_see(kind, id)`` narrows the rows to what the caller may see (a supervisor: their
    teams' agents); the floor totals then cover only those teams."""
    if not view:
        return {"kind": "empty", "message": "No adherence yet",
                "detail": "It appears once schedules are imported and the engine has ticked "
                          "(floorboard import schedule FILE, or the upload below).", "teams": []}
    full = can_see("team", None)
    teams = {name: t for name, t in view.get("teams", {}).items() if full or can_see("team", name)}
    team = team if team in teams else ALL_TEAMS
    exceptions = [e for e in view.get("exceptions", [])
                  if (not team or e.get("team") == team) and can_see("agent", e["agent"])]
    active = [a for a in alerts if a.get("kind") == "agent" and a.get("state") in ("open", "acknowledged")]
    alerts_by_agent = {a["subject"]: a for a in active}
    rows = exception_rows(exceptions[:MAX_ROWS], alerts_by_agent, now_ms=now_ms, tz=tz)
    totals = view.get("totals", {}) if full else _sum_teams(teams)
    scope = teams.get(team, {}) if team else totals
    stats = [
        {"label": "Out of adherence now", "value": fmt.count(len(exceptions)),
         "level": "critical" if any(e.get("severity") == "critical" for e in exceptions) else ("warning" if exceptions else "ok")},
        {"label": "Hurting service level", "value": fmt.count(sum(e.get("impact") == "hurts" for e in exceptions)),
         "level": "critical" if any(e.get("impact") == "hurts" for e in exceptions) else "ok"},
        {"label": "Adherence today", "value": fmt.pct(scope.get("adherence_pct"), 1), "level": "none"},
        {"label": "Conformance today", "value": fmt.pct(scope.get("conformance_pct"), 1), "level": "none"},
    ]
    return {
        "kind": "ok",
        "stats": stats,
        "rows": rows,
        "hidden": max(0, len(exceptions) - MAX_ROWS),
        "teams": _team_rows(teams),
        "team_options": [{"label": "All teams", "value": ALL_TEAMS}] + [{"label": t, "value": t} for t in sorted(teams) if t],
        "updated": fmt.local_time(view.get("generated_ms"), tz),
    }


def timeline_segments(
    schedule: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Scheduled and actual bars for one agent's day, in the figure's row format."""
    planned = [{"activity": s["activity"], "start_ms": s["start_ms"], "end_ms": s["end_ms"]} for s in schedule]
    states = [{"state": a.get("state"), "reason": a.get("reason"), "start_ms": a["start_ms"], "end_ms": a["end_ms"]}
              for a in actual]
    return planned, states
