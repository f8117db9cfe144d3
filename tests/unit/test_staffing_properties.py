"""Property tests (hypothesis): monotone in agents, probabilities in [0, 1], limits, minimality."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import staffing

load = st.floats(0.01, 2000.0)
aht = st.floats(30.0, 900.0)
threshold = st.floats(0.0, 300.0)
patience = st.floats(1.0, 3600.0)
short = st.floats(0.0, 30.0)
target = st.floats(0.05, 0.99)
PROBS = ("p_wait", "p_abandon", "p_abandon_within_short", "p_abandon_within_t",
         "p_answered_within_t", "p_wait_over_t", "occupancy")
FAST = settings(max_examples=60, deadline=None)


def _agents(a: float) -> np.ndarray:
    top = int(a + 6 * np.sqrt(a) + 10)
    return np.unique(np.linspace(0, top, 60).round())


@FAST
@given(load, aht, threshold)
def test_erlang_c_sl_rises_with_agents_and_stays_in_unit_interval(a, h, t) -> None:
    res = staffing.erlang_c(a / h, h, _agents(a), t)
    assert np.all(np.diff(res.service_level) >= -1e-12)
    assert np.all(np.diff(res.p_wait) <= 1e-12)
    for p in (res.p_wait, res.service_level, res.p_wait_over_t, res.occupancy):
        assert np.all((p >= 0) & (p <= 1))
    assert np.all(res.asa_s >= 0)


@FAST
@given(load, aht, threshold, patience, short)
def test_erlang_a_probabilities_in_unit_interval_and_sl_monotone(a, h, t, p, s) -> None:
    res = staffing.erlang_a(a / h, h, _agents(a), t, p, s)
    for name in PROBS:
        v = getattr(res, name)
        assert np.all((v >= 0) & (v <= 1)), name
    for formula in staffing.SL_FORMULAS:
        sl = res.service_level(formula)[1:]  # N = 0 may be 0/0
        assert np.all((sl >= 0) & (sl <= 1)), formula
        assert np.all(np.diff(sl) >= -1e-9), formula
    assert np.all(np.diff(res.p_abandon) <= 1e-12)
    served = res.asa_s[1:]
    assert np.all(np.isfinite(served) & (served >= 0))
    # Balance: answered + abandoned = 1, and W <= t splits into answered and abandoned.
    w_le = res.p_answered_within_t + res.p_abandon_within_t
    np.testing.assert_allclose(w_le, 1 - res.p_wait_over_t, rtol=1e-9, atol=1e-10)


@FAST
@given(st.floats(0.5, 500.0), aht, threshold, st.floats(0.05, 0.95))
def test_erlang_a_tends_to_erlang_c_as_patience_grows(a, h, t, slack) -> None:
    n = np.ceil(a + slack * np.sqrt(a) + 1)
    c = staffing.erlang_c(a / h, h, n, t)
    errs = []
    for p in (1e3, 1e5, 1e7):
        res = staffing.erlang_a(a / h, h, n, t, p * h, 0.0)
        errs.append(abs(res.service_level("of_offered") - c.service_level)
                    + abs(res.p_wait - c.p_wait))
    assert errs[2] <= errs[1] + 1e-13 and errs[1] <= errs[0] + 1e-13
    assert errs[2] < 1e-4


@FAST
@given(load, aht, threshold, target)
def test_erlang_c_required_agents_is_the_minimum(a, h, t, goal) -> None:
    n = staffing.required_agents(a / h, h, target_sl=goal, threshold_s=t)
    assert staffing.erlang_c(a / h, h, n, t).service_level >= goal - 1e-12
    if n > 0:
        assert staffing.erlang_c(a / h, h, n - 1, t).service_level < goal + 1e-12


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 300.0), aht, threshold, patience, short, target,
       st.sampled_from(staffing.SL_FORMULAS))
def test_erlang_a_required_agents_is_the_minimum(a, h, t, p, s, goal, formula) -> None:
    n = staffing.required_agents(a / h, h, target_sl=goal, threshold_s=t, model="erlang_a",
                                 patience_s=p, short_abandon_s=s, sl_formula=formula)
    sl = staffing.erlang_a(a / h, h, [max(n - 1, 0), n], t, p, s).service_level(formula)
    assert sl[1] >= goal - 1e-12
    if n > 0:
        assert not sl[0] >= goal + 1e-12
