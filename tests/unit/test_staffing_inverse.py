"""Required agents: minimality, fractional form, shrinkage, occupancy, edges."""

from __future__ import annotations

import numpy as np
import pytest

import staffing
from staffing import inverse

rng = np.random.default_rng(7)
CALLS = rng.integers(10, 2001, 400).astype(float)
RATE = CALLS / 900.0
AHT = rng.uniform(180.0, 600.0, 400)


def _sl_c(n: np.ndarray) -> np.ndarray:
    return staffing.erlang_c(RATE, AHT, n, 20.0).service_level


def test_erlang_c_sl_answer_is_the_minimum() -> None:
    req = staffing.required_agents(RATE, AHT, target_sl=0.8, threshold_s=20.0)
    assert np.all(_sl_c(req) >= 0.8) and np.all(_sl_c(req - 1) < 0.8)


def test_erlang_c_asa_answer_is_the_minimum() -> None:
    req = staffing.required_agents(RATE, AHT, target_asa_s=15.0)
    asa = lambda n: staffing.erlang_c(RATE, AHT, n, 20.0).asa_s  # noqa: E731
    assert np.all(asa(req) <= 15.0) and np.all(asa(req - 1) > 15.0)


def test_table_and_closed_form_searches_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = staffing.required_agents(RATE, AHT, target_sl=0.9, threshold_s=30.0)
    monkeypatch.setattr(inverse, "_TABLE_MAX_CELLS", 0)
    slow = staffing.required_agents(RATE, AHT, target_sl=0.9, threshold_s=30.0)
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("formula", staffing.SL_FORMULAS)
def test_erlang_a_sl_answer_is_the_minimum(formula: str) -> None:
    rate, aht = RATE[:60], AHT[:60]
    req = staffing.required_agents(rate, aht, target_sl=0.8, model="erlang_a", patience_s=120.0,
                                   sl_formula=formula, short_abandon_s=5.0)
    sl = lambda n: staffing.erlang_a(rate, aht, n, 20.0, 120.0, 5.0).service_level(formula)  # noqa: E731
    assert np.all(sl(req) >= 0.8) and np.all(sl(req - 1) < 0.8)


def test_erlang_a_needs_fewer_agents_than_erlang_c() -> None:
    c = staffing.required_agents(RATE, AHT, target_sl=0.8)
    a = staffing.required_agents(RATE, AHT, target_sl=0.8, model="erlang_a", patience_s=120.0,
                                 sl_formula="of_answered")
    assert np.all(a <= c)


def test_erlang_a_abandon_and_asa_targets() -> None:
    rate, aht = RATE[:60], AHT[:60]
    req = staffing.required_agents(rate, aht, target_abandon=0.03, model="erlang_a",
                                   patience_s=90.0, short_abandon_s=5.0)
    ab = lambda n: staffing.erlang_a(rate, aht, n, 20.0, 90.0, 5.0).abandon_rate  # noqa: E731
    assert np.all(ab(req) <= 0.03) and np.all(ab(req - 1) > 0.03)
    req = staffing.required_agents(rate, aht, target_asa_s=10.0, model="erlang_a",
                                   patience_s=90.0)
    asa = lambda n: staffing.erlang_a(rate, aht, n, 20.0, 90.0).asa_s  # noqa: E731
    assert np.all(asa(req) <= 10.0) and np.all(~(asa(req - 1) <= 10.0))


def test_fractional_lies_between_neighbours_and_interpolates() -> None:
    whole = staffing.required_agents(RATE, AHT, target_sl=0.8)
    frac = staffing.required_agents(RATE, AHT, target_sl=0.8, fractional=True)
    assert np.all(frac > whole - 1) and np.all(frac <= whole)
    # Linear interpolation of the SL between N - 1 and N crosses 0.8 at frac.
    lo, hi = _sl_c(whole - 1), _sl_c(whole)
    np.testing.assert_allclose(lo + (frac - (whole - 1)) * (hi - lo), 0.8, rtol=1e-12)
    # Summing fractions of several queues before rounding never needs more agents.
    assert np.ceil(frac.sum()) <= whole.sum()


