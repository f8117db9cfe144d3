"""Presenters: formatting, status thresholds, tiles, staleness, groups, alerts, queue and agent views."""

from __future__ import annotations

import math

import pytest

from app.presenters import format as fmt
from app.presenters.agent import (
    DEFAULT_AGENT_TARGETS,
    agent_model,
    kpi_cards,
    own_values,
    state_breakdown,
    versus_median,
    versus_target,
)
from app.presenters.index import index_model
from app.presenters.queue import agent_rows, day_rows, queue_model, waiting_rows
from app.presenters.status import CRITICAL, NONE, OK, WARNING, sl_level, wait_level, worst
from app.presenters.wallboard import (
    density,
    freshness,
    grid_shape,
    queue_alerts,
    select_queues,
    sl_caption,
    tile,
    wallboard_model,
)

NOW = 1_764_000_000_000
CFG = {"id": "sales", "name": "Sales", "sl_threshold_s": 20.0, "short_abandon_s": 5.0, "sl_target": 0.8, "sl_formula": "excl_short",
       "sl_warning": 0.8, "sl_critical": 0.7, "wait_warning_s": 60.0, "wait_critical_s": 120.0, "groups": ["front"]}


def kpis(**over):
    base = {"offered": 12.0, "answered": 10.0, "abandoned": 1.0, "abandoned_short": 0.0, "service_level": 0.83,
            "asa_s": 12.3, "abandon_rate": 0.05, "aht_s": 250.0, "occupancy": 0.85}
    return base | over


def queue(qid="sales", waiting=3, longest=42.0, sl=0.83, available=2, aux_reasons=None, aux=2, name=None, **cfg):
    return {
        "id": qid,
        "config": CFG | {"id": qid, "name": name if name is not None else qid.title()} | cfg,
        "now": {"waiting": waiting, "longest_wait_s": longest, "waiting_over_t": 1, "service_level": sl,
                "agents": {"available": available, "on_call": 5, "acw": 1, "aux": aux, "logged_in": 10,
                           "aux_reasons": {"break": 1, "lunch": 1} if aux_reasons is None else aux_reasons}},
        "interval": kpis(service_level=sl),
        "today": kpis(service_level=0.9),
        "projection": None,
    }


def snapshot(*queues, generated_ms=NOW, groups=None):
    return {"generated_ms": generated_ms, "tick_s": 2.0, "interval_min": 15, "day": "2025-11-24", "timezone": "Europe/Paris",
            "queues": list(queues), "groups": groups if groups is not None else {"front": ["sales", "billing"], "back": ["support"]}}


# ----------------------------------------------------------------------------- formatting
@pytest.mark.parametrize(
    ("fn", "value", "text"),
    [
        (fmt.pct, None, "—"), (fmt.pct, math.nan, "—"), (fmt.pct, 0.834, "83\u202f%"), (fmt.pct, 0.0, "0\u202f%"),
        (fmt.clock, None, "—"), (fmt.clock, 42, "0:42"), (fmt.clock, 151.9, "2:31"), (fmt.clock, 3723, "1:02:03"),
        (fmt.secs, None, "—"), (fmt.secs, 12.3, "12\u202fs"), (fmt.secs, 150, "2:30"),
        (fmt.count, None, "—"), (fmt.count, 3.0, "3"),
        (fmt.age, 42.7, "42\u202fs"), (fmt.age, 300, "5\u202fmin"), (fmt.age, 10_800, "3\u202fh"),
    ],
)
def test_formatting_shows_a_dash_never_nan_or_zero_for_undefined(fn, value, text):
    assert fn(value) == text


def test_humanize_and_local_time():
    assert fmt.humanize("on_call") == "On call"
    assert fmt.humanize("aux:break") == "Break"
    assert fmt.humanize("acw") == "ACW"
    assert fmt.local_time(NOW, "Europe/Paris", "%H:%M") == "17:00"
    assert fmt.local_iso(NOW, "UTC") == "2025-11-24T16:00:00"


# ----------------------------------------------------------------------------- status
@pytest.mark.parametrize(("sl", "level"), [(None, NONE), (0.95, OK), (0.80, OK), (0.79, WARNING), (0.70, WARNING), (0.69, CRITICAL)])
def test_sl_level_uses_the_queue_thresholds(sl, level):
    assert sl_level(sl, CFG) == level


@pytest.mark.parametrize(("wait", "level"), [(None, NONE), (0, OK), (60, OK), (61, WARNING), (120, WARNING), (121, CRITICAL)])
def test_wait_level_uses_the_queue_thresholds(wait, level):
    assert wait_level(wait, CFG) == level


