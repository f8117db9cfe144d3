"""Ranking: generate, evaluate, keep the best candidate of each group, best first.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

import numpy as np

from staffing.actions.candidates import ActionOptions, Candidates
from staffing.actions.context import _context
from staffing.actions.evaluate import Evaluation, evaluate_candidates
from staffing.actions.generate import generate_candidates
from staffing.actions.inputs import PlanInputs
from staffing.actions.records import Action, _action


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
    """Roster actions for the rest of the day, best first (see ``staffing.actions``).

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