def test_shrinkage_and_occupancy() -> None:
    rate = 100 / 1800
    assert staffing.required_agents(rate, 180.0, target_sl=0.8) == 14
    # 14 / (1 - 0.3) = 20 exactly; 14 / 0.8 = 17.5 -> 18.
    assert staffing.required_agents(rate, 180.0, target_sl=0.8, shrinkage=0.3) == 20
    assert staffing.required_agents(rate, 180.0, target_sl=0.8, shrinkage=0.2) == 18
    assert staffing.required_agents(rate, 180.0, target_sl=0.8, max_occupancy=0.65) == 16
    assert staffing.required_agents(rate, 180.0, target_sl=0.8, max_occupancy=0.65,
                                    fractional=True) == pytest.approx(10 / 0.65)
    occ = staffing.required_agents(rate, 180.0, max_occupancy=0.7, model="erlang_a",
                                   patience_s=60.0)
    res = staffing.erlang_a(rate, 180.0, [occ - 1, occ], 20.0, 60.0)
    assert res.occupancy[1] <= 0.7 < res.occupancy[0]


def test_several_targets_take_the_largest_need() -> None:
    sl = staffing.required_agents(RATE, AHT, target_sl=0.8)
    asa = staffing.required_agents(RATE, AHT, target_asa_s=5.0)
    both = staffing.required_agents(RATE, AHT, target_sl=0.8, target_asa_s=5.0)
    np.testing.assert_array_equal(both, np.maximum(sl, asa))


def test_unattainable_target_is_nan_and_easy_targets_are_small() -> None:
    # A target no N up to the cap meets gives NaN...
    never = inverse.search(lambda idx, n: np.zeros(idx.size), np.ones(2), True,
                           np.zeros(2), np.ones(2), np.full(2, 50.0), False)
    assert np.all(np.isnan(never))
    # ...but "ASA 0" is met where the ASA underflows (the search works in doubles).
    n0 = staffing.required_agents(0.1, 180.0, target_asa_s=0.0)
    assert staffing.erlang_c(0.1, 180.0, n0, 20.0).asa_s < 1e-300
    # SL target 0 is met by any staffing, even none.
    assert staffing.required_agents(0.1, 180.0, target_sl=0.0) == 0
    # Short patience: the Erlang A answer can sit below the load.
    assert staffing.required_agents(1.0, 180.0, target_sl=0.2, model="erlang_a",
                                    patience_s=10.0, sl_formula="of_offered") < 180


def test_large_centre_and_extreme_targets() -> None:
    rate = np.array([50.0, 100.0, 300.0])  # 15,000-90,000 Erlangs at 300 s
    req = staffing.required_agents(rate, 300.0, target_sl=0.95, threshold_s=10.0)
    res = staffing.erlang_c(rate, 300.0, req, 10.0)
    assert np.all(res.service_level >= 0.95)
    assert np.all(staffing.erlang_c(rate, 300.0, req - 1, 10.0).service_level < 0.95)
    hi = staffing.required_agents(0.05, 180.0, target_sl=1.0 - 1e-12, threshold_s=0.0)
    assert np.isfinite(hi) and staffing.erlang_c(0.05, 180.0, hi, 0.0).p_wait <= 1e-12


def test_search_is_exact_for_any_monotone_measure() -> None:
    # Staircase and kinked measures mislead the interpolation; the answer must
    # still be the brute-force minimum (fallback to bisection).
    r = np.random.default_rng(3)
    steps = np.sort(r.uniform(0, 1, (300, 500)), axis=1)  # one monotone curve per problem
    target = r.uniform(0.01, 0.99, 300)
    value = lambda idx, n: steps[idx, np.minimum(n.astype(int), 499)]  # noqa: E731
    got = inverse.search(value, target, True, np.zeros(300), np.full(300, 10.0),
                         np.full(300, 499.0), False)
    want = np.argmax(steps >= target[:, None], axis=1)
    np.testing.assert_array_equal(got, want)
