"""The inputs of the roster actions: :class:`PlanInputs` and :func:`make_plan_inputs`.

Everything the ranking needs as read-only arrays (queues x intervals, agents,
activities), checked and broadcast once by :func:`make_plan_inputs`, which also fills in
the defaults: required agents, the roster's agents by the split model
(``staffing.actions.model``) and the windows of breaks and postponable activities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from staffing.actions.arrays import _expand, _frozen, _skill_entries
from staffing.actions.model import _shares
from staffing.erlang_c import SL_FORMULAS
from staffing.inverse import required_agents

MODELS: tuple[str, ...] = ("erlang_c", "erlang_a")
#: Default half-width of the window a break may move in, by activity name (minutes).
BREAK_WINDOW_MIN: Mapping[str, float] = {"break": 60.0, "lunch": 90.0}
#: Activities that may be postponed (later in the shift, or to another day) by default.
POSTPONABLE: tuple[str, ...] = ("meeting", "training")


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """Everything the ranking needs, as arrays. Build it with :func:`make_plan_inputs`.

    Shapes: ``Q`` queues, ``I`` intervals (evenly spaced; index 0 = ``interval_starts_ms[0]``),
    ``A`` agents, ``K`` activities. Ranges of intervals are ``[start, end)``. Arrays are
    read-only; :func:`apply_action` returns a new ``PlanInputs``.

    Queues x intervals, (Q, I):
        calls (forecast calls per interval), aht_s, threshold_s, target_sl, patience_s (inf
        where the model is Erlang C), short_abandon_s: floats; erlang_a: bool (the model);
        formula: int8 index into ``SL_FORMULAS``; split_weight: the load weights of the
        multi-skill split; required: agents required (fractional; plan's ``required``);
        agents: agents in the current plan (fractional).
    Agents:
        agent_ids, agent_names: (A,) strings; skills: (A, Q) bool; on_phone: (A, I) fraction
        of each interval on the phone per the schedule, in [0, 1]; pinned: (A, I) int32, the
        queue the agent is moved to in that interval, -1 = split over their skills;
        shift_start_iv, shift_end_iv: (A,) the first interval of the shift and one past the
        last (may lie outside [0, I)); overtime_before_iv, overtime_after_iv: (A,) whole
        intervals of overtime still allowed; vto_allowed: (A,) bool.
    Activities (breaks, lunches, meetings, training...), (K,):
        activity_agent (agent index), activity_name, activity_start_iv, activity_end_iv
        (start == end: removed, e.g. postponed to another day), activity_earliest_iv,
        activity_latest_iv (window of the start), activity_share (fraction of each of its
        intervals it takes off the phone), activity_group (activities with the same id >= 0
        are one meeting and move together; -1: alone), activity_can_drop (may be postponed
        to another day).
    now_iv: actions change only intervals >= now_iv, and only activities not yet started.
    """

    queues: tuple[str, ...]
    interval_starts_ms: np.ndarray
    interval_s: float
    now_iv: int
    calls: np.ndarray
    aht_s: np.ndarray
    threshold_s: np.ndarray
    target_sl: np.ndarray
    erlang_a: np.ndarray
    patience_s: np.ndarray
    short_abandon_s: np.ndarray
    formula: np.ndarray
    split_weight: np.ndarray
    required: np.ndarray
    agents: np.ndarray
    agent_ids: tuple[str, ...]
    agent_names: tuple[str, ...]
    skills: np.ndarray
    on_phone: np.ndarray
    pinned: np.ndarray
    shift_start_iv: np.ndarray
    shift_end_iv: np.ndarray
    overtime_before_iv: np.ndarray
    overtime_after_iv: np.ndarray
    vto_allowed: np.ndarray
    activity_agent: np.ndarray
    activity_name: tuple[str, ...]
    activity_start_iv: np.ndarray
    activity_end_iv: np.ndarray
    activity_earliest_iv: np.ndarray
    activity_latest_iv: np.ndarray
    activity_share: np.ndarray
    activity_group: np.ndarray
    activity_can_drop: np.ndarray

    @property
    def interval_ms(self) -> int:
        return int(round(self.interval_s * 1000))

    def iv_ms(self, iv: int) -> int:
        """Epoch ms of the start of interval ``iv`` (any integer, also outside [0, I))."""
        return int(self.interval_starts_ms[0]) + int(iv) * self.interval_ms

    def agent_label(self, a: int) -> str:
        name, aid = self.agent_names[a], self.agent_ids[a]
        return f"{name} ({aid})" if name and name != aid else aid


# --------------------------------------------------------------------------- building inputs


def _cells(name: str, value: Any, shape: tuple[int, int], *, allow_inf: bool = False,
           upper: float | None = None) -> np.ndarray:
    """Scalar, one per queue (1-D) or one per cell -> a (Q, I) float copy, checked."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        if arr.shape[0] != shape[0]:
            raise ValueError(f"{name}: one value per queue expected ({shape[0]}), got {arr.shape}")
        arr = arr[:, None]
    elif arr.ndim > 2 or (arr.ndim == 2 and arr.shape != shape):
        raise ValueError(f"{name} must be a scalar, per queue or per cell {shape}, got {arr.shape}")
    out = np.array(np.broadcast_to(arr, shape), dtype=float)
    if np.isnan(out).any() or (not allow_inf and np.isinf(out).any()) or (out < 0).any():
        raise ValueError(f"{name} must be {'' if allow_inf else 'finite '}numbers >= 0")
    if upper is not None and (out > upper).any():
        raise ValueError(f"{name} must be <= {upper}")
    return out


def _codes(name: str, value: Any, allowed: Sequence[str], shape: tuple[int, int]) -> np.ndarray:
    """A name, one per queue or one per cell -> (Q, I) int8 indices into ``allowed``."""
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    if arr.ndim == 1 and arr.shape[0] == shape[0]:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(f"{name}: one name, one per queue or one per cell expected")
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError as exc:
        raise ValueError(f"{name}: one name, one per queue or one per cell expected") from exc
    names, inv = np.unique(arr.astype(str), return_inverse=True)
    bad = sorted(set(names.tolist()) - set(allowed))
    if bad:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {bad}")
    lookup = np.array([allowed.index(n) for n in names], dtype=np.int8)
    return lookup[inv.reshape(shape)]


def _per_agent(name: str, value: Any, n: int, dtype: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ValueError(f"{name}: a scalar or one value per agent ({n}) expected")
    return np.array(np.broadcast_to(arr, (n,)), dtype=dtype)


def _skill_matrix(skills: Any, queues: Sequence[str], n_agents: int) -> np.ndarray:
    """(A, Q) bool, from a matrix or one list of queue ids (or indices) per agent."""
    if isinstance(skills, np.ndarray) and skills.ndim == 2:
        if skills.shape != (n_agents, len(queues)):
            raise ValueError(f"skills has shape {skills.shape}, expected {(n_agents, len(queues))}")
        return skills.astype(bool)
    if len(skills) != n_agents:
        raise ValueError(f"skills: one list per agent ({n_agents}) expected, got {len(skills)}")
    index = {q: k for k, q in enumerate(queues)}
    out = np.zeros((n_agents, len(queues)), dtype=bool)
    for a, row in enumerate(skills):
        for q in row:
            out[a, q if isinstance(q, (int, np.integer)) else index[q]] = True
    return out


def _ivs(minutes: Any, n: int, interval_s: float) -> np.ndarray:
    m = _per_agent("overtime minutes", minutes, n, float)
    if (m < 0).any() or not np.isfinite(m).all():
        raise ValueError("overtime minutes must be finite and >= 0")
    return np.floor(m * 60.0 / interval_s + 1e-9).astype(np.int64)


def _activities(act: Mapping[str, Any] | None, agent_ids: Sequence[str], interval_s: float,
                shift_end: np.ndarray) -> dict[str, Any]:
    """Activity arrays with the default windows filled in (see :func:`make_plan_inputs`)."""
    act = dict(act or {})
    names = tuple(str(x) for x in act.get("activity", ()))
    k = len(names)
    raw = list(act.get("agent", ()))
    index = {aid: j for j, aid in enumerate(agent_ids)}
    agent = np.array([x if isinstance(x, (int, np.integer)) else index[x] for x in raw],
                     dtype=np.intp)
    start = np.asarray(act.get("start_iv", ()), dtype=np.int64)
    end = np.asarray(act.get("end_iv", ()), dtype=np.int64)
    if not (agent.size == start.size == end.size == k):
        raise ValueError("activities: agent, activity, start_iv and end_iv need the same length")
    if (end < start).any() or ((agent < 0) | (agent >= len(agent_ids))).any():
        raise ValueError("activities: end_iv must be >= start_iv and agents known")
    half = np.array([BREAK_WINDOW_MIN.get(n, 0.0) for n in names]) * 60.0 / interval_s
    half = np.floor(half + 1e-9).astype(np.int64)
    post = np.array([n in POSTPONABLE for n in names], dtype=bool)
    latest_default = np.where(post, shift_end[agent] - (end - start), start + half)
    out = {
        "activity_agent": agent, "activity_name": names,
        "activity_start_iv": start, "activity_end_iv": end,
        "activity_earliest_iv": np.where(post, start, start - half),
        "activity_latest_iv": latest_default,
        "activity_share": np.ones(k), "activity_group": np.full(k, -1, dtype=np.int64),
        "activity_can_drop": post.copy(),
    }
    for key, dtype in (("earliest_iv", np.int64), ("latest_iv", np.int64), ("share", float),
                       ("group", np.int64), ("can_drop", bool)):
        if key in act and act[key] is not None:
            out["activity_" + key] = _per_agent(key, act[key], k, dtype)
    share = out["activity_share"]
    if ((share <= 0) | (share > 1)).any():
        raise ValueError("activities: share must be in (0, 1]")
    return out


def _check_activity_phone(on_phone: np.ndarray, acts: dict[str, Any]) -> None:
    """An activity's time is off the phone: on_phone + share <= 1 on its intervals."""
    a, s, e = acts["activity_agent"], acts["activity_start_iv"], acts["activity_end_iv"]
    n_iv = on_phone.shape[1]
    s, e = np.clip(s, 0, n_iv), np.clip(e, 0, n_iv)
    own, iv = _expand(s, e - s)
    if own.size and (on_phone[a[own], iv] + acts["activity_share"][own] > 1 + 1e-9).any():
        raise ValueError("on_phone must exclude the activities' time (on_phone + share <= 1)")


def make_plan_inputs(
    queues: Sequence[str],
    interval_starts_ms: Any,
    interval_s: float,
    calls: Any,
    aht_s: Any,
    *,
    agent_ids: Sequence[str],
    skills: Any,
    on_phone: Any,
    shift_start_iv: Any,
    shift_end_iv: Any,
    now_iv: int = 0,
    agents: Any = None,
    required: Any = None,
    threshold_s: Any = 20.0,
    target_sl: Any = 0.8,
    model: Any = "erlang_c",
    patience_s: Any = np.inf,
    sl_formula: Any = SL_FORMULAS[0],
    short_abandon_s: Any = 0.0,
    split_weight: Any = None,
    agent_names: Sequence[str] | None = None,
    pinned: Any = None,
    overtime_before_min: Any = 0.0,
    overtime_after_min: Any = 0.0,
    vto_allowed: Any = False,
    activities: Mapping[str, Any] | None = None,
) -> PlanInputs:
    """Check, broadcast and complete the inputs of the ranking (see :class:`PlanInputs`).

    ``calls``, ``aht_s``: (Q, I). ``threshold_s``, ``target_sl``, ``patience_s``,
    ``short_abandon_s``, ``split_weight``, ``required``, ``agents``: scalar, per queue or per
    cell. ``model`` (``"erlang_c"``/``"erlang_a"``) and ``sl_formula``: one name, one per
    queue or one per cell. ``skills``: (A, Q) bool or one list of queue ids per agent.
    ``on_phone``: (A, I) (e.g. ``staffing.plan.phone_fractions`` of the phone segments).
    ``overtime_*_min``: minutes of overtime allowed before/after the shift (scalar or per
    agent), turned into whole intervals. ``activities``: a mapping of equal-length sequences
    ``agent`` (ids or indices), ``activity`` (names), ``start_iv``, ``end_iv`` and optional
    ``earliest_iv``, ``latest_iv``, ``share``, ``group``, ``can_drop``.

    Defaults: ``split_weight`` = offered load ``calls * aht_s / interval_s``; ``required`` =
    ``required_agents(..., fractional=True)`` at ``target_sl``; ``agents`` = the roster's
    agents by the split model (``staffing.actions.model``); break windows ``BREAK_WINDOW_MIN`` either
    side of the planned start; ``POSTPONABLE`` activities may start any later interval that
    still ends in the shift, or move to another day; other activities are fixed.
    """
    starts = np.asarray(interval_starts_ms, dtype=np.int64)
    c = np.asarray(calls, dtype=float)
    shape = (len(queues), starts.size)
    if c.shape != shape:
        raise ValueError(f"calls has shape {c.shape}, expected {shape}")
    if not (np.isfinite(c).all() and (c >= 0).all()):
        raise ValueError("calls must be finite numbers >= 0")
    iv_ms = int(round(float(interval_s) * 1000))
    if iv_ms <= 0 or (starts.size > 1 and (np.diff(starts) != iv_ms).any()):
        raise ValueError("interval_starts_ms must be evenly spaced by interval_s")
    h = np.asarray(aht_s, dtype=float) * np.ones(shape)
    if not (np.isfinite(h) & (h > 0))[c > 0].all():
        raise ValueError("aht_s must be finite and > 0 where there are calls")
    h = np.where(np.isfinite(h) & (h > 0), h, 1.0)  # no calls: any valid AHT
    is_a = _codes("model", model, MODELS, shape) == 1
    formula = _codes("sl_formula", sl_formula, SL_FORMULAS, shape)
    pat = np.where(is_a, _cells("patience_s", patience_s, shape, allow_inf=True), np.inf)
    t = _cells("threshold_s", threshold_s, shape, allow_inf=True)
    target = _cells("target_sl", target_sl, shape, upper=1.0)
    s = _cells("short_abandon_s", short_abandon_s, shape, allow_inf=True)
    w = c * h / float(interval_s) if split_weight is None else np.asarray(split_weight, float)
    w = np.where(np.isfinite(w) & (w > 0), w * np.ones(shape), 0.0)
    n_a = len(agent_ids)
    sk = _skill_matrix(skills, queues, n_a)
    x = np.asarray(on_phone, dtype=float)
    if x.shape != (n_a, shape[1]) or not ((x >= 0) & (x <= 1)).all():
        raise ValueError(f"on_phone must be {(n_a, shape[1])} fractions in [0, 1]")
    pins = (np.full((n_a, shape[1]), -1) if pinned is None else np.asarray(pinned)).astype(np.int32)
    if pins.shape != x.shape or (pins >= shape[0]).any():
        raise ValueError("pinned must be (A, I), -1 or one of the agent's skill queues")
    a_idx, i_idx = np.nonzero(pins >= 0)
    if not sk[a_idx, pins[a_idx, i_idx]].all():
        raise ValueError("pinned must be (A, I), -1 or one of the agent's skill queues")
    s_start = _per_agent("shift_start_iv", shift_start_iv, n_a, np.int64)
    s_end = _per_agent("shift_end_iv", shift_end_iv, n_a, np.int64)
    acts = _activities(activities, agent_ids, interval_s, s_end)
    _check_activity_phone(x, acts)
    if required is None:
        required = _required(c, h, t, target, is_a, pat, s, formula, float(interval_s))
    req = np.asarray(required, dtype=float) * np.ones(shape)
    base = dict(queues=tuple(queues), interval_starts_ms=starts, interval_s=float(interval_s),
                now_iv=int(now_iv), calls=c.copy(), aht_s=h, threshold_s=t, target_sl=target,
                erlang_a=is_a, patience_s=pat, short_abandon_s=s, formula=formula,
                split_weight=w, required=req, agent_ids=tuple(agent_ids),
                agent_names=tuple(agent_names) if agent_names is not None else tuple(agent_ids),
                skills=sk, on_phone=x.copy(), pinned=pins, shift_start_iv=s_start,
                shift_end_iv=s_end,
                overtime_before_iv=_ivs(overtime_before_min, n_a, interval_s),
                overtime_after_iv=_ivs(overtime_after_min, n_a, interval_s),
                vto_allowed=_per_agent("vto_allowed", vto_allowed, n_a, bool), **acts)
    if agents is None:
        agents = _roster_agents(base)
    base["agents"] = _cells("agents", agents, shape)
    for v in base.values():
        if isinstance(v, np.ndarray):
            _frozen(v)
    return PlanInputs(**base)


def _required(c, h, t, target, is_a, pat, s, formula, interval_s) -> np.ndarray:
    """Fractional required agents per cell, one inverse call per (model, formula) group."""
    out = np.zeros(c.shape)
    key = is_a.astype(np.int64) * 16 + formula
    for k in np.unique(key):
        cells = np.flatnonzero(key == k)
        a_model = bool(k >= 16)
        r = required_agents(c.flat[cells] / interval_s, h.flat[cells], target_sl=target.flat[cells],
                            threshold_s=t.flat[cells], model=MODELS[int(a_model)],
                            patience_s=pat.flat[cells] if a_model else None,
                            sl_formula=SL_FORMULAS[k % 16], short_abandon_s=s.flat[cells],
                            fractional=True)
        out.flat[cells] = r
    return out


def _roster_agents(d: Mapping[str, Any]) -> np.ndarray:
    """(Q, I) agents of the roster under the split model (used when ``agents`` is not given)."""
    e_agent, e_queue, ptr = _skill_entries(d["skills"])
    share = _shares(d["split_weight"], e_agent, e_queue, ptr, d["pinned"])
    out = np.zeros(d["calls"].shape)
    np.add.at(out, e_queue, share * d["on_phone"][e_agent])
    return out
