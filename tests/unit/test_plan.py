"""The staffing plan against direct calls of the engine, and scheduled agents on a known roster."""

import math

import numpy as np
import pytest

import staffing
from staffing.plan import (
    apply_staffing_delta,
    phone_fractions,
    scale_volume,
    scheduled_agents_matrix,
    staffing_plan,
    what_if,
)
from staffing.schedule import Segment

IV_S = 900.0
# 3 queues x 4 intervals: an Erlang C queue and two Erlang A queues with different formulas.
CALLS = np.array([[100, 40, 0, 250], [80, 120, 60, 10], [30, 200, 90, 0]], dtype=float)
AHT = np.array([[180, 240, 300, 200], [300, 280, 260, 240], [400, 350, 300, 250]], dtype=float)
AGENTS = np.array([[22, 12, 0, 60], [30, 40, 21.5, 4], [15, 80, 33.25, 0]], dtype=float)
KW = dict(
    interval_s=IV_S,
    threshold_s=np.array([20.0, 30.0, 15.0]),
    target_sl=np.array([0.8, 0.9, 0.7]),
    model=["erlang_c", "erlang_a", "erlang_a"],
    patience_s=np.array([math.nan, 120.0, 240.0]),  # unused for the Erlang C queue
    sl_formula=["excl_short", "of_answered", "excl_short"],
    short_abandon_s=np.array([5.0, 5.0, 10.0]),
)


def direct(q, i, n):
    """The engine called directly for one cell with n whole agents."""
    rate, t, s = CALLS[q, i] / IV_S, KW["threshold_s"][q], KW["short_abandon_s"][q]
    if KW["model"][q] == "erlang_c":
        r = staffing.erlang_c(rate, AHT[q, i], n, t)
        return r.service_level, r.asa_s, 0.0
    r = staffing.erlang_a(rate, AHT[q, i], n, t, KW["patience_s"][q], s)
    return r.service_level(KW["sl_formula"][q]), r.asa_s, r.p_abandon


def required_direct(q, i, **extra):
    pat = KW["patience_s"][q] if KW["model"][q] == "erlang_a" else None
    return staffing.required_agents(
        CALLS[q, i] / IV_S, AHT[q, i], target_sl=KW["target_sl"][q],
        threshold_s=KW["threshold_s"][q], model=KW["model"][q], patience_s=pat,
        sl_formula=KW["sl_formula"][q], short_abandon_s=KW["short_abandon_s"][q], **extra)


@pytest.mark.parametrize("fractional", [False, True])
def test_required_agents_equal_direct_calls_cell_by_cell(fractional):
    plan = staffing_plan(CALLS, AHT, AGENTS, fractional=fractional, **KW)
    for q in range(3):
        for i in range(4):
            assert plan.required[q, i] == pytest.approx(required_direct(q, i, fractional=fractional),
                                                        rel=1e-12), (q, i)
    assert plan.gap == pytest.approx(AGENTS - plan.required)
    assert plan.required[0, 2] == 0 and plan.required[2, 3] == 0  # no calls, no agents


def test_projected_service_equals_the_engine_for_whole_agents():
    plan = staffing_plan(CALLS, AHT, AGENTS, **KW)
    for q, i in [(0, 0), (0, 1), (0, 3), (1, 0), (1, 1), (1, 3), (2, 0), (2, 1)]:
        sl, asa, ab = direct(q, i, AGENTS[q, i])
        assert plan.service_level[q, i] == pytest.approx(sl, rel=1e-12), (q, i)
        assert plan.asa_s[q, i] == pytest.approx(asa, rel=1e-12), (q, i)
        assert plan.p_abandon[q, i] == pytest.approx(ab, rel=1e-12), (q, i)
    # Erlang C with 60 agents for 250 calls x 200 s / 900 s = 55.6 Erlangs: stable but short.
    assert 0 < plan.service_level[0, 3] < 0.8 and plan.gap[0, 3] < 0


def test_fractional_agents_interpolate_between_whole_numbers():
    plan = staffing_plan(CALLS, AHT, AGENTS, **KW)
    # 21.5 agents on queue 1 (Erlang A), 33.25 on queue 2
    for q, i, f in [(1, 2, 0.5), (2, 2, 0.25)]:
        lo, hi = direct(q, i, math.floor(AGENTS[q, i])), direct(q, i, math.floor(AGENTS[q, i]) + 1)
        assert plan.service_level[q, i] == pytest.approx((1 - f) * lo[0] + f * hi[0], rel=1e-12)
        assert plan.p_abandon[q, i] == pytest.approx((1 - f) * lo[2] + f * hi[2], rel=1e-12)
    # Erlang C, 10.5 agents for a = 10: unstable at 10 (ASA inf), so the mix is inf, not NaN.
    p = staffing_plan(np.array([[50.0]]), np.array([[180.0]]), np.array([[10.5]]), interval_s=IV_S)
    assert p.asa_s[0, 0] == math.inf
    sl11 = staffing.erlang_c(50 / IV_S, 180.0, 11, 20.0).service_level
    assert p.service_level[0, 0] == pytest.approx(0.5 * sl11)


