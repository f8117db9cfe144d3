"""The live intraday plan over real Redis: imports and events in, the planner's view out, checked
against direct calls of the pure core; overlays; apply, undo and stale actions; what-if; the
history baseline. The center is tests/integration/intraday_scenario.py (numbers by hand there).
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from floorboard.config import load_settings
from realtime import intraday_store as ops
from realtime.history import History
from realtime.intraday import IntradayPlanner
from realtime.schedules import read_agent_schedule, write_roster, write_schedule_days
from realtime.store import Store
from staffing.plan import phone_fractions, scheduled_agents_matrix, staffing_plan
from staffing.plan import what_if as direct_what_if
from staffing.reforecast import Overlay, reforecast
from staffing.schedule import RosterAgent, Segment
from tests.integration.intraday_scenario import (
    ACTUAL,
    DAY0,
    DAY_DATE,
    DAY_STARTS,
    FORECAST,
    IV_MS,
    NOW,
    NOW_IV,
    QUEUES,
    QUEUES_TOML,
    REST,
    SKILLS,
    D,
    h,
    load,
    schedule,
    shift,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def center(redis_client, key_prefix, tmp_path: Path):
    queues = tmp_path / "queues.toml"
    queues.write_text(QUEUES_TOML, encoding="utf-8")
    settings = load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix, "FLOORBOARD_QUEUES_FILE": str(queues)})
    store = Store(redis_client, settings)
    load(store)
    return SimpleNamespace(store=store, planner=IntradayPlanner(store), settings=settings)


def columns(store: Store, queue: str) -> dict[str, np.ndarray]:
    plan = ops.read_queue_plan(store, queue)
    cols = plan["columns"]
    first = DAY_STARTS.tolist().index(cols["start_ms"][0])
    # Pad to the whole day, so the columns index like DAY_STARTS.
    out = {}
    for key, values in cols.items():
        if key == "label":
            continue
        arr = np.full(DAY_STARTS.size, np.nan)
        arr[first:first + len(values)] = [np.nan if v is None else v for v in values]
        out[key] = arr
    return out


def direct(sched: dict[str, list[Segment]], patience: float = 180.0, overlays=(), pinned=None):
    """The plan computed straight from the pure core, as the planner should."""
    fc = np.full((2, DAY_STARTS.size), np.nan)
    fa = np.full((2, DAY_STARTS.size), np.nan)
    ac = np.full((2, DAY_STARTS.size), np.nan)
    aa = np.full((2, DAY_STARTS.size), np.nan)
    for q, queue in enumerate(QUEUES):
        fc[q, 32:48], fa[q, 32:48] = FORECAST[queue]
        ac[q, :NOW_IV], aa[q, :NOW_IV] = 0.0, np.nan
        ac[q, 32:NOW_IV], aa[q, 32:NOW_IV] = ACTUAL[queue]
    rf = reforecast(fc, fa, ac, aa, NOW_IV, overlays=overlays,
                    handled_calls=np.where(np.isfinite(aa), ac, 0.0))
    calls, aht = rf.calls[:, NOW_IV:], rf.aht_s[:, NOW_IV:]
    load = np.where(np.isfinite(calls * aht), calls * aht / 900, 0.0)
    agents = scheduled_agents_matrix(sched, SKILLS, REST, 900, {"claims": 0, "billing": 1}, {"open"}, load)
    if pinned:  # agents moved to one queue: all their phone time there counts on it (docs/intraday.md)
        index = {"claims": 0, "billing": 1}
        moved = {agent for agent, *_ in pinned}
        agents = scheduled_agents_matrix({a: v for a, v in sched.items() if a not in moved}, SKILLS, REST, 900, index,
                                         {"open"}, load)
        for agent, queue, s, e in pinned:
            split = scheduled_agents_matrix({agent: sched[agent]}, SKILLS, REST, 900, index, {"open"}, load)
            segs = [x for x in sched[agent] if x.activity == "open"]
            x = phone_fractions(np.zeros(len(segs), np.intp), [x.start_ms for x in segs], [x.end_ms for x in segs],
                                REST, 900, 1)[0]
            grid = REST
            inside = (grid >= s) & (grid < e)
            split[:, inside] = 0.0
            split[index[queue], inside] = x[inside]
            agents = agents + split
    plan = staffing_plan(calls, aht, agents, interval_s=900, threshold_s=20.0, target_sl=0.8,
                         model=["erlang_c", "erlang_a"], patience_s=[math.inf, patience],
                         sl_formula=["excl_short", "excl_short"], short_abandon_s=5.0, fractional=True)
    return rf, agents, plan


def assert_plan(store: Store, sched, **kw) -> None:
    rf, agents, plan = direct(sched, **kw)
    for q, queue in enumerate(QUEUES):
        c = columns(store, queue)
        np.testing.assert_allclose(c["reforecast"][32:48], np.round(rf.calls[q, 32:48], 2), atol=1e-9)
        np.testing.assert_allclose(c["scheduled"][NOW_IV:48], np.round(agents[q, :8], 2), atol=1e-9)
        np.testing.assert_allclose(c["required"][NOW_IV:48], np.round(plan.required[q, :8], 2), atol=1e-9)
        np.testing.assert_allclose(c["gap"][NOW_IV:48], np.round(plan.gap[q, :8], 2), atol=1e-9)
        np.testing.assert_allclose(c["projected_sl"][NOW_IV:48], np.round(plan.service_level[q, :8], 4), atol=1e-9)


def action_of(view: dict, kind: str) -> dict:
    return next(a for a in view["actions"] if a["kind"] == kind)


def assert_effects_hold(store: Store, action: dict) -> None:
    """What the action said it would do is what the recomputed plan shows."""
    for e in action["effects"]:
        c = columns(store, e["queue"])
        i = DAY_STARTS.tolist().index(e["start_ms"])
        assert c["scheduled"][i] == pytest.approx(e["agents_after"], abs=0.006)
        assert c["projected_sl"][i] == pytest.approx(e["sl_after"], abs=1e-4)


# ------------------------------------------------------------------------------ the plan
def test_plan_equals_the_pure_core(center):
    view = center.planner.run_once(NOW)
    store = center.store
    assert view["sources"] == {"claims": "imported", "billing": "imported"}
    assert view["interval_start_ms"] == h(10)
    assert_plan(store, schedule())
    plan = ops.read_queue_plan(store, "claims")
    ex = plan["explain"]
    assert ex["method"] == "trend_to_date_ratio" and ex["source"] == "imported"
    assert ex["volume"]["ratio"] == pytest.approx(1.2) and ex["volume"]["n_used"] == 8
    assert ex["volume"]["met_minimum"] and not ex["volume"]["capped"] and ex["volume"]["cap"] == [0.5, 2.0]
    assert ex["aht"]["ratio"] == pytest.approx(1.0)
    # The newest used interval weighs 1, the oldest (7 intervals earlier, half-life 4) 2^(-7/4).
    assert ex["volume"]["weights"] == {"08:00": pytest.approx(2 ** (-7 / 4)), "09:45": 1.0}
    # Accuracy of today's forecast: |20 - 24| x 8 / (24 x 8) = 1/6; bias 20 - 24 = -4 per interval.
    assert plan["accuracy"]["today"] == {"wape": pytest.approx(1 / 6, abs=1e-4), "bias": -4.0, "n": 8}
    assert plan["config"]["patience_s"] is None
    assert ops.read_queue_plan(store, "billing")["config"]["patience_s"] == 180.0
    # Risk: calls expected to miss the target over the next two hours, from the direct plan.
    _, _, direct_plan = direct(schedule())
    claims = next(q for q in view["queues"] if q["id"] == "claims")
    c_next = np.full(8, 24.0)
    expected = float((c_next * np.maximum(0.8 - direct_plan.service_level[0, :8], 0)).sum())
    assert claims["risk"] == pytest.approx(expected, abs=0.01)
    assert [q["id"] for q in view["queues"]] == sorted(QUEUES, key=lambda q: -next(
        s["risk"] for s in view["queues"] if s["id"] == q))
    assert {a["kind"] for a in view["actions"]} >= {"move", "overtime", "postpone"}


def test_a_steady_run_reuses_the_plan_and_refreshes_the_live_part(center):
    store, planner = center.store, center.planner
    planner.run_once(NOW)
    assert planner.last_timings_ms["full"] == 1.0
    store.write_snapshot({"generated_ms": NOW, "queues": [
        {"id": "claims", "now": {"agents": {"available": 2, "on_call": 3, "acw": 1, "aux": 1, "logged_in": 7}},
         "projection": None},
        {"id": "billing", "now": {"agents": {"available": 1, "on_call": 1, "acw": 0, "aux": 0, "logged_in": 2}},
         "projection": {"patience_s": 181.2}}]}, {}, NOW)
    view = planner.run_once(NOW + 2000)
    assert planner.last_timings_ms["full"] == 0.0  # same inputs: the plan is reused
    claims = next(q for q in view["queues"] if q["id"] == "claims")
    assert claims["now"]["present"] == 6 and claims["now"]["logged_in"] == 7
    # Learned patience, rounded to 5 s, is an input: 181.2 s → 180 s is the same plan ...
    store.write_snapshot({"generated_ms": NOW, "queues": [
        {"id": "billing", "now": {"agents": {}}, "projection": {"patience_s": 243.0}}]}, {}, NOW)
    planner.run_once(NOW + 4000)
    assert planner.last_timings_ms["full"] == 1.0  # ... 243 s → 245 s is not
    assert ops.read_queue_plan(store, "billing")["config"]["patience_s"] == 245.0
    assert_plan(store, schedule(), patience=245.0)


# ------------------------------------------------------------------------------ overlays
def test_overlays_change_the_reforecast_and_are_listed_and_removable(center):
    store, planner = center.store, center.planner
    planner.run_once(NOW)
    overlay = ops.add_overlay(store, "claims", h(10, 30), h(11), 1.5, label="storm", user="boss", now_ms=NOW)
    assert [o["id"] for o in ops.list_overlays(store, D)] == [overlay["id"]]
    planner.run_once(NOW + 1000)
    c = columns(store, "claims")
    assert c["reforecast"][42:44].tolist() == [36.0, 36.0]  # 20 x 1.2 x 1.5
    assert c["reforecast"][44] == 24.0
    assert_plan(store, schedule(), overlays=[Overlay(0, 42, 44, 1.5, label="storm")])
    ex = ops.read_queue_plan(store, "claims")["explain"]
    assert [o["label"] for o in ex["overlays"]] == ["storm"]
    with pytest.raises(ops.IntradayError):
        ops.add_overlay(store, "claims", h(11), h(10), 1.5, user="boss", now_ms=NOW)
    with pytest.raises(ops.IntradayError):
        ops.add_overlay(store, "nowhere", h(10), h(11), 1.5, user="boss", now_ms=NOW)
    ops.remove_overlay(store, overlay["id"], user="boss", now_ms=NOW)
    planner.run_once(NOW + 2000)
    assert columns(store, "claims")["reforecast"][42] == 24.0
    with pytest.raises(ops.UnknownItem):
        ops.remove_overlay(store, overlay["id"], user="boss", now_ms=NOW)


# ------------------------------------------------------------------------------ apply / undo
def test_overtime_applied_and_undone_through_redis(center):
    store, planner = center.store, center.planner
    view = planner.run_once(NOW)
    action = action_of(view, "overtime")
    # By hand: v1's shift ends at 11:00 next to billing's deficit; the limit is 60 minutes.
    assert action["agents"] == ["v1"] and (action["start_ms"], action["end_ms"]) == (h(11), h(12))
    entry = ops.apply_action(store, action["id"], "boss", NOW + 1000)
    assert read_agent_schedule(store, D, "v1") == [Segment("v1", "open", h(8), h(12))]
    after = planner.run_once(NOW + 2000)
    assert action["id"] not in {a["id"] for a in after["actions"]}
    new = schedule() | {"v1": shift("v1")}
    assert_plan(store, new)
    assert_effects_hold(store, action)
    audit = ops.list_audit(store, D)
    assert [(a["id"], a["who"], a["kind"], a["state"]) for a in audit] == [(entry["id"], "boss", "overtime", "applied")]
    assert audit[0]["edits"][0]["before"] == [["open", h(8), h(11)]]

    ops.undo_action(store, entry["id"], "sam", NOW + 3000)
    assert read_agent_schedule(store, D, "v1") == schedule()["v1"]
    planner.run_once(NOW + 4000)
    assert_plan(store, schedule())
    assert ops.list_audit(store, D)[0]["state"] == "undone" and ops.list_audit(store, D)[0]["undone_by"] == "sam"
    with pytest.raises(ops.IntradayError, match="already undone"):
        ops.undo_action(store, entry["id"], "boss", NOW + 5000)


def test_a_move_pins_the_agents_to_the_queue(center):
    store, planner = center.store, center.planner
    view = planner.run_once(NOW)
    move = action_of(view, "move")
    assert move["to_queue"] == "claims" and move["from_queue"] == "billing" and set(move["agents"]) == {"m1", "m2"}
    entry = ops.apply_action(store, move["id"], "boss", NOW)
    assert read_agent_schedule(store, D, "m1") == schedule()["m1"]  # a move changes no activity
    pins = ops.list_pins(store, D)
    assert {(p["agent"], p["queue"]) for p in pins} == {("m1", "claims"), ("m2", "claims")}
    planner.run_once(NOW + 1000)
    assert_effects_hold(store, move)
    assert_plan(store, schedule(), pinned=[("m1", "claims", h(10), h(12)), ("m2", "claims", h(10), h(12))])
    ops.undo_action(store, entry["id"], "boss", NOW + 2000)
    assert ops.list_pins(store, D) == []
    planner.run_once(NOW + 3000)
    assert_plan(store, schedule())


def test_a_training_postponed_to_another_day(center):
    store, planner = center.store, center.planner
    action = action_of(planner.run_once(NOW), "postpone")
    assert action["agents"] == ["m2"]
    ops.apply_action(store, action["id"], "boss", NOW)
    assert read_agent_schedule(store, D, "m2") == [Segment("m2", "open", h(8), h(12))]
    planner.run_once(NOW + 1000)
    assert_plan(store, schedule() | {"m2": shift("m2")})
    assert_effects_hold(store, action)


def test_stale_and_unknown_actions_are_refused(center):
    store, planner = center.store, center.planner
    view = planner.run_once(NOW)
    action = action_of(view, "overtime")
    with pytest.raises(ops.UnknownItem):
        ops.apply_action(store, "nope", "boss", NOW)
    ops.add_overlay(store, "billing", h(11), h(12), 1.1, user="boss", now_ms=NOW)  # the plan moves on
    with pytest.raises(ops.StaleAction, match="plan changed"):
        ops.apply_action(store, action["id"], "boss", NOW)
    with pytest.raises(ops.StaleAction, match="interval"):
        ops.apply_action(store, action["id"], "boss", NOW + IV_MS)
    fresh = action_of(planner.run_once(NOW + 1000), "overtime")
    ops.apply_action(store, fresh["id"], "boss", NOW + 1000)
    with pytest.raises(ops.UnknownItem):  # applied: no longer offered
        ops.apply_action(store, fresh["id"], "boss", NOW + 1000)
    assert read_agent_schedule(store, D, "v1")[-1].end_ms == h(12)


# ------------------------------------------------------------------------------ what-if
def test_what_if_equals_the_pure_core(center):
    store, planner = center.store, center.planner
    planner.run_once(NOW)
    res = ops.what_if(store, "claims", h(10, 30), h(11, 30), agents_delta=2, volume_multiplier=1.1)
    rf, agents, _ = direct(schedule())
    expect = direct_what_if(rf.calls[:1, NOW_IV:], rf.aht_s[:1, NOW_IV:], np.round(agents[:1], 2), queue=0,
                            start_iv=2, end_iv=6, agents_delta=2, volume_multiplier=1.1, interval_s=900.0,
                            threshold_s=20.0, target_sl=0.8, model=["erlang_c"], patience_s=None,
                            sl_formula=["excl_short"], short_abandon_s=5.0, fractional=True)
    got_after = np.array([r["sl_after"] for r in res["rows"][:8]], dtype=float)
    np.testing.assert_allclose(got_after, np.round(expect.after.service_level[0, :8], 4), atol=1e-9)
    assert [r["in_range"] for r in res["rows"][:8]] == [False, False, True, True, True, True, False, False]
    assert res["sl_after"] > res["sl_before"]
    with pytest.raises(ops.IntradayError):
        ops.what_if(store, "claims", h(11), h(10))


# ------------------------------------------------------------------------------ baseline
def test_without_a_forecast_the_baseline_comes_from_history(redis_client, key_prefix, tmp_path: Path):
    queues = tmp_path / "queues.toml"
    queues.write_text('[queues.sales]\nmodel = "erlang_c"\n', encoding="utf-8")
    settings = load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix, "FLOORBOARD_QUEUES_FILE": str(queues)})
    store = Store(redis_client, settings)
    history = History(f"sqlite:///{tmp_path / 'history.db'}")
    # Three past Mondays (same weekday): 10, 12 and 100 calls at 09:00, AHT 200 s; 5 at 09:15 once.
    rows = []
    for weeks, calls in ((1, 10), (2, 12), (3, 100)):
        day0 = DAY0 - weeks * 7 * 86_400_000
        day = (DAY_DATE - timedelta(weeks=weeks)).isoformat()
        rows.append({"queue": "sales", "interval_start_ms": day0 + 36 * IV_MS, "day": day, "offered": calls,
                     "handled": calls, "talk_ms": calls * 200_000})
    rows.append({"queue": "sales", "interval_start_ms": DAY0 - 7 * 86_400_000 + 37 * IV_MS,
                 "day": (DAY_DATE - timedelta(weeks=1)).isoformat(), "offered": 5, "handled": 5, "talk_ms": 5 * 200_000})
    history.upsert_queue_intervals([{f: 0 for f in ("answered", "answered_within_t", "abandoned", "abandoned_short",
                                                    "abandoned_within_t", "wait_answered_ms", "wait_abandoned_ms",
                                                    "hold_ms", "acw_ms", "transfers", "missed")} | r for r in rows], NOW)
    write_schedule_days(store, {D: {"s1": shift("s1")}})
    write_roster(store, [RosterAgent("s1", skills=("sales",))], replace=True)
    view = IntradayPlanner(store, history).run_once(h(8, 0, 5))
    assert view["sources"] == {"sales": "baseline"}
    plan = ops.read_queue_plan(store, "sales")
    cols = plan["columns"]
    at = {s: i for i, s in enumerate(cols["start_ms"])}
    assert cols["forecast"][at[h(9)]] == 12.0  # the median of 10, 12, 100
    assert cols["forecast"][at[h(9, 15)]] == 0.0  # 5, 0, 0
    assert cols["forecast_aht"][at[h(9)]] == 200.0
    assert plan["explain"]["baseline"]["days_known"] == 3
    assert plan["explain"]["baseline"]["method"] == "baseline_median_same_weekday"
