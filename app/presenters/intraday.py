"""View models of the intraday and firefighting pages (pure: stored views in, plain rows out).

The planner (realtime/intraday.py) writes a view every tick: per queue the day's forecast,
reforecast, actual, plan rows and the reforecast's explanation, the risk ranking of the next
two hours and the ranked roster actions. These functions only select, word and format it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.presenters import format as fmt

KINDS = {
    "move": ("⇄", "Move agents"),
    "move_break": ("↔", "Move a break"),
    "postpone": ("»", "Postpone"),
    "overtime": ("+", "Overtime"),
    "vto": ("−", "Time off"),
}
SOURCES = {
    "imported": "Imported forecast",
    "baseline": "Baseline from history (no forecast imported)",
    "none": "No forecast and no history: nothing to plan",
}
STALE_TICKS = 3  # as the wallboard: older than this many ticks, the data is said to be stale
FIREFIGHT_ACTIONS = 5
FIREFIGHT_EXCEPTIONS = 10
FIREFIGHT_QUEUES = 6  # the most at risk; one screen must hold them
# Projected SL in the heat strip: on target (ok), within this of it (warning), below (critical).
NEAR_TARGET = 0.10

EMPTY_DETAIL = ("The engine computes the plan every tick from the forecast (floorboard import forecast FILE, "
                "or a baseline from history), the schedules (floorboard import schedule FILE) and the roster "
                "(floorboard import agents FILE).")


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def sl_level(sl: float | None, target: float) -> str:
    """ok at or above target, warning within NEAR_TARGET below it, critical further down."""
    if sl is None:
        return "none"
    if sl >= target - 1e-9:
        return "ok"
    return "warning" if sl >= target - NEAR_TARGET else "critical"


def freshness(generated_ms: int | None, now_ms: int, tick_s: float) -> dict[str, Any]:
    if generated_ms is None:
        return {"stale": True, "text": "No plan yet"}
    age = max(0.0, (now_ms - generated_ms) / 1000)
    if age > STALE_TICKS * tick_s:
        return {"stale": True, "text": f"Plan {fmt.age(age)} old — engine not responding"}
    return {"stale": False, "text": f"Updated {fmt.age(age)} ago"}


def _digest(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------ explanation
def _ratio_line(what: str, r: Mapping[str, Any], unit: str, half_life: float, interval_min: int) -> str:
    hours = half_life * interval_min / 60
    minimum = "met" if r["met_minimum"] else "not met: ratio 1, the forecast is kept"
    capped = (f"capped (raw {r['raw_ratio']:.3f})" if r["capped"]
              else "within it")
    raw = "—" if r["raw_ratio"] is None else f"{r['raw_ratio']:.3f}"
    return (f"{what} ratio {r['ratio']:.3f} (raw {raw}): actual {r['actual_total']:,.0f} vs forecast "
            f"{r['forecast_total']:,.0f} {unit} over {r['n_used']} closed interval(s); recency-weighted "
            f"(half-life {half_life:g} intervals = {hours:g} h) {r['actual_weighted']:,.1f} ÷ "
            f"{r['forecast_weighted']:,.1f}. Cap [{r['cap'][0]:g}, {r['cap'][1]:g}]: {capped}. "
            f"Minimum {r['min_closed']} closed intervals: {minimum}.")


def explanation(explain: Mapping[str, Any] | None, interval_min: int, tz: str) -> dict[str, Any]:
    """The reforecast in words: method, source, each ratio with its inputs, cap and minimum."""
    if not explain:
        return {"method": "", "source": "", "lines": [], "overlays": [], "reasons": []}
    hl = float(explain["half_life_intervals"])
    vol = dict(explain["volume"], min_closed=explain["min_closed"])
    aht = dict(explain["aht"], min_closed=explain["min_closed"])
    source = SOURCES.get(explain.get("source", "none"), "")
    base = explain.get("baseline")
    if base:
        source = (f"Baseline: median of the same weekday over the last {len(base['days'])} weeks "
                  f"({base['days_known']} days known, at least {base['min_days']} needed per interval)")
    overlays = [f"{'+' if o['volume_multiplier'] >= 1 else '−'}{abs(o['volume_multiplier'] - 1) * 100:.0f} % "
                f"{fmt.local_time(o['start_ms'], tz, '%H:%M')}–{fmt.local_time(o['end_ms'], tz, '%H:%M')}"
                + (f": {o['label']}" if o.get("label") else "") for o in explain.get("overlays", [])]
    return {
        "method": ("Trend-to-date ratio: the rest of today = forecast × ratio, then × overlays. Volume and "
                   "AHT are reforecast separately, from the closed intervals, the recent ones weighing most."),
        "source": source,
        "lines": [_ratio_line("Volume", vol, "calls", hl, interval_min),
                  _ratio_line("AHT", aht, "handle seconds", hl, interval_min)],
        "reasons": [explain["volume"]["reason"], explain["aht"]["reason"]],
        "overlays": overlays,
        "minimum_met": bool(vol["met_minimum"]),
        "capped": bool(vol["capped"] or aht["capped"]),
    }


# ------------------------------------------------------------------------------ actions, audit
def _effects_by_queue(effects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per affected queue: SL before → after, weighted by calls, and the intervals."""
    out: dict[str, dict[str, Any]] = {}
    for e in effects:
        q = out.setdefault(e["queue"], {"queue": e["queue"], "calls": 0.0, "b": 0.0, "a": 0.0, "cells": []})
        c = e.get("calls") or 0.0
        q["calls"] += c
        q["b"] += c * (e.get("sl_before") or 0.0)
        q["a"] += c * (e.get("sl_after") or 0.0)
        q["cells"].append({"label": e["label"], "agents": f"{fmt.decimal(e['agents_before'])} → {fmt.decimal(e['agents_after'])}",
                           "sl": f"{fmt.pct(e['sl_before'])} → {fmt.pct(e['sl_after'])}",
                           "up": (e.get("sl_after") or 0) >= (e.get("sl_before") or 0)})
    rows = []
    for q in out.values():
        before = q["b"] / q["calls"] if q["calls"] else None
        after = q["a"] / q["calls"] if q["calls"] else None
        rows.append({"queue": q["queue"], "sl": f"{fmt.pct(before)} → {fmt.pct(after)}",
                     "up": (after or 0) >= (before or 0), "cells": q["cells"]})
    return rows