def test_missing_cells_are_nan_and_zero_call_cells_need_no_aht():
    calls = np.array([[math.nan, 0.0, 20.0]])
    aht = np.array([[300.0, math.nan, 300.0]])
    agents = np.array([[5.0, 3.0, math.nan]])
    p = staffing_plan(calls, aht, agents, interval_s=IV_S)
    assert np.isnan(p.required[0, 0]) and np.isnan(p.service_level[0, 0])
    assert p.required[0, 1] == 0 and p.service_level[0, 1] == 1.0 and p.gap[0, 1] == 3.0
    assert not np.isnan(p.required[0, 2]) and np.isnan(p.gap[0, 2])


def test_plan_refuses_what_it_cannot_compute():
    with pytest.raises(ValueError, match="patience_s is required"):
        staffing_plan(CALLS, AHT, AGENTS, interval_s=IV_S, model="erlang_a")
    with pytest.raises(ValueError, match="model must be one of"):
        staffing_plan(CALLS, AHT, AGENTS, interval_s=IV_S, model="erlang_x")
    with pytest.raises(ValueError, match="one per queue"):
        staffing_plan(CALLS, AHT, AGENTS, interval_s=IV_S, sl_formula=["of_offered"])
    with pytest.raises(ValueError, match="patience_s"):
        staffing_plan(CALLS, AHT, AGENTS, interval_s=IV_S, model="erlang_a", patience_s=math.nan)


def test_delta_and_volume_scaling_copy_and_clip():
    n = apply_staffing_delta(AGENTS, 1, 1, 3, -25.0)
    assert n[1].tolist() == [30, 15, 0, 4] and AGENTS[1, 2] == 21.5
    c = scale_volume(CALLS, 2, 0, 2, 1.5)
    assert c[2].tolist() == [45, 300, 90, 0] and CALLS[2, 0] == 30
    with pytest.raises(ValueError, match="outside"):
        apply_staffing_delta(AGENTS, 3, 0, 1, 1.0)


def test_what_if_projects_the_queue_before_and_after():
    wi = what_if(CALLS, AHT, AGENTS, queue=1, start_iv=0, end_iv=2, agents_delta=3, **KW)
    base = staffing_plan(CALLS, AHT, AGENTS, **KW)
    more = staffing_plan(CALLS, AHT, apply_staffing_delta(AGENTS, 1, 0, 2, 3), **KW)
    assert wi.service_level_before == pytest.approx(base.service_level[1], rel=1e-12)
    assert wi.service_level_after == pytest.approx(more.service_level[1], rel=1e-12)
    assert (wi.service_level_after[:2] > wi.service_level_before[:2]).all()
    assert wi.service_level_after[2:] == pytest.approx(wi.service_level_before[2:])
    storm = what_if(CALLS, AHT, AGENTS, queue=0, start_iv=1, end_iv=2, volume_multiplier=1.3, **KW)
    busier = staffing_plan(scale_volume(CALLS, 0, 1, 2, 1.3), AHT, AGENTS, **KW)
    assert storm.after.required[0] == pytest.approx(busier.required[0])
    assert storm.service_level_after[1] < storm.service_level_before[1]


# Scheduled agents: one day of 24 one-hour intervals from local midnight (UTC here).
DAY0 = 1_767_225_600_000
H, M = 3_600_000, 60_000
STARTS = DAY0 + np.arange(24) * H
QI = {"claims": 0, "sales": 1}


def seg(agent, activity, start_min, end_min):
    return Segment(agent, activity, DAY0 + start_min * M, DAY0 + end_min * M)


SEGMENTS = {
    # claims only: 08:00-10:00 open, 10:00-10:15 break, 10:15-12:30 open
    "ann": [seg("ann", "open", 480, 600), seg("ann", "break", 600, 615),
            seg("ann", "open", 615, 750)],
    # sales only: yesterday 22:00 -> 02:30 today, and tonight 23:00 -> 03:00 tomorrow
    "bob": [seg("bob", "open", -120, 150), seg("bob", "open", 1380, 1620)],
    # claims and sales (and a queue this plan does not know): 09:00-11:00 open
    "cat": [seg("cat", "open", 540, 660)],
    # only an unknown queue: counts nowhere
    "dan": [seg("dan", "open", 480, 960)],
    # claims, in a meeting all morning: not on the phones
    "eve": [seg("eve", "meeting", 480, 720)],
}
SKILLS = {"ann": ["claims"], "bob": ["sales"], "cat": ["claims", "sales", "chat"],
          "dan": ["chat"], "eve": ["claims"]}


