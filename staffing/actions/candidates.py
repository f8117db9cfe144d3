"""Candidate actions as arrays: the limits of the search and what every kind shares.

``KINDS``, :class:`ActionOptions`, :class:`Candidates`; one kind's candidates
(``_Part``), keeping one candidate per effect (the other agents become alternatives),
capping per kind, whether an activity fits elsewhere, and putting the kinds together.
The generators of each kind are in ``staffing.actions.generate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from staffing.actions.arrays import _mix, _take
from staffing.actions.context import _Context, _range_state
from staffing.actions.inputs import BREAK_WINDOW_MIN, POSTPONABLE

KINDS: tuple[str, ...] = ("move", "move_break", "postpone", "overtime", "vto")

_TOL = 1e-9  # agents: a gap smaller than this is no gap (sums of shares round)
_DROP = -1  # postpone "to another day": the activity leaves today's schedule


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
