"""Defined behaviour at the edges, broadcasting, and errors naming the argument."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import staffing

RATE = 100 / 1800  # 10 Erlangs at AHT 180 s


def test_sl_formulas_vocabulary() -> None:
    assert staffing.SL_FORMULAS == ("excl_short", "of_answered", "abandon_within_t_good",
                                    "excl_abandon_after_t", "of_offered")


def test_scalars_in_scalars_out_and_broadcasting() -> None:
    assert np.ndim(staffing.erlang_b(10, 5.0)) == 0
    res = staffing.erlang_c(RATE, 180.0, 14, 20.0)
    assert np.ndim(res.p_wait) == 0 and isinstance(float(res.asa_s), float)
    grid = staffing.erlang_c(np.array([[RATE], [2 * RATE]]), 180.0, np.arange(11, 31), 20.0)
    assert grid.service_level.shape == (2, 20)
    a = staffing.erlang_a(RATE, 180.0, np.arange(0, 20), [[10.0], [20.0]], 120.0, 5.0)
    assert a.p_abandon.shape == (2, 20) and a.service_level("of_answered").shape == (2, 20)
    req = staffing.required_agents(np.full((3, 4), RATE), 180.0, target_sl=[0.7, 0.8, 0.9, 0.95])
    assert req.shape == (3, 4) and np.all(np.diff(req, axis=1) >= 0)


def test_erlang_c_unstable_is_flagged_not_a_wrong_number() -> None:
    res = staffing.erlang_c(RATE, 180.0, [0, 5, 10, 11], 20.0)
    np.testing.assert_array_equal(res.stable, [False, False, False, True])
    np.testing.assert_array_equal(res.p_wait[:3], 1.0)
    np.testing.assert_array_equal(res.service_level[:3], 0.0)
    assert np.all(np.isinf(res.asa_s[:3])) and np.all(np.isinf(res.mean_queue[:3]))
    assert np.all(res.p_wait <= 1.0) and np.all(res.asa_s >= 0)


def test_load_within_an_ulp_of_agents() -> None:
    n = 1000
    aht = 1.0  # so that the load n - gap is exactly the input rate
    for gap in (1e-9, 1e-6, 1e-3):
        rate = n - gap
        res = staffing.erlang_c(rate, aht, n, 20.0)
        assert res.stable and 0.999 < res.p_wait < 1.0
        assert np.isfinite(res.asa_s) and res.asa_s > 0
        # E[W | W > 0] = AHT / (N - a) with N - a formed exactly (no 1 - rho rounding).
        assert res.mean_wait_delayed_s == pytest.approx(aht / (n - rate), rel=1e-15)
        assert res.asa_s == pytest.approx(res.p_wait * aht / (n - rate), rel=1e-13)


def test_zero_calls() -> None:
    res = staffing.erlang_c(0.0, 180.0, [0, 3], 20.0)
    np.testing.assert_array_equal(res.p_wait, 0.0)
    np.testing.assert_array_equal(res.service_level, 1.0)
    np.testing.assert_array_equal(res.asa_s, 0.0)
    np.testing.assert_array_equal(res.occupancy, 0.0)
    a = staffing.erlang_a(0.0, 180.0, [0, 3], 20.0, 60.0, 5.0)
    np.testing.assert_array_equal(a.p_abandon, 0.0)
    np.testing.assert_array_equal(a.service_level(), 1.0)
    assert staffing.required_agents(0.0, 180.0, target_sl=0.9) == 0
    assert staffing.required_agents(0.0, 180.0, target_sl=0.9, model="erlang_a",
                                    patience_s=60.0) == 0


def test_zero_agents() -> None:
    assert staffing.erlang_b(0, 3.0) == 1.0
    assert staffing.erlang_b(5, 0.0) == 0.0
    a = staffing.erlang_a(RATE, 180.0, 0, 20.0, 60.0, 5.0)
    assert a.p_wait == 1.0 and a.p_abandon == 1.0 and a.p_answered_within_t == 0.0
    assert a.mean_wait_s == pytest.approx(60.0) and np.isnan(a.asa_s)
    assert a.p_abandon_within_t == pytest.approx(1 - np.exp(-20 / 60))


def test_threshold_zero_and_infinite() -> None:
    res = staffing.erlang_c(RATE, 180.0, 14, [0.0, np.inf])
    assert res.service_level[0] == pytest.approx(1 - res.p_wait[0], rel=1e-15)
    assert res.service_level[1] == 1.0
    a = staffing.erlang_a(RATE, 180.0, 14, 0.0, 120.0, 0.0)
    assert a.p_answered_within_t == pytest.approx(1 - a.p_wait, rel=1e-14)
    assert a.p_abandon_within_t == 0.0 and a.p_abandon_within_short == 0.0


def test_patience_zero_is_erlang_b_loss() -> None:
    n = np.arange(1, 30)
    a = staffing.erlang_a(RATE, 180.0, n, 20.0, 0.0, 5.0)
    b = staffing.erlang_b(n, 10.0)
    np.testing.assert_allclose(a.p_abandon, b, rtol=1e-14)
    np.testing.assert_allclose(a.p_answered_within_t, 1 - b, rtol=1e-14)
    np.testing.assert_array_equal(a.mean_wait_s, 0.0)
    # ...and the limit of short patience approaches it.
    near = staffing.erlang_a(RATE, 180.0, n, 20.0, 1e-6, 5.0)
    np.testing.assert_allclose(near.p_abandon, b, rtol=1e-6)


def test_patience_infinite_is_erlang_c() -> None:
    n = np.arange(1, 30)
    a = staffing.erlang_a(RATE, 180.0, n, 20.0, np.inf, 5.0)
    c = staffing.erlang_c(RATE, 180.0, n, 20.0)
    np.testing.assert_array_equal(a.p_wait, c.p_wait)
    np.testing.assert_array_equal(a.service_level("excl_short"), c.service_level)
    np.testing.assert_array_equal(a.asa_s, c.asa_s)
    np.testing.assert_array_equal(a.p_abandon, 0.0)


def test_long_patience_converges_to_erlang_c() -> None:
    n = np.arange(11, 30)
    c = staffing.erlang_c(RATE, 180.0, n, 20.0)
    scaled = []
    for patience in (1e4, 1e6, 1e8):
        a = staffing.erlang_a(RATE, 180.0, n, 20.0, patience, 0.0)
        err = np.abs(a.service_level("of_offered") - c.service_level)
        scaled.append(err * patience)
        # The first-order effect of abandonment is ~ E[W^2] / patience.
        np.testing.assert_allclose(a.asa_s, c.asa_s, rtol=5000 / patience)
    # The gap closes exactly like 1/patience (no floor from rounding at x ~ 1e7).
    np.testing.assert_allclose(scaled[2], scaled[1], rtol=0.01)
    assert np.max(scaled[2]) / 1e8 < 1e-5


def test_tens_of_thousands_of_agents() -> None:
    n = np.array([20_000, 50_000, 80_000])
    aht = 300.0
    res = staffing.erlang_c(n * 0.99 / aht, aht, n, 20.0)
    assert np.all(np.isfinite(res.p_wait)) and np.all((res.p_wait > 0) & (res.p_wait < 1))
    a = staffing.erlang_a(n * 1.02 / aht, aht, n, 20.0, 180.0, 5.0)
    assert np.all(np.isfinite(a.p_abandon)) and np.all((a.p_abandon > 0) & (a.p_abandon < 0.05))
    assert np.all(np.isfinite(a.asa_s))
    req = staffing.required_agents(n * 0.99 / aht, aht, target_sl=0.8)
    assert np.all(req > n * 0.99) and np.all(req < n)
    # Blocking far below the double range of n! (no factorials anywhere).
    assert 0 < staffing.erlang_b(50_000, 45_000.0) < 1e-100


def test_tiny_probabilities_keep_relative_precision() -> None:
    # P(W > t) = C exp(-(N mu - lambda) t): both factors tiny, product 1e-200-ish.
    res = staffing.erlang_c(0.01, 100.0, 40, 600.0)
    expected = res.p_wait * np.exp(-(40 - 1.0) * 600.0 / 100.0)
    assert res.p_wait_over_t == pytest.approx(expected, rel=1e-13)
    assert 0 < res.p_wait_over_t < 1e-100


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"aht_s": -1.0}, "aht_s"),
        ({"aht_s": 0.0}, "aht_s"),
        ({"rate_per_s": np.nan}, "rate_per_s"),
        ({"rate_per_s": -0.1}, "rate_per_s"),
        ({"agents": 2.5}, "agents"),
        ({"agents": -1}, "agents"),
        ({"threshold_s": np.nan}, "threshold_s"),
        ({"patience_s": -3.0}, "patience_s"),
        ({"short_abandon_s": np.nan}, "short_abandon_s"),
    ],
)
def test_invalid_input_names_the_argument(kwargs: dict, name: str) -> None:
    args = {"rate_per_s": RATE, "aht_s": 180.0, "agents": 14, "threshold_s": 20.0,
            "patience_s": 60.0, "short_abandon_s": 5.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        staffing.erlang_a(**args)
    if name not in ("patience_s", "short_abandon_s"):
        del args["patience_s"], args["short_abandon_s"]
        with pytest.raises(ValueError, match=name):
            staffing.erlang_c(**args)


def test_invalid_required_agents_arguments() -> None:
    with pytest.raises(ValueError, match="target_sl"):
        staffing.required_agents(RATE, 180.0, target_sl=1.5)
    with pytest.raises(ValueError, match="aht_s"):
        staffing.required_agents(RATE, -180.0, target_sl=0.8)
    with pytest.raises(ValueError, match="sl_formula"):
        staffing.required_agents(RATE, 180.0, target_sl=0.8, sl_formula="nope")
    with pytest.raises(ValueError, match="patience_s"):
        staffing.required_agents(RATE, 180.0, target_sl=0.8, model="erlang_a")
    with pytest.raises(ValueError, match="target_abandon"):
        staffing.required_agents(RATE, 180.0, target_abandon=0.05)
    with pytest.raises(ValueError, match="shrinkage"):
        staffing.required_agents(RATE, 180.0, target_sl=0.8, shrinkage=1.0)
    with pytest.raises(ValueError, match="at least one"):
        staffing.required_agents(RATE, 180.0)
    with pytest.raises(ValueError, match="load"):
        staffing.erlang_b(3, np.nan)
    with pytest.raises(ValueError, match="sl_formula"):
        staffing.erlang_a(RATE, 180.0, 14, 20.0, 60.0).service_level("bogus")


def test_estimate_patience() -> None:
    # 12 abandons over 1,440 s of waiting by everybody: theta = 1/120 per second.
    assert staffing.estimate_patience(12, 1440.0) == pytest.approx(120.0)
    assert np.isnan(staffing.estimate_patience(3, 100.0))
    assert staffing.estimate_patience(3, 100.0, fallback_s=90.0) == 90.0
    assert staffing.estimate_patience(3, 100.0, min_abandons=2) == pytest.approx(100 / 3)
    out = staffing.estimate_patience([0, 50], [0.0, 5000.0], fallback_s=np.inf)
    np.testing.assert_array_equal(out, [np.inf, 100.0])
    with pytest.raises(ValueError, match="total_wait_s"):
        staffing.estimate_patience(3, -1.0)
    with pytest.raises(ValueError, match="abandoned"):
        staffing.estimate_patience(np.nan, 1.0)


def test_package_imports_none_of_the_project() -> None:
    root = Path(staffing.__file__).resolve().parent
    banned = {"app", "realtime", "adapters", "floorboard"}
    # Pure standard-library helpers only; datetime is for formatting times given in (a test
    # below keeps the clock out).
    allowed = {"numpy", "scipy", "staffing", "__future__", "dataclasses", "typing",
               "collections", "datetime", "functools", "warnings", "math"}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""]
                for name in names:
                    top = name.split(".")[0]
                    assert top not in banned, f"{path.name} imports {name}"
                    assert top in allowed, f"{path.name} imports {name} (pure numerics only)"


def test_package_never_reads_the_clock() -> None:
    root = Path(staffing.__file__).resolve().parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        for call in ("datetime.now(", ".today(", "time.time(", "time.monotonic(", "perf_counter("):
            assert call not in text, f"{path.name} reads the clock ({call})"
