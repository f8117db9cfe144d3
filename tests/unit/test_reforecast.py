"""Reforecast, baseline and accuracy against cases computed by hand (docs/intraday.md)."""

import math

import numpy as np
import pytest

from staffing.reforecast import (
    Overlay,
    ReforecastParams,
    accuracy,
    baseline_from_history,
    closed_mask,
    recency_weights,
    reforecast,
)

NAN = np.nan
FLAT = ReforecastParams(half_life_intervals=math.inf, min_closed=4)


def run(fc, ac, closed, params=FLAT, fa=None, aa=None, handled=None, overlays=()):
    fc = np.atleast_2d(np.asarray(fc, dtype=float))
    fa = np.full(fc.shape, 300.0) if fa is None else np.atleast_2d(np.asarray(fa, dtype=float))
    ac = np.atleast_2d(np.asarray(ac, dtype=float))
    aa = np.full(fc.shape, 300.0) if aa is None else np.atleast_2d(np.asarray(aa, dtype=float))
    h = None if handled is None else np.atleast_2d(np.asarray(handled, dtype=float))
    return reforecast(fc, fa, ac, aa, closed, params, overlays, handled_calls=h)


def test_equal_weights_plain_ratio_applies_to_the_rest_of_the_day():
    # 52 actual / 40 forecast over 4 closed intervals = 1.3
    r = run([10, 10, 10, 10, 20, 30], [12, 12, 15, 13, NAN, NAN], 4)
    assert r.volume.ratio[0] == pytest.approx(1.3)
    assert r.volume.actual_total[0] == 52 and r.volume.forecast_total[0] == 40
    assert r.calls[0, 4:] == pytest.approx([26.0, 39.0])
    assert r.aht_s[0] == pytest.approx([300.0] * 6)  # actual AHT = forecast: ratio 1


def test_recency_weights_halve_every_half_life():
    # half-life 1 interval, 4 closed: ages 3, 2, 1, 0 -> weights 1/8, 1/4, 1/2, 1
    w = recency_weights(closed_mask(4, (1, 6)), 1.0)
    assert w[0] == pytest.approx([0.125, 0.25, 0.5, 1.0, 0.0, 0.0])
    # sum wA = 8/8 + 12/4 + 10/2 + 14 = 23; sum wF = 10 * 1.875 = 18.75 -> 1.22667
    r = run([10] * 6, [8, 12, 10, 14, NAN, NAN], 4, ReforecastParams(half_life_intervals=1.0))
    assert r.volume.actual_weighted[0] == pytest.approx(23.0)
    assert r.volume.forecast_weighted[0] == pytest.approx(18.75)
    assert r.volume.ratio[0] == pytest.approx(23 / 18.75)
    assert r.calls[0, 5] == pytest.approx(10 * 23 / 18.75)
    assert r.explain(0)["volume"]["weights"] == pytest.approx({0: 0.125, 1: 0.25, 2: 0.5, 3: 1.0})


def test_cap_limits_the_ratio_and_says_so():
    # sum wA = 10/8 + 10/4 + 20/2 + 40 = 53.75; sum wF = 18.75 -> 2.8667, capped to 2.0
    r = run([10] * 6, [10, 10, 20, 40, NAN, NAN], 4, ReforecastParams(half_life_intervals=1.0))
    assert r.volume.raw_ratio[0] == pytest.approx(53.75 / 18.75)
    assert r.volume.ratio[0] == 2.0 and r.volume.capped[0]
    assert r.calls[0, 4:] == pytest.approx([20.0, 20.0])
    assert "capped to 2" in r.explain(0)["volume"]["reason"]
    low = run([10] * 5, [1, 2, 1, 2, NAN], 4,
              ReforecastParams(half_life_intervals=math.inf, volume_cap=(0.8, 1.25)))
    assert low.volume.raw_ratio[0] == pytest.approx(0.15) and low.volume.ratio[0] == 0.8


def test_below_the_minimum_the_ratio_is_one_and_says_why():
    r = run([10] * 6, [20, 20, 20, NAN, NAN, NAN], 3)
    assert r.volume.raw_ratio[0] == pytest.approx(2.0)
    assert r.volume.ratio[0] == 1.0 and not r.volume.met_minimum[0] and not r.volume.capped[0]
    assert r.calls[0] == pytest.approx([10] * 6)
    ex = r.explain(0)
    assert ex["volume"]["reason"].startswith("3 usable closed interval(s), fewer than the minimum 4")
    assert ex["volume"]["ratio"] == 1.0 and ex["method"] == "trend_to_date_ratio"
    # Nothing closed yet: no ratio at all.
    none = run([10] * 3, [NAN] * 3, 0)
    assert np.isnan(none.volume.raw_ratio[0]) and none.volume.ratio[0] == 1.0


