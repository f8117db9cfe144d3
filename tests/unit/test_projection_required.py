"""The projection's required agents, kept between ticks and refreshed a fifth of the queues a
tick (realtime.projection.RequiredAgents), against computing every queue every tick."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from realtime.live import LiveState, QueueLive
from realtime.projection import RequiredAgents, project_queues

IV = 1_764_000_000_000
INTERVAL_S = 900
QUEUES = [f"q{j}" for j in range(12)]


def _live(offered: dict[str, float], now_ms: int, iv: int = IV) -> LiveState:
    rows = [QueueLive(q, {"offered": offered[q]}, {"offered": 40.0}, {"handled": 20.0, "talk_ms": 20 * 240_000.0,
                      "abandoned": 12.0, "wait_abandoned_ms": 12 * 60_000.0}, 0, None, 0, 0) for q in QUEUES]
    return LiveState(now_ms, iv, "2025-11-24", IV - 10 * 3_600_000, rows, [])


def _blocks(model: str = "erlang_a") -> list[dict[str, Any]]:
    config = {"model": model, "sl_formula": "excl_short", "sl_threshold_s": 20.0, "short_abandon_s": 5.0, "sl_target": 0.8}
    return [{"id": q, "config": config, "now": {"agents": {"available": 2, "on_call": 3, "acw": 1}}} for q in QUEUES]


def _required(blocks: list[dict[str, Any]]) -> dict[str, int | None]:
    return {b["id"]: b["projection"]["required_agents"] for b in blocks}


@pytest.mark.parametrize("between", [True, False], ids=["refreshed-between-ticks", "never-refreshed"])
@pytest.mark.parametrize("model", ["erlang_a", "erlang_c"])
def test_required_agents_are_at_most_six_ticks_old_and_fresh_on_a_new_interval(model, between):
    """A fifth of the queues take their turn each tick; their figures are computed after it
    (``refresh``, as the engine does between ticks) and shown from the next tick. A caller that
    never runs ``refresh`` gets the same figures: the next tick computes what waited first."""
    cache = RequiredAgents(every=5)
    offered = {q: 10.0 + 3 * j for j, q in enumerate(QUEUES)}
    now = IV + 300_000
    seen: list[tuple[dict[str, int | None], dict[str, int | None]]] = []
    for tick in range(7):
        live = _live(offered, now)
        cached, full = _blocks(model), _blocks(model)
        project_queues(cached, live, INTERVAL_S, now, cache)
        project_queues(full, live, INTERVAL_S, now)
        if tick == 0:
            assert cached == full  # the first tick computes every queue
        else:
            # The queues whose turn it is were not computed in the tick: their inputs wait.
            assert cache.waiting and sum(len(x.ids) for x in cache.waiting.values()) == \
                sum(j % 5 == (tick + 1) % 5 for j in range(len(QUEUES)))
        if between:
            assert cache.refresh() > 0 or tick == 0
            assert not cache.waiting
        # Everything but the required agents is this tick's, for every queue.
        strip = [{**b, "projection": {k: v for k, v in b["projection"].items() if k != "required_agents"}} for b in cached]
        assert strip == [{**b, "projection": {k: v for k, v in b["projection"].items() if k != "required_agents"}}
                         for b in copy.deepcopy(full)]
        seen.append((_required(cached), _required(full)))
        # Calls keep arriving fast: the rate and so the required agents rise every tick.
        offered = {q: v * 1.5 for q, v in offered.items()}
        now += 2_000
    for tick in range(2, 7):
        got, _ = seen[tick]
        # The queues whose turn was the last tick show that tick's figure; the others kept a
        # figure from an earlier tick, never more than six ticks old, and none is this tick's.
        last = {q for j, q in enumerate(QUEUES) if j % 5 == tick % 5}
        assert all(got[q] == seen[tick - 1][1][q] for q in last)
        for q in QUEUES:
            assert got[q] in [seen[k][1][q] for k in range(max(0, tick - 6), tick)]
        assert {q for q in QUEUES if got[q] == seen[tick - 1][1][q]} != set(QUEUES)
    # A new interval: every queue at once.
    new_iv = IV + INTERVAL_S * 1000
    live = _live(offered, new_iv + 200_000, new_iv)
    cached, full = _blocks(model), _blocks(model)
    project_queues(cached, live, INTERVAL_S, new_iv + 200_000, cache)
    project_queues(full, live, INTERVAL_S, new_iv + 200_000)
    assert cached == full

