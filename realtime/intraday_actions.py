"""The live plan's ranked roster actions (:mod:`realtime.intraday`).

The planner's arrays on the ranking's interval grid (``staffing.actions``), the ranking itself,
and each action as the record the pages list and apply reads: its effects and its exact
schedule edit (per agent, the day's segments before and after; the pins of a move).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from realtime.intraday_agents import OFF, PHONE, ScheduledAgents
from realtime.intraday_view import rounded
from staffing.actions import POSTPONABLE, Action, ActionOptions, make_plan_inputs, rank_actions
from staffing.schedule import Segment
from staffing.schedule_edit import move_activity, normalized, put, replace_range

if TYPE_CHECKING:
    from floorboard.config import IntradayConfig
    from realtime.timebase import Timebase

log = logging.getLogger(__name__)

TOP_ACTIONS = 30  # actions kept (for the lists and for apply)
PER_KIND = 8  # at most this many of one kind, so every kind can show


def ranked_actions(rest: np.ndarray, queues: Sequence[str], calls: np.ndarray, aht: np.ndarray, sched: np.ndarray,
                   required: np.ndarray, load: np.ndarray, pins: np.ndarray, agents: ScheduledAgents,
                   qcfg: Mapping[str, Any], *, iv_ms: int, cfg: IntradayConfig, options: ActionOptions,
                   tz: Any) -> tuple[list[Action], str | None]:
    """The ranked actions over the rest of the day (interval 0 = the running one)."""
    if not rest.size or not agents.ids:
        return [], None
    known = np.isfinite(calls) & ((calls == 0) | (np.isfinite(aht) & (aht > 0)))
    on_phone, acts = ranking_phone(agents, rest, iv_ms)
    first = int(rest[0])

    def iv(ms: np.ndarray) -> np.ndarray:
        return np.floor_divide(np.asarray(ms, dtype=np.int64) - first, iv_ms)

    def iv_up(ms: np.ndarray) -> np.ndarray:
        return -np.floor_divide(first - np.asarray(ms, dtype=np.int64), iv_ms)

    try:
        inputs = make_plan_inputs(
            list(queues), rest, iv_ms / 1000, np.where(known, calls, 0.0), np.where(known & (aht > 0), aht, 1.0),
            agent_ids=agents.ids, agent_names=agents.names, skills=agents.skills, on_phone=on_phone,
            shift_start_iv=iv(agents.shift_start_ms), shift_end_iv=iv_up(agents.shift_end_ms), now_iv=0,
            agents=sched, required=np.where(known, required, np.nan), split_weight=load, pinned=pins,
            overtime_before_min=cfg.overtime_before_min, overtime_after_min=cfg.overtime_after_min,
            vto_allowed=cfg.vto, activities=acts, **qcfg)
        return rank_actions(inputs, options, limit=TOP_ACTIONS, per_kind=PER_KIND, tz=tz), None
    except ValueError as exc:  # inconsistent stored data: the plan is still shown, without actions
        log.error("intraday actions not ranked: %s", exc)
        return [], str(exc)


def action_record(action: Action, agents: ScheduledAgents, queues: Sequence[str], rest: np.ndarray,
                  versions: Mapping[str, Any], iv_start: int, now_ms: int, tb: Timebase) -> dict[str, Any] | None:
    """An action as stored for the lists and for apply; None when its edit no longer fits the schedule."""
    try:
        edits, pins = schedule_edits(action, agents, queues, int(rest[0]), rest.size, tb.interval_ms)
    except ValueError as exc:  # the schedule does not hold what the action was built on
        log.warning("action dropped (%s): %s", exc, action.text)
        return None
    effects = [{"queue": e.queue, "start_ms": e.start_ms, "label": tb.local_label(e.start_ms), "calls": rounded(e.calls, 2),
                "agents_before": rounded(e.agents_before), "agents_after": rounded(e.agents_after),
                "sl_before": rounded(e.sl_before, 4), "sl_after": rounded(e.sl_after, 4)} for e in action.effects]
    ident = hashlib.sha1(json.dumps([action.kind, list(action.agents), action.to_queue, action.start_ms,
                                     action.end_ms, edits, pins], sort_keys=True).encode()).hexdigest()[:12]
    return {
        "id": ident, "kind": action.kind, "text": action.text, "score": rounded(action.score, 3),
        "paid_hours": rounded(action.paid_hours, 3), "agents": list(action.agents),
        "alternatives": list(action.alternatives), "from_queue": action.from_queue, "to_queue": action.to_queue,
        "start_ms": action.start_ms, "end_ms": action.end_ms, "effects": effects,
        "queues": sorted({e.queue for e in action.effects}), "edits": edits, "pins": pins,
        "plan": {"inputs": dict(versions), "interval_start_ms": iv_start, "computed_ms": now_ms},
    }


def ranking_phone(agents: ScheduledAgents, rest: np.ndarray, iv_ms: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Phone time and activities on the ranking's interval grid.

    An activity is whole intervals there: one that does not start and end on interval boundaries
    is spread evenly over the intervals it touches (``share`` = its length ÷ theirs), and the
    agent's phone time there is lowered to ``1 - share`` where it was more, so the two add up
    to at most one interval. The plan itself keeps the exact phone time.
    """
    first = int(rest[0])
    offset = (first - agents.first_ms) // iv_ms
    x = np.array(agents.phone_day[:, offset:offset + rest.size])
    n = len(agents.activities)
    a = np.fromiter((i for i, _ in agents.activities), dtype=np.int64, count=n)
    s0 = np.fromiter((seg.start_ms for _, seg in agents.activities), dtype=np.int64, count=n)
    s1 = np.fromiter((seg.end_ms for _, seg in agents.activities), dtype=np.int64, count=n)
    names = [seg.activity for _, seg in agents.activities]
    s, e = (s0 - first) // iv_ms, -((first - s1) // iv_ms)
    share = np.minimum(1.0, (s1 - s0) / ((e - s) * iv_ms)) if n else np.zeros(0)
    lo, hi = np.clip(s, 0, rest.size), np.clip(e, 0, rest.size)
    own = np.repeat(np.arange(n), hi - lo)
    col = lo[own] + np.arange(own.size) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
    np.minimum.at(x, (a[own], col), 1.0 - share[own])
    # A meeting or training several agents share at the same time is one: it moves as a whole.
    group = np.full(n, -1, dtype=np.int64)
    seen: dict[tuple[str, int, int], list[int]] = {}
    for i, name in enumerate(names):
        if name in POSTPONABLE:
            seen.setdefault((name, int(s0[i]), int(s1[i])), []).append(i)
    for g, members in enumerate(m for m in seen.values() if len(m) > 1):
        group[members] = g
    acts = {"agent": a, "activity": names, "start_iv": s, "end_iv": e, "share": share, "group": group}
    return np.clip(x, 0.0, 1.0), acts


