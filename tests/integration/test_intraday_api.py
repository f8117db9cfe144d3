"""/api/v1/intraday over real Redis, behind the access-control gate: reads, overlays, apply and
undo (with the CSRF token a session needs), what-if, and who may call what."""

from __future__ import annotations

import pytest

from realtime import intraday_store as ops
from realtime.intraday import IntradayPlanner
from realtime.schedules import read_agent_schedule
from tests.integration.intraday_scenario import NOW, D, h, load, schedule

pytestmark = pytest.mark.integration


@pytest.fixture
def planned(web):
    load(web.store)
    planner = IntradayPlanner(web.store)
    planner.run_once(NOW)
    return planner


def _post(client, url, body=None):
    return client.post(url, json=body, headers={"X-CSRFToken": client.get_cookie("_csrf_token").value})


def test_reads(web, planned):
    boss = web.client("boss")
    r = boss.get("/api/v1/intraday")
    assert r.status_code == 200
    body = r.get_json()
    assert {q["id"] for q in body["queues"]} >= {"claims", "billing"} and body["actions"]
    one = boss.get("/api/v1/intraday/claims").get_json()
    assert one["queue"] == "claims" and one["summary"]["id"] == "claims" and "columns" in one
    assert boss.get("/api/v1/intraday/nowhere").status_code == 404
    assert boss.get("/api/v1/intraday/overlays").get_json()["overlays"] == []
    assert boss.get("/api/v1/intraday/audit").get_json()["audit"] == []


def test_overlays_apply_undo_and_what_if(web, planned, monkeypatch):
    monkeypatch.setattr("app.api_intraday.api_now_ms", lambda: NOW + 1000)
    boss = web.client("boss")
    r = _post(boss, "/api/v1/intraday/overlays",
              {"queue": "claims", "start": "10:30", "end": "11:00", "volume_multiplier": 1.5, "label": "storm"})
    assert r.status_code == 201, r.get_json()
    overlay = r.get_json()
    assert (overlay["start_ms"], overlay["end_ms"], overlay["user"]) == (h(10, 30), h(11), "boss")
    assert _post(boss, "/api/v1/intraday/overlays", {"queue": "claims", "start": "11:00", "end": "10:00"}).status_code == 400
    r = boss.delete(f"/api/v1/intraday/overlays/{overlay['id']}",
                    headers={"X-CSRFToken": boss.get_cookie("_csrf_token").value})
    assert r.status_code == 200

    planned.run_once(NOW + 1000)
    action = next(a for a in ops.read_view(web.store)["actions"] if a["kind"] == "overtime")
    r = _post(boss, f"/api/v1/intraday/actions/{action['id']}/apply")
    assert r.status_code == 200, r.get_json()
    entry = r.get_json()
    assert entry["who"] == "boss" and entry["state"] == "applied"
    assert read_agent_schedule(web.store, D, "v1")[-1].end_ms == h(12)
    assert _post(boss, f"/api/v1/intraday/actions/{action['id']}/apply").status_code == 404
    assert boss.get("/api/v1/intraday/audit").get_json()["audit"][0]["id"] == entry["id"]
    r = _post(boss, f"/api/v1/intraday/audit/{entry['id']}/undo")
    assert r.status_code == 200 and r.get_json()["state"] == "undone"
    assert read_agent_schedule(web.store, D, "v1") == schedule()["v1"]

    r = _post(boss, "/api/v1/intraday/what-if", {"queue": "claims", "start": "10:30", "end": "11:30", "agents_delta": 2})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["sl_after"] > r.get_json()["sl_before"]
    assert _post(boss, "/api/v1/intraday/what-if", {"queue": "claims"}).status_code == 400


def test_a_stale_action_is_a_conflict(web, planned, monkeypatch):
    monkeypatch.setattr("app.api_intraday.api_now_ms", lambda: NOW + 1000)
    action = ops.read_view(web.store)["actions"][0]
    ops.add_overlay(web.store, "billing", h(11), h(12), 1.1, user="someone", now_ms=NOW)
    r = _post(web.client("boss"), f"/api/v1/intraday/actions/{action['id']}/apply")
    assert r.status_code == 409 and "plan changed" in r.get_json()["error"]


def test_who_may_call_what(web, planned):
    sup = web.client("sup")
    assert sup.get("/api/v1/intraday").status_code == 403
    assert _post(sup, "/api/v1/intraday/overlays", {"queue": "claims"}).status_code == 403
    reader = web.client("token:read:intraday")
    assert reader.get("/api/v1/intraday").status_code == 200
    action = ops.read_view(web.store)["actions"][0]
    assert reader.post(f"/api/v1/intraday/actions/{action['id']}/apply").status_code == 403
    boss = web.client("boss")
    assert boss.post(f"/api/v1/intraday/actions/{action['id']}/apply").status_code == 403  # no CSRF token
    assert web.client("agent2").get("/api/v1/intraday").status_code == 403
    assert web.client(None).get("/api/v1/intraday").status_code == 401
