"""Roster actions: schedule changes for the rest of the day, ranked by the service they add.

Five kinds of action (``KINDS``), each generated only where its constraints hold:

* ``move``: skilled agents work only one (deficit) queue for a time range;
* ``move_break``: a break or lunch moves within its allowed window;
* ``postpone``: a meeting or training (all its attendees) moves later in the shift, or to
  another day;
* ``overtime``: an agent works whole intervals just before or after the shift, where their
  queues are short, within their overtime limit;
* ``vto``: an agent leaves early or starts late (voluntary time off) where every queue they
  serve stays staffed at or above its requirement.

Model. Queue ``q`` in interval ``i`` has ``agents[q, i]`` (fractional) agents. Agent ``a``
is on the phone for the fraction ``on_phone[a, i]`` of interval ``i`` and counts on each of
their skill queues for the share ``w[q, i] / sum_{k in skills(a)} w[k, i]`` (``w`` = the
offered load; the same split as ``staffing.plan.scheduled_agents_matrix``), or entirely on
the queue they are pinned to (``pinned[a, i] >= 0``, the result of a move). An action
changes ``on_phone`` and/or the pins of a few agents, hence ``agents`` on a few cells by

    delta[q, i] = sum_a  x'[a, i] share'[a, q, i] - x[a, i] share[a, q, i]

Projected service level at fractional agents ``N = n + f`` is the interpolation
``(1 - f) SL(n) + f SL(n + 1)`` of the queue's model (Erlang C, Gans, Koole & Mandelbaum
2003; Erlang A, Garnett, Mandelbaum & Reiman 2002) under the queue's SL formula, as in
``staffing.plan.projected``. The score of an action is

    score = sum over affected cells of calls[q, i] * (SL_after[q, i] - SL_before[q, i]),

the change in calls answered within the threshold (in each queue's own SL definition).
Every action is scored alone against the current plan; after applying one, rank again.

Speed. Candidates are generated with array operations, pruned by a first-order estimate (the
value of one agent-interval, ``marginal``), capped per kind, then all evaluated at once:
their cell deltas are one sparse (candidate, cell) list, and the models are evaluated once
per distinct (cell, whole agents) pair. See docs/intraday.md, section "Roster actions".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
from scipy import sparse

from staffing.erlang_a import erlang_a_flat, service_level_from
from staffing.erlang_c import SL_FORMULAS, erlang_c_flat
from staffing.inverse import required_agents
from staffing.schedule import Segment

KINDS: tuple[str, ...] = ("move", "move_break", "postpone", "overtime", "vto")
MODELS: tuple[str, ...] = ("erlang_c", "erlang_a")
#: Default half-width of the window a break may move in, by activity name (minutes).
BREAK_WINDOW_MIN: Mapping[str, float] = {"break": 60.0, "lunch": 90.0}
#: Activities that may be postponed (later in the shift, or to another day) by default.
POSTPONABLE: tuple[str, ...] = ("meeting", "training")

_TOL = 1e-9  # agents: a gap smaller than this is no gap (sums of shares round)
_DROP = -1  # postpone "to another day": the activity leaves today's schedule


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


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
    agents by the split model (module docstring); break windows ``BREAK_WINDOW_MIN`` either
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


# --------------------------------------------------------------------------- small array tools


def _expand(starts: Any, counts: Any) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ranges: ``owner[k] = j`` and ``value[k] = starts[j] + t``, ``t < counts[j]``."""
    counts = np.maximum(np.asarray(counts, dtype=np.int64), 0)
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    value = np.asarray(starts, dtype=np.int64)[owner] + (np.arange(owner.size) - first[owner])
    return owner, value


