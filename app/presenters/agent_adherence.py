"""The agent's own schedule and adherence, for the self-view (their data only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.presenters import format as fmt


def agent_adherence_model(own: Mapping[str, Any] | None, *, now_ms: int, tz: str) -> dict[str, Any]:
    if not own:
        return {"kind": "empty", "message": "No schedule for you today",
                "detail": "Your adherence shows here once today's schedule is imported."}
    segments = [
        {"activity": fmt.humanize(s["activity"]), "key": s["activity"],
         "time": f"{fmt.local_time(s['start_ms'], tz, '%H:%M')}–{fmt.local_time(s['end_ms'], tz, '%H:%M')}",
         "now": s["start_ms"] <= now_ms < s["end_ms"], "past": s["end_ms"] <= now_ms}
        for s in own.get("segments", [])
    ]
    nxt = own.get("next") or None
    next_text = (f"{fmt.humanize(nxt['activity'])} at {fmt.local_time(nxt['start_ms'], tz, '%H:%M')} "
                 f"(in {fmt.clock(max(0.0, (nxt['start_ms'] - now_ms) / 1000))})") if nxt else "Nothing more today"
    out_since = own.get("out_since_ms")
    warning = None
    if own.get("severity"):
        warning = (f"You are out of adherence: scheduled {fmt.humanize(own.get('scheduled') or 'none')} "
                   f"since {fmt.local_time(out_since, tz, '%H:%M')} "
                   f"({fmt.clock(max(0.0, (now_ms - out_since) / 1000)) if out_since else '—'}).")
    return {
        "kind": "ok",
        "scheduled": fmt.humanize(own.get("scheduled") or "none"),
        "next": next_text,
        "adherence": fmt.pct(own.get("adherence_pct"), 1),
        "conformance": fmt.pct(own.get("conformance_pct"), 1),
        "segments": segments,
        "warning": warning,
        "severity": own.get("severity") or "none",
    }
