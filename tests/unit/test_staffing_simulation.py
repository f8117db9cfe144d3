"""Seeded discrete-event simulation of M/M/N+M; Erlang A must fall inside its confidence intervals."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from scipy import stats

import staffing

REPLICATIONS = 10
CALLS = 60_000
WARM_UP = 2_000
# Student t, two-sided 99.9 % over REPLICATIONS - 1 degrees of freedom: with ~10
# intervals checked per scenario, a false alarm on a new seed stays rare.
Z = float(stats.t.ppf(0.9995, REPLICATIONS - 1))


def simulate(rate: float, aht: float, agents: int, patience: float, seed: int):
    """One replication: per-call (answered?, wait) under FCFS with exponential patience.

    FCFS with abandonment needs no event list: a caller's offered wait is the
    time until the earliest of the agents frees up, and that schedule only
    depends on earlier callers who were answered (an abandoning caller never
    takes an agent).  A heap of agent free times is therefore exact.
    """
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / rate, CALLS))
    services = rng.exponential(aht, CALLS)
    patiences = rng.exponential(patience, CALLS)
    free = [0.0] * agents
    answered = np.zeros(CALLS, dtype=bool)
    wait = np.zeros(CALLS)
    for i in range(CALLS):
        t = arrivals[i]
        offered = free[0] - t if free[0] > t else 0.0
        if offered <= patiences[i]:
            answered[i] = True
            wait[i] = offered
            heapq.heapreplace(free, t + offered + services[i])
        else:
            wait[i] = patiences[i]
    return answered[WARM_UP:], wait[WARM_UP:]


def _stats(answered, wait, t, s) -> dict:
    ab = ~answered
    ans_t = np.mean(answered & (wait <= t))
    return {
        "p_abandon": ab.mean(),
        "p_answered_within_t": ans_t,
        "excl_short": ans_t / (1 - np.mean(ab & (wait <= s))),
        "asa_s": wait[answered].mean(),
        "mean_wait_s": wait.mean(),
    }


@pytest.mark.parametrize(
    ("rate", "aht", "agents", "patience"),
    [
        (0.2, 180.0, 35, 60.0),  # loaded: a = 36 > N, kept stable by abandonment
        (100 / 1800, 180.0, 11, 300.0),  # the worked example's centre, understaffed
    ],
)
def test_erlang_a_inside_simulation_confidence_intervals(rate, aht, agents, patience) -> None:
    t, s = 20.0, 5.0
    reps = [_stats(*simulate(rate, aht, agents, patience, seed=1000 + r), t, s)
            for r in range(REPLICATIONS)]
    model = staffing.erlang_a(rate, aht, agents, t, patience, s)
    expected = {
        "p_abandon": model.p_abandon,
        "p_answered_within_t": model.p_answered_within_t,
        "excl_short": model.service_level("excl_short"),
        "asa_s": model.asa_s,
        "mean_wait_s": model.mean_wait_s,
    }
    for key, value in expected.items():
        sample = np.array([r[key] for r in reps])
        half = Z * sample.std(ddof=1) / np.sqrt(REPLICATIONS)
        assert abs(sample.mean() - value) <= half, (key, sample.mean(), value, half)
        # The intervals are tight enough to mean something (under 10 %).
        assert half <= 0.1 * max(abs(value), 0.05), (key, half)
    # Power check: a model that ignores abandonment is rejected by the same data.
    no_abandon = staffing.erlang_a(rate, aht, agents, t, patience * 3, s)
    sample = np.array([r["p_abandon"] for r in reps])
    half = Z * sample.std(ddof=1) / np.sqrt(REPLICATIONS)
    assert abs(sample.mean() - no_abandon.p_abandon) > half
