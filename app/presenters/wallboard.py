"""The wallboard's view model: which queues, how each tile reads, what the ticker says.

Input is the engine's snapshot dict (see docs/pages.md); output is plain data that
:mod:`app.presenters.render` turns into components. Tiles keep the configured order (a
supervisor learns where their queue sits on the TV; sorting by severity would move tiles
around every few seconds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from app.presenters import format as fmt
from app.presenters.status import CRITICAL, NONE, OK, WARNING, badge, sl_level, wait_level, worst

STALE_TICKS = 3  # the snapshot is stale once it is older than this many engine ticks
SCREEN_ASPECT = 16 / 8.6  # the tile area of a 16:9 screen, below the header and the ticker
TILE_ASPECT = 1.45  # the width/height a tile reads best at

SL_FORMULA_TEXT = {
    "excl_short": "answered ≤ T ÷ (answered + abandoned − abandoned < S)",
    "of_answered": "answered ≤ T ÷ answered",
    "abandon_within_t_good": "(answered ≤ T + abandoned ≤ T) ÷ (answered + abandoned)",
    "excl_abandon_after_t": "answered ≤ T ÷ (answered + abandoned after T)",
    "of_offered": "answered ≤ T ÷ (answered + abandoned)",
}

# Agent states shown on each tile, in this order; aux is broken down by reason after them.
AGENT_CHIPS = (("available", "Available"), ("on_call", "On call"), ("acw", "ACW"))


def freshness(generated_ms: int | None, now_ms: int, tick_s: float) -> dict[str, Any]:
    """Whether the snapshot is stale (older than 3 ticks) and the words to say so."""
    if generated_ms is None:
        return {"stale": False, "age_s": None, "text": ""}
    age_s = max(0.0, (now_ms - generated_ms) / 1000)
    stale = age_s > STALE_TICKS * tick_s
    text = f"Data {fmt.age(age_s)} old — engine not responding" if stale else ""
    return {"stale": stale, "age_s": age_s, "text": text}


def sl_caption(cfg: Mapping[str, Any]) -> str:
    """The SL definition in small type: threshold T, short-abandon S and the formula."""
    formula = cfg.get("sl_formula", "excl_short")
    t = f"T = {fmt.count(cfg.get('sl_threshold_s', 20))}{fmt.NNBSP}s"
    text = SL_FORMULA_TEXT.get(formula, formula)
    if formula == "excl_short":
        t += f" · S = {fmt.count(cfg.get('short_abandon_s', 5))}{fmt.NNBSP}s"
    return f"SL: {t} · {text}"


def grid_shape(n: int, aspect: float = SCREEN_ASPECT) -> tuple[int, int]:
    """Columns and rows that give ``n`` tiles the largest size on a 16:9 screen."""
    if n <= 0:
        return 1, 1
    best = (0.0, 1, n)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        width, height = aspect / cols, 1.0 / rows
        size = min(width, height * TILE_ASPECT)  # the biggest tile of the ideal shape that fits
        if size > best[0] + 1e-9:
            best = (size, cols, rows)
    return best[1], best[2]


def density(n: int) -> str:
    """A size class for the tile grid: fewer queues, more detail on each tile."""
    for limit, name in ((2, "xl"), (4, "l"), (9, "m"), (16, "s"), (25, "xs")):
        if n <= limit:
            return name
    return "xxs"


def _agent_chips(agents: Mapping[str, Any]) -> list[dict[str, Any]]:
    chips = [
        {"key": key, "label": label, "value": int(agents.get(key) or 0)} for key, label in AGENT_CHIPS
    ]
    reasons = agents.get("aux_reasons") or {}
    for reason, n in reasons.items():
        chips.append({"key": "aux", "label": fmt.humanize(reason), "value": int(n)})
    unexplained = int(agents.get("aux") or 0) - sum(int(n) for n in reasons.values())
    if unexplained > 0:
        chips.append({"key": "aux", "label": "Aux", "value": unexplained})
    return chips


def live_sl(queue: Mapping[str, Any]) -> float | None:
    """SL "now": the current interval's, counting callers already waiting past T as misses."""
    interval = queue.get("interval") or {}
    if interval.get("service_level") is not None:
        return interval["service_level"]
    return (queue.get("now") or {}).get("service_level")


def tile(queue: Mapping[str, Any]) -> dict[str, Any]:
    """One queue's tile: the key numbers, each with its level, and the tile's overall level."""
    cfg = queue.get("config") or {}
    now = queue.get("now") or {}
    today = queue.get("today") or {}
    agents = now.get("agents") or {}
    waiting = int(now.get("waiting") or 0)
    longest = now.get("longest_wait_s") if waiting else 0.0
    sl_now = live_sl(queue)
    wait_lv = wait_level(longest, cfg)
    sl_now_lv = sl_level(sl_now, cfg)
    nobody = waiting > 0 and int(agents.get("available") or 0) == 0
    overall = worst([wait_lv, sl_now_lv, CRITICAL if nobody else OK])
    return {
        "id": queue.get("id"),
        "name": cfg.get("name") or queue.get("id"),
        "level": overall,
        "badge": badge(overall),
        "waiting": {"value": fmt.count(waiting), "level": wait_lv if waiting else OK},
        "longest": {"value": fmt.clock(longest), "level": wait_lv},
        "sl_now": {"value": fmt.pct(sl_now), "level": sl_now_lv},
        "sl_today": {"value": fmt.pct(today.get("service_level")), "level": sl_level(today.get("service_level"), cfg)},
        "sl_target": fmt.pct(cfg.get("sl_target")),
        "sl_caption": sl_caption(cfg),
        "asa": fmt.secs(today.get("asa_s")),
        "abandon": fmt.pct(today.get("abandon_rate"), 1),
        "offered": fmt.count(today.get("offered")),
        "agents": _agent_chips(agents),
        "nobody_available": nobody,
    }


