"""What managers change in today's plan, and the reads of the planner's view (docs/intraday.md).

- **Overlays**: manual events ("+30 % on Claims 14:00-18:00: storm"), stored per day.
- **Applying a ranked action**: re-validated against the current plan, the agents' schedule
  edits written with :func:`realtime.schedules.write_agent_schedule` (so adherence follows),
  moves between queues kept as *pins* (the schedule format has no queue), and an audit entry
  (who, when, what, the schedule before and after). **Undo** writes the schedule back.
- **Reads** of what the planner wrote (:mod:`realtime.intraday`): the view, one queue's day,
  and a **what-if** computed from that queue's stored plan (nothing is stored).

Every change bumps one version counter, so the planner recomputes on its next run. Applying and
undoing hold a short Redis lock, so two managers never interleave their edits.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from realtime.forecasts import forecast_versions
from realtime.schedules import (
    read_agent_schedule,
    roster_version,
    schedule_versions,
    write_agent_schedule,
)
from staffing.plan import what_if as plan_what_if
from staffing.schedule import Segment

if TYPE_CHECKING:
    from realtime.store import Store

log = logging.getLogger(__name__)

# Overlays and pins only matter for their own day; kept a little longer for a look back. The
# audit is the record of who changed the plan: kept a month.
OVERLAY_TTL_S = 3 * 86400
AUDIT_TTL_S = 31 * 86400
LOCK_MS = 10_000
MAX_MULTIPLIER = 10.0
MAX_LABEL = 120


class IntradayError(ValueError):
    """A request that cannot be done; the message says why (shown to the user as is)."""


class StaleAction(IntradayError):
    """The plan moved on since the action was ranked: rank again (the list refreshes by itself)."""


class UnknownItem(IntradayError):
    """No such action, audit entry or overlay (today)."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _expire_s(store: Store, day: str, keep_s: int) -> int:
    return store.timebase.day_bounds_ms(day)[1] // 1000 + keep_s


