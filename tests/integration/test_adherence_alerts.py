"""From events to alerts through the whole engine tick: a schedule and a roster in Redis, agent
states as real v1 events through the store, Engine.tick (queue metrics → adherence → alerts),
then the alert feed — opened past grace, escalated, acknowledged, resolved when the agent is back.

Day D is a week ahead (UTC; stored schedules expire a fortnight after their day). ana is
scheduled on the phone 09:00–12:00 and goes to aux "personal" at 09:40 (unscheduled): the
exception opens at 09:45 (5 min grace) as a warning and is critical from 09:55 (grace + 10 min).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from floorboard.config import load_settings
from realtime.adherence import read_adherence_view, read_agent_adherence
from realtime.alerts import acknowledge, list_alerts
from realtime.engine import Engine
from realtime.schedules import write_roster, write_schedule_days
from realtime.store import Store
from staffing.schedule import RosterAgent, Segment

pytestmark = pytest.mark.integration

_DAY = datetime.now(UTC).date() + timedelta(days=7)
DAY0 = int(datetime.combine(_DAY, time(0), tzinfo=UTC).timestamp() * 1000)


def h(hour: int, minute: int = 0) -> int:
    return DAY0 + hour * 3_600_000 + minute * 60_000


def state(n: int, t: int, agent: str, value: str, reason: str | None = None) -> tuple[str, str]:
    body = {"v": 1, "id": f"adh-{n}", "ts": t, "type": "agent.state", "agent": agent, "state": value, "queues": ["sales"]}
    if reason:
        body["reason"] = reason
    return json.dumps(body), "test"


@pytest.fixture
def store(redis_client, key_prefix) -> Store:
    store = Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix}))
    write_roster(store, [RosterAgent("ana", "Ana", "red", "sue", ("sales",)), RosterAgent("ben", "Ben", "red", "sue", ("sales",))])
    write_schedule_days(store, {_DAY.isoformat(): {
        "ana": [Segment("ana", "open", h(9), h(12))],
        "ben": [Segment("ben", "open", h(9), h(10, 30)), Segment("ben", "break", h(10, 30), h(10, 45)),
                Segment("ben", "open", h(10, 45), h(12))],
    }})
    return store


def _agent_alerts(store: Store) -> list[dict]:
    return list_alerts(store, state=None, kind="agent", limit=10, now_ms=h(12))


def test_an_unscheduled_aux_opens_escalates_and_resolves_an_alert(store):
    engine = Engine(store)
    store.apply_entries([state(1, h(9), "ana", "available"), state(2, h(9), "ben", "available")], h(9))
    engine.tick(h(9, 30))
    assert read_adherence_view(store)["exceptions"] == [] and _agent_alerts(store) == []

    store.apply_entries([state(3, h(9, 40), "ana", "aux", "personal")], h(9, 40))
    engine.tick(h(9, 44))  # within grace: out of adherence, no exception yet
    assert read_agent_adherence(store, "ana")["adhering"] is False
    assert read_adherence_view(store)["exceptions"] == [] and _agent_alerts(store) == []

    engine.tick(h(9, 46))
    [row] = read_adherence_view(store)["exceptions"]
    assert (row["agent"], row["scheduled"], row["actual_state"], row["actual_reason"], row["severity"]) == (
        "ana", "open", "aux", "personal", "warning")
    assert row["out_since_ms"] == h(9, 40) and row["team"] == "red"
    [alert] = _agent_alerts(store)
    assert (alert["rule"], alert["subject"], alert["state"], alert["severity"]) == ("agent_exception", "ana", "open", "warning")

    engine.tick(h(9, 56))  # grace + 10 min passed: the same alert, escalated
    [alert] = _agent_alerts(store)
    assert alert["severity"] == "critical" and alert["state"] == "open"
    acknowledge(store, alert["id"], "sue", h(9, 57))

    store.apply_entries([state(4, h(10), "ana", "available")], h(10))
    engine.tick(h(10, 1))
    [alert] = _agent_alerts(store)
    assert alert["state"] == "resolved" and alert["acked_by"] == "sue" and alert["resolved_ms"] == h(10, 1)
    assert [t["action"] for t in alert["transitions"]] == ["opened", "escalated", "acknowledged", "resolved"]
    assert read_adherence_view(store)["exceptions"] == []
    # Today so far for ana: scheduled 09:00–10:01 (3,660 s), out 09:40–10:00 = 1,200 s, 900 beyond grace.
    assert read_agent_adherence(store, "ana")["adherence_pct"] == pytest.approx(1 - 900 / 3660, abs=5e-4)  # kept to 0.1 %


def test_working_through_a_scheduled_break_is_not_an_alert_worth_hurting(store):
    """ben stays on the phone through his 10:30 break: out of adherence, but it helps or is neutral."""
    engine = Engine(store)
    store.apply_entries([state(1, h(9), "ana", "available"), state(2, h(9), "ben", "available")], h(9))
    engine.tick(h(10, 40))
    [row] = read_adherence_view(store)["exceptions"]
    assert row["agent"] == "ben" and row["scheduled"] == "break" and row["actual_state"] == "available"
    assert row["impact"] in ("helps", "neutral")