def test_scheduled_matrix_by_hand():
    weights = np.ones((2, 24))
    weights[:, 9] = [3.0, 1.0]  # claims carries 3/4 of the load at 09:00
    weights[:, 10] = 0.0        # no load at 10:00: cat splits evenly
    m = scheduled_agents_matrix(SEGMENTS, SKILLS, STARTS, 3600, QI, {"open"}, weights)
    claims, sales = np.zeros(24), np.zeros(24)
    claims[8:13] = [1, 1, 0.75, 1, 0.5]          # ann: the 15-min break, then until 12:30
    sales[0:3] = [1, 1, 0.5]                     # bob's night shift, from midnight
    sales[23] = 1                                # bob tonight, until midnight
    claims[9] += 0.75                            # cat at 09:00: weights 3 : 1
    sales[9] += 0.25
    claims[10] += 0.5                            # cat at 10:00: no load anywhere, even split
    sales[10] += 0.5
    assert m[0] == pytest.approx(claims)
    assert m[1] == pytest.approx(sales)


def test_scheduled_matrix_counts_each_agent_once():
    rng = np.random.default_rng(7)
    m = scheduled_agents_matrix(SEGMENTS, SKILLS, STARTS, 3600, QI, {"open"},
                                rng.uniform(0, 5, size=(2, 24)))
    # The total is the phone hours inside the day: ann 2 + 2.25, bob 2.5 + 1, cat 2.
    phone_hours = 4.25 + 3.5 + 2.0
    assert m.sum() == pytest.approx(phone_hours)
    equal = scheduled_agents_matrix(SEGMENTS, SKILLS, STARTS, 3600, QI, {"open"}, None)
    assert equal[:, 9] == pytest.approx([1.5, 0.5])


def test_phone_fractions_cap_overlapping_segments_at_one():
    f = phone_fractions(np.array([0, 0, 1]), np.array([0, 30 * M, 45 * M]),
                        np.array([60 * M, 90 * M, 50 * M]), np.array([0, H]), 3600, 3)
    assert f.tolist() == [[1.0, 0.5], [pytest.approx(5 / 60), 0.0], [0.0, 0.0]]


def test_plan_for_the_known_schedule_equals_the_engine():
    weights = np.ones((2, 24))
    weights[:, 9] = [3.0, 1.0]
    sched = scheduled_agents_matrix(SEGMENTS, SKILLS, STARTS, 3600, QI, {"open"}, weights)
    calls = np.full((2, 24), 20.0)  # 20 calls an hour, AHT 180 s: 1 Erlang
    plan = staffing_plan(calls, np.full((2, 24), 180.0), sched, interval_s=3600,
                         model=["erlang_c", "erlang_a"], patience_s=[math.nan, 90.0])
    rate = 20 / 3600
    # claims at 09:00: ann 1 + cat 0.75 = 1.75 agents -> 1/4 of SL(1) + 3/4 of SL(2), Erlang C
    sl1, sl2 = (staffing.erlang_c(rate, 180.0, n, 20.0).service_level for n in (1, 2))
    assert sched[0, 9] == pytest.approx(1.75)
    assert plan.service_level[0, 9] == pytest.approx(0.25 * sl1 + 0.75 * sl2, rel=1e-12)
    # sales at 02:00: bob half the hour -> 1/2 of SL(0) + 1/2 of SL(1), Erlang A
    sa = [staffing.erlang_a(rate, 180.0, n, 20.0, 90.0).service_level() for n in (0, 1)]
    assert plan.service_level[1, 2] == pytest.approx(0.5 * sa[0] + 0.5 * sa[1], rel=1e-12)
    req_c = staffing.required_agents(rate, 180.0, target_sl=0.8)
    req_a = staffing.required_agents(rate, 180.0, target_sl=0.8, model="erlang_a",
                                     patience_s=90.0)
    assert plan.required[0] == pytest.approx(np.full(24, req_c))
    assert plan.required[1] == pytest.approx(np.full(24, req_a))
    assert plan.gap[0, 9] == pytest.approx(1.75 - req_c)
    assert plan.gap[0, 0] == -req_c  # nobody scheduled on claims at midnight


def test_calls_at_risk_by_hand():
    from staffing.plan import calls_at_risk

    # Target 80 %: 20 calls at 60 % miss 4; 10 calls at 90 % miss none; no projection counts as on target.
    risk = calls_at_risk([[20.0, 10.0, 5.0], [np.nan, 8.0, 0.0]], [[0.6, 0.9, np.nan], [0.1, 0.5, np.nan]], [[0.8], [0.8]])
    assert risk.tolist() == pytest.approx([4.0, 2.4])
