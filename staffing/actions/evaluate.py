"""Exact evaluation of every candidate at once: projected SL before and after, and the score.

The candidates' cell deltas are one sparse (candidate, cell) list; the SL after comes
from the SL table of the context, which evaluates the models once per distinct
(cell, whole agents) pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staffing.actions.arrays import _expand
from staffing.actions.candidates import _TOL, KINDS, ActionOptions, Candidates
from staffing.actions.context import _Context, _context
from staffing.actions.inputs import PlanInputs


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