def test_thresholds_are_per_queue():
    strict = CFG | {"wait_warning_s": 10.0, "wait_critical_s": 20.0, "sl_warning": 0.95, "sl_critical": 0.9}
    assert wait_level(30, strict) == CRITICAL
    assert sl_level(0.92, strict) == WARNING


def test_worst_level():
    assert worst([OK, WARNING, NONE]) == WARNING
    assert worst([OK, CRITICAL, WARNING]) == CRITICAL
    assert worst([NONE]) == NONE


# ----------------------------------------------------------------------------- wallboard
def test_tile_numbers_and_levels():
    t = tile(queue(waiting=3, longest=75.0, sl=0.83))
    assert t["name"] == "Sales"
    assert t["waiting"] == {"value": "3", "level": WARNING}
    assert t["longest"] == {"value": "1:15", "level": WARNING}
    assert t["sl_now"] == {"value": "83\u202f%", "level": OK}
    assert t["sl_today"]["value"] == "90\u202f%"
    assert t["asa"] == "12\u202fs"
    assert t["abandon"] == "5.0\u202f%"
    assert t["level"] == WARNING
    assert t["badge"] == {"level": WARNING, "icon": "▲", "word": "Warning"}


def test_tile_without_calls_shows_dashes_not_zero_percent():
    q = queue(waiting=0, longest=0.0, sl=None)
    q["today"] = kpis(service_level=None, asa_s=None, abandon_rate=None)
    t = tile(q)
    assert t["sl_now"] == {"value": "—", "level": NONE}
    assert t["sl_today"]["value"] == "—"
    assert t["asa"] == "—"
    assert t["abandon"] == "—"
    assert t["longest"]["value"] == "0:00"
    assert t["level"] == OK


def test_callers_waiting_with_nobody_available_is_critical():
    t = tile(queue(waiting=2, longest=5.0, sl=0.95, available=0))
    assert t["nobody_available"] is True
    assert t["level"] == CRITICAL


def test_tile_lists_agents_by_state_and_each_aux_reason():
    chips = tile(queue(aux=3, aux_reasons={"break": 1, "lunch": 1}))["agents"]
    assert [(c["label"], c["value"]) for c in chips] == [
        ("Available", 2), ("On call", 5), ("ACW", 1), ("Break", 1), ("Lunch", 1), ("Aux", 1),
    ]


def test_sl_caption_names_threshold_and_formula():
    assert sl_caption(CFG) == "SL: T = 20\u202fs · S = 5\u202fs · answered ≤ T ÷ (answered + abandoned − abandoned < S)"
    assert sl_caption(CFG | {"sl_formula": "of_answered", "sl_threshold_s": 30.0}) == "SL: T = 30\u202fs · answered ≤ T ÷ answered"


def test_freshness_is_stale_after_three_ticks():
    assert freshness(NOW - 6000, NOW, 2.0)["stale"] is False
    late = freshness(NOW - 42_000, NOW, 2.0)
    assert late["stale"] is True
    assert late["text"] == "Data 42\u202fs old — engine not responding"
    assert freshness(None, NOW, 2.0)["stale"] is False


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (2, (2, 1)), (4, (2, 2)), (6, (3, 2)), (12, (4, 3)), (40, (7, 6))])
def test_grid_shape_fills_a_16_by_9_screen(n, shape):
    cols, rows = grid_shape(n)
    assert (cols, rows) == shape
    assert cols * rows >= n


def test_density_classes():
    assert [density(n) for n in (1, 3, 6, 12, 20, 40)] == ["xl", "l", "m", "s", "xs", "xxs"]


def test_tiles_keep_configured_order_and_group_order():
    snap = snapshot(queue("billing"), queue("sales"), queue("support", waiting=9, longest=300))
    model = wallboard_model(snap, now_ms=NOW, tick_s=2.0)
    assert [t["id"] for t in model["tiles"]] == ["billing", "sales", "support"]  # never re-sorted by severity
    front = wallboard_model(snap, now_ms=NOW, tick_s=2.0, group="front")
    assert [t["id"] for t in front["tiles"]] == ["sales", "billing"]
    assert front["title"] == "front"


def test_unknown_group_is_an_empty_state_naming_known_groups():
    model = wallboard_model(snapshot(queue()), now_ms=NOW, tick_s=2.0, group="night")
    assert model["kind"] == "empty"
    assert "front, back" in model["detail"]


def test_rotation_cycles_through_groups():
    snap = snapshot(queue("sales"), queue("billing"), queue("support"))
    seen = [select_queues(snap, None, 30, NOW + i * 30_000)["title"] for i in range(4)]
    assert sorted(set(seen)) == ["back", "front"]
    assert seen[0] != seen[1] and seen[0] == seen[2]
    assert select_queues(snap, None, 30, NOW)["rotation"]["names"] == ["front", "back"]
    # An explicit group wins over rotation; no groups configured: all queues.
    assert select_queues(snap, "back", 30, NOW)["title"] == "back"
    assert select_queues(snapshot(queue(), groups={}), None, 30, NOW)["title"] == "All queues"