def _yesterday(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


# ------------------------------------------------------------------------------ versions
def inputs_versions(store: Store, day: str) -> dict[str, Any]:
    """The versions of everything the plan of ``day`` is computed from (one round trip each).

    The planner stores them with its view; an action is applied only while they are unchanged.
    """
    k = store.keys
    return {
        "day": day,
        "forecast": forecast_versions(store, [day])[0],
        "schedule": list(schedule_versions(store, [day, _yesterday(day)])),
        "roster": roster_version(store),
        "intraday": int(store.r.get(k.intraday_version) or 0),
    }


def _bump(pipe: Any, store: Store) -> None:
    pipe.incr(store.keys.intraday_version)


# ------------------------------------------------------------------------------ overlays
def _check_overlay(store: Store, day: str, queue: str, start_ms: int, end_ms: int, volume_multiplier: float,
                   aht_multiplier: float, label: str) -> None:
    day_start, day_end = store.timebase.day_bounds_ms(day)
    if queue not in store.queue_ids():
        raise IntradayError(f"unknown queue {queue!r}")
    if not (day_start <= start_ms < end_ms <= day_end):
        raise IntradayError("the overlay must start before it ends, within the day")
    for name, m in (("volume", volume_multiplier), ("AHT", aht_multiplier)):
        if not (isinstance(m, int | float) and math.isfinite(m) and 0 <= m <= MAX_MULTIPLIER):
            raise IntradayError(f"the {name} multiplier must be a number from 0 to {MAX_MULTIPLIER:g}")
    if len(label) > MAX_LABEL:
        raise IntradayError(f"the label must be at most {MAX_LABEL} characters")


def add_overlay(store: Store, queue: str, start_ms: int, end_ms: int, volume_multiplier: float, *,
                label: str = "", user: str, now_ms: int, aht_multiplier: float = 1.0) -> dict[str, Any]:
    """Store a manual event for today's reforecast: ``queue``'s calls × ``volume_multiplier``
    over ``[start_ms, end_ms)`` (whole intervals: a partly covered interval counts whole)."""
    day = store.timebase.day(now_ms)
    label = (label or "").strip()
    _check_overlay(store, day, queue, int(start_ms), int(end_ms), volume_multiplier, aht_multiplier, label)
    record = {"id": secrets.token_hex(5), "day": day, "queue": queue, "start_ms": int(start_ms), "end_ms": int(end_ms),
              "volume_multiplier": float(volume_multiplier), "aht_multiplier": float(aht_multiplier),
              "label": label, "user": user, "created_ms": int(now_ms)}
    key = store.keys.intraday_overlays(day)
    pipe = store.r.pipeline(transaction=True)
    pipe.hset(key, record["id"], _dumps(record))
    pipe.expireat(key, _expire_s(store, day, OVERLAY_TTL_S))
    _bump(pipe, store)
    pipe.execute()
    log.info("overlay %s added by %s: %s x%.2f %s", record["id"], user, queue, volume_multiplier, label)
    return record


def list_overlays(store: Store, day: str) -> list[dict[str, Any]]:
    """The day's overlays, the earliest first."""
    rows = [json.loads(v) for v in store.r.hvals(store.keys.intraday_overlays(day))]
    return sorted(rows, key=lambda o: (o["start_ms"], o["queue"], o["created_ms"]))


def remove_overlay(store: Store, overlay_id: str, *, user: str, now_ms: int) -> dict[str, Any]:
    day = store.timebase.day(now_ms)
    key = store.keys.intraday_overlays(day)
    raw = store.r.hget(key, overlay_id)
    if raw is None:
        raise UnknownItem(f"no overlay {overlay_id!r} today")
    pipe = store.r.pipeline(transaction=True)
    pipe.hdel(key, overlay_id)
    _bump(pipe, store)
    pipe.execute()
    log.info("overlay %s removed by %s", overlay_id, user)
    return json.loads(raw)


# ------------------------------------------------------------------------------ pins
def list_pins(store: Store, day: str) -> list[dict[str, Any]]:
    """Agents moved to one queue for a time range by applied actions (the plan counts them there)."""
    return sorted((json.loads(v) for v in store.r.hvals(store.keys.intraday_pins(day))),
                  key=lambda p: (p["start_ms"], p["agent"]))


# ------------------------------------------------------------------------------ the planner's view
def read_view(store: Store) -> dict[str, Any] | None:
    """The planner's latest view (None before its first run)."""
    raw = store.r.get(store.keys.intraday_view)
    return json.loads(raw) if raw else None


def read_queue_plan(store: Store, queue: str) -> dict[str, Any] | None:
    """One queue's day as the planner last computed it (None: not planned)."""
    raw = store.r.hget(store.keys.intraday_queues, queue)
    return json.loads(raw) if raw else None


def read_action(store: Store, action_id: str) -> dict[str, Any] | None:
    raw = store.r.hget(store.keys.intraday_actions, action_id)
    return json.loads(raw) if raw else None


def read_page(store: Store, queue: str | None, now_ms: int) -> dict[str, Any]:
    """What the intraday page shows: the view, one queue's day (``queue``, else the most at
    risk), today's overlays and audit. Three round trips."""
    day = store.timebase.day(now_ms)
    k = store.keys
    pipe = store.r.pipeline(transaction=False)
    pipe.get(k.intraday_view)
    pipe.hvals(k.intraday_overlays(day))
    pipe.hvals(k.intraday_audit(day))
    raw_view, raw_overlays, raw_audit = pipe.execute()
    view = json.loads(raw_view) if raw_view else None
    ids = [q["id"] for q in (view or {}).get("queues", [])]
    chosen = queue if queue in ids else (ids[0] if ids else None)
    return {
        "view": view,
        "plan": read_queue_plan(store, chosen) if chosen else None,
        "overlays": sorted((json.loads(v) for v in raw_overlays), key=lambda o: (o["start_ms"], o["queue"])),
        "audit": sorted((json.loads(v) for v in raw_audit), key=lambda e: -e["applied_ms"]),
        "day": day,
    }


# ------------------------------------------------------------------------------ apply / undo
@contextmanager
def _locked(store: Store) -> Iterator[None]:
    token = secrets.token_hex(8)
    if not store.r.set(store.keys.intraday_lock, token, nx=True, px=LOCK_MS):
        raise IntradayError("another change to the plan is being applied; try again in a moment")
    try:
        yield
    finally:
        # Release only our own lock (it may have expired and been taken by someone else).
        if store.r.get(store.keys.intraday_lock) == token:
            store.r.delete(store.keys.intraday_lock)


def _segments(rows: Sequence[Sequence[Any]], agent: str) -> list[Segment]:
    return [Segment(agent, str(a), int(s), int(e)) for a, s, e in rows]


def _rows(segments: Sequence[Segment]) -> list[list[Any]]:
    return [[s.activity, s.start_ms, s.end_ms] for s in segments]


def _check_edits(store: Store, edits: Sequence[Mapping[str, Any]], side: str) -> None:
    for e in edits:
        now = read_agent_schedule(store, e["day"], e["agent"])
        if _rows(now) != [list(r) for r in e[side]]:
            raise StaleAction(f"{e['agent']}'s schedule changed since (an import, an edit or another action)")


def apply_action(store: Store, action_id: str, user: str, now_ms: int) -> dict[str, Any]:
    """Apply a ranked action: re-validate it, write the schedule edits and pins, record it.

    Refused (:class:`StaleAction`) when the plan it was ranked on is no longer current: the
    interval moved on, or a forecast, schedule, roster, overlay or another action changed it.
    Returns the audit entry.
    """
    with _locked(store):
        action = read_action(store, action_id)
        if action is None:
            raise UnknownItem(f"action {action_id!r} is not in the current list (it may have been "
                              "applied already, or the plan was recomputed without it)")
        day = store.timebase.day(now_ms)
        plan = action["plan"]
        if plan["interval_start_ms"] != store.timebase.interval_start_ms(now_ms):
            raise StaleAction("the interval has moved on since this action was ranked; the list refreshes "
                              "within a tick")
        if plan["inputs"] != inputs_versions(store, day):
            raise StaleAction("the plan changed since this action was ranked (a schedule, forecast, overlay "
                              "or another action); the list refreshes within a tick")
        _check_edits(store, action["edits"], "before")
        for e in action["edits"]:
            write_agent_schedule(store, e["day"], e["agent"], _segments(e["after"], e["agent"]))
        audit_id = secrets.token_hex(6)
        entry = {
            "id": audit_id, "day": day, "action_id": action_id, "kind": action["kind"], "text": action["text"],
            "agents": action["agents"], "score": action["score"], "paid_hours": action["paid_hours"],
            "who": user, "applied_ms": int(now_ms), "state": "applied", "undone_by": None, "undone_ms": None,
            "edits": action["edits"], "pins": [dict(p, id=f"{audit_id}-{i}", audit_id=audit_id)
                                              for i, p in enumerate(action["pins"])],
        }
        k = store.keys
        pipe = store.r.pipeline(transaction=True)
        for p in entry["pins"]:
            pipe.hset(k.intraday_pins(day), p["id"], _dumps(p))
            pipe.expireat(k.intraday_pins(day), _expire_s(store, day, OVERLAY_TTL_S))
        pipe.hset(k.intraday_audit(day), audit_id, _dumps(entry))
        pipe.expireat(k.intraday_audit(day), _expire_s(store, day, AUDIT_TTL_S))
        pipe.hdel(k.intraday_actions, action_id)  # applied: not offered again
        _bump(pipe, store)
        pipe.execute()
    log.info("action applied by %s (audit %s): %s", user, audit_id, action["text"])
    return entry


def _find_audit(store: Store, audit_id: str, now_ms: int) -> tuple[str, dict[str, Any]]:
    day = store.timebase.day(now_ms)
    for d in (day, _yesterday(day)):
        raw = store.r.hget(store.keys.intraday_audit(d), audit_id)
        if raw is not None:
            return d, json.loads(raw)
    raise UnknownItem(f"no applied action {audit_id!r} today")


def undo_action(store: Store, audit_id: str, user: str, now_ms: int) -> dict[str, Any]:
    """Write back the schedules an applied action changed, drop its pins, mark it undone.

    Refused when one of those schedules changed since (undo the later action first)."""
    with _locked(store):
        day, entry = _find_audit(store, audit_id, now_ms)
        if entry["state"] != "applied":
            raise IntradayError(f"already undone by {entry.get('undone_by') or 'someone'}")
        try:
            _check_edits(store, entry["edits"], "after")
        except StaleAction as exc:
            raise StaleAction(f"{exc}; undo the later change first") from None
        for e in entry["edits"]:
            write_agent_schedule(store, e["day"], e["agent"], _segments(e["before"], e["agent"]))
        entry.update(state="undone", undone_by=user, undone_ms=int(now_ms))
        k = store.keys
        pipe = store.r.pipeline(transaction=True)
        if entry["pins"]:
            pipe.hdel(k.intraday_pins(day), *[p["id"] for p in entry["pins"]])
        pipe.hset(k.intraday_audit(day), audit_id, _dumps(entry))
        _bump(pipe, store)
        pipe.execute()
    log.info("action undone by %s (audit %s): %s", user, audit_id, entry["text"])
    return entry


def list_audit(store: Store, day: str) -> list[dict[str, Any]]:
    """The day's applied (and undone) actions, the latest first."""
    rows = [json.loads(v) for v in store.r.hvals(store.keys.intraday_audit(day))]
    return sorted(rows, key=lambda e: -e["applied_ms"])


# ------------------------------------------------------------------------------ what-if
def _num(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _out(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 4)


def what_if(store: Store, queue: str, start_ms: int, end_ms: int, *, agents_delta: float = 0.0,
            volume_multiplier: float = 1.0) -> dict[str, Any]:
    """Projected SL per interval of the rest of the day, before and after adding (removing)
    ``agents_delta`` agents on ``queue`` over ``[start_ms, end_ms)`` and/or multiplying its
    calls there. From the queue's stored plan (the latest planner run); nothing is stored."""
    plan = read_queue_plan(store, queue)
    if plan is None:
        raise UnknownItem(f"no plan for queue {queue!r} yet")
    cols, first = plan["columns"], plan["rest_from"]
    starts = cols["start_ms"][first:]
    if not starts:
        raise IntradayError("the day is over: nothing left to plan")
    for name, v in (("agents", agents_delta), ("volume multiplier", volume_multiplier)):
        if not (isinstance(v, int | float) and math.isfinite(v)):
            raise IntradayError(f"the {name} must be a number")
    if not 0 <= volume_multiplier <= MAX_MULTIPLIER or abs(agents_delta) > 10_000:
        raise IntradayError(f"the volume multiplier must be from 0 to {MAX_MULTIPLIER:g}")
    iv_ms = store.timebase.interval_ms
    s = int(np.searchsorted(starts, store.timebase.interval_start_ms(int(start_ms))))
    e = int(np.searchsorted(starts, int(end_ms), side="left"))
    if not 0 <= s < e <= len(starts):
        raise IntradayError("the range must lie in the rest of today and start before it ends")
    cfg = plan["config"]
    kw = {"interval_s": iv_ms / 1000, "threshold_s": cfg["sl_threshold_s"], "target_sl": cfg["sl_target"],
          "model": [cfg["model"]], "patience_s": cfg["patience_s"] if cfg["model"] == "erlang_a" else None,
          "sl_formula": [cfg["sl_formula"]], "short_abandon_s": cfg["short_abandon_s"], "fractional": True}
    calls = _num(cols["reforecast"][first:])[None, :]
    aht = _num(cols["reforecast_aht"][first:])[None, :]
    agents = _num(cols["scheduled"][first:])[None, :]
    res = plan_what_if(calls, aht, agents, queue=0, start_iv=s, end_iv=e, agents_delta=float(agents_delta),
                       volume_multiplier=float(volume_multiplier), **kw)
    b, a = res.before, res.after
    rows = [{"start_ms": starts[i], "label": cols["label"][first + i], "in_range": s <= i < e,
             "calls_before": _out(calls[0, i]), "calls_after": _out(calls[0, i] * (volume_multiplier if s <= i < e else 1)),
             "agents_before": _out(b.agents[0, i]), "agents_after": _out(a.agents[0, i]),
             "required_before": _out(b.required[0, i]), "required_after": _out(a.required[0, i]),
             "sl_before": _out(b.service_level[0, i]), "sl_after": _out(a.service_level[0, i])}
            for i in range(len(starts))]
    w = calls[0, s:e] * np.where(np.isfinite(calls[0, s:e]), 1.0, 0.0)
    sl_b, sl_a = np.nan_to_num(b.service_level[0, s:e]), np.nan_to_num(a.service_level[0, s:e])
    after_calls = np.nan_to_num(w) * volume_multiplier
    tot_b, tot_a = float(np.nansum(w)), float(after_calls.sum())
    return {
        "queue": queue, "start_ms": starts[s], "end_ms": starts[e - 1] + iv_ms, "agents_delta": float(agents_delta),
        "volume_multiplier": float(volume_multiplier), "target": cfg["sl_target"], "rows": rows,
        "sl_before": _out(float((np.nan_to_num(w) * sl_b).sum() / tot_b)) if tot_b > 0 else None,
        "sl_after": _out(float((after_calls * sl_a).sum() / tot_a)) if tot_a > 0 else None,
    }
