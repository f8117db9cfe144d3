"""Candidate generation: one generator per kind of ``KINDS``, and :func:`generate_candidates`.

Candidates are generated with array operations, pruned by a first-order estimate (the
value of one agent-interval, ``marginal``) and capped per kind (``ActionOptions``), which
bounds the time of the evaluation.
"""

from __future__ import annotations

import numpy as np

from staffing.actions.arrays import (
    _cumsum0,
    _expand,
    _range_sum,
    _run_backward,
    _run_forward,
    _runs,
    _segment_sum,
    _take,
)
from staffing.actions.candidates import (
    _DROP,
    _TOL,
    KINDS,
    ActionOptions,
    Candidates,
    _cap_single,
    _combine,
    _fits,
    _Part,
    _part,
)
from staffing.actions.context import _Context, _context
from staffing.actions.inputs import PlanInputs


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