def test_empty_states():
    assert wallboard_model(None, now_ms=NOW, tick_s=2.0)["message"] == "No data yet"
    assert wallboard_model(snapshot(), now_ms=NOW, tick_s=2.0)["message"] == "No queues yet"


def test_stale_board_keeps_tiles_and_pauses_alerts():
    snap = snapshot(queue(waiting=5, longest=300, available=0), generated_ms=NOW - 10_000)
    model = wallboard_model(snap, now_ms=NOW, tick_s=2.0)
    assert model["kind"] == "stale"
    assert len(model["tiles"]) == 1
    assert model["alerts"] == []
    assert model["fresh"]["text"] == "Data 10\u202fs old — engine not responding"
    fresh = wallboard_model(snap, now_ms=NOW - 9_000, tick_s=2.0)
    assert fresh["kind"] == "live"


def test_alerts_from_snapshot_conditions_most_severe_first():
    snap = snapshot(
        queue("sales", waiting=0, longest=0, sl=0.75),  # below target, above critical → warning
        queue("support", waiting=4, longest=150, sl=0.5, available=0),
        queue("billing", waiting=1, longest=10, sl=0.9),
    )
    alerts = queue_alerts(snap["queues"])
    assert [(a["queue"], a["level"]) for a in alerts] == [
        ("Support", CRITICAL), ("Support", CRITICAL), ("Support", CRITICAL), ("Sales", WARNING),
    ]
    texts = " | ".join(a["text"] for a in alerts)
    assert "SL 50\u202f% below target 80\u202f%" in texts
    assert "longest wait 2:30 over 2:00" in texts
    assert "4 waiting, no agent available" in texts


def test_index_links():
    model = index_model(snapshot(queue("sales"), queue("a b")), {})
    assert model["groups"][0] == {"name": "front", "href": "/wallboard/front", "queues": "sales, billing"}
    assert [q["href"] for q in model["queues"]] == ["/queues/sales", "/queues/a%20b"]
    assert index_model(None, {"g": ["x"]})["groups"][0]["name"] == "g"


# ----------------------------------------------------------------------------- queue page
AGENTS = [
    {"agent": "a1", "state": "available", "reason": None, "since_ms": 0, "time_in_state_s": 30.0},
    {"agent": "a2", "state": "aux", "reason": "break", "since_ms": 0, "time_in_state_s": 100.0},
    {"agent": "a3", "state": "aux", "reason": "lunch", "since_ms": 0, "time_in_state_s": 900.0},
    {"agent": "a4", "state": "on_call", "reason": None, "since_ms": 0, "time_in_state_s": 600.0},
]


def test_agent_rows_longest_in_aux_first():
    rows = agent_rows(AGENTS)
    assert [r["agent"] for r in rows] == ["a3", "a2", "a4", "a1"]
    assert rows[0]["state"] == "Aux" and rows[0]["reason"] == "Lunch" and rows[0]["time_in_state"] == "15:00"


def test_agent_rows_sort_by_time_numerically_not_as_text():
    rows = agent_rows(AGENTS, [{"column_id": "time_in_state", "direction": "desc"}])
    assert [r["agent"] for r in rows] == ["a3", "a4", "a2", "a1"]  # "15:00" > "10:00" > "1:40"
    rows = agent_rows(AGENTS, [{"column_id": "agent", "direction": "asc"}])
    assert [r["agent"] for r in rows] == ["a1", "a2", "a3", "a4"]


def test_waiting_rows_longest_first_with_levels():
    rows = waiting_rows([{"call": "c1", "wait_s": 10}, {"call": "c2", "wait_s": 130}, {"call": "c3", "wait_s": 70}], CFG)
    assert [(r["call"], r["wait"], r["level"]) for r in rows] == [("c2", "2:10", CRITICAL), ("c3", "1:10", WARNING), ("c1", "0:10", OK)]


def test_day_rows_trim_the_empty_night_and_the_future():
    rows = [{"start_ms": NOW + i * 900_000, "label": str(i), "offered": 1.0 if i in (3, 5) else 0.0} for i in range(10)]
    trimmed = day_rows(rows, NOW + 6 * 900_000)
    assert [r["label"] for r in trimmed] == ["3", "4", "5", "6"]
    assert [r["label"] for r in day_rows([dict(r, offered=0) for r in rows], NOW + 6 * 900_000)] == ["3", "4", "5", "6"]


