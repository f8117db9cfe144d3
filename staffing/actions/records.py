"""The records of a ranking: :class:`Action`, :class:`CellEffect` and :class:`Change`.

``_action`` builds one ``Action`` from a candidate and its evaluation: the affected
cells, the exact edits of ``PlanInputs``, the schedule segments before and after, and
one sentence for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import numpy as np

from staffing.actions.candidates import _DROP, KINDS, ActionOptions, Candidates
from staffing.actions.context import _Context
from staffing.actions.evaluate import Evaluation
from staffing.actions.inputs import PlanInputs
from staffing.schedule import Segment


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
