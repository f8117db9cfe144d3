"""The staffing plan of the rest of the day: required, scheduled, gap and projected service.

Pure numerics on queues x intervals arrays; no clock, no I/O. One call answers every queue and
interval: cells are grouped by (model, SL formula) and each group is one vectorised call of the
inverse (:func:`staffing.required_agents`) and of the forward model (:func:`staffing.erlang_c`
or :func:`staffing.erlang_a`), like the live projection.

Scheduled agents come from the schedules: each agent counts for the fraction of each interval
spent in a phone activity, split over their skills in proportion to the load of those queues.
See docs/intraday.md for the formulas and worked examples.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from staffing.erlang_a import erlang_a
from staffing.erlang_c import SL_FORMULAS, erlang_c
from staffing.inverse import required_agents
from staffing.schedule import Segment

MODELS = ("erlang_c", "erlang_a")


@dataclass(frozen=True)
class Plan:
    """Per queue (rows) and interval (columns).

    required : agents needed for the SL target (whole unless ``fractional``; NaN where the
        cell has no valid input or the target cannot be met).
    agents : the agents the projection is for (e.g. scheduled); gap = agents - required
        (negative: short of agents).
    service_level, asa_s, p_abandon, occupancy : projected with ``agents`` under each queue's
        model and SL formula (Erlang C: ASA of all calls, p_abandon 0; Erlang A: ASA of
        answered calls). Fractional agents interpolate linearly between the whole numbers
        around them (:func:`projected`).
    """

    required: np.ndarray
    agents: np.ndarray
    gap: np.ndarray
    service_level: np.ndarray
    asa_s: np.ndarray
    p_abandon: np.ndarray
    occupancy: np.ndarray


def _per_cell(name: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
    """Scalar, one value per queue (1-D, length Q) or per cell (Q, I) -> (Q, I) floats."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        if arr.shape[0] != shape[0]:
            raise ValueError(f"{name}: one value per queue expected ({shape[0]}), got {arr.shape}")
        arr = arr[:, None]
    elif arr.ndim == 2 and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    elif arr.ndim > 2:
        raise ValueError(f"{name} must be a scalar, per queue or per cell, got {arr.shape}")
    return np.broadcast_to(arr, shape)


def _per_queue_names(name: str, value: str | Sequence[str], n_queues: int,
                     allowed: Sequence[str]) -> list[str]:
    names = [value] * n_queues if isinstance(value, str) else list(value)
    if len(names) != n_queues:
        raise ValueError(f"{name}: one per queue expected ({n_queues}), got {len(names)}")
    bad = sorted(set(names) - set(allowed))
    if bad:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {bad}")
    return names


def projected(model: str, formula: str, rate_per_s: np.ndarray, aht_s: np.ndarray,
              agents: np.ndarray, threshold_s: np.ndarray, patience_s: np.ndarray | None,
              short_abandon_s: np.ndarray) -> dict[str, np.ndarray]:
    """SL, ASA, P(abandon), occupancy on flat arrays; fractional agents interpolated.

    For ``N = n + f`` (n whole, 0 < f < 1) each measure is ``(1 - f) m(n) + f m(n + 1)``,
    the same linear interpolation that ``required_agents(..., fractional=True)`` inverts, so
    the two agree. Written as a weighted sum (not ``m(n) + f (m(n+1) - m(n))``) so that an
    unstable ``m(n) = inf`` gives inf, not NaN. Models: Gans, Koole & Mandelbaum (2003) for
    Erlang C; Garnett, Mandelbaum & Reiman (2002) for Erlang A.
    """
    n0 = np.floor(agents)
    frac = agents - n0
    part = np.flatnonzero(frac > 0)
    # One engine call for the whole numbers below every cell and above the fractional ones.
    idx = np.concatenate([np.arange(agents.size), part])
    n = np.concatenate([n0, n0[part] + 1.0])
    if model == "erlang_a":
        r = erlang_a(rate_per_s[idx], aht_s[idx], n, threshold_s[idx], patience_s[idx],
                     short_abandon_s[idx])
        vals = {"service_level": r.service_level(formula), "asa_s": r.asa_s,
                "p_abandon": r.p_abandon, "occupancy": r.occupancy}
    else:
        rc = erlang_c(rate_per_s[idx], aht_s[idx], n, threshold_s[idx])
        vals = {"service_level": rc.sl(formula), "asa_s": rc.asa_s,
                "p_abandon": np.zeros(idx.size), "occupancy": rc.occupancy}
    out = {}
    size, f = agents.size, frac[part]
    for key, v in vals.items():
        v = np.asarray(v, dtype=float)
        m = v[:size].copy()
        with np.errstate(invalid="ignore"):
            m[part] = (1.0 - f) * m[part] + f * v[size:]
        out[key] = m
    return out