def test_zero_and_missing_forecast_intervals_are_left_out_but_still_age():
    # Interval 0 has forecast 0 (5 calls came anyway), interval 2 an unknown actual: the
    # ratio uses intervals 1, 3, 4, 5 -> (10 + 10 + 20 + 10) / 40 = 1.25.
    fc = [0, 10, 10, 10, 10, 10, 10]
    ac = [5, 10, NAN, 10, 20, 10, NAN]
    r = run(fc, ac, 6)
    assert r.volume.n_used[0] == 4 and r.volume.ratio[0] == pytest.approx(1.25)
    assert r.calls[0, 6] == pytest.approx(12.5)
    assert r.calls[0, 0] == 0.0  # a zero forecast stays zero
    assert not run(fc, ac, 6, ReforecastParams(half_life_intervals=math.inf, min_closed=5)
                   ).volume.met_minimum[0]
    # With a half-life of 1 the age counts the skipped interval: weights 1/16, 1/4, 1/2, 1, ...
    r1 = run(fc, ac, 6, ReforecastParams(half_life_intervals=1.0))
    assert r1.volume.weights[0] == pytest.approx([0, 1 / 16, 0, 1 / 4, 1 / 2, 1, 0])
    # A NaN forecast stays NaN in the output.
    assert np.isnan(run([10, 10, 10, 10, NAN], [10, 10, 10, 10, NAN], 4).calls[0, 4])


def test_aht_is_reforecast_separately_weighted_by_handled_calls():
    # handled 10, 20, 10, 20; actual AHT 330, 330, 360, 300 vs 300 forecast:
    # equal weights: (3300 + 6600 + 3600 + 6000) / (300 * 60) = 19500 / 18000
    fa = [300.0] * 5
    aa = [330, 330, 360, 300, NAN]
    handled = [10, 20, 10, 20, 0]
    r = run([10] * 5, [10, 10, 10, 10, NAN], 4, fa=fa, aa=aa, handled=handled)
    assert r.volume.ratio[0] == 1.0
    assert r.aht.ratio[0] == pytest.approx(19500 / 18000)
    assert r.aht.actual_total[0] == pytest.approx(19500) and r.aht.forecast_total[0] == 18000
    assert r.aht_s[0, 4] == pytest.approx(300 * 19500 / 18000)
    # half-life 1: w * handled = 1.25, 5, 5, 20 -> 9862.5 / 9375 = 1.052, capped at 1.05
    p = ReforecastParams(half_life_intervals=1.0, aht_cap=(0.9, 1.05))
    r1 = run([10] * 5, [10, 10, 10, 10, NAN], 4, p, fa=fa, aa=aa, handled=handled)
    assert r1.aht.raw_ratio[0] == pytest.approx(9862.5 / 9375)
    assert r1.aht.ratio[0] == 1.05 and r1.aht.capped[0]
    # Without handled_calls the actual calls weigh the AHT; an interval with no calls and no
    # AHT (NaN) is left out of the AHT ratio only.
    r2 = run([10] * 6, [10, 20, 10, 20, 0, NAN], 5, fa=[300.0] * 6,
             aa=[330, 330, 360, 300, NAN, NAN])
    assert r2.aht.n_used[0] == 4 and r2.aht.ratio[0] == pytest.approx(19500 / 18000)
    assert r2.volume.n_used[0] == 5 and r2.volume.ratio[0] == pytest.approx(60 / 50)


def test_overlays_multiply_after_the_ratio_and_are_not_capped():
    # ratio 2.0 (capped from 3), then +30 % on intervals 4-5 and a further x0.5 on 5
    ovs = [Overlay(0, 4, 6, 1.3, label="storm"), Overlay(0, 5, 6, 0.5, 1.2, label="outage")]
    r = run([10] * 6, [30, 30, 30, 30, NAN, NAN], 4, overlays=ovs)
    assert r.volume.ratio[0] == 2.0
    assert r.calls[0, 4:] == pytest.approx([26.0, 13.0])
    assert r.aht_s[0, 4:] == pytest.approx([300.0, 360.0])
    assert r.volume_overlay[0] == pytest.approx([1, 1, 1, 1, 1.3, 0.65])
    assert [o["label"] for o in r.explain(0)["overlays"]] == ["storm", "outage"]


