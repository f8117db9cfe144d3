"""The service model of the roster actions: multi-skill shares and SL at agent counts.

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
``staffing.plan.projected``.

:class:`_SLTable` holds the SL at the two whole agent counts around the plan and
evaluates other counts on demand, once per distinct (cell, whole agents) pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from staffing.actions.arrays import _segment_sum
from staffing.erlang_a import erlang_a_flat, service_level_from
from staffing.erlang_c import SL_FORMULAS, erlang_c_flat

if TYPE_CHECKING:
    from staffing.actions.inputs import PlanInputs


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