def staffing_plan(
    calls: Any,
    aht_s: Any,
    agents: Any,
    *,
    interval_s: float,
    threshold_s: Any = 20.0,
    target_sl: Any = 0.8,
    model: str | Sequence[str] = "erlang_c",
    patience_s: Any = None,
    sl_formula: str | Sequence[str] = SL_FORMULAS[0],
    short_abandon_s: Any = 0.0,
    fractional: bool = False,
) -> Plan:
    """Required agents, gap and projected service for every queue and interval.

    ``calls``, ``aht_s``, ``agents``: (queues, intervals). ``threshold_s``, ``target_sl``,
    ``short_abandon_s``, ``patience_s``: a scalar, one value per queue (1-D) or per cell.
    ``model`` and ``sl_formula``: one name, or one per queue. ``patience_s`` is used by the
    ``erlang_a`` queues only (inf = nobody abandons; NaN is refused there).

    Per cell, with ``rate = calls / interval_s``:

    * ``required = required_agents(rate, aht, target_sl, threshold_s, model, ...)``;
    * service at ``agents`` from the model (:func:`projected`);
    * ``gap = agents - required``.

    A cell whose calls or AHT are NaN gets NaN everywhere; one whose agents are NaN gets its
    required agents and NaN for the rest. A cell with no calls needs no AHT (it is ignored)
    and 0 agents.
    """
    c = np.asarray(calls, dtype=float)
    if c.ndim != 2:
        raise ValueError(f"calls must be 2-D (queues x intervals), got shape {c.shape}")
    shape = c.shape
    h = _per_cell("aht_s", aht_s, shape)
    n = _per_cell("agents", agents, shape)
    t = _per_cell("threshold_s", threshold_s, shape)
    target = _per_cell("target_sl", target_sl, shape)
    s = _per_cell("short_abandon_s", short_abandon_s, shape)
    models = _per_queue_names("model", model, shape[0], MODELS)
    formulas = _per_queue_names("sl_formula", sl_formula, shape[0], SL_FORMULAS)
    pat = None if patience_s is None else _per_cell("patience_s", patience_s, shape)
    if pat is None and "erlang_a" in models:
        raise ValueError("patience_s is required for the erlang_a queues")
    # A cell without calls needs no AHT: give it any valid one so the engine accepts it.
    h = np.where((c == 0) & ~(h > 0), 1.0, h)
    known = np.isfinite(c) & np.isfinite(h)  # enough for the required agents
    staffed = known & np.isfinite(n)          # and for the projection
    out = {k: np.full(shape, np.nan) for k in ("required", "service_level", "asa_s",
                                                "p_abandon", "occupancy")}
    rate = c / float(interval_s)
    groups: dict[tuple[str, str], list[int]] = {}
    for q, key in enumerate(zip(models, formulas, strict=True)):
        groups.setdefault(key, []).append(q)
    for (m, f), queues in groups.items():
        rows = np.zeros(shape[0], dtype=bool)
        rows[queues] = True
        _plan_group(m, f, np.flatnonzero(known & rows[:, None]),
                    np.flatnonzero(staffed & rows[:, None]), rate, h, n, t, target, s, pat,
                    fractional, out)
    return Plan(required=out["required"], agents=np.array(n, dtype=float),
                gap=n - out["required"], service_level=out["service_level"],
                asa_s=out["asa_s"], p_abandon=out["p_abandon"], occupancy=out["occupancy"])


def _plan_group(model: str, formula: str, cells: np.ndarray, staffed: np.ndarray, rate, aht,
                agents, t, target, s, patience, fractional: bool,
                out: dict[str, np.ndarray]) -> None:
    """One (model, formula) group: one inverse call over ``cells`` and one forward call over
    the ``staffed`` ones, written into ``out``."""
    if model != "erlang_a":
        patience = None  # Erlang C queues have no patience (NaN there is fine)

    def flat(a: np.ndarray | None, at: np.ndarray) -> np.ndarray | None:
        return None if a is None else np.ravel(a)[at]

    if cells.size:
        out["required"].reshape(-1)[cells] = required_agents(
            flat(rate, cells), flat(aht, cells), target_sl=flat(target, cells),
            threshold_s=flat(t, cells), model=model, patience_s=flat(patience, cells),
            sl_formula=formula, short_abandon_s=flat(s, cells), fractional=fractional)
    if staffed.size:
        proj = projected(model, formula, flat(rate, staffed), flat(aht, staffed),
                         flat(agents, staffed), flat(t, staffed), flat(patience, staffed),
                         flat(s, staffed))
        for key, v in proj.items():
            out[key].reshape(-1)[staffed] = v


