"""The adherence page's and the self-view's presenters, on hand-made engine views."""

from __future__ import annotations

from app.figures import adherence_timeline_figure
from app.presenters.adherence import adherence_model, timeline_segments
from app.presenters.agent_adherence import agent_adherence_model

TZ = "UTC"
NOW = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def _exc(agent: str, team: str, severity: str, impact: str, out_min: float) -> dict:
    return {"agent": agent, "name": agent.title(), "team": team, "supervisor": "sue", "queues": ["sales"],
            "scheduled": "open", "scheduled_start_ms": NOW - 3_600_000, "scheduled_end_ms": NOW + 600_000,
            "actual_state": "aux", "actual_reason": "personal", "out_since_ms": NOW - int(out_min * 60_000),
            "out_s": out_min * 60, "grace_s": 300, "severity": severity, "impact": impact, "impact_score": 1.0}


VIEW = {
    "generated_ms": NOW,
    "day": "2023-11-14",
    "exceptions": [_exc("ann", "red", "critical", "hurts", 17), _exc("bob", "blue", "warning", "neutral", 6)],
    "teams": {"red": {"agents": 10, "adherence_pct": 0.9312, "conformance_pct": 1.02, "out_now": 1},
              "blue": {"agents": 8, "adherence_pct": 0.97, "conformance_pct": 0.99, "out_now": 1}},
    "totals": {"agents": 18, "adherence_pct": 0.95, "conformance_pct": 1.0},
}


def test_empty_view_explains_how_to_get_adherence():
    model = adherence_model(None, [], team=None, now_ms=NOW, tz=TZ)
    assert model["kind"] == "empty" and "import schedule" in model["detail"]


def test_rows_keep_engine_order_and_count_time_out_from_the_clock():
    model = adherence_model(VIEW, [], team=None, now_ms=NOW + 60_000, tz=TZ)
    assert [r["agent"] for r in model["rows"]] == ["ann", "bob"]
    ann = model["rows"][0]
    assert ann["out"] == "18:00" and ann["actual"] == "Aux: Personal" and ann["scheduled"] == "Open until 22:23"
    assert ann["severity"]["word"] == "Critical" and ann["impact"]["word"] == "Hurts SL"
    assert model["stats"][0]["value"] == "2" and model["stats"][0]["level"] == "critical"
    assert model["stats"][1]["value"] == "1"
    assert model["stats"][2]["value"] == "95.0\u202f%"


def test_team_filter_and_team_totals():
    model = adherence_model(VIEW, [], team="blue", now_ms=NOW, tz=TZ)
    assert [r["agent"] for r in model["rows"]] == ["bob"]
    assert model["stats"][2]["value"] == "97.0\u202f%"
    assert {"label": "red", "value": "red"} in model["team_options"]
    assert model["teams"][0]["team"] == "blue"


def test_alert_state_shows_on_the_row():
    alerts = [
        {"id": "a1", "kind": "agent", "subject": "ann", "state": "acknowledged", "acked_by": "sue", "snoozed_until_ms": None},
        {"id": "a2", "kind": "agent", "subject": "bob", "state": "open", "snoozed_until_ms": NOW + 900_000},
    ]
    rows = adherence_model(VIEW, alerts, team=None, now_ms=NOW, tz=TZ)["rows"]
    assert rows[0]["alert"] == {"id": "a1", "state": "acknowledged", "text": "Acknowledged by sue"}
    assert rows[1]["alert"]["state"] == "snoozed" and rows[1]["alert"]["text"] == "Snoozed until 22:28"


def test_timeline_figure_has_a_scheduled_and_an_actual_row():
    planned, actual = timeline_segments(
        [{"activity": "open", "start_ms": NOW - 7_200_000, "end_ms": NOW - 3_600_000},
         {"activity": "break", "start_ms": NOW - 3_600_000, "end_ms": NOW - 2_700_000}],
        [{"state": "available", "reason": None, "start_ms": NOW - 7_000_000, "end_ms": NOW - 3_000_000},
         {"state": "aux", "reason": "break", "start_ms": NOW - 3_000_000, "end_ms": NOW}],
    )
    fig = adherence_timeline_figure(planned, actual, tz=TZ, now_ms=NOW, uirevision="t")
    rows = {tuple(t.y)[0] for t in fig.data}
    assert rows == {"Scheduled", "Actual"}
    names = {t.name for t in fig.data}
    assert {"Open", "Break", "Available", "Aux: Break"} <= names


def test_self_view_warns_when_out_of_adherence():
    own = {"scheduled": "open", "next": {"activity": "lunch", "start_ms": NOW + 1_800_000}, "adhering": False,
           "out_since_ms": NOW - 420_000, "severity": "warning", "adherence_pct": 0.9, "conformance_pct": 0.95,
           "segments": [{"activity": "open", "start_ms": NOW - 3_600_000, "end_ms": NOW + 1_800_000},
                        {"activity": "lunch", "start_ms": NOW + 1_800_000, "end_ms": NOW + 3_600_000}]}
    model = agent_adherence_model(own, now_ms=NOW, tz=TZ)
    assert model["warning"].startswith("You are out of adherence: scheduled Open since 22:06")
    assert model["next"] == "Lunch at 22:43 (in 30:00)"
    assert model["segments"][0]["now"] and not model["segments"][1]["now"]
    assert agent_adherence_model({**own, "severity": None}, now_ms=NOW, tz=TZ)["warning"] is None
    assert agent_adherence_model(None, now_ms=NOW, tz=TZ)["kind"] == "empty"


def test_a_supervisor_sees_their_teams_only_with_totals_summed_from_seconds():
    teams = {"red": {"agents": 2, "scheduled_s": 1000, "out_beyond_grace_s": 100, "scheduled_on_queue_s": 800,
                     "worked_on_queue_s": 760, "adherence_pct": 0.9, "conformance_pct": 0.95, "out_now": 1},
             "blue": {"agents": 1, "scheduled_s": 3000, "out_beyond_grace_s": 0, "scheduled_on_queue_s": 3000,
                      "worked_on_queue_s": 3000, "adherence_pct": 1.0, "conformance_pct": 1.0, "out_now": 1}}
    view = {**VIEW, "teams": teams}
    model = adherence_model(view, [], team=None, now_ms=NOW, tz=TZ,
                            can_see=lambda kind, value: value in ("red", "ann"))
    assert [r["agent"] for r in model["rows"]] == ["ann"] and [t["team"] for t in model["teams"]] == ["red"]
    assert model["stats"][2]["value"] == "90.0\u202f%"  # red alone: 1 − 100 / 1,000, not the floor's figure
