"""What candidate generation and evaluation share, computed once per ranking.

:class:`_Context`: the skill entries and shares, the SL table at the current plan, the
first-order value of one more agent (``marginal``), deficits and surpluses, the agents'
activities; and the hashes that find single-agent candidates with identical effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staffing.actions.arrays import _cumsum0, _expand, _segment_sum, _skill_entries, _take
from staffing.actions.inputs import PlanInputs
from staffing.actions.model import _shares, _SLTable


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