def phone_fractions(agent_idx: np.ndarray, start_ms: np.ndarray, end_ms: np.ndarray,
                    interval_starts_ms: np.ndarray, interval_s: float, n_agents: int
                    ) -> np.ndarray:
    """(agents, intervals): fraction of each interval each agent spends in the segments given.

    ``overlap = max(0, min(end, iv_end) - max(start, iv_start)) / interval``, summed per agent
    and capped at 1 (overlapping segments of one agent do not make more than one agent).
    Segments may start before the first interval or end after the last (a shift crossing
    midnight counts only inside the day's intervals). Arrays: one entry per segment.
    """
    iv0 = np.asarray(interval_starts_ms, dtype=np.int64)
    iv_ms = int(round(float(interval_s) * 1000))
    out = np.zeros((n_agents, iv0.size))
    if not len(agent_idx):
        return out
    order = np.argsort(agent_idx, kind="stable")
    a, st = np.asarray(agent_idx)[order], np.asarray(start_ms, dtype=np.int64)[order]
    en = np.asarray(end_ms, dtype=np.int64)[order]
    # Milliseconds are exact in int64; divide once at the end.
    ov = np.minimum(en[:, None], iv0 + iv_ms) - np.maximum(st[:, None], iv0)
    np.maximum(ov, 0, out=ov)
    first = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    out[a[first]] = np.add.reduceat(ov, first, axis=0) / iv_ms
    return np.minimum(out, 1.0)


def allocate_to_queues(fractions: np.ndarray, skills: sparse.spmatrix | np.ndarray,
                       load_weights: np.ndarray | None) -> np.ndarray:
    """(queues, intervals) agents: each agent's fraction split over their skill queues.

    ``skills`` is (agents, queues), 1 where skilled. Agent ``a`` gives queue ``q`` in
    interval ``i`` the share ``x[a,i] * w[q,i] / sum_{k in skills(a)} w[k,i]``; where all
    their queues weigh 0 it is split equally. Vectorised as
    ``w * (S^T (x / (S w)))``. Each agent counts once in total (sum over queues = x).
    """
    s = sparse.csr_matrix(skills, dtype=float)
    n_q, n_iv = s.shape[1], fractions.shape[1]
    w = np.ones((n_q, n_iv)) if load_weights is None else np.asarray(load_weights, dtype=float)
    if w.shape != (n_q, n_iv):
        raise ValueError(f"load_weights has shape {w.shape}, expected {(n_q, n_iv)}")
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    denom = np.asarray(s @ w)
    has = denom > 0
    share = np.divide(fractions, denom, out=np.zeros_like(fractions), where=has)
    out = w * np.asarray(s.T @ share)
    n_skills = np.asarray(s.sum(axis=1)).ravel()
    # Where every queue of the agent has weight 0, split equally.
    even = np.where(~has, fractions, 0.0) / np.maximum(n_skills, 1.0)[:, None]
    if even.any():
        out += np.asarray(s.T @ even)
    return out


def scheduled_agents_matrix(
    segments_by_agent: Mapping[str, Sequence[Segment]],
    skills_by_agent: Mapping[str, Sequence[str]],
    interval_starts_ms: Any,
    interval_s: float,
    queue_index: Mapping[str, int],
    phone_activities: Collection[str],
    load_weights: Any,
) -> np.ndarray:
    """Scheduled agents per queue (rows of ``queue_index``) and interval, as floats.

    Each agent counts the fraction of each interval they are scheduled in one of
    ``phone_activities`` (:func:`phone_fractions`: breaks and meetings inside a shift count
    0; a shift crossing midnight counts where it overlaps the intervals), split over their
    skill queues in proportion to ``load_weights[q, i]`` (e.g. the offered load in Erlangs
    of the reforecast; ``None``: equal split) by :func:`allocate_to_queues`.

    That proportional split is the usual simple approximation for multi-skilled agents: it
    assumes routing spreads them in proportion to the work; real routing (priorities, skill
    levels, who is idle) differs, and skills-based routing has no closed-form model (Gans,
    Koole & Mandelbaum 2003, on skills-based routing). Skills not in ``queue_index`` are
    ignored; an agent without a known skill counts nowhere.
    """
    agents = [a for a in segments_by_agent if any(k in queue_index for k in
                                                  skills_by_agent.get(a, ()))]
    rows: list[int] = []
    cols: list[int] = []
    for i, a in enumerate(agents):
        qs = {queue_index[k] for k in skills_by_agent[a] if k in queue_index}
        rows.extend([i] * len(qs))
        cols.extend(qs)
    phones = set(phone_activities)
    seg_agent, seg_start, seg_end = [], [], []
    for i, a in enumerate(agents):
        for seg in segments_by_agent[a]:
            if seg.activity in phones and seg.end_ms > seg.start_ms:
                seg_agent.append(i)
                seg_start.append(seg.start_ms)
                seg_end.append(seg.end_ms)
    frac = phone_fractions(np.array(seg_agent, dtype=np.intp), np.array(seg_start, dtype=np.int64),
                           np.array(seg_end, dtype=np.int64), np.asarray(interval_starts_ms),
                           interval_s, len(agents))
    n_q = max(queue_index.values(), default=-1) + 1
    skills = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(agents), n_q))
    return allocate_to_queues(frac, skills, load_weights)