def action_rows(actions: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    names = names or {}
    rows = []
    for rank, a in enumerate(actions, 1):
        icon, label = KINDS.get(a["kind"], ("•", a["kind"]))
        score = a.get("score") or 0.0
        paid = a.get("paid_hours") or 0.0
        effects = _effects_by_queue(a.get("effects", []))
        for e in effects:
            e["queue"] = names.get(e["queue"], e["queue"])
        rows.append({
            "id": a["id"], "rank": rank, "kind": a["kind"], "icon": icon, "kind_label": label, "text": a["text"],
            "score": (f"+{score:.1f} calls answered within T" if score >= 0.05 else
                      f"{score:.1f} calls within T" if score < 0 else "no change in service"),
            "paid": (f"{paid:.2f} paid hours" if paid > 0 else f"saves {-paid:.2f} paid hours" if paid < 0 else ""),
            "alternatives": ", ".join(a.get("alternatives", [])),
            "effects": effects,
        })
    return rows


def audit_rows(entries: Sequence[Mapping[str, Any]], tz: str) -> list[dict[str, Any]]:
    return [{
        "id": e["id"], "text": e["text"], "who": e["who"], "when": fmt.local_time(e["applied_ms"], tz, "%H:%M"),
        "state": e["state"], "can_undo": e["state"] == "applied",
        "undone": (f"undone by {e.get('undone_by')} at {fmt.local_time(e.get('undone_ms'), tz, '%H:%M')}"
                   if e["state"] == "undone" else ""),
        "kind": KINDS.get(e["kind"], ("•", e["kind"]))[1],
    } for e in entries]


def overlay_rows(overlays: Sequence[Mapping[str, Any]], tz: str, names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{
        "id": o["id"], "queue": names.get(o["queue"], o["queue"]),
        "range": f"{fmt.local_time(o['start_ms'], tz, '%H:%M')}–{fmt.local_time(o['end_ms'], tz, '%H:%M')}",
        "change": f"{(o['volume_multiplier'] - 1) * 100:+.0f} % calls",
        "label": o.get("label") or "—", "who": o.get("user") or "—",
    } for o in overlays]


# ------------------------------------------------------------------------------ the intraday page
def _rows(plan: Mapping[str, Any], now_block: Mapping[str, Any]) -> list[dict[str, Any]]:
    cols = plan["columns"]
    now_i = plan["now_index"]
    out = []
    for i, start in enumerate(cols["start_ms"]):
        out.append({
            "start_ms": start, "label": cols["label"][i], "forecast": cols["forecast"][i],
            "reforecast": cols["reforecast"][i], "actual": cols["actual"][i], "required": cols["required"][i],
            "scheduled": cols["scheduled"][i], "gap": cols["gap"][i], "projected_sl": cols["projected_sl"][i],
            "overlay": cols["overlay"][i], "now": i == now_i, "rest": i >= plan["rest_from"],
            "present": now_block.get("present") if i == now_i else None,
        })
    return out


def _accuracy(acc: Mapping[str, Any] | None) -> dict[str, Any]:
    acc = acc or {}
    today = acc.get("today") or {}
    days = [{"day": d["day"], "wape": fmt.pct(d.get("wape"), 1), "bias": _bias(d.get("bias")), "n": d.get("n", 0)}
            for d in acc.get("days", [])]
    return {"today": {"wape": fmt.pct(today.get("wape"), 1), "bias": _bias(today.get("bias")), "n": today.get("n", 0)},
            "days": days}


def _bias(b: float | None) -> str:
    if b is None:
        return fmt.DASH
    return f"{b:+.1f} calls/interval ({'over' if b > 0 else 'under' if b < 0 else 'on'}-forecast)"


def _stats(summary: Mapping[str, Any], plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    now = summary.get("now") or {}
    target = summary.get("target", 0.8)
    sl = _num(now.get("projected_sl"))
    gap = None if now.get("scheduled") is None or now.get("required") is None else now["scheduled"] - now["required"]
    return [
        {"label": "Projected SL now", "value": fmt.pct(sl), "level": sl_level(sl, target)},
        {"label": "SL target", "value": fmt.pct(target), "level": "none"},
        {"label": "Required / scheduled", "value": f"{fmt.decimal(now.get('required'))} / {fmt.decimal(now.get('scheduled'))}",
         "level": "none"},
        {"label": "Gap now", "value": "—" if gap is None else f"{gap:+.1f}", "level": "critical" if (gap or 0) < -0.05 else "ok"},
        {"label": "Present / adhering", "value": f"{fmt.count(now.get('present'))} / {fmt.count(now.get('adhering'))}",
         "level": "none"},
        {"label": "Calls at risk, next 2 h", "value": fmt.decimal(summary.get("risk")),
         "level": "critical" if (summary.get("risk") or 0) >= 1 else "ok"},
        {"label": "Volume × / AHT ×", "value": f"{now.get('volume_ratio', 1):.2f} / {now.get('aht_ratio', 1):.2f}",
         "level": "none"},
    ]


def intraday_model(page: Mapping[str, Any], *, queue: str | None, now_ms: int, tz: str, tick_s: float) -> dict[str, Any]:
    """Everything the /intraday page shows for one queue (the most at risk when none is chosen)."""
    view = page.get("view")
    if not view or not view.get("queues"):
        return {"kind": "empty", "message": "No intraday plan yet", "detail": EMPTY_DETAIL, "digest": "empty"}
    names = {s["id"]: s["name"] for s in view["queues"]}
    selected = queue if queue in names else view["queues"][0]["id"]
    summary = next(s for s in view["queues"] if s["id"] == selected)
    plan = page.get("plan") or {}
    fresh = freshness(view.get("generated_ms"), now_ms, tick_s)
    options = [{"label": f"{s['name']} — {fmt.decimal(s.get('risk'))} calls at risk", "value": s["id"]}
               for s in view["queues"]]
    rows = _rows(plan, summary.get("now") or {}) if plan else []
    model = {
        "kind": "plan", "queue": selected, "name": names[selected], "options": options, "fresh": fresh,
        "source": SOURCES.get(summary.get("source", "none"), ""), "source_key": summary.get("source", "none"),
        "stats": _stats(summary, plan), "rows": rows, "target": summary.get("target"),
        "explanation": explanation(plan.get("explain"), view.get("interval_min", 15), tz),
        "accuracy": _accuracy(plan.get("accuracy")),
        "actions": action_rows(view.get("actions", []), names),
        "actions_problem": view.get("actions_problem"),
        "audit": audit_rows(page.get("audit", []), tz),
        "overlays": overlay_rows(page.get("overlays", []), tz, names),
        "computed": fmt.local_time(view.get("computed_ms"), tz, "%H:%M:%S"),
        "queue_names": names,
    }
    # What the figure and lists show (not the freshness text): unchanged → nothing is resent.
    model["digest"] = _digest(selected, view.get("computed_ms"), summary.get("now"), page.get("audit"),
                              page.get("overlays"))
    return model


# ------------------------------------------------------------------------------ forms
def local_ms(day: str, hhmm: str | None, tz: str) -> int | None:
    """"14:30" on the local ``day`` as epoch ms ("24:00" = the next midnight); None if malformed."""
    text = (hhmm or "").strip()
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        return None
    d = datetime.fromisoformat(day).date()
    if h == 24:
        d, h = d + timedelta(days=1), 0
    return int(datetime.combine(d, time(h, m), ZoneInfo(tz)).timestamp() * 1000)


def parse_range(day: str, start: str | None, end: str | None, tz: str) -> tuple[int, int] | str:
    s, e = local_ms(day, start, tz), local_ms(day, end, tz)
    if s is None or e is None:
        return "times must be HH:MM, e.g. 14:00 and 18:00"
    if e <= s:
        return "the range must end after it starts"
    return s, e


def parse_percent(value: Any, *, low: float = -100.0, high: float = 900.0) -> float | str:
    """"+30" → 1.3 (a multiplier); out of [low, high] % or not a number → a message."""
    try:
        pct = float(value)
    except (TypeError, ValueError):
        return "the change must be a percentage, e.g. 30 or -20"
    if not (math.isfinite(pct) and low <= pct <= high):
        return f"the change must be between {low:g} % and {high:g} %"
    return 1.0 + pct / 100.0


def what_if_summary(result: Mapping[str, Any], tz: str) -> str:
    span = f"{fmt.local_time(result['start_ms'], tz, '%H:%M')}–{fmt.local_time(result['end_ms'], tz, '%H:%M')}"
    change = []
    if result["agents_delta"]:
        change.append(f"{result['agents_delta']:+g} agents")
    if result["volume_multiplier"] != 1:
        change.append(f"{(result['volume_multiplier'] - 1) * 100:+.0f} % calls")
    what = " and ".join(change) or "no change"
    return (f"{what} on {result['queue']} {span}: projected SL {fmt.pct(result['sl_before'])} → "
            f"{fmt.pct(result['sl_after'])} over the range (target {fmt.pct(result['target'])}). Nothing was changed.")


# ------------------------------------------------------------------------------ firefighting
def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def window_status(window: Sequence[tuple[int, int]], now_ms: int, tz: str) -> dict[str, Any]:
    """Whether the configured peak window is on now, and the words for the banner."""
    local = datetime.fromtimestamp(now_ms / 1000, ZoneInfo(tz))
    minute = local.hour * 60 + local.minute
    spans = ", ".join(f"{_hhmm(s)}–{_hhmm(e)}" for s, e in window)
    for s, e in window:
        inside = s <= minute < e if s < e else (minute >= s or minute < e)
        if inside:
            return {"active": True, "text": f"Peak window {_hhmm(s)}–{_hhmm(e)}: active until {_hhmm(e)}"}
    if not window:
        return {"active": False, "text": "No peak window configured ([intraday] firefight_window)"}
    later = sorted((s - minute) % 1440 for s, _ in window)
    nxt = (minute + later[0]) % 1440
    return {"active": False, "text": f"Outside the peak windows ({spans}); the next starts at {_hhmm(nxt)}"}


def firefight_model(view: Mapping[str, Any] | None, adherence: Mapping[str, Any] | None, *,
                    window: Sequence[tuple[int, int]], now_ms: int, tz: str, tick_s: float) -> dict[str, Any]:
    """The peak-hour screen: queues by risk over the next two hours, top actions, worst exceptions."""
    status = window_status(window, now_ms, tz)
    if not view or not view.get("queues"):
        return {"kind": "empty", "window": status, "message": "No intraday plan yet", "detail": EMPTY_DETAIL}
    names = {s["id"]: s["name"] for s in view["queues"]}
    queues = []
    for s in view["queues"][:FIREFIGHT_QUEUES]:
        target = s.get("target", 0.8)
        now = s.get("now") or {}
        sl = _num(now.get("projected_sl"))
        queues.append({
            "id": s["id"], "name": s["name"], "risk": fmt.decimal(s.get("risk")),
            "level": "critical" if (s.get("risk") or 0) >= 5 else "warning" if (s.get("risk") or 0) >= 1 else "ok",
            "sl_now": fmt.pct(sl), "sl_level": sl_level(sl, target), "target": fmt.pct(target),
            "gap": "—" if now.get("scheduled") is None or now.get("required") is None
            else f"{now['scheduled'] - now['required']:+.1f}",
            "present": fmt.count(now.get("present")),
            "strip": [{"label": c["label"], "value": fmt.pct(c.get("sl")), "level": sl_level(_num(c.get("sl")), target)}
                      for c in s.get("next", [])],
        })
    exceptions = []
    for e in (adherence or {}).get("exceptions", [])[:FIREFIGHT_EXCEPTIONS]:
        out_s = max(0.0, (now_ms - e["out_since_ms"]) / 1000) if e.get("out_since_ms") else e.get("out_s", 0.0)
        exceptions.append({
            "agent": e["agent"], "name": e.get("name") or e["agent"],
            "scheduled": fmt.humanize(e.get("scheduled") or "none"),
            "actual": fmt.humanize(e.get("actual_state") or "unknown") if e.get("actual_state") != "aux"
            else f"Aux: {fmt.humanize(e.get('actual_reason') or 'other')}",
            "out": fmt.clock(out_s), "impact": e.get("impact", "neutral"), "severity": e.get("severity", "warning"),
        })
    return {
        "kind": "plan", "window": status, "fresh": freshness(view.get("generated_ms"), now_ms, tick_s),
        "queues": queues, "more_queues": max(0, len(view["queues"]) - FIREFIGHT_QUEUES),
        "actions": action_rows(view.get("actions", [])[:FIREFIGHT_ACTIONS], names),
        "exceptions": exceptions, "adherence_known": adherence is not None,
        "clock": fmt.local_time(now_ms, tz, "%H:%M"),
    }
