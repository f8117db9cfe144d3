"""The Erlang projection of each queue's current interval, added to the snapshot.

Inputs come from the queue's own live data: the arrival rate of the last two intervals, today's
AHT, the staffed agents skilled for the queue, and the patience learned from today's abandons.
All queues are computed in one vectorised call of the staffing engine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from realtime.live import LiveState
from staffing import erlang_a, erlang_c, estimate_patience, kpis, required_agents

# Without a handled call yet there is no AHT to learn from; the projection then assumes this
# and says so (``aht_assumed``).
DEFAULT_AHT_S = 300.0
# Patience fallback when there are too few abandons to estimate it (documented in docs/metrics.md).
DEFAULT_PATIENCE_S = 180.0
MIN_ABANDONS = 10
# Fewer seconds of observed arrivals than this gives no projection (a rate from 20 s is noise).
MIN_OBSERVED_S = 120.0


def arrival_rate_per_s(current: dict[str, float], previous: dict[str, float], interval_s: int, elapsed_s: float) -> float | None:
    """Offered calls per second over the previous interval and the elapsed part of this one."""
    observed_s = elapsed_s + (interval_s if previous else 0.0)
    if observed_s < MIN_OBSERVED_S:
        return None
    return (current.get("offered", 0.0) + previous.get("offered", 0.0)) / observed_s


class RequiredAgents:
    """Each queue's required agents, kept between ticks and recomputed for a fifth of the queues
    per tick (``every``), between ticks: each figure is at most ``every`` + 1 ticks old.

    The required agents are the inverse of the model (a search over N: most of the projection's
    cost) and depend only on the arrival rate, AHT and patience, which move slowly within an
    interval; the projected SL, ASA and abandonment for the agents staffed now are computed every
    tick. A tick computes at once only the queues with no figure yet or in a new interval; the
    queues whose turn it is keep their figure and leave their inputs for :meth:`refresh`, which
    the engine runs after the tick (``Engine.between_ticks``), so no tick waits for them. Inputs
    still waiting when the next tick starts (a caller that never runs ``refresh``) are computed
    by that tick first.
    """

    def __init__(self, every: int = 5) -> None:
        self.every = every
        self.tick = 0
        self.values: dict[str, tuple[int, float]] = {}  # queue → (interval start, required agents)
        # (model, formula) → the inputs of the queues whose turn it was, for refresh().
        self.waiting: dict[tuple[str, str], _Inputs] = {}

    def must(self, queue: str, interval_start_ms: int) -> bool:
        """No figure for this queue's interval yet: computed in the tick."""
        found = self.values.get(queue)
        return found is None or found[0] != interval_start_ms

    def turn(self, position: int) -> bool:
        return position % self.every == self.tick % self.every

    def refresh(self) -> float:
        """Compute the figures waiting since the last tick; returns its milliseconds."""
        if not self.waiting:
            return 0.0
        started = time.perf_counter()
        waiting, self.waiting = self.waiting, {}
        for (model, formula), inputs in waiting.items():
            self.put(inputs, _required(model, formula, inputs))
        return (time.perf_counter() - started) * 1000

    def put(self, inputs: _Inputs, required: np.ndarray) -> None:
        """These queues' figures, computed from ``inputs``."""
        for queue, value in zip(inputs.ids, required.tolist(), strict=True):
            self.values[queue] = (inputs.interval_start_ms, value)


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What the required agents of some queues of one (model, formula) group depend on."""

    ids: list[str]
    interval_start_ms: int
    rate: np.ndarray
    aht: np.ndarray
    target: np.ndarray
    threshold: np.ndarray
    short_abandon: np.ndarray
    patience: np.ndarray | None

    def take(self, rows: np.ndarray) -> _Inputs:
        return _Inputs([self.ids[i] for i in rows.tolist()], self.interval_start_ms, self.rate[rows], self.aht[rows],
                       self.target[rows], self.threshold[rows], self.short_abandon[rows],
                       None if self.patience is None else self.patience[rows])


def _required(model: str, formula: str, x: _Inputs) -> np.ndarray:
    if not x.ids:
        return np.zeros(0)
    return np.asarray(required_agents(x.rate, x.aht, target_sl=x.target, threshold_s=x.threshold, model=model,
                                      patience_s=x.patience, sl_formula=formula, short_abandon_s=x.short_abandon),
                      dtype=float).reshape(-1)


def project_queues(blocks: list[dict[str, Any]], live: LiveState, interval_s: int, now_ms: int,
                   required: RequiredAgents | None = None) -> None:
    """Fill ``block["projection"]`` for every queue where it is defined (in place).

    Queues are grouped by (model, SL formula) and each group is one vectorised call of the
    staffing engine, whatever the number of queues. With ``required`` (the engine keeps one),
    the required agents are recomputed only for the queues whose turn it is (RequiredAgents).
    """
    elapsed_s = (now_ms - live.interval_start_ms) / 1000
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], float, float | None, float, tuple[float, float]]]] = {}
    must: set[str] | None = None
    turn: set[str] = set()
    if required is not None:
        required.refresh()  # inputs left by a tick whose caller did not run it between ticks
        required.tick += 1
        must = {q.id for q in live.queues if required.must(q.id, live.interval_start_ms)}
        turn = {q.id for j, q in enumerate(live.queues) if required.turn(j)} - must
    for block, q in zip(blocks, live.queues, strict=True):
        rate = arrival_rate_per_s(q.interval, q.previous_interval, interval_s, elapsed_s)
        if rate is None:
            continue
        agents = block["now"]["agents"]
        staffed = agents["available"] + agents["on_call"] + agents["acw"]
        waited_s = (q.day.get("wait_answered_ms", 0.0) + q.day.get("wait_abandoned_ms", 0.0)) / 1000
        cfg = block["config"]
        groups.setdefault((cfg["model"], cfg["sl_formula"]), []).append(
            (block, rate, kpis.aht_s(q.day), staffed, (q.day.get("abandoned", 0.0), waited_s))
        )
    for (model, formula), rows in groups.items():
        _project_group(model, formula, rows, required, must, turn, live.interval_start_ms)


def _project_group(
    model: str, formula: str, rows: list[tuple[dict[str, Any], float, float | None, float, tuple[float, float]]],
    cache: RequiredAgents | None = None, must: set[str] | None = None, turn: set[str] | None = None,
    interval_start_ms: int = 0,
) -> None:
    cfgs = [r[0]["config"] for r in rows]
    rate = np.array([r[1] for r in rows])
    aht = np.array([r[2] if r[2] is not None else DEFAULT_AHT_S for r in rows])
    n = np.array([r[3] for r in rows], dtype=float)
    t = np.array([c["sl_threshold_s"] for c in cfgs], dtype=float)
    s = np.array([c["short_abandon_s"] for c in cfgs], dtype=float)
    target = np.array([c["sl_target"] for c in cfgs], dtype=float)
    if model == "erlang_a":
        patience = estimate_patience(
            np.array([r[4][0] for r in rows]), np.array([r[4][1] for r in rows]),
            min_abandons=MIN_ABANDONS, fallback_s=DEFAULT_PATIENCE_S,
        )
        res = erlang_a(rate, aht, n, t, patience, short_abandon_s=s)
        sl, asa, p_ab = res.service_level(formula), res.asa_s, res.p_abandon
        stable = np.ones(len(rows), dtype=bool)
    else:
        patience = None
        resc = erlang_c(rate, aht, n, t)
        sl, asa, p_ab, stable = resc.service_level, resc.asa_s, None, resc.stable
    ids = [r[0]["id"] for r in rows]
    inputs = _Inputs(ids, interval_start_ms, rate, aht, target, t, s, patience)
    if cache is None or must is None:
        required = _required(model, formula, inputs)
    else:
        now = np.array([i for i, q in enumerate(ids) if q in must], dtype=np.int64)
        cache.put(inputs.take(now), _required(model, formula, inputs.take(now)))
        later = np.array([i for i, q in enumerate(ids) if turn and q in turn], dtype=np.int64)
        if len(later):
            cache.waiting[(model, formula)] = inputs.take(later)
        required = np.array([cache.values[q][1] for q in ids], dtype=float)
    # Every column as a list of Python numbers once: numpy scalars one by one cost ~3 ms a tick
    # at 500 queues.
    def column(x: Any) -> list[Any]:
        return np.broadcast_to(np.asarray(x, dtype=float), (len(rows),)).tolist()

    nones = [None] * len(rows)
    columns = zip(
        rows, n.tolist(), rate.tolist(), aht.tolist(), nones if patience is None else column(patience),
        column(sl), column(asa), nones if p_ab is None else column(p_ab), np.broadcast_to(stable, (len(rows),)).tolist(),
        required.tolist(), strict=True,
    )
    for (block, _rate, aht_s, *_rest), agents, rate_s, aht_used, patience_s, sl_i, asa_i, p_ab_i, stable_i, req in columns:
        block["projection"] = {
            "model": model,
            "agents": int(agents),
            "rate_per_hour": rate_s * 3600,
            "aht_s": aht_used,
            "aht_assumed": aht_s is None,
            "patience_s": _finite(patience_s),
            "service_level": _finite(sl_i),
            "asa_s": _finite(asa_i),
            "p_abandon": _finite(p_ab_i),
            "stable": bool(stable_i),
            "required_agents": int(req) if math.isfinite(req) else None,
        }


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None