def apply_staffing_delta(agents_matrix: Any, queue: int, start_iv: int, end_iv: int,
                         delta: float) -> np.ndarray:
    """A copy of ``agents_matrix`` with ``delta`` agents added on ``queue`` over
    ``[start_iv, end_iv)`` (negative: removed), never below 0."""
    out = np.array(agents_matrix, dtype=float)
    _check_range(out.shape, queue, start_iv, end_iv)
    out[queue, start_iv:end_iv] = np.maximum(out[queue, start_iv:end_iv] + delta, 0.0)
    return out


def scale_volume(calls: Any, queue: int, start_iv: int, end_iv: int,
                 multiplier: float) -> np.ndarray:
    """A copy of ``calls`` with ``queue``'s calls over ``[start_iv, end_iv)`` multiplied."""
    if not (np.isfinite(multiplier) and multiplier >= 0):
        raise ValueError(f"multiplier must be finite and >= 0, got {multiplier!r}")
    out = np.array(calls, dtype=float)
    _check_range(out.shape, queue, start_iv, end_iv)
    out[queue, start_iv:end_iv] *= multiplier
    return out


def _check_range(shape: tuple[int, ...], queue: int, start_iv: int, end_iv: int) -> None:
    if len(shape) != 2 or not (0 <= queue < shape[0] and 0 <= start_iv < end_iv <= shape[1]):
        raise ValueError(f"queue {queue}, intervals [{start_iv}, {end_iv}) outside {shape}")


@dataclass(frozen=True)
class WhatIf:
    """One queue's plan over the whole day before and after a change (arrays per interval)."""

    queue: int
    start_iv: int
    end_iv: int
    agents_delta: float
    volume_multiplier: float
    before: Plan
    after: Plan

    @property
    def service_level_before(self) -> np.ndarray:
        return self.before.service_level[0]

    @property
    def service_level_after(self) -> np.ndarray:
        return self.after.service_level[0]


def _queue_row(value: Any, q: int) -> Any:
    """Queue ``q``'s slice of a per-queue/per-cell argument (scalars and names pass through)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and isinstance(value[0], str):
        return [value[q]]
    arr = np.asarray(value, dtype=float)
    return arr if arr.ndim == 0 else arr[q:q + 1]


def what_if(calls: Any, aht_s: Any, agents: Any, *, queue: int, start_iv: int, end_iv: int,
            agents_delta: float = 0.0, volume_multiplier: float = 1.0,
            **plan_kwargs: Any) -> WhatIf:
    """Add (or remove, ``agents_delta < 0``) agents on ``queue`` over ``[start_iv, end_iv)``
    and/or multiply its calls there, and project that queue before and after.

    ``plan_kwargs`` are those of :func:`staffing_plan` for all queues (``interval_s``,
    ``threshold_s``, ``model``, ...); only the queue's row is recomputed.
    """
    c = np.asarray(calls, dtype=float)
    _check_range(c.shape, queue, start_iv, end_iv)
    kw = {k: (v if k == "interval_s" else _queue_row(v, queue)) for k, v in plan_kwargs.items()}
    row_c = c[queue:queue + 1]
    row_h = _queue_row(aht_s, queue)
    row_n = np.asarray(agents, dtype=float)[queue:queue + 1]
    before = staffing_plan(row_c, row_h, row_n, **kw)
    after_n = apply_staffing_delta(row_n, 0, start_iv, end_iv, agents_delta)
    after_c = scale_volume(row_c, 0, start_iv, end_iv, volume_multiplier)
    after = staffing_plan(after_c, row_h, after_n, **kw)
    return WhatIf(queue=queue, start_iv=start_iv, end_iv=end_iv, agents_delta=agents_delta,
                  volume_multiplier=volume_multiplier, before=before, after=after)


def calls_at_risk(calls: Any, service_level: Any, target_sl: Any) -> np.ndarray:
    """Calls expected to miss the target, summed over the last axis:
    ``Σ calls × max(target − projected SL, 0)``.

    A cell with no projection (NaN service level: no calls, or no agents figure) counts as on
    target; missing calls count as none. ``target_sl`` broadcasts (one per queue: shape (Q, 1)).
    """
    calls = np.nan_to_num(np.asarray(calls, dtype=float))
    sl = np.nan_to_num(np.asarray(service_level, dtype=float), nan=1.0)
    return (calls * np.maximum(np.asarray(target_sl, dtype=float) - sl, 0.0)).sum(axis=-1)
