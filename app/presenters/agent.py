"""The agent self-view's view model: own state, today's KPIs against target and team median.

Only the agent's own data and the team's median appear here; other agents' names never do.
Targets come from the view's ``targets`` when the pipeline provides them, else from
:data:`DEFAULT_AGENT_TARGETS` (documented in docs/pages.md until targets become configurable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.presenters import format as fmt

DEFAULT_AGENT_TARGETS: dict[str, float] = {
    "aht_s": 300.0,
    "acw_s_per_call": 60.0,
    "hold_s_per_call": 30.0,
    "transfers": 3.0,
    "missed": 0.0,
    "occupancy": 0.85,
}
# Within this fraction of the team median counts as "same as the team".
SAME_TOLERANCE = 0.05


@dataclass(frozen=True, slots=True)
class Kpi:
    key: str
    label: str
    fmt: Callable[[float | None], str]
    lower_is_better: bool


KPIS = (
    Kpi("handled", "Handled", fmt.count, False),
    Kpi("aht_s", "AHT", fmt.clock, True),
    Kpi("acw_s_per_call", "ACW per call", fmt.secs, True),
    Kpi("hold_s_per_call", "Hold per call", fmt.secs, True),
    Kpi("transfers", "Transfers", fmt.count, True),
    Kpi("missed", "Missed calls", fmt.count, True),
    Kpi("occupancy", "Occupancy", fmt.pct, False),
)


def _per_call(ms: float | None, handled: float | None) -> float | None:
    if not handled or ms is None:
        return None
    return ms / 1000 / handled


def own_values(today: Mapping[str, Any]) -> dict[str, float | None]:
    """The agent's KPI values for today, named like the team median's keys."""
    handled = today.get("handled")
    return {
        "handled": handled,
        "aht_s": today.get("aht_s"),
        "acw_s_per_call": _per_call(today.get("acw_ms"), handled),
        "hold_s_per_call": _per_call(today.get("hold_ms"), handled),
        "transfers": today.get("transfers"),
        "missed": today.get("missed"),
        "occupancy": today.get("occupancy"),
    }


def versus_target(value: float | None, target: float | None, lower_is_better: bool) -> str:
    """ "ok" when the target is met, "warning" when not, "none" when either is undefined."""
    if value is None or target is None:
        return "none"
    met = value <= target if lower_is_better else value >= target
    return "ok" if met else "warning"


def versus_median(value: float | None, median: float | None, lower_is_better: bool) -> dict[str, str]:
    """Where the agent stands against the team median: better, same or worse, with an arrow."""
    if value is None or median is None:
        return {"relation": "none", "icon": "", "word": ""}
    if abs(value - median) <= SAME_TOLERANCE * max(abs(median), 1e-9):
        return {"relation": "same", "icon": "=", "word": "same as team"}
    higher = value > median
    better = higher != lower_is_better
    icon = "▲" if higher else "▼"
    return {"relation": "better" if better else "worse", "icon": icon, "word": "better than team" if better else "behind team"}


def kpi_cards(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    values = own_values(view.get("today") or {})
    targets = {**DEFAULT_AGENT_TARGETS, **(view.get("targets") or {})}
    median = (view.get("team") or {}).get("median") or {}
    cards = []
    for k in KPIS:
        value, target, med = values.get(k.key), targets.get(k.key), median.get(k.key)
        cards.append(
            {
                "key": k.key,
                "label": k.label,
                "value": k.fmt(value),
                "target": k.fmt(target) if target is not None else fmt.DASH,
                "target_word": ("≤ " if k.lower_is_better else "≥ ") if target is not None else "",
                "vs_target": versus_target(value, target, k.lower_is_better),
                "median": k.fmt(med),
                "vs_median": versus_median(value, med, k.lower_is_better),
            }
        )
    return cards


def state_breakdown(state_s: Mapping[str, float]) -> list[dict[str, Any]]:
    """Today's time per state, the largest first ("aux:break" → key aux, label Break)."""
    rows = [
        {"key": name.split(":", 1)[0], "label": fmt.humanize(name), "value": fmt.clock(seconds), "seconds": seconds}
        for name, seconds in state_s.items()
        if name != "logged_out" and seconds
    ]
    return sorted(rows, key=lambda r: -r["seconds"])


def agent_model(view: Mapping[str, Any] | None, *, agent: str | None) -> dict[str, Any]:
    """Everything the agent page shows for one refresh."""
    if not agent:
        return {"kind": "empty", "message": "Which agent?", "detail": "Open this page as /me?agent=<id>."}
    if view is None:
        return {"kind": "empty", "message": f"No data for agent {agent}", "detail": "Nothing recorded yet: the page fills in with the agent's first event."}
    state = view.get("state") or "logged_out"
    team = view.get("team") or {}
    size = int(team.get("size") or 0)
    return {
        "kind": "live",
        "agent": view.get("agent") or agent,
        "state_key": state,
        "state": fmt.humanize(state),
        "reason": fmt.humanize(view["reason"]) if view.get("reason") else "",
        "time_in_state": fmt.clock(view.get("time_in_state_s")),
        "queues": ", ".join(view.get("queues") or []) or fmt.DASH,
        "kpis": kpi_cards(view),
        "breakdown": state_breakdown((view.get("today") or {}).get("state_s") or {}),
        "team": f"Team median of {size} agents" if size else "No team median yet",
        "timeline": list(view.get("timeline") or []),
    }