def schedule_edits(action: Action, agents: ScheduledAgents, queues: Sequence[str], first_ms: int, n_iv: int,
                   iv_ms: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The exact schedule edit of an action: per agent, the day's segments before and after
    (a moved break keeps its minutes: it moves by whole intervals); and the pins of a move."""
    index = agents.index()
    lists: dict[int, list[Segment]] = {}

    def current(a: int) -> list[Segment]:
        return lists.setdefault(a, list(agents.day_segments[a]))

    if action.kind in ("move_break", "postpone"):
        by_slot = agents.slots(first_ms, iv_ms)
        shift = (action.segments_after[0].start_ms - action.segments_before[0].start_ms
                 if action.segments_after else None)
        for b in action.segments_before:
            a = index[b.agent]
            seg = by_slot.get((b.agent, b.activity, (b.start_ms - first_ms) // iv_ms))
            if seg is None:
                raise ValueError(f"no {b.activity} of {b.agent} at that time")
            lists[a] = move_activity(current(a), seg, None if shift is None else seg.start_ms + shift, PHONE)
    elif action.kind == "overtime":
        for seg in action.segments_after:
            a = index[seg.agent]
            s0, s1 = int(agents.shift_start_ms[a]), int(agents.shift_end_ms[a])
            # Right after (before) the shift, from its exact end (to its exact start).
            start, end = (min(seg.start_ms, s1), seg.end_ms) if seg.start_ms >= s0 else (seg.start_ms, max(seg.end_ms, s0))
            lists[a] = put(current(a), Segment(seg.agent, PHONE, start, end))
    elif action.kind == "vto":
        for seg in action.segments_before:
            a = index[seg.agent]
            lo, hi = max(seg.start_ms, int(agents.shift_start_ms[a])), min(seg.end_ms, int(agents.shift_end_ms[a]))
            lists[a] = replace_range(current(a), lo, hi, OFF)
    edits = []
    for a, segs in sorted(lists.items()):
        before = [[s.activity, s.start_ms, s.end_ms] for s in agents.day_segments[a]]
        after = [[s.activity, s.start_ms, s.end_ms] for s in normalized(segs)]
        if before != after:
            edits.append({"agent": agents.ids[a], "day": agents.shift_day[a], "before": before, "after": after})
    if action.kind != "move" and not edits:
        raise ValueError("the action changes nobody's schedule")
    return edits, _move_pins(action, agents, queues, first_ms, n_iv, iv_ms)


def _move_pins(action: Action, agents: ScheduledAgents, queues: Sequence[str], first_ms: int, n_iv: int, iv_ms: int
               ) -> list[dict[str, Any]]:
    """The pins of a move (its ``pinned`` change), as runs of (agent, queue, [start, end))."""
    ch = next((c for c in action.changes if c.field == "pinned"), None)
    if ch is None:
        return []
    cells = sorted((int(f) // n_iv, int(q), int(f) % n_iv) for f, q in zip(ch.index.tolist(), ch.after.tolist(), strict=True))
    pins: list[dict[str, Any]] = []
    for a, q, i in cells:
        last = pins[-1] if pins else None
        if last and last["_a"] == a and last["_q"] == q and last["_e"] == i:
            last["_e"] = i + 1
        else:
            pins.append({"_a": a, "_q": q, "_s": i, "_e": i + 1})
    return [{"agent": agents.ids[p["_a"]], "queue": queues[p["_q"]], "start_ms": first_ms + p["_s"] * iv_ms,
             "end_ms": first_ms + p["_e"] * iv_ms} for p in pins]