def test_an_overlay_on_closed_intervals_is_not_counted_twice():
    # Storm x2 from interval 2 on; the closed intervals 2-3 came in at 20 as the overlay said:
    # expected 10, 10, 20, 20 -> ratio 60 / 60 = 1, and the rest of the storm stays at 20.
    r = run([10] * 6, [10, 10, 20, 20, NAN, NAN], 4, overlays=[Overlay(0, 2, 6, 2.0)])
    assert r.volume.ratio[0] == pytest.approx(1.0)
    assert r.calls[0, 4:] == pytest.approx([20.0, 20.0])


def test_queues_are_independent_and_closed_may_be_per_queue_or_a_mask():
    fc = np.full((2, 5), 10.0)
    ac = np.array([[20, 20, 20, 20, 20], [5, 5, 5, 5, 5]], dtype=float)
    fa = aa = np.full((2, 5), 300.0)
    by_count = reforecast(fc, fa, ac, aa, [4, 5], FLAT)
    mask = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    by_mask = reforecast(fc, fa, ac, aa, mask, FLAT)
    assert by_count.volume.ratio == pytest.approx([2.0, 0.5])
    assert by_mask.calls == pytest.approx(by_count.calls)
    assert list(by_count.n_closed) == [4, 5]


def test_bad_inputs_are_refused_with_a_name():
    with pytest.raises(ValueError, match="overlay 'x'"):
        run([10] * 3, [10] * 3, 1, overlays=[Overlay(0, 2, 4, 1.1, label="x")])
    with pytest.raises(ValueError, match="volume_multiplier"):
        run([10] * 3, [10] * 3, 1, overlays=[Overlay(0, 0, 1, -1.0, label="y")])
    with pytest.raises(ValueError, match="volume_cap"):
        ReforecastParams(volume_cap=(1.2, 2.0))
    with pytest.raises(ValueError, match="min_closed"):
        ReforecastParams(min_closed=0)
    with pytest.raises(ValueError, match="n_closed"):
        run([10] * 3, [10] * 3, 4)
    with pytest.raises(ValueError, match="forecast_calls must be a 2-D"):
        reforecast([1.0], [1.0], [1.0], [1.0], 0)


def test_baseline_is_the_median_of_known_days_with_a_minimum():
    # 4 past same weekdays, 1 queue x 3 intervals; NaN = not archived
    days = np.array([
        [[10, 20, NAN]],
        [[12, 40, NAN]],
        [[11, NAN, 5]],
        [[100, 30, NAN]],
    ])
    b = baseline_from_history(days, min_days=3)
    assert b.values[0, 0] == pytest.approx(11.5)  # median of 10, 11, 12, 100
    assert b.values[0, 1] == pytest.approx(30.0)  # median of 20, 30, 40
    assert np.isnan(b.values[0, 2])  # known on 1 day only
    assert b.n_days.tolist() == [[4, 3, 1]]
    assert b.method == "baseline_median_same_weekday"
    assert baseline_from_history(days, min_days=1).values[0, 2] == 5.0


def test_wape_and_bias_per_queue_and_in_total():
    f = np.array([[10, 20, 30, 99], [5, 5, 0, 0]], dtype=float)
    a = np.array([[12, 18, 30, 0], [0, 0, 0, 0]], dtype=float)
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)  # the 99 is not closed
    acc = accuracy(f, a, mask)
    # queue 0: |F-A| = 2 + 2 + 0 = 4 over sum A = 60; bias = (-2 + 2 + 0) / 3 = 0
    assert acc.wape[0] == pytest.approx(4 / 60) and acc.bias[0] == pytest.approx(0.0)
    # queue 1: no actual calls -> WAPE undefined (NaN); bias = 10 / 4 = 2.5 (over-forecast)
    assert np.isnan(acc.wape[1]) and acc.bias[1] == pytest.approx(2.5)
    # total: (4 + 10) / 60; bias (0 + 10) / 7
    assert acc.total_wape == pytest.approx(14 / 60) and acc.total_bias == pytest.approx(10 / 7)
    assert acc.total_n == 7


def test_accuracy_edges_and_past_days():
    empty = accuracy(np.zeros((1, 2)), np.zeros((1, 2)))
    assert np.isnan(empty.wape[0]) and empty.bias[0] == 0.0 and math.isnan(empty.total_wape)
    missing = accuracy(np.array([[NAN, 4.0]]), np.array([[3.0, 2.0]]))
    assert missing.n[0] == 1 and missing.wape[0] == pytest.approx(1.0)
    # (days, queues, intervals) -> one figure per day and queue
    days = accuracy(np.ones((3, 2, 4)), np.full((3, 2, 4), 2.0))
    assert days.wape.shape == (3, 2) and days.wape == pytest.approx(np.full((3, 2), 0.5))
    assert days.bias == pytest.approx(np.full((3, 2), -1.0))
