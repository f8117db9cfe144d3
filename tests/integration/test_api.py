"""/api/v1 routes over a real Redis: shapes, errors, health."""

from __future__ import annotations

import pytest

from floorboard.config import load_settings
from realtime.engine import Engine
from realtime.store import Store
from tests.conftest import api_client
from tests.integration.scenario import at, scenario

pytestmark = pytest.mark.integration


@pytest.fixture
def client_and_store(redis_client, key_prefix, users_file):
    store = Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix}))
    return api_client(store, users_file), store  # with an API token of every read scope


def test_health_is_503_until_the_engine_ticks(client_and_store):
    client, store = client_and_store
    r = client.get("/api/v1/health")
    assert r.status_code == 503 and r.get_json()["status"] == "stale"
    assert "no heartbeat" in r.get_json()["engine"]


def test_queues_and_intervals(client_and_store):
    client, store = client_and_store
    store.apply_entries([(p, "t") for p in scenario()], at(1000))
    Engine(store).tick(at(1000))
    body = client.get("/api/v1/queues").get_json()
    assert [q["id"] for q in body["queues"]] == ["sales"]
    day = client.get("/api/v1/queues/sales/intervals?date=2025-11-24").get_json()
    assert len(day["intervals"]) == 96 and day["totals"]["offered"] == 6
    assert day["intervals"][64]["label"] == "16:00" and day["intervals"][64]["offered"] == 5
    agent = client.get("/api/v1/agents/a2").get_json()
    assert agent["state"] == "aux" and agent["reason"] == "break"


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/api/v1/queues/nope", 404, "unknown queue"),
        ("/api/v1/queues/nope/intervals", 404, "unknown queue"),
        ("/api/v1/queues/sales/intervals?date=24/11/2025", 400, "YYYY-MM-DD"),
        ("/api/v1/queues/sales/intervals?date=2025-02-30", 400, "not a calendar date"),
        ("/api/v1/agents/nobody", 404, "unknown agent"),
        ("/api/v1/deadletters?limit=0", 400, "limit"),
        ("/api/v1/deadletters?limit=abc", 400, "limit"),
    ],
)
def test_errors_are_json_with_a_reason(client_and_store, url, status, message):
    client, store = client_and_store
    store.apply_entries([(p, "t") for p in scenario()], at(1000))
    Engine(store).tick(at(1000))
    r = client.get(url)
    assert r.status_code == status and message in r.get_json()["error"]