def test_queue_model_and_unknown_queue():
    view = {"queue": "sales", "config": CFG, "intervals": [dict(kpis(), start_ms=NOW, label="17:00")], "agents": AGENTS,
            "waiting": [{"call": "c1", "enter_ms": NOW, "wait_s": 75.0}]}
    model = queue_model(view, now_ms=NOW)
    stats = {s["label"]: s for s in model["stats"]}
    assert stats["Waiting"]["value"] == "1" and stats["Waiting"]["level"] == WARNING
    assert stats["Longest wait"]["value"] == "1:15"
    assert stats["Offered today"]["value"] == "12"
    assert stats["Aux"]["value"] == "2"
    assert model["title"] == "Sales"
    assert queue_model(None, now_ms=NOW)["kind"] == "empty"


# ----------------------------------------------------------------------------- agent page
VIEW = {
    "agent": "a7", "state": "aux", "reason": "break", "since_ms": NOW - 90_000, "time_in_state_s": 90.0, "queues": ["sales"],
    "today": {"handled": 10.0, "answered": 10.0, "talk_ms": 2_000_000, "hold_ms": 200_000, "acw_ms": 500_000, "missed": 1.0,
              "transfers": 0.0, "aht_s": 270.0, "occupancy": 0.9,
              "state_s": {"available": 1200.0, "on_call": 2000.0, "acw": 500.0, "aux:break": 90.0, "logged_out": 10.0}},
    "timeline": [{"start_ms": NOW - 3_600_000, "end_ms": NOW - 90_000, "state": "available", "reason": None}],
    "team": {"size": 12, "median": {"handled": 8.0, "aht_s": 300.0, "occupancy": 0.9, "acw_s_per_call": 40.0,
                                    "hold_s_per_call": 20.0, "missed": 0.0, "transfers": None}},
}


def test_own_values_per_call():
    values = own_values(VIEW["today"])
    assert values["acw_s_per_call"] == 50.0
    assert values["hold_s_per_call"] == 20.0
    assert own_values({"handled": 0, "acw_ms": 0})["acw_s_per_call"] is None


def test_versus_target_and_median():
    assert versus_target(270, 300, lower_is_better=True) == OK
    assert versus_target(330, 300, lower_is_better=True) == WARNING
    assert versus_target(0.9, 0.85, lower_is_better=False) == OK
    assert versus_target(None, 300, lower_is_better=True) == NONE
    assert versus_median(10, 8, lower_is_better=False)["relation"] == "better"
    assert versus_median(330, 300, lower_is_better=True) == {"relation": "worse", "icon": "▲", "word": "behind team"}
    assert versus_median(301, 300, lower_is_better=True)["relation"] == "same"
    assert versus_median(3, None, lower_is_better=True)["relation"] == "none"


def test_kpi_cards_against_target_and_team_median():
    cards = {c["key"]: c for c in kpi_cards(VIEW)}
    assert list(cards) == ["handled", "aht_s", "acw_s_per_call", "hold_s_per_call", "transfers", "missed", "occupancy"]
    assert cards["aht_s"]["value"] == "4:30" and cards["aht_s"]["target"] == "5:00" and cards["aht_s"]["vs_target"] == OK
    assert cards["aht_s"]["median"] == "5:00" and cards["aht_s"]["vs_median"]["relation"] == "better"
    assert cards["missed"]["vs_target"] == WARNING  # one missed call against a target of zero
    assert cards["transfers"]["median"] == "—"
    assert cards["handled"]["target"] == "—"  # no sensible whole-day target mid-day
    assert DEFAULT_AGENT_TARGETS["occupancy"] == 0.85
    overridden = {c["key"]: c for c in kpi_cards(VIEW | {"targets": {"aht_s": 240.0}})}
    assert overridden["aht_s"]["vs_target"] == WARNING


def test_agent_model_never_names_other_agents():
    model = agent_model(VIEW, agent="a7")
    assert model["state"] == "Aux" and model["reason"] == "Break" and model["time_in_state"] == "1:30"
    assert model["team"] == "Team median of 12 agents"
    assert "a1" not in repr(model) and "a2" not in repr(model)


def test_state_breakdown_largest_first_without_logged_out():
    rows = state_breakdown(VIEW["today"]["state_s"])
    assert [(r["label"], r["value"]) for r in rows] == [("On call", "33:20"), ("Available", "20:00"), ("ACW", "8:20"), ("Break", "1:30")]
    assert rows[-1]["key"] == "aux"


def test_agent_empty_states():
    assert agent_model(None, agent=None)["message"] == "Which agent?"
    assert agent_model(None, agent="zz")["message"] == "No data for agent zz"