def _skill_entries(skills: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(agent, queue) of every skill, sorted by agent, and the agents' offsets ``ptr``."""
    n_a, n_q = skills.shape
    flat = np.flatnonzero(skills)  # far cheaper than 2-D nonzero on a wide bool matrix
    e_agent, e_queue = flat // n_q, flat % n_q
    return e_agent, e_queue, np.r_[0, np.cumsum(np.bincount(e_agent, minlength=n_a))]


def _summer(ptr: np.ndarray) -> sparse.csr_matrix:
    """(segments, entries) 0/1 matrix: ``_summer(ptr) @ v`` sums ``v`` per segment.

    A sparse product is an order of magnitude faster than ``np.add.reduceat`` along
    axis 0 of a (entries, intervals) array.
    """
    n = int(ptr[-1])
    return sparse.csr_matrix((np.ones(n), np.arange(n), ptr), shape=(ptr.size - 1, n))


def _take(arr: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``arr[rows, cols]`` through the flat index (about twice as fast as 2-D indexing)."""
    return arr.reshape(-1)[rows * arr.shape[1] + cols]


def _segment_sum(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Sum of ``values[ptr[j]:ptr[j+1]]`` per segment ``j`` (empty segments give 0)."""
    if values.ndim == 2 and values.dtype.kind in "fb":
        return np.asarray(_summer(ptr) @ values.astype(float, copy=False))
    out = np.zeros((ptr.size - 1,) + values.shape[1:], dtype=values.dtype)
    full = np.flatnonzero(ptr[1:] > ptr[:-1])
    if full.size:
        # reduceat over the non-empty starts only: an empty segment would repeat a value.
        out[full] = np.add.reduceat(values, ptr[full], axis=0)
    return out


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of True along each row: (row, start, end) with end exclusive."""
    pad = np.zeros((mask.shape[0], 1), dtype=np.int8)
    step = np.diff(np.hstack([pad, mask.astype(np.int8), pad]), axis=1)
    row, start = np.nonzero(step == 1)
    _, end = np.nonzero(step == -1)  # row-major order pairs each start with its end
    return row, start, end


def _run_forward(mask: np.ndarray) -> np.ndarray:
    """Number of consecutive True from each cell onwards along the rows."""
    n = mask.shape[1]
    idx = np.where(mask, n, np.arange(n))
    next_false = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    return next_false - np.arange(n)


def _run_backward(mask: np.ndarray) -> np.ndarray:
    """Number of consecutive True up to and including each cell along the rows."""
    n = mask.shape[1]
    prev_false = np.maximum.accumulate(np.where(mask, -1, np.arange(n)), axis=1)
    return np.arange(n) - prev_false


def _range_sum(cum: np.ndarray, rows: np.ndarray, start: np.ndarray, end: np.ndarray
               ) -> np.ndarray:
    """Sum over ``[start, end)`` of row ``rows`` from a (R, I + 1) cumulative sum."""
    return _take(cum, rows, end) - _take(cum, rows, start)


def _mix(*cols: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of integer columns (splitmix-style; only equality is used)."""
    h = np.full(np.asarray(cols[0]).shape, 0x9E3779B97F4A7C15, dtype=np.uint64)
    for c in cols:
        c = np.asarray(c)
        h ^= c.astype(np.int64).view(np.uint64) if c.dtype != np.uint64 else c
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    return h


# --------------------------------------------------------------------------- the service model


def _shares(w: np.ndarray, e_agent: np.ndarray, e_queue: np.ndarray, ptr: np.ndarray,
            pinned: np.ndarray) -> np.ndarray:
    """(skill entries, I): the share of agent ``e_agent[e]`` counted on queue ``e_queue[e]``.

    ``w[q, i] / sum_{k in skills(a)} w[k, i]``, even where all weigh 0; a pinned agent
    counts 1 on the pinned queue and 0 on the others.
    """
    we = w[e_queue]
    den = _segment_sum(we, ptr)[e_agent]
    n_sk = np.diff(ptr)[e_agent][:, None].astype(float)
    share = np.divide(we, den, out=np.broadcast_to(1.0 / n_sk, we.shape).copy(), where=den > 0)
    e_pin, i_pin = np.nonzero(pinned[e_agent] >= 0) if (pinned >= 0).any() else ((), ())
    if len(e_pin):
        share[e_pin, i_pin] = pinned[e_agent[e_pin], i_pin] == e_queue[e_pin]
    return share


def _sl_whole(inp: PlanInputs, cell: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Model SL at whole agents ``n`` for flat cells ``q * I + i``: one engine call per group.

    Erlang C cells are one ``erlang_c`` call (every formula is P(W <= T) there); Erlang A
    cells one ``erlang_a`` call per SL formula, without the ASA series (not needed).
    """
    out = np.empty(cell.size)
    if not cell.size:
        return out
    lam = inp.calls.reshape(-1)[cell] / inp.interval_s
    aht, t = inp.aht_s.reshape(-1)[cell], inp.threshold_s.reshape(-1)[cell]
    is_a, code = inp.erlang_a.reshape(-1)[cell], inp.formula.reshape(-1)[cell]
    k = np.flatnonzero(~is_a)
    if k.size:
        out[k] = erlang_c_flat(lam[k], aht[k], n[k], t[k])["service_level"]
    for f in np.unique(code[is_a]):
        k = np.flatnonzero(is_a & (code == f))
        name = SL_FORMULAS[int(f)]
        r = erlang_a_flat(lam[k], aht[k], n[k], t[k], inp.patience_s.reshape(-1)[cell[k]],
                          inp.short_abandon_s.reshape(-1)[cell[k]],
                          want_s=name == "excl_short", want_asa=False)
        out[k] = service_level_from(name, r["p_answered_within_t"], r["p_abandon"],
                                    r["p_abandon_within_short"], r["p_abandon_within_t"])
    # 0/0 (every call a short abandon, no agents): nobody is answered within T.
    return np.nan_to_num(out, nan=0.0)


class _SLTable:
    """SL at the two whole agent counts around the plan, plus on-demand evaluation elsewhere."""

    def __init__(self, inp: PlanInputs, cells: np.ndarray) -> None:
        self.inp = inp
        size = inp.calls.size
        self.n0 = np.full(size, -10.0)  # never a whole count: past cells are not tabled
        self.sl0, self.sl1 = np.zeros(size), np.zeros(size)
        n0 = np.floor(np.round(inp.agents.reshape(-1)[cells], 9))
        both = _sl_whole(inp, np.r_[cells, cells], np.r_[n0, n0 + 1.0])
        self.n0[cells], self.sl0[cells], self.sl1[cells] = n0, both[:cells.size], both[cells.size:]
        self.evaluated = 2 * cells.size

    def whole(self, cell: np.ndarray, n: np.ndarray) -> np.ndarray:
        base = self.n0[cell]
        out = np.where(n == base, self.sl0[cell], self.sl1[cell])
        miss = np.flatnonzero((n != base) & (n != base + 1.0))
        if miss.size:
            # Many candidates reach the same (cell, agents): evaluate each pair once.
            width = int(n[miss].max()) + 1
            key = cell[miss].astype(np.int64) * width + n[miss].astype(np.int64)
            uniq, inv = np.unique(key, return_inverse=True)
            out[miss] = _sl_whole(self.inp, uniq // width, (uniq % width).astype(float))[inv]
            self.evaluated += uniq.size
        return out

    def at(self, cell: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """SL at fractional agents: ``(1 - f) SL(n) + f SL(n + 1)`` (``staffing.plan``)."""
        x = np.round(np.maximum(agents, 0.0), 9)
        n = np.floor(x)
        f = x - n
        part = np.flatnonzero(f > 0)
        v = self.whole(np.r_[cell, cell[part]], np.r_[n, n[part] + 1.0])
        out = v[:cell.size].copy()
        out[part] = (1.0 - f[part]) * out[part] + f[part] * v[cell.size:]
        return out


@dataclass(frozen=True, eq=False)
class _Context:
    """What every candidate generator and the evaluation share (computed once per ranking)."""

    inp: PlanInputs
    e_agent: np.ndarray  # (E,) skill entries, sorted by agent
    e_queue: np.ndarray
    ptr: np.ndarray      # (A + 1,) entries of agent a: ptr[a]:ptr[a + 1]
    share: np.ndarray    # (E, I)
    table: _SLTable
    sl_before: np.ndarray  # (Q, I), NaN before now
    marginal: np.ndarray   # (Q, I) calls within T per extra agent (first-order estimate)
    value_cum: np.ndarray  # (A, I + 1) cumulative sum of an agent's marginal value
    deficit: np.ndarray    # (Q, I) max(required - agents, 0), 0 before now
    surplus: np.ndarray    # (Q, I) max(agents - required, 0), 0 before now
    busy: np.ndarray       # (A, I) number of activities in the interval
    skill_sig: np.ndarray  # (A,) hash of the skill set


def _context(inp: PlanInputs) -> _Context:
    n_q, n_iv = inp.calls.shape
    h = int(np.clip(inp.now_iv, 0, n_iv))
    e_agent, e_queue, ptr = _skill_entries(inp.skills)
    share = _shares(inp.split_weight, e_agent, e_queue, ptr, inp.pinned)
    future = (np.arange(n_q)[:, None] * n_iv + np.arange(h, n_iv)).ravel()
    table = _SLTable(inp, future)
    agents = inp.agents.reshape(-1)[future]
    frac = np.round(agents, 9) - table.n0[future]
    sl0, sl1 = table.sl0[future], table.sl1[future]
    sl_before = np.full(inp.calls.size, np.nan)
    sl_before[future] = (1.0 - frac) * sl0 + frac * sl1
    req = inp.required.reshape(-1)[future]
    gap = np.where(np.isnan(req), 0.0, agents - req)  # unreachable target: no gap known
    deficit, surplus = np.zeros(inp.calls.size), np.zeros(inp.calls.size)
    deficit[future], surplus[future] = np.maximum(-gap, 0.0), np.maximum(gap, 0.0)
    # First-order value of one more agent: the slope at the plan, or (when the model is flat,
    # e.g. an unstable Erlang C queue) the average gain per agent needed to reach the target.
    short = np.maximum(inp.target_sl.reshape(-1)[future] - sl_before[future], 0.0)
    slope = np.maximum(sl1 - sl0, short / np.maximum(deficit[future], 1.0))
    marginal = np.zeros(inp.calls.size)
    marginal[future] = inp.calls.reshape(-1)[future] * slope
    marginal = marginal.reshape(n_q, n_iv)
    value = _segment_sum(share * marginal[e_queue], ptr)
    busy = _busy(inp)
    return _Context(
        inp=inp, e_agent=e_agent, e_queue=e_queue, ptr=ptr, share=share, table=table,
        sl_before=sl_before.reshape(n_q, n_iv), marginal=marginal,
        value_cum=_cumsum0(value), deficit=deficit.reshape(n_q, n_iv),
        surplus=surplus.reshape(n_q, n_iv), busy=busy, skill_sig=_skill_sig(e_queue, ptr, n_q))


def _cumsum0(v: np.ndarray) -> np.ndarray:
    out = np.zeros((v.shape[0], v.shape[1] + 1), dtype=v.dtype)
    np.cumsum(v, axis=1, out=out[:, 1:])
    return out


def _busy(inp: PlanInputs) -> np.ndarray:
    n_a, n_iv = inp.on_phone.shape
    s = np.clip(inp.activity_start_iv, 0, n_iv)
    e = np.clip(inp.activity_end_iv, 0, n_iv)
    own, iv = _expand(s, e - s)
    key = inp.activity_agent[own] * n_iv + iv
    return np.bincount(key, minlength=n_a * n_iv).reshape(n_a, n_iv)


_RNG = np.random.default_rng(0x5EED)
_R = _RNG.integers(1, 2**63 - 1, size=(3, 4096), dtype=np.int64).view(np.uint64)


def _randoms(row: int, n: int) -> np.ndarray:
    return _R[row, np.arange(n) % _R.shape[1]] * np.uint64(2 * (np.arange(n) // _R.shape[1]) + 1)


def _range_state(ctx: _Context, agent: np.ndarray, lo: np.ndarray, hi: np.ndarray
                 ) -> np.ndarray:
    """Hash of each agent's (pin, phone time, activities) over ``[lo, hi)``, by offset.

    Two single-agent candidates with the same ranges, skills and state there have the same
    effect on every queue: only one is evaluated, the other agents are its alternatives.
    """
    inp = ctx.inp
    n_iv = inp.on_phone.shape[1]
    width = int((hi - lo).max(initial=1))
    j = lo[:, None] + np.arange(width)
    inside = (j < hi[:, None]) & (j >= 0) & (j < n_iv)
    jc = np.clip(j, 0, n_iv - 1)
    parts = (_take(inp.pinned, agent[:, None], jc).astype(np.int64) + 1,
             np.round(_take(inp.on_phone, agent[:, None], jc) * 2**20).astype(np.int64),
             _take(ctx.busy, agent[:, None], jc).astype(np.int64))
    h = np.zeros(agent.size, dtype=np.uint64)
    for row, part in enumerate(parts):
        mixed = part.view(np.uint64) * _randoms(row, width)
        h += np.where(inside, mixed, np.uint64(0)).sum(axis=1, dtype=np.uint64)
    return h


def _skill_sig(e_queue: np.ndarray, ptr: np.ndarray, n_q: int) -> np.ndarray:
    return _segment_sum(_randoms(0, n_q)[e_queue] * np.uint64(3) + np.uint64(1), ptr)


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class ActionOptions:
    """Limits of the search. Times in minutes become whole intervals (rounded down).

    kinds: which kinds to generate. max_move_min / max_move_agents: longest range and most
    agents of one move (a deficit run is cut into pieces of at most max_move_min; for each
    piece, moves of 1 .. min(max_move_agents, deficit + 1) agents are evaluated and the best
    is kept). max_vto_min: longest time off offered. vto_max_sl_drop: a VTO is suggested only
    if every affected cell keeps agents >= required, SL >= target and loses at most this
    much SL. min_score: other actions must gain more than this (calls within T).
    max_ranges (moves: deficit ranges, each with up to max_move_agents candidates) and
    max_candidates (the other kinds, by name; defaults in ``cap``): the most promising by the
    first-order estimate are kept, which bounds the time of the evaluation.
    """

    kinds: tuple[str, ...] = KINDS
    max_move_min: float = 120.0
    max_move_agents: int = 8
    max_vto_min: float = 240.0
    vto_max_sl_drop: float = 0.01
    min_score: float = 1e-6
    max_ranges: int = 400
    max_candidates: Mapping[str, int] | None = None
    break_activities: tuple[str, ...] = tuple(BREAK_WINDOW_MIN)
    postpone_activities: tuple[str, ...] = POSTPONABLE
    phone_activity: str = "open"
    vto_activity: str = "off"

    def cap(self, kind: str) -> int:
        caps = {"move_break": 2000, "postpone": 1000, "overtime": 1000, "vto": 1000}
        caps.update(self.max_candidates or {})
        return int(caps[kind])


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate actions as arrays (C candidates, R agent-interval rows).

    Per candidate: kind (int8 index into ``KINDS``); group (only the best candidate of a
    group is kept: the moves of 1..k agents for one range share a group); agent (the first
    agent); ref (move_break: the activity; postpone: the unit in ``unit_ptr``; else -1);
    start_iv, end_iv (the range it changes; for breaks and meetings the new position, -1 for
    another day); old_start_iv, old_end_iv (breaks, meetings: where it was; else -1);
    to_queue (move; else -1); side (overtime/vto: 0 at the shift start, 1 at its end);
    estimate (first-order estimate used to prune).
    Rows ``row_ptr[c]:row_ptr[c + 1]``: agent, interval, and either a phone-time change
    ``row_delta`` (``row_to`` = -1) or a move of that agent-interval to queue ``row_to``.
    unit_ptr / unit_act: member activities of each postpone unit. alt_cand / alt_agent:
    agents for whom the same single-agent action has the same effect.
    """

    kind: np.ndarray
    group: np.ndarray
    agent: np.ndarray
    ref: np.ndarray
    start_iv: np.ndarray
    end_iv: np.ndarray
    old_start_iv: np.ndarray
    old_end_iv: np.ndarray
    to_queue: np.ndarray
    side: np.ndarray
    estimate: np.ndarray
    row_ptr: np.ndarray
    row_agent: np.ndarray
    row_iv: np.ndarray
    row_delta: np.ndarray
    row_to: np.ndarray
    unit_ptr: np.ndarray
    unit_act: np.ndarray
    alt_cand: np.ndarray
    alt_agent: np.ndarray

    def __len__(self) -> int:
        return int(self.kind.size)


_META = ("group", "agent", "ref", "start_iv", "end_iv", "old_start_iv", "old_end_iv",
         "to_queue", "side", "estimate")


@dataclass
class _Part:
    """One kind's candidates (local indices) before they are put together."""

    kind: str
    meta: dict[str, np.ndarray]
    row_cand: np.ndarray
    row_agent: np.ndarray
    row_iv: np.ndarray
    row_delta: np.ndarray
    row_to: np.ndarray
    alt_cand: np.ndarray
    alt_agent: np.ndarray

    @property
    def n(self) -> int:
        return int(self.meta["agent"].size)


def _part(kind: str, meta: dict[str, Any], rows: tuple, alts: tuple | None = None) -> _Part:
    n = np.asarray(meta["agent"]).size
    full = {k: np.broadcast_to(np.asarray(meta.get(k, -1)), (n,)).copy() for k in _META}
    full["group"] = np.arange(n) if "group" not in meta else full["group"]
    cand, agent, iv, delta, to = rows
    alt = alts or (np.zeros(0, np.int64), np.zeros(0, np.int64))
    return _Part(kind, full, cand, agent, iv, np.asarray(delta, float) * np.ones(cand.size),
                 np.asarray(to) * np.ones(cand.size, np.int64), *alt)


def _dedup_single(ctx: _Context, kind: int, agent, i0, i1, o0, o1, share, est):
    """Keep one candidate per effect (same kind, ranges, skills and agent state there).

    Returns the kept indices (best estimate first) and (kept position, other agent) pairs.
    """
    lo = np.where(o0 >= 0, np.minimum(i0, o0), i0)
    hi = np.where(o1 >= 0, np.maximum(i1, o1), i1)
    state = _range_state(ctx, agent, lo, hi)
    key = _mix(np.full(agent.size, kind), i0, i1, o0, o1, np.round(share * 2**20),
               ctx.skill_sig[agent], state)
    order = np.argsort(-est, kind="stable")
    _, first, inv = np.unique(key[order], return_index=True, return_inverse=True)
    first = np.sort(first)  # keep the estimate order
    keep = order[first]
    pos = np.empty(inv.max(initial=-1) + 1, dtype=np.int64)
    pos[inv[first]] = np.arange(first.size)
    dup = np.setdiff1d(np.arange(order.size), first, assume_unique=True)
    return keep, pos[inv[dup]], agent[order[dup]]


def _cap_single(ctx: _Context, kind: str, agent, i0, i1, o0, o1, share, est, cap):
    """Dedup, then keep the ``cap`` best estimates; alternatives of the kept ones.

    Only the best ``4 cap`` by estimate are hashed: duplicates have equal estimates and sit
    together in that order, so all that is lost are alternatives beyond the cut.
    """
    pre = np.argsort(-est, kind="stable")[:4 * cap]
    agent, i0, i1, o0, o1, share, est = (v[pre] for v in (agent, i0, i1, o0, o1, share, est))
    keep, alt_pos, alt_agent = _dedup_single(ctx, KINDS.index(kind), agent, i0, i1, o0, o1,
                                             share, est)
    keep = pre[keep]
    keep_n = min(cap, keep.size)
    sel = alt_pos < keep_n
    return keep[:keep_n], alt_pos[sel], alt_agent[sel]


def _fits(ctx: _Context, agent, new_start, dur, old_start, old_end, share) -> np.ndarray:
    """An activity of ``share`` fits at ``new_start``: on the phone there, no other activity."""
    n_iv = ctx.inp.on_phone.shape[1]
    width = int(dur.max(initial=1))
    j = new_start[:, None] + np.arange(width)
    inside = np.arange(width) < dur[:, None]
    jc = np.clip(j, 0, n_iv - 1)
    own = (j >= old_start[:, None]) & (j < old_end[:, None])
    busy = _take(ctx.busy, agent[:, None], jc) - own
    phone = _take(ctx.inp.on_phone, agent[:, None], jc) + share[:, None] * own
    ok = (busy == 0) & (phone >= share[:, None] - _TOL)
    return (ok | ~inside).all(axis=1)


def _move_ranges(ctx: _Context, lmax: int, cap: int):
    """Deficit runs per queue, cut to at most ``lmax`` intervals, the ``cap`` biggest."""
    q, s, e = _runs(ctx.deficit > _TOL)
    own, piece = _expand(np.zeros(q.size), -(-(e - s) // lmax))
    q, s = q[own], s[own] + piece * lmax
    e = np.minimum(s + lmax, e[own])
    prio = _range_sum(_cumsum0(ctx.deficit * ctx.marginal), q, s, e)
    top = np.argsort(-prio, kind="stable")[:cap]
    return q[top], s[top], e[top]


def _moves(ctx: _Context, opt: ActionOptions) -> _Part:
    """Moves to a deficit queue: per range, the best 1..k skilled agents by first-order gain.

    Gain of moving agent a to queue q over a range: ``sum_i x[a,i] (m[q,i] - v[a,i])`` with
    ``m`` the marginal value of an agent on a queue and ``v[a,i] = sum_k share m[k,i]`` the
    value of the agent where they are; agents already all on q gain 0 and are skipped.
    """
    inp = ctx.inp
    lmax = max(1, int(opt.max_move_min * 60.0 / inp.interval_s + 1e-9))
    q, s, e = _move_ranges(ctx, lmax, opt.max_ranges)
    gain_cum = _cumsum0(inp.on_phone[ctx.e_agent] * (ctx.marginal[ctx.e_queue]
                                                     - np.diff(ctx.value_cum, axis=1)[ctx.e_agent]))
    by_q = np.argsort(ctx.e_queue, kind="stable")
    q_count = np.bincount(ctx.e_queue, minlength=len(inp.queues))
    own, j = _expand(np.cumsum(q_count)[q] - q_count[q], q_count[q])
    ent = by_q[j]
    gain = _range_sum(gain_cum, ent, s[own], e[own])
    ok = gain > opt.min_score
    own, ent, gain = own[ok], ent[ok], gain[ok]
    order = np.lexsort((-gain, own))
    own, ent, gain = own[order], ent[order], gain[order]
    first = np.searchsorted(own, np.arange(q.size))
    avail = np.bincount(own, minlength=q.size)
    d_own, d_iv = _expand(s, e - s)
    worst = np.zeros(q.size)
    np.maximum.at(worst, d_own, ctx.deficit[q[d_own], d_iv])
    k_max = np.minimum(np.minimum(opt.max_move_agents, avail),
                       np.ceil(worst - _TOL).astype(np.int64) + 1)
    c_range, k = _expand(np.ones(q.size), k_max)  # candidate = (range, k agents)
    m_cand, m_rank = _expand(np.zeros(k.size), k)  # its members: the k best of the range
    member = ctx.e_agent[ent[first[c_range[m_cand]] + m_rank]]
    r_m, iv = _expand(s[c_range[m_cand]], (e - s)[c_range[m_cand]])
    on = _take(inp.on_phone, member[r_m], iv) > 0  # pinned only while on the phone
    r_m, iv = r_m[on], iv[on]
    est = np.bincount(m_cand, weights=gain[first[c_range[m_cand]] + m_rank], minlength=k.size)
    meta = {"group": c_range, "agent": member[np.searchsorted(m_cand, np.arange(k.size))]
            if k.size else np.zeros(0, np.int64),
            "start_iv": s[c_range], "end_iv": e[c_range], "to_queue": q[c_range],
            "estimate": est}
    rows = (m_cand[r_m], member[r_m], iv, 0.0, q[c_range[m_cand[r_m]]])
    return _part("move", meta, rows)


def _break_moves(ctx: _Context, opt: ActionOptions) -> _Part:
    """Each break/lunch not started yet, to every start in its window that fits."""
    inp = ctx.inp
    n_iv, h = inp.on_phone.shape[1], inp.now_iv
    st, en = inp.activity_start_iv, inp.activity_end_iv
    k = np.flatnonzero(np.isin(np.asarray(inp.activity_name, dtype=object),
                               list(opt.break_activities)) & (en > st) & (st >= h) & (en <= n_iv))
    # A move gains at most the value of the time it gives back: try the breaks with the most.
    bound = inp.activity_share[k] * _range_sum(ctx.value_cum, inp.activity_agent[k], st[k], en[k])
    top = np.argsort(-bound, kind="stable")[:3 * opt.cap("move_break")]
    k = k[top[bound[top] > opt.min_score]]
    a, st, en, share = inp.activity_agent[k], inp.activity_start_iv[k], en[k], inp.activity_share[k]
    dur = en - st
    lo = np.maximum.reduce([inp.activity_earliest_iv[k], np.full(k.size, h),
                            inp.shift_start_iv[a]])
    hi = np.minimum.reduce([inp.activity_latest_iv[k], inp.shift_end_iv[a] - dur, n_iv - dur])
    own, new = _expand(lo, hi - lo + 1)
    own, new = own[new != st[own]], new[new != st[own]]
    ok = _fits(ctx, a[own], new, dur[own], st[own], en[own], share[own])
    own, new = own[ok], new[ok]
    ao = a[own]
    est = share[own] * (_range_sum(ctx.value_cum, ao, st[own], en[own])
                        - _range_sum(ctx.value_cum, ao, new, new + dur[own]))
    ok = est > opt.min_score
    own, new, ao, est = own[ok], new[ok], ao[ok], est[ok]
    keep, alt_pos, alt_agent = _cap_single(ctx, "move_break", ao, new, new + dur[own],
                                           st[own], en[own], share[own], est,
                                           opt.cap("move_break"))
    own, new, ao = own[keep], new[keep], ao[keep]
    # One suggestion per break: its best new start (group = the activity).
    meta = {"agent": ao, "ref": k[own], "group": k[own], "start_iv": new, "end_iv": new + dur[own],
            "old_start_iv": st[own], "old_end_iv": en[own], "estimate": est[keep]}
    # Rows: the old intervals give the time back, the new ones take it.
    c_old, iv_old = _expand(st[own], dur[own])
    c_new, iv_new = _expand(new, dur[own])
    cand = np.r_[c_old, c_new]
    delta = np.r_[share[own][c_old], -share[own][c_new]]
    return _part("move_break", meta, (cand, ao[cand], np.r_[iv_old, iv_new], delta, -1),
                 (alt_pos, alt_agent))


def _units(inp: PlanInputs, opt: ActionOptions):
    """Postponable activities not yet started, grouped into units (one meeting = one unit)."""
    n_iv, h = inp.on_phone.shape[1], inp.now_iv
    st, en = inp.activity_start_iv, inp.activity_end_iv
    k = np.flatnonzero(np.isin(np.asarray(inp.activity_name, dtype=object),
                               list(opt.postpone_activities))
                       & (en > st) & (st >= h) & (st < n_iv))
    grp = inp.activity_group[k]
    _, unit = np.unique(np.where(grp >= 0, grp, -1 - k), return_inverse=True)
    order = np.argsort(unit, kind="stable")
    k, unit = k[order], unit[order]
    ptr = np.r_[0, np.cumsum(np.bincount(unit))] if k.size else np.zeros(1, np.int64)
    return k, ptr


def _postpones(ctx: _Context, opt: ActionOptions) -> tuple[_Part, np.ndarray, np.ndarray]:
    """Every unit to every later start where all attendees fit, and to another day."""
    inp = ctx.inp
    n_iv = inp.on_phone.shape[1]
    k, uptr = _units(inp, opt)
    a, st, en = inp.activity_agent[k], inp.activity_start_iv[k], inp.activity_end_iv[k]
    share, dur = inp.activity_share[k], en - st
    n_u = uptr.size - 1
    if not n_u:
        empty = np.zeros(0, np.int64)
        return _part("postpone", {"agent": empty}, (empty, empty, empty, 0.0, -1)), uptr, k
    d_max = np.minimum.reduce([inp.activity_latest_iv[k] - st, inp.shift_end_iv[a] - en,
                               n_iv - en])
    d_max = np.maximum(np.minimum.reduceat(d_max, uptr[:-1]), 0)
    drop = np.logical_and.reduceat(inp.activity_can_drop[k], uptr[:-1])
    # Pairs (unit, offset): offsets 1..d_max, and 0 meaning "another day" where allowed.
    p_unit, p_off = _expand(np.where(drop, 0, 1), d_max + drop)
    m_pair, m_act = _expand(uptr[p_unit], np.diff(uptr)[p_unit])
    off = p_off[m_pair]
    fits = np.ones(m_pair.size, dtype=bool)
    later = np.flatnonzero(off > 0)
    fits[later] = _fits(ctx, a[m_act[later]], st[m_act[later]] + off[later],
                        dur[m_act[later]], st[m_act[later]], en[m_act[later]],
                        share[m_act[later]])
    am = a[m_act]
    gain = share[m_act] * (_range_sum(ctx.value_cum, am, st[m_act], en[m_act])
                           - np.where(off > 0, _range_sum(ctx.value_cum, am, st[m_act] + off,
                                                          en[m_act] + off), 0.0))
    p_size = np.diff(uptr)[p_unit]
    p_first = np.cumsum(p_size) - p_size
    valid = np.logical_and.reduceat(fits, p_first) if p_first.size else fits[:0]
    est = np.add.reduceat(gain, p_first) if p_first.size else gain[:0]
    good = np.flatnonzero(valid & (est > opt.min_score))
    good = good[np.argsort(-est[good], kind="stable")[:opt.cap("postpone")]]
    u, o = p_unit[good], p_off[good]
    first_act = uptr[u]
    meta = {"agent": a[first_act], "ref": u, "group": u,
            "start_iv": np.where(o > 0, st[first_act] + o, _DROP),
            "end_iv": np.where(o > 0, en[first_act] + o, _DROP),
            "old_start_iv": st[first_act], "old_end_iv": en[first_act], "estimate": est[good]}
    c_m, m = _expand(uptr[u], np.diff(uptr)[u])
    c_old, iv_old = _expand(st[m], dur[m])
    mv = np.flatnonzero(o[c_m] > 0)
    c_new, iv_new = _expand(st[m[mv]] + o[c_m[mv]], dur[m[mv]])
    cand = np.r_[c_m[c_old], c_m[mv][c_new]]
    agent = np.r_[a[m[c_old]], a[m[mv][c_new]]]
    delta = np.r_[share[m[c_old]], -share[m[mv][c_new]]]
    return (_part("postpone", meta, (cand, agent, np.r_[iv_old, iv_new], delta, -1)), uptr, k)


def _agent_touches(ctx: _Context, cells: np.ndarray) -> np.ndarray:
    """(A, I) True where the agent counts (share > 0) on a queue whose cell is True."""
    return _segment_sum(ctx.share * cells[ctx.e_queue], ctx.ptr) > 0


def _overtime(ctx: _Context, opt: ActionOptions) -> _Part:
    """Whole free intervals right after (before) the shift while its queues are short."""
    inp = ctx.inp
    n_iv = inp.on_phone.shape[1]
    cols = np.arange(n_iv)
    free = (inp.on_phone == 0) & (ctx.busy == 0) & (cols >= inp.now_iv)
    x = free & _agent_touches(ctx, ctx.deficit > _TOL)
    end, start = inp.shift_end_iv, inp.shift_start_iv
    after = (inp.overtime_after_iv > 0) & (end >= inp.now_iv) & (end < n_iv)
    before = (inp.overtime_before_iv > 0) & (start - 1 >= inp.now_iv) & (start - 1 < n_iv)
    ag_a, ag_b = np.flatnonzero(after), np.flatnonzero(before)
    k_a = np.minimum(_run_forward(x)[ag_a, end[ag_a]], inp.overtime_after_iv[ag_a])
    k_b = np.minimum(_run_backward(x)[ag_b, start[ag_b] - 1], inp.overtime_before_iv[ag_b])
    agent = np.r_[ag_a[k_a > 0], ag_b[k_b > 0]]
    i0 = np.r_[end[ag_a][k_a > 0], start[ag_b][k_b > 0] - k_b[k_b > 0]]
    i1 = np.r_[end[ag_a][k_a > 0] + k_a[k_a > 0], start[ag_b][k_b > 0]]
    side = np.r_[np.ones((k_a > 0).sum(), np.int64), np.zeros((k_b > 0).sum(), np.int64)]
    est = _range_sum(ctx.value_cum, agent, i0, i1)
    keep, alt_pos, alt_agent = _cap_single(ctx, "overtime", agent, i0, i1, side - 2,
                                           side - 2, np.ones(agent.size), est,
                                           opt.cap("overtime"))
    agent, i0, i1 = agent[keep], i0[keep], i1[keep]
    meta = {"agent": agent, "start_iv": i0, "end_iv": i1, "side": side[keep],
            "estimate": est[keep]}
    cand, iv = _expand(i0, i1 - i0)
    return _part("overtime", meta, (cand, agent[cand], iv, 1.0 - inp.on_phone[agent[cand], iv],
                                    -1), (alt_pos, alt_agent))


def _vto(ctx: _Context, opt: ActionOptions) -> _Part:
    """The longest stretch at the shift's end (start) where every queue keeps its requirement."""
    inp = ctx.inp
    n_iv = inp.on_phone.shape[1]
    x = inp.on_phone
    # Without the agent each queue keeps agents >= required: their part <= the surplus.
    short = _segment_sum(ctx.share * x[ctx.e_agent] > ctx.surplus[ctx.e_queue] + _TOL,
                         ctx.ptr) > 0
    ok = ((x > 0) & (ctx.busy == 0) & ~short & (np.arange(n_iv) >= inp.now_iv)
          & inp.vto_allowed[:, None])
    k_max = int(opt.max_vto_min * 60.0 / inp.interval_s + 1e-9)
    end, start = inp.shift_end_iv, inp.shift_start_iv
    ag_e = np.flatnonzero(inp.vto_allowed & (end - 1 >= inp.now_iv) & (end <= n_iv))
    ag_s = np.flatnonzero(inp.vto_allowed & (start >= inp.now_iv) & (start < n_iv))
    k_e = np.minimum(_run_backward(ok)[ag_e, end[ag_e] - 1], k_max)
    k_s = np.minimum(_run_forward(ok)[ag_s, start[ag_s]], k_max)
    agent = np.r_[ag_e[k_e > 0], ag_s[k_s > 0]]
    i0 = np.r_[end[ag_e][k_e > 0] - k_e[k_e > 0], start[ag_s][k_s > 0]]
    i1 = np.r_[end[ag_e][k_e > 0], start[ag_s][k_s > 0] + k_s[k_s > 0]]
    side = np.r_[np.ones((k_e > 0).sum(), np.int64), np.zeros((k_s > 0).sum(), np.int64)]
    # Prefer long time off that costs little: hours saved minus their first-order value.
    est = (i1 - i0) - _range_sum(ctx.value_cum, agent, i0, i1)
    keep, alt_pos, alt_agent = _cap_single(ctx, "vto", agent, i0, i1, side - 2, side - 2,
                                           np.ones(agent.size), est, opt.cap("vto"))
    agent, i0, i1 = agent[keep], i0[keep], i1[keep]
    meta = {"agent": agent, "start_iv": i0, "end_iv": i1, "side": side[keep],
            "estimate": est[keep]}
    cand, iv = _expand(i0, i1 - i0)
    return _part("vto", meta, (cand, agent[cand], iv, -x[agent[cand], iv], -1),
                 (alt_pos, alt_agent))


def _combine(parts: list[_Part], unit_ptr: np.ndarray, unit_act: np.ndarray) -> Candidates:
    if not parts:
        empty = np.zeros(0, np.int64)
        parts = [_part("move", {"agent": empty}, (empty, empty, empty, 0.0, -1))]
    meta = {k: np.concatenate([p.meta[k] for p in parts]) for k in _META}
    offs = np.cumsum([0] + [p.n for p in parts])
    kind = np.concatenate([np.full(p.n, KINDS.index(p.kind), np.int8) for p in parts])
    group_off = np.cumsum([0] + [int(p.meta["group"].max(initial=-1)) + 1 for p in parts])
    meta["group"] = np.concatenate([p.meta["group"] + group_off[j] for j, p in enumerate(parts)])
    cat = {name: np.concatenate([getattr(p, name) + (offs[j] if name in ("row_cand", "alt_cand")
                                                     else 0) for j, p in enumerate(parts)])
           for name in ("row_cand", "row_agent", "row_iv", "row_delta", "row_to", "alt_cand",
                        "alt_agent")}
    order = np.argsort(cat["row_cand"], kind="stable")
    row_ptr = np.r_[0, np.cumsum(np.bincount(cat["row_cand"], minlength=kind.size))]
    ints = {k: meta[k].astype(np.int64) for k in _META if k != "estimate"}
    return Candidates(kind=kind, estimate=meta["estimate"].astype(float), **ints,
                      row_ptr=row_ptr, row_agent=cat["row_agent"][order].astype(np.int64),
                      row_iv=cat["row_iv"][order].astype(np.int64),
                      row_delta=cat["row_delta"][order], row_to=cat["row_to"][order],
                      unit_ptr=unit_ptr, unit_act=unit_act,
                      alt_cand=cat["alt_cand"].astype(np.int64),
                      alt_agent=cat["alt_agent"].astype(np.int64))


def generate_candidates(inputs: PlanInputs, options: ActionOptions | None = None,
                        _ctx: _Context | None = None) -> Candidates:
    """Candidate actions of every kind in ``options.kinds`` that respect the constraints.

    Constraints: moves only to a skill queue of the agent, only while on the phone; breaks
    within their window, inside the shift, where the agent is on the phone and has no other
    activity; meetings/training later in the shift with every attendee free, or to another
    day if allowed; overtime only on whole free intervals adjacent to the shift, up to the
    agent's limit, while one of their queues is short; VTO only at the shift's edges, where
    no queue of theirs drops below its requirement. Nothing before ``now_iv`` changes, and
    nothing already started moves.
    """
    opt = options or ActionOptions()
    bad = sorted(set(opt.kinds) - set(KINDS))
    if bad:
        raise ValueError(f"kinds must be among {KINDS}, got {bad}")
    ctx = _ctx or _context(inputs)
    parts: list[_Part] = []
    unit_ptr, unit_act = np.zeros(1, np.int64), np.zeros(0, np.int64)
    for kind in KINDS:
        if kind not in opt.kinds:
            continue
        if kind == "postpone":
            part, unit_ptr, unit_act = _postpones(ctx, opt)
        else:
            part = {"move": _moves, "move_break": _break_moves, "overtime": _overtime,
                    "vto": _vto}[kind](ctx, opt)
        parts.append(part)
    return _combine(parts, unit_ptr, unit_act)


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Exact effect of every candidate (C candidates, M affected cells).

    score (C,): calls answered within T gained, ``sum calls (SL_after - SL_before)``.
    passes (C,): VTO: every affected cell keeps agents >= required, SL >= target and drops
    at most ``vto_max_sl_drop``; other kinds: score > ``min_score``.
    Cells ``cell_ptr[c]:cell_ptr[c + 1]`` (sorted): cell (flat ``q * I + i``), delta,
    agents_before / agents_after, sl_before / sl_after. evaluated: model evaluations used.
    """

    score: np.ndarray
    passes: np.ndarray
    cell_ptr: np.ndarray
    cell: np.ndarray
    delta: np.ndarray
    agents_before: np.ndarray
    agents_after: np.ndarray
    sl_before: np.ndarray
    sl_after: np.ndarray
    evaluated: int


def _cell_deltas(ctx: _Context, cands: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate, flat cell, agents delta), summed per (candidate, cell), zeros dropped."""
    inp = ctx.inp
    n_iv = inp.calls.shape[1]
    row_cand = np.repeat(np.arange(len(cands)), np.diff(cands.row_ptr))
    a = cands.row_agent
    r, e = _expand(ctx.ptr[a], np.diff(ctx.ptr)[a])  # every skill entry of each row's agent
    i = cands.row_iv[r]
    q = ctx.e_queue[e]
    s = ctx.share[e, i]
    to = cands.row_to[r]
    # A move row: the agent's phone time leaves its shares and goes all to queue `to`.
    d = np.where(to >= 0, inp.on_phone[a[r], i] * ((q == to) - s), cands.row_delta[r] * s)
    key = row_cand[r] * inp.calls.size + q * n_iv + i
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=d, minlength=uniq.size)
    nz = np.abs(total) > 1e-12
    uniq, total = uniq[nz], total[nz]
    return uniq // inp.calls.size, uniq % inp.calls.size, total


def evaluate_candidates(inputs: PlanInputs, cands: Candidates,
                        options: ActionOptions | None = None,
                        _ctx: _Context | None = None) -> Evaluation:
    """Projected SL before and after every candidate on every cell it changes, and its score."""
    opt = options or ActionOptions()
    ctx = _ctx or _context(inputs)
    inp = ctx.inp
    cand, cell, delta = _cell_deltas(ctx, cands)
    before = inp.agents.reshape(-1)[cell]
    after = np.maximum(before + delta, 0.0)
    evaluated0 = ctx.table.evaluated
    sl_b = ctx.sl_before.reshape(-1)[cell]
    sl_a = ctx.table.at(cell, after)
    n = len(cands)
    score = np.bincount(cand, weights=inp.calls.reshape(-1)[cell] * (sl_a - sl_b), minlength=n)
    bad = ((after < inp.required.reshape(-1)[cell] - _TOL)
           | (sl_a < inp.target_sl.reshape(-1)[cell] - 1e-12)
           | (sl_b - sl_a > opt.vto_max_sl_drop))
    vto_ok = np.bincount(cand, weights=bad, minlength=n) == 0
    is_vto = cands.kind == KINDS.index("vto")
    passes = np.where(is_vto, vto_ok & (np.bincount(cand, minlength=n) > 0),
                      score > opt.min_score)
    return Evaluation(score=score, passes=passes,
                      cell_ptr=np.r_[0, np.cumsum(np.bincount(cand, minlength=n))],
                      cell=cell, delta=delta, agents_before=before, agents_after=after,
                      sl_before=sl_b, sl_after=sl_a,
                      evaluated=ctx.table.evaluated - evaluated0)


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class CellEffect:
    """One affected queue and interval: calls, agents and projected SL before and after."""

    queue: str
    queue_index: int
    interval: int
    start_ms: int
    calls: float
    agents_before: float
    agents_after: float
    sl_before: float
    sl_after: float


@dataclass(frozen=True, eq=False)
class Change:
    """Exact edit of one ``PlanInputs`` array: ``field.flat[index]`` goes before -> after."""

    field: str
    index: np.ndarray
    before: np.ndarray
    after: np.ndarray


@dataclass(frozen=True, eq=False)
class Action:
    """One ranked roster action.

    kind: one of ``KINDS``. agents: ids of the agents who act (alternatives: other agents for
    whom the same action has the same effect). from_queue / to_queue: moves (from = the
    queue losing the most agent time). start_iv, end_iv (and _ms): the range changed
    (breaks, meetings: the new position; another day: the old one). score: calls answered
    within T gained (``sum calls x (SL_after - SL_before)``). paid_hours: overtime paid
    (> 0) or time off saved (< 0). effects: every affected (queue, interval).
    segments_before / segments_after: the schedule edit (moves change the queue, not the
    activities: none). text: one sentence for people. changes: the edit of ``PlanInputs``
    that :func:`apply_action` makes.
    """

    kind: str
    agents: tuple[str, ...]
    from_queue: str | None
    to_queue: str | None
    start_iv: int
    end_iv: int
    start_ms: int
    end_ms: int
    score: float
    paid_hours: float
    effects: tuple[CellEffect, ...]
    segments_before: tuple[Segment, ...]
    segments_after: tuple[Segment, ...]
    text: str
    alternatives: tuple[str, ...]
    changes: tuple[Change, ...]


def _select(cands: Candidates, ev: Evaluation, limit: int, per_kind: int | None = None
            ) -> np.ndarray:
    """Passing candidates, the best of each group, by score (best first), at most ``limit``
    (and at most ``per_kind`` of each kind)."""
    ok = np.flatnonzero(ev.passes)
    order = ok[np.lexsort((-ev.score[ok], cands.group[ok]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = cands.group[order][1:] != cands.group[order][:-1]
    best = order[first]
    # Ties (identical effects) keep the kind order of KINDS, then the earlier range.
    rank = np.lexsort((cands.start_iv[best], cands.kind[best], -np.round(ev.score[best], 9)))
    ranked = best[rank]
    if per_kind is not None:
        kind = cands.kind[ranked]
        by_kind = np.argsort(kind, kind="stable")
        nth = np.empty(ranked.size, dtype=np.int64)
        starts = np.searchsorted(kind[by_kind], kind[by_kind])
        nth[by_kind] = np.arange(ranked.size) - starts
        ranked = ranked[nth < per_kind]
    return ranked[:limit]


def rank_actions(inputs: PlanInputs, options: ActionOptions | None = None, *,
                 limit: int = 50, per_kind: int | None = None, tz: tzinfo = UTC
                 ) -> list[Action]:
    """Roster actions for the rest of the day, best first (see the module docstring).

    Generates the candidates (:func:`generate_candidates`), evaluates them all at once
    (:func:`evaluate_candidates`), keeps those that pass and the best of each group, and
    returns at most ``limit`` (and ``per_kind`` of each kind, if given) as :class:`Action`
    records sorted by score (VTO, which never adds service, comes after every action that
    does). ``tz`` is only for the sentences.
    """
    opt = options or ActionOptions()
    ctx = _context(inputs)
    cands = generate_candidates(inputs, opt, _ctx=ctx)
    ev = evaluate_candidates(inputs, cands, opt, _ctx=ctx)
    return [_action(ctx, cands, ev, int(c), opt, tz)
            for c in _select(cands, ev, limit, per_kind)]


def _hhmm(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%H:%M")


def _queue_summary(inp: PlanInputs, q: np.ndarray, calls: np.ndarray, sl_b: np.ndarray,
                   sl_a: np.ndarray, first: str | None) -> str:
    """"Claims SL 64 % → 79 %, Billing 93 % → 88 %": calls-weighted over each queue's cells.

    The queue moved to first, then by the size of the change (calls within T); three at most.
    """
    uq, inv = np.unique(q, return_inverse=True)
    tot = np.bincount(inv, weights=calls)
    b = np.bincount(inv, weights=calls * sl_b)
    a = np.bincount(inv, weights=calls * sl_a)
    names = [inp.queues[k] for k in uq.tolist()]
    order = sorted(range(uq.size), key=lambda j: (names[j] != first, -abs(a[j] - b[j]), names[j]))
    parts = [f"{names[j]}{' SL' if n == 0 else ''} {100 * b[j] / tot[j]:.0f} % → "
             f"{100 * a[j] / tot[j]:.0f} %" for n, j in enumerate(order[:3]) if tot[j] > 0]
    more = f" (+{uq.size - 3} more queues)" if uq.size > 3 else ""
    return ", ".join(parts) + more if parts else "no calls affected"


def _who(inp: PlanInputs, agents: Sequence[int]) -> str:
    labels = [inp.agent_label(a) for a in agents]
    if len(labels) == 1:
        return labels[0]
    shown = ", ".join(labels[:4]) + (", …" if len(labels) > 4 else "")
    return f"{len(labels)} agents ({shown})"


def _action(ctx: _Context, cands: Candidates, ev: Evaluation, c: int, opt: ActionOptions,
            tz: tzinfo) -> Action:
    inp = ctx.inp
    n_iv = inp.calls.shape[1]
    kind = KINDS[int(cands.kind[c])]
    cs = slice(ev.cell_ptr[c], ev.cell_ptr[c + 1])
    cell = ev.cell[cs]
    q, i = cell // n_iv, cell % n_iv
    calls = inp.calls.reshape(-1)[cell]
    cols = (q.tolist(), i.tolist(), (inp.iv_ms(0) + i * inp.interval_ms).tolist(),
            calls.tolist(), ev.agents_before[cs].tolist(), ev.agents_after[cs].tolist(),
            ev.sl_before[cs].tolist(), ev.sl_after[cs].tolist())
    effects = tuple(CellEffect(inp.queues[qq], qq, *rest) for qq, *rest in zip(*cols, strict=True))
    rs = slice(cands.row_ptr[c], cands.row_ptr[c + 1])
    rows = (cands.row_agent[rs], cands.row_iv[rs], cands.row_delta[rs], cands.row_to[rs])
    agents = list(dict.fromkeys(int(a) for a in rows[0]))
    changes = [Change("agents", cell, ev.agents_before[cs], ev.agents_after[cs])]
    changes += _row_changes(inp, *rows)
    built = _KIND_DETAILS[kind](ctx, cands, c, opt, tz)
    changes += built["changes"]
    from_q = to_q = None
    if kind == "move":
        to_q = inp.queues[int(cands.to_queue[c])]
        loss = np.bincount(cell // n_iv, weights=np.minimum(ev.delta[cs], 0.0),
                           minlength=len(inp.queues))
        from_q = inp.queues[int(np.argmin(loss))] if loss.min() < 0 else None
        built["text"] = (f"Move {_who(inp, agents)} from {from_q or '—'} to {to_q} "
                         f"{_hhmm(inp.iv_ms(cands.start_iv[c]), tz)}–"
                         f"{_hhmm(inp.iv_ms(cands.end_iv[c]), tz)}")
    s_iv, e_iv = int(cands.start_iv[c]), int(cands.end_iv[c])
    if s_iv == _DROP:
        s_iv, e_iv = int(cands.old_start_iv[c]), int(cands.old_end_iv[c])
    alts = cands.alt_agent[cands.alt_cand == c]
    return Action(
        kind=kind, agents=tuple(inp.agent_ids[a] for a in agents), from_queue=from_q,
        to_queue=to_q, start_iv=s_iv, end_iv=e_iv, start_ms=inp.iv_ms(s_iv),
        end_ms=inp.iv_ms(e_iv), score=float(ev.score[c]), paid_hours=built["paid_hours"],
        effects=effects, segments_before=built["before"], segments_after=built["after"],
        text=built["text"] + ": " + _queue_summary(inp, q, calls, ev.sl_before[cs],
                                                   ev.sl_after[cs], to_q),
        alternatives=tuple(inp.agent_ids[a] for a in alts), changes=tuple(changes))


def _row_changes(inp: PlanInputs, agent, iv, delta, to) -> list[Change]:
    """Phone-time and pin edits of a candidate's rows, netted per agent and interval."""
    n_iv = inp.calls.shape[1]
    out = []
    phone = to < 0
    if phone.any():
        key, inv = np.unique(agent[phone] * n_iv + iv[phone], return_inverse=True)
        net = np.bincount(inv, weights=delta[phone])
        key = key[net != 0]
        before = inp.on_phone.reshape(-1)[key]
        out.append(Change("on_phone", key, before, np.clip(before + net[net != 0], 0.0, 1.0)))
    if (~phone).any():
        key = agent[~phone] * n_iv + iv[~phone]
        out.append(Change("pinned", key, inp.pinned.reshape(-1)[key],
                          to[~phone].astype(np.int32)))
    return out


def _seg(inp: PlanInputs, a: int, activity: str, s: int, e: int) -> Segment:
    return Segment(inp.agent_ids[a], activity, inp.iv_ms(s), inp.iv_ms(e))


def _details_move(ctx, cands, c, opt, tz) -> dict[str, Any]:
    return {"changes": [], "paid_hours": 0.0, "before": (), "after": (), "text": ""}


def _details_break(ctx, cands, c, opt, tz) -> dict[str, Any]:
    inp = ctx.inp
    k = int(cands.ref[c])
    a, name = int(inp.activity_agent[k]), inp.activity_name[k]
    o0, o1, n0, n1 = (int(v[c]) for v in (cands.old_start_iv, cands.old_end_iv,
                                          cands.start_iv, cands.end_iv))
    return {
        "changes": [Change("activity_start_iv", np.array([k]), np.array([o0]), np.array([n0])),
                    Change("activity_end_iv", np.array([k]), np.array([o1]), np.array([n1]))],
        "paid_hours": 0.0, "before": (_seg(inp, a, name, o0, o1),),
        "after": (_seg(inp, a, name, n0, n1),),
        "text": (f"Move {inp.agent_label(a)}'s {name} {_hhmm(inp.iv_ms(o0), tz)}–"
                 f"{_hhmm(inp.iv_ms(o1), tz)} to {_hhmm(inp.iv_ms(n0), tz)}–"
                 f"{_hhmm(inp.iv_ms(n1), tz)}")}


def _details_postpone(ctx, cands, c, opt, tz) -> dict[str, Any]:
    inp = ctx.inp
    u = int(cands.ref[c])
    acts = cands.unit_act[cands.unit_ptr[u]:cands.unit_ptr[u + 1]]
    off = int(cands.start_iv[c] - cands.old_start_iv[c]) if cands.start_iv[c] != _DROP else None
    s0, e0 = inp.activity_start_iv[acts], inp.activity_end_iv[acts]
    s1, e1 = (s0, s0) if off is None else (s0 + off, e0 + off)  # another day: emptied here
    name = inp.activity_name[int(acts[0])]
    before = tuple(_seg(inp, int(inp.activity_agent[k]), name, int(a), int(b))
                   for k, a, b in zip(acts, s0, e0, strict=True))
    after = () if off is None else tuple(
        _seg(inp, int(inp.activity_agent[k]), name, int(a), int(b))
        for k, a, b in zip(acts, s1, e1, strict=True))
    where = ("to another day" if off is None else
             f"to {_hhmm(inp.iv_ms(int(s1[0])), tz)}–{_hhmm(inp.iv_ms(int(e1[0])), tz)}")
    who = _who(inp, [int(inp.activity_agent[k]) for k in acts])
    return {"changes": [Change("activity_start_iv", acts, s0, s1),
                        Change("activity_end_iv", acts, e0, e1)],
            "paid_hours": 0.0, "before": before, "after": after,
            "text": (f"Postpone the {name} of {who} {_hhmm(inp.iv_ms(int(s0[0])), tz)}–"
                     f"{_hhmm(inp.iv_ms(int(e0[0])), tz)} {where}")}


def _details_shift(ctx, cands, c, opt, tz, kind: str) -> dict[str, Any]:
    """Overtime and VTO: the shift grows (shrinks) at one end; the limit is used up."""
    inp = ctx.inp
    a = int(cands.agent[c])
    s, e, at_end = int(cands.start_iv[c]), int(cands.end_iv[c]), bool(cands.side[c])
    k = e - s
    field = "shift_end_iv" if at_end else "shift_start_iv"
    old = int(getattr(inp, field)[a])
    sign = 1 if (kind == "overtime") == at_end else -1
    changes = [Change(field, np.array([a]), np.array([old]), np.array([old + sign * k]))]
    hours = float(inp.on_phone[a, s:e].sum() if kind == "vto" else (1.0 - inp.on_phone[a, s:e]).sum())
    hours *= inp.interval_s / 3600.0
    span = f"{_hhmm(inp.iv_ms(s), tz)}–{_hhmm(inp.iv_ms(e), tz)}"
    if kind == "overtime":
        limit = "overtime_after_iv" if at_end else "overtime_before_iv"
        left = int(getattr(inp, limit)[a])
        changes.append(Change(limit, np.array([a]), np.array([left]), np.array([left - k])))
        return {"changes": changes, "paid_hours": hours, "before": (),
                "after": (_seg(inp, a, opt.phone_activity, s, e),),
                "text": (f"Offer {inp.agent_label(a)} {round(hours * 60):d} min overtime "
                         f"{span}")}
    return {"changes": changes, "paid_hours": -hours,
            "before": (_seg(inp, a, opt.phone_activity, s, e),),
            "after": (_seg(inp, a, opt.vto_activity, s, e),),
            "text": (f"Offer {inp.agent_label(a)} voluntary time off {span} "
                     f"({hours:.2f} paid hours saved)")}


_KIND_DETAILS = {
    "move": _details_move,
    "move_break": _details_break,
    "postpone": _details_postpone,
    "overtime": lambda *a: _details_shift(*a, kind="overtime"),
    "vto": lambda *a: _details_shift(*a, kind="vto"),
}


# --------------------------------------------------------------------------- apply / undo


def apply_action(inputs: PlanInputs, action: Action) -> PlanInputs:
    """A new ``PlanInputs`` with the action's edits: agents, phone time, pins, shifts, activities.

    The plan (``agents``) moves by the action's cell deltas, so re-ranking sees the new plan.
    ``required`` and the forecast do not change. Raises ``ValueError`` if the inputs no
    longer hold the values the action was computed on (rank again instead).
    """
    updates: dict[str, np.ndarray] = {}
    for ch in action.changes:
        arr = updates.get(ch.field)
        if arr is None:
            arr = np.array(getattr(inputs, ch.field))
            updates[ch.field] = arr
        flat = arr.reshape(-1)
        if not np.array_equal(flat[ch.index], ch.before):
            raise ValueError(f"the action no longer matches the plan ({ch.field} changed); "
                             "rank the actions again")
        flat[ch.index] = ch.after
    return replace(inputs, **{k: _frozen(v) for k, v in updates.items()})


def invert_action(action: Action) -> Action:
    """The action that undoes ``action`` (its edits reversed, before and after swapped)."""
    changes = tuple(Change(ch.field, ch.index, ch.after, ch.before)
                    for ch in reversed(action.changes))
    return replace(action, changes=changes, segments_before=action.segments_after,
                   segments_after=action.segments_before, score=-action.score,
                   paid_hours=-action.paid_hours, text="Undo: " + action.text)


def undo_action(inputs: PlanInputs, action: Action) -> PlanInputs:
    """``inputs`` as they were before ``action`` was applied (exactly: stored values)."""
    return apply_action(inputs, invert_action(action))


__all__ = [
    "BREAK_WINDOW_MIN",
    "KINDS",
    "POSTPONABLE",
    "Action",
    "ActionOptions",
    "Candidates",
    "CellEffect",
    "Change",
    "Evaluation",
    "PlanInputs",
    "apply_action",
    "evaluate_candidates",
    "generate_candidates",
    "invert_action",
    "make_plan_inputs",
    "rank_actions",
    "undo_action",
]