def queue_alerts(queues: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Open queue conditions derived from the snapshot, the most severe first.

    SL now below target, longest wait above ``wait_critical_s``, and callers waiting with no
    agent available. (The alert lifecycle — acknowledge, snooze, resolve — comes later.)
    """
    out: list[dict[str, Any]] = []
    for order, q in enumerate(queues):
        t = tile(q)
        cfg = q.get("config") or {}
        now = q.get("now") or {}
        sl = live_sl(q)
        target = cfg.get("sl_target", 0.8)
        if sl is not None and sl < target:
            level = CRITICAL if sl < cfg.get("sl_critical", 0.7) else WARNING
            out.append(_alert(order, t["name"], level, f"SL {fmt.pct(sl)} below target {fmt.pct(target)}"))
        longest = now.get("longest_wait_s") or 0.0
        if now.get("waiting") and longest > cfg.get("wait_critical_s", 120.0):
            text = f"longest wait {fmt.clock(longest)} over {fmt.clock(cfg.get('wait_critical_s', 120.0))}"
            out.append(_alert(order, t["name"], CRITICAL, text))
        if t["nobody_available"]:
            text = f"{t['waiting']['value']} waiting, no agent available"
            out.append(_alert(order, t["name"], CRITICAL, text))
    out.sort(key=lambda a: (a["level"] != CRITICAL, a["order"]))
    return out


def _alert(order: int, name: str, level: str, text: str) -> dict[str, Any]:
    return {"order": order, "queue": name, "level": level, "icon": badge(level)["icon"], "text": text}


def select_queues(
    snapshot: Mapping[str, Any], group: str | None, rotate_s: float | None, now_ms: int
) -> dict[str, Any]:
    """The queues on screen: a named group, the group whose turn it is, or all of them."""
    groups: Mapping[str, Sequence[str]] = snapshot.get("groups") or {}
    queues = list(snapshot.get("queues") or [])
    names = list(groups)
    rotation: dict[str, Any] | None = None
    if group is None and rotate_s and names:
        index = int(now_ms // (rotate_s * 1000)) % len(names)
        group = names[index]
        rotation = {"index": index, "names": names, "every_s": rotate_s}
    if group is None:
        return {"title": "All queues", "group": None, "queues": queues, "rotation": None, "unknown": False}
    if group not in groups:
        return {"title": group, "group": group, "queues": [], "rotation": None, "unknown": True}
    by_id = {q.get("id"): q for q in queues}
    chosen = [by_id[qid] for qid in groups[group] if qid in by_id]
    return {"title": group, "group": group, "queues": chosen, "rotation": rotation, "unknown": False}


def _empty(reason: str, detail: str) -> dict[str, Any]:
    return {"kind": "empty", "message": reason, "detail": detail}


def wallboard_model(
    snapshot: Mapping[str, Any] | None,
    *,
    now_ms: int,
    tick_s: float,
    group: str | None = None,
    rotate_s: float | None = None,
) -> dict[str, Any]:
    """Everything the wallboard shows for one refresh."""
    base: dict[str, Any] = {"title": group or "All queues", "tiles": [], "alerts": [], "rotation": None}
    if snapshot is None:
        return base | _empty("No data yet", "Waiting for the engine's first snapshot.")
    tz = snapshot.get("timezone") or "UTC"
    fresh = freshness(snapshot.get("generated_ms"), now_ms, tick_s)
    chosen = select_queues(snapshot, group, rotate_s, now_ms)
    base |= {
        "title": chosen["title"],
        "rotation": chosen["rotation"],
        "updated": fmt.local_time(snapshot.get("generated_ms"), tz),
        "clock": fmt.local_time(now_ms, tz, "%H:%M"),
        "fresh": fresh,
    }
    if chosen["unknown"]:
        known = ", ".join(snapshot.get("groups") or {}) or "none configured"
        return base | _empty(f"No group named “{group}”", f"Known groups: {known}.")
    if not chosen["queues"]:
        return base | _empty("No queues yet", "Tiles appear with the first call or agent events.")
    tiles = [tile(q) for q in chosen["queues"]]
    cols, rows = grid_shape(len(tiles))
    return base | {
        "kind": "stale" if fresh["stale"] else "live",
        "tiles": tiles,
        "alerts": [] if fresh["stale"] else queue_alerts(chosen["queues"]),
        "grid": {"cols": cols, "rows": rows, "density": density(len(tiles))},
        "summary": _summary(tiles),
    }


def _summary(tiles: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    levels = [t["level"] for t in tiles]
    return {lv: levels.count(lv) for lv in (OK, WARNING, CRITICAL, NONE)}
