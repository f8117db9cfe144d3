"""The intraday and firefighting view models, forms and figures (pure)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.figures import intraday_figure, what_if_figure
from app.presenters import render_intraday
from app.presenters.intraday import (
    action_rows,
    audit_rows,
    explanation,
    firefight_model,
    intraday_model,
    local_ms,
    parse_percent,
    parse_range,
    sl_level,
    window_status,
)

TZ = "Europe/Paris"


def ms(day: str, hh: int, mm: int = 0, tz: str = TZ) -> int:
    d = datetime.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, hh, mm, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


NOW = ms("2026-03-10", 10, 5)


def ratio(r: float, **kw) -> dict:
    base = {"ratio": r, "raw_ratio": r, "actual_weighted": 113.13, "forecast_weighted": 94.28, "actual_total": 192.0,
            "forecast_total": 160.0, "n_used": 8, "met_minimum": True, "capped": False, "cap": [0.5, 2.0],
            "weights": {}, "reason": f"volume ratio {r:.3f} from 8 closed intervals"}
    return base | kw


def explain(**kw) -> dict:
    return {"method": "trend_to_date_ratio", "order": "forecast x ratio, then x overlays", "half_life_intervals": 4.0,
            "min_closed": 4, "n_closed": 40, "volume": ratio(1.2), "aht": ratio(1.0, actual_total=34560.0),
            "overlays": [], "source": "imported"} | kw


def summary(qid: str, risk: float, sl: float | None = 0.6) -> dict:
    return {"id": qid, "name": qid.capitalize(), "source": "imported", "target": 0.8, "risk": risk, "calls_next": 100,
            "next": [{"start_ms": NOW, "label": "10:00", "sl": sl, "calls": 24, "gap": -1.0},
                     {"start_ms": NOW + 900_000, "label": "10:15", "sl": 0.75, "calls": 24, "gap": -0.2}],
            "now": {"required": 7.15, "scheduled": 5.29, "projected_sl": sl, "volume_ratio": 1.2, "aht_ratio": 1.0,
                    "present": 6, "logged_in": 7, "out_of_adherence": 1, "adhering": 5}}


ACTION = {"id": "a1", "kind": "move", "text": "Move 2 agents from billing to claims 10:00–12:00", "score": 36.91,
          "paid_hours": 0.0, "alternatives": [], "queues": ["billing", "claims"],
          "effects": [{"queue": "claims", "start_ms": NOW, "label": "10:00", "calls": 24.0, "agents_before": 5.29,
                       "agents_after": 6.0, "sl_before": 0.24, "sl_after": 0.55},
                      {"queue": "claims", "start_ms": NOW, "label": "10:15", "calls": 48.0, "agents_before": 4.6,
                       "agents_after": 5.0, "sl_before": 0.0, "sl_after": 0.12},
                      {"queue": "billing", "start_ms": NOW, "label": "10:00", "calls": 10.0, "agents_before": 4.7,
                       "agents_after": 4.0, "sl_before": 0.87, "sl_after": 0.78}]}


def view(queues: list[dict] | None = None, actions: list[dict] | None = None) -> dict:
    return {"day": "2026-03-10", "interval_min": 15, "generated_ms": NOW - 1000, "computed_ms": NOW - 5000,
            "queues": queues if queues is not None else [summary("claims", 70.0), summary("billing", 2.0, 0.9)],
            "actions": [ACTION] if actions is None else actions, "actions_problem": None}


PLAN = {"queue": "claims", "now_index": 2, "rest_from": 2, "explain": explain(),
        "accuracy": {"today": {"wape": 1 / 6, "bias": -4.0, "n": 8}, "days": [{"day": "2026-03-09", "wape": 0.08,
                                                                               "bias": 1.5, "n": 40}]},
        "columns": {"start_ms": [NOW - 1_800_000, NOW - 900_000, NOW, NOW + 900_000],
                    "label": ["09:30", "09:45", "10:00", "10:15"], "forecast": [20, 20, 20, 20],
                    "reforecast": [24, 24, 24, 24], "actual": [24, 25, None, None], "required": [None, None, 7.15, 7.15],
                    "scheduled": [None, None, 5.29, 4.64], "gap": [None, None, -1.86, -2.51],
                    "projected_sl": [None, None, 0.24, 0.08], "overlay": [1, 1, 1, 1]}}


def test_explanation_says_method_ratios_inputs_cap_and_minimum():
    e = explanation(explain(), 15, TZ)
    assert "Trend-to-date ratio" in e["method"] and "forecast × ratio, then × overlays" in e["method"]
    assert e["source"] == "Imported forecast"
    vol = e["lines"][0]
    for words in ("Volume ratio 1.200", "actual 192 vs forecast 160 calls over 8 closed interval(s)",
                  "half-life 4 intervals = 1 h", "113.1 ÷ 94.3", "Cap [0.5, 2]: within it", "Minimum 4 closed intervals: met"):
        assert words in vol, words
    assert "handle seconds" in e["lines"][1]
    capped = explanation(explain(volume=ratio(2.0, raw_ratio=2.867, capped=True)), 15, TZ)
    assert "capped (raw 2.867)" in capped["lines"][0]
    few = explanation(explain(volume=ratio(1.0, raw_ratio=None, met_minimum=False, n_used=3)), 15, TZ)
    assert "not met: ratio 1, the forecast is kept" in few["lines"][0] and "(raw —)" in few["lines"][0]
    base = explanation(explain(source="baseline", baseline={"days": ["a"] * 6, "days_known": 4, "min_days": 3}), 15, TZ)
    assert base["source"].startswith("Baseline: median of the same weekday over the last 6 weeks (4 days known")
    storm = explanation(explain(overlays=[{"volume_multiplier": 1.3, "start_ms": ms("2026-03-10", 14),
                                           "end_ms": ms("2026-03-10", 18), "label": "storm"}]), 15, TZ)
    assert storm["overlays"] == ["+30 % 14:00–18:00: storm"]
    assert explanation(None, 15, TZ)["lines"] == []


def test_actions_are_worded_with_their_effect_per_queue():
    row = action_rows([ACTION, dict(ACTION, id="a2", kind="overtime", score=1.4, paid_hours=0.25),
                       dict(ACTION, id="a3", kind="vto", score=-0.2, paid_hours=-1.5)], {"claims": "Claims"})
    assert [r["rank"] for r in row] == [1, 2, 3]
    assert row[0]["score"] == "+36.9 calls answered within T" and row[0]["paid"] == ""
    claims = next(e for e in row[0]["effects"] if e["queue"] == "Claims")
    # Weighted by calls: (24 x 0.24 + 48 x 0) / 72 = 8 % before, (24 x 0.55 + 48 x 0.12) / 72 = 26 % after.
    assert claims["sl"] == "8\u202f% → 26\u202f%" and claims["up"] and len(claims["cells"]) == 2
    billing = next(e for e in row[0]["effects"] if e["queue"] == "billing")
    assert not billing["up"]
    assert row[1]["paid"] == "0.25 paid hours" and row[1]["kind_label"] == "Overtime"
    assert row[2]["paid"] == "saves 1.50 paid hours" and row[2]["score"] == "-0.2 calls within T"


def test_audit_rows():
    rows = audit_rows([{"id": "x", "text": "Offer overtime", "who": "boss", "applied_ms": NOW, "state": "applied",
                        "kind": "overtime"},
                       {"id": "y", "text": "Move", "who": "sam", "applied_ms": NOW, "state": "undone", "kind": "move",
                        "undone_by": "boss", "undone_ms": NOW + 60_000}], TZ)
    assert rows[0]["can_undo"] and rows[0]["when"] == "10:05" and rows[0]["undone"] == ""
    assert not rows[1]["can_undo"] and rows[1]["undone"] == "undone by boss at 10:06"


def test_the_intraday_model():
    empty = intraday_model({"view": None}, queue=None, now_ms=NOW, tz=TZ, tick_s=2)
    assert empty["kind"] == "empty" and "floorboard import forecast" in empty["detail"]
    page = {"view": view(), "plan": PLAN, "overlays": [], "audit": []}
    m = intraday_model(page, queue=None, now_ms=NOW, tz=TZ, tick_s=2)
    assert m["queue"] == "claims"  # the most at risk when none is chosen
    assert [o["value"] for o in m["options"]] == ["claims", "billing"]
    assert m["fresh"] == {"stale": False, "text": "Updated 1\u202fs ago"}
    rows = m["rows"]
    assert [r["rest"] for r in rows] == [False, False, True, True]
    assert rows[2]["now"] and rows[2]["present"] == 6 and rows[3]["present"] is None
    stats = {s["label"]: s for s in m["stats"]}
    assert stats["Projected SL now"]["value"] == "60\u202f%" and stats["Projected SL now"]["level"] == "critical"
    assert stats["Gap now"]["value"] == "-1.9" and stats["Present / adhering"]["value"] == "6 / 5"
    assert m["accuracy"]["today"]["wape"] == "16.7\u202f%" and "under-forecast" in m["accuracy"]["today"]["bias"]
    assert m["accuracy"]["days"][0]["bias"].startswith("+1.5 calls/interval (over")
    same = intraday_model(page, queue="claims", now_ms=NOW + 1000, tz=TZ, tick_s=2)
    assert same["digest"] == m["digest"]  # only the age moved: nothing to redraw
    other = intraday_model(page, queue="billing", now_ms=NOW, tz=TZ, tick_s=2)
    assert other["digest"] != m["digest"] and other["queue"] == "billing"
    stale = intraday_model(page, queue=None, now_ms=NOW + 60_000, tz=TZ, tick_s=2)
    assert stale["fresh"]["stale"] and "engine not responding" in stale["fresh"]["text"]


def test_forms():
    day = "2026-03-29"  # clocks go forward in Europe/Paris at 02:00
    assert local_ms(day, "14:30", TZ) == ms(day, 14, 30)
    assert local_ms(day, "24:00", TZ) == ms("2026-03-30", 0)
    assert local_ms(day, "03:00", TZ) - local_ms(day, "01:00", TZ) == 3_600_000  # one real hour
    for bad in ("", "7", "7:5", "25:00", "24:30", "ab:cd", None):
        assert local_ms(day, bad, TZ) is None
    assert parse_range(day, "14:00", "18:00", TZ) == (ms(day, 14), ms(day, 18))
    assert isinstance(parse_range(day, "18:00", "14:00", TZ), str)
    assert parse_percent("30") == 1.3 and parse_percent(-20) == 0.8
    assert isinstance(parse_percent("lots"), str) and isinstance(parse_percent(-150), str)


def test_window_status():
    window = ((600, 720), (840, 960))
    assert window_status(window, ms("2026-03-10", 10, 30), TZ) == {
        "active": True, "text": "Peak window 10:00–12:00: active until 12:00"}
    off = window_status(window, ms("2026-03-10", 12, 30), TZ)
    assert not off["active"] and off["text"].endswith("the next starts at 14:00")
    assert window_status(window, ms("2026-03-10", 18), TZ)["text"].endswith("the next starts at 10:00")
    assert window_status(((1320, 120),), ms("2026-03-10", 1), TZ)["active"]  # 22:00-02:00 crosses midnight
    assert "No peak window" in window_status((), NOW, TZ)["text"]


def test_the_firefight_model():
    queues = [summary(f"q{i}", 10.0 - i, 0.5 + i / 20) for i in range(8)]
    exceptions = [{"agent": f"a{i}", "name": f"Agent {i}", "scheduled": "open", "actual_state": "aux",
                   "actual_reason": "personal", "out_since_ms": NOW - 600_000, "impact": "hurts",
                   "severity": "critical"} for i in range(12)]
    m = firefight_model(view(queues, [ACTION] * 7), {"exceptions": exceptions}, window=((600, 720),), now_ms=NOW,
                        tz=TZ, tick_s=2)
    assert m["window"]["active"] and len(m["queues"]) == 6 and m["more_queues"] == 2
    assert [c["level"] for c in m["queues"][0]["strip"]] == ["critical", "warning"]
    assert m["queues"][0]["level"] == "critical" and m["queues"][0]["gap"] == "-1.9"
    assert len(m["actions"]) == 5 and len(m["exceptions"]) == 10
    assert m["exceptions"][0]["actual"] == "Aux: Personal" and m["exceptions"][0]["out"] == "10:00"
    assert firefight_model(None, None, window=(), now_ms=NOW, tz=TZ, tick_s=2)["kind"] == "empty"
    assert sl_level(None, 0.8) == "none" and sl_level(0.8, 0.8) == "ok" and sl_level(0.71, 0.8) == "warning"


def test_rendering_and_figures():
    page = {"view": view(), "plan": PLAN, "overlays": [], "audit": []}
    m = intraday_model(page, queue=None, now_ms=NOW, tz=TZ, tick_s=2)
    items = render_intraday.actions_list(m["actions"], "int-apply")
    button = items[0].children[0].children[-1]
    assert button.id == {"type": "int-apply", "index": "a1"} and button.children == "Apply"
    assert "could not be ranked" in render_intraday.actions_list([], "x", problem="bad")[0].children
    fig = intraday_figure(m["rows"], target=0.8, uirevision="intraday:claims")
    assert fig.layout.uirevision == "intraday:claims"
    names = [t.name for t in fig.data]
    assert names[:6] == ["Actual", "Forecast", "Reforecast", "Required", "Scheduled", "Present now"]
    scheduled = next(t for t in fig.data if t.name == "Scheduled")
    assert list(scheduled.y) == [None, None, 5.29, 4.64]  # the plan only from now on
    assert any(s.x0 == "10:00" for s in fig.layout.shapes)  # the now marker
    assert intraday_figure([], target=None, uirevision="x").layout.uirevision == "x"
    wi = what_if_figure([{"label": "10:00", "in_range": True, "sl_before": 0.5, "sl_after": 0.7}], target=0.8,
                        uirevision="whatif:claims")
    assert [t.name for t in wi.data][:2] == ["Before", "After"] and wi.layout.uirevision == "whatif:claims"
    ff = firefight_model(view(), None, window=((600, 720),), now_ms=NOW, tz=TZ, tick_s=2)
    body = render_intraday.firefight_body(ff, "ff-apply")
    assert "Firefighting" in str(body[0]) and "active until 12:00" in str(body[0])
