import numpy as np
import pytest

from staffing import kpis

# A hand-computed interval: 10 answered (8 within T), 4 abandoned (1 within S=5 s, 2 within T).
C = {
    "offered": 14, "answered": 10, "answered_within_t": 8, "abandoned": 4, "abandoned_short": 1,
    "abandoned_within_t": 2, "wait_answered_ms": 150_000, "wait_abandoned_ms": 200_000,
    "handled": 9, "talk_ms": 1_800_000, "hold_ms": 90_000, "acw_ms": 270_000,
}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("excl_short", 8 / (10 + 4 - 1)),
        ("of_answered", 8 / 10),
        ("abandon_within_t_good", (8 + 2) / (10 + 4)),
        ("excl_abandon_after_t", 8 / (10 + 4 - 2)),
        ("of_offered", 8 / 14),
    ],
)
def test_service_level_formulas(formula, expected):
    assert kpis.service_level(C, formula) == pytest.approx(expected)


def test_live_sl_counts_long_waiters_as_misses():
    assert kpis.service_level(C, "excl_short", waiting_over_t=3) == pytest.approx(8 / 16)


def test_other_kpis():
    assert kpis.asa_s(C) == pytest.approx(15.0)
    assert kpis.abandon_rate(C) == pytest.approx(3 / 13)
    assert kpis.aht_s(C) == pytest.approx((1800 + 90 + 270) / 9)
    assert kpis.occupancy(750, 250) == pytest.approx(0.75)


def test_undefined_ratios_are_none_not_zero():
    assert kpis.service_level({}, "excl_short") is None
    assert kpis.asa_s({}) is None and kpis.aht_s({}) is None and kpis.abandon_rate({}) is None
    assert kpis.occupancy(0, 0) is None


def test_unknown_formula_is_named():
    with pytest.raises(ValueError, match="formula"):
        kpis.service_level(C, "bogus")


def test_agent_kpis_and_their_median():
    a = {"handled": 4, "talk_ms": 600_000, "hold_ms": 40_000, "s:acw": 120_000, "missed": 1, "transfers": 0}
    row = kpis.agent_kpis(a, handling_ms=900_000, available_ms=300_000)
    assert row["aht_s"] == pytest.approx((600 + 40 + 120) / 4)
    assert row["occupancy"] == pytest.approx(0.75)
    assert row["acw_s_per_call"] == pytest.approx(30.0) and row["hold_s_per_call"] == pytest.approx(10.0)
    idle = kpis.agent_kpis({}, 0, 0)
    assert idle["aht_s"] is None and idle["acw_s_per_call"] is None and idle["occupancy"] is None
    med = kpis.median_by_key([row, idle, kpis.agent_kpis({"handled": 2}, 0, 100)])
    assert med["handled"] == 2.0 and med["aht_s"] == pytest.approx((190.0 + 0.0) / 2)
    assert kpis.median_by_key([]) == {}


def test_agent_kpi_columns_equal_agent_kpis_row_by_row():
    rng = np.random.default_rng(3)
    n = 500
    handled = rng.integers(0, 4, n).astype(float)  # a quarter handled nothing: per-call KPIs undefined
    talk, hold, acw = (rng.integers(0, 900_000, n).astype(float) for _ in range(3))
    missed, transfers = (rng.integers(0, 3, n).astype(float) for _ in range(2))
    handling = np.where(rng.random(n) < 0.2, 0.0, rng.integers(0, 3_600_000, n).astype(float))
    available = np.where(rng.random(n) < 0.5, 0.0, rng.integers(0, 3_600_000, n).astype(float))
    got = kpis.agent_kpi_columns(handled, talk, hold, acw, missed, transfers, handling, available)
    assert got.shape == (n, len(kpis.AGENT_KPI_KEYS))
    for i in range(n):
        counters = {"handled": handled[i], "talk_ms": talk[i], "hold_ms": hold[i], "s:acw": acw[i],
                    "missed": missed[i], "transfers": transfers[i]}
        want = kpis.agent_kpis(counters, handling[i], available[i])
        assert tuple(want) == kpis.AGENT_KPI_KEYS
        assert [None if np.isnan(x) else float(x) for x in got[i]] == list(want.values())  # exact, not approximate
