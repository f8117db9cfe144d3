"""Alerts through real Redis: events → engine tick → alerts, acknowledged and snoozed through the
API, resolved when the condition clears; webhooks to a real local HTTP server.

The queue "sales" of the hand-computed scenario (tests/integration/scenario.py) at 16:16:40:
one caller (c6) waiting 40 s, a1 on a call, a2 on a break, today's SL 1/5 over 6 calls offered.
With the thresholds below that is three queue alerts: SL below target (critical: under 70 %),
longest wait above 30 s (warning: not yet above 60 s), no agent available (critical).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g

from app.api_alerts import bp as alerts_bp
from app.auth.principal import Principal, Reach
from floorboard.config import load_settings
from realtime.alerts import AlertsComponent, alert_history, get_alert, read_webhook_health
from realtime.engine import Engine
from realtime.store import Store
from realtime.webhooks import WebhookDispatcher
from tests.integration.scenario import at, scenario

pytestmark = pytest.mark.integration
NOW = at(1000)
USER = {"X-Floorboard-User": "sam"}
QUEUES = """
[queues.sales]
name = "Sales"
alert_min_offered = 5
alert_longest_wait_s = 30
[alerts]
cooldown_s = 60
"""


def event(n: int, secs: float, etype: str, **fields: Any) -> str:
    return json.dumps({"v": 1, "id": f"al{n}", "ts": at(secs), "type": etype, **fields})


def exception_a2(severity: str = "warning") -> dict[str, Any]:
    # What the adherence component reports for a2: on a break while scheduled on the phone.
    return {"agent": "a2", "name": "Bea", "team": "Blue", "supervisor": "sam", "queues": ["sales"],
            "scheduled": "phone", "actual_state": "aux", "actual_reason": "break", "out_since_ms": at(520),
            "out_s": 480.0, "grace_s": 300, "severity": severity, "impact": "hurts", "impact_score": 1.0}


class Hook:
    """A real HTTP endpoint: answers each POST with the next status in ``statuses`` (then 200),
    optionally after holding the request."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.bodies: list[dict[str, Any]] = []
        self.hold = threading.Event()
        self.hold.set()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.hold.wait(10)
                hook.bodies.append(body)
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def make_store(redis_client, key_prefix: str, tmp_path: Path, extra: str = "") -> Store:
    path = tmp_path / "queues.toml"
    path.write_text(QUEUES + extra, encoding="utf-8")
    settings = load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix, "FLOORBOARD_QUEUES_FILE": str(path)})
    store = Store(redis_client, settings)
    store.apply_entries([(p, "test") for p in scenario()], NOW)
    return store


@pytest.fixture
def store(redis_client, key_prefix, tmp_path) -> Store:
    return make_store(redis_client, key_prefix, tmp_path)


def alerts_api(store: Store, principal: Principal | None = None) -> Any:
    """The /api/v1/alerts routes alone (no access-control gate: its own tests cover who may call
    them); the acting user then comes from the X-Floorboard-User header. With ``principal``, the
    caller the gate would have identified."""
    server = Flask(__name__)
    server.extensions["floorboard.store"] = store
    server.register_blueprint(alerts_bp)
    if principal is not None:
        server.before_request(lambda: setattr(g, "floorboard_principal", principal))
    return server.test_client()


@pytest.fixture
def client(store):
    return alerts_api(store)


def by_rule(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in rows}


def test_events_to_alerts_then_ack_and_auto_resolve(store, client):
    engine, alerts = Engine(store, alerts=False), AlertsComponent(store)
    counts = alerts.tick(engine.tick(NOW), [exception_a2()], NOW)
    assert counts["opened"] == 4 and counts["active"] == 4 and counts["critical"] == 2

    feed = client.get("/api/v1/alerts?state=active").get_json()
    rows = by_rule(feed["alerts"])
    assert feed["count"] == 4 and set(rows) == {"sl_below_target", "longest_wait_above", "no_agent_available",
                                                "agent_exception"}
    assert [r["severity"] for r in feed["alerts"]] == ["critical", "critical", "warning", "warning"]
    assert rows["sl_below_target"]["message"] == "Sales: SL 20 % below target 80 %"
    assert rows["longest_wait_above"]["message"] == "Sales: longest wait 40 s above limit 30 s"
    assert rows["no_agent_available"]["message"] == "Sales: 1 caller waiting and 2 logged in, none available"
    assert rows["agent_exception"]["subject"] == "a2" and rows["agent_exception"]["kind"] == "agent"
    assert rows["sl_below_target"]["details"]["offered"] == 6

    # Acknowledge through the API: who and when are recorded.
    no_agent = rows["no_agent_available"]["id"]
    assert client.post(f"/api/v1/alerts/{no_agent}/ack").status_code == 400  # nobody named
    r = client.post(f"/api/v1/alerts/{no_agent}/ack", headers=USER)
    assert r.status_code == 200 and r.get_json()["state"] == "acknowledged" and r.get_json()["acked_by"] == "sam"
    assert client.post(f"/api/v1/alerts/{no_agent}/ack", headers={"X-Floorboard-User": "kim"}).get_json()["acked_by"] == "sam"
    assert client.get("/api/v1/alerts?state=acknowledged").get_json()["count"] == 1

    # a2 back from the break: someone is available, and the adherence exception is over.
    store.apply_entries([(event(1, 1005, "agent.state", agent="a2", state="available"), "test")], at(1005))
    counts = alerts.tick(engine.tick(at(1006)), [], at(1006))
    assert counts["resolved"] == 2 and counts["active"] == 2
    done = client.get(f"/api/v1/alerts/{no_agent}").get_json()
    assert done["state"] == "resolved" and done["resolved_ms"] == at(1006) and done["acked_by"] == "sam"
    assert [(t["action"], t["by"], t["at_ms"]) for t in done["transitions"]] == [
        ("opened", "system", NOW), ("acknowledged", "sam", done["acked_ms"]), ("resolved", "system", at(1006))]
    assert client.post(f"/api/v1/alerts/{no_agent}/ack", headers=USER).status_code == 409

    # c6 answered: nobody waits any more. SL today stays low, so that alert stays open.
    store.apply_entries([(event(2, 1010, "call.answered", queue="sales", call="c6", agent="a2"), "test")], at(1010))
    alerts.tick(engine.tick(at(1012)), [], at(1012))
    active = by_rule(client.get("/api/v1/alerts?state=active").get_json()["alerts"])
    assert set(active) == {"sl_below_target"}
    resolved = client.get("/api/v1/alerts?state=resolved").get_json()["alerts"]
    assert len(resolved) == 3 and resolved[0]["rule"] == "longest_wait_above"  # newest first
    assert [r["rule"] for r in client.get("/api/v1/alerts?kind=agent").get_json()["alerts"]] == ["agent_exception"]
    everything = client.get("/api/v1/alerts?limit=2").get_json()["alerts"]
    assert [r["state"] for r in everything] == ["open", "resolved"]
    history = alert_history(store, 100)
    assert len(history) == 4 + 1 + 3 and history[0]["action"] == "resolved"


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "message"),
    [
        ("get", "/api/v1/alerts?state=closed", None, 400, "state"),
        ("get", "/api/v1/alerts?kind=team", None, 400, "kind"),
        ("get", "/api/v1/alerts?limit=0", None, 400, "limit"),
        ("get", "/api/v1/alerts/nope:x:1", None, 404, "unknown alert"),
        ("post", "/api/v1/alerts/nope:x:1/ack", None, 404, "unknown alert"),
        ("post", "/api/v1/alerts/nope:x:1/snooze", {"minutes": 5}, 404, "unknown alert"),
        ("post", "/api/v1/alerts/nope:x:1/snooze", {"minutes": "5"}, 400, "minutes"),
        ("post", "/api/v1/alerts/nope:x:1/snooze", None, 400, "minutes"),
    ],
)
def test_api_errors_are_json_with_a_reason(client, method, url, body, status, message):
    r = getattr(client, method)(url, json=body, headers=USER) if body is not None else getattr(client, method)(url, headers=USER)
    assert r.status_code == status and message in r.get_json()["error"]


def test_a_supervisor_sees_and_acts_on_their_reach_only_and_under_their_own_name(store):
    AlertsComponent(store).tick(Engine(store, alerts=False).tick(NOW), [exception_a2()], NOW)
    agent_id = f"agent_exception:a2:{NOW}"
    outside = alerts_api(store, Principal(kind="user", name="kim", role="supervisor",
                                          reach=Reach(agents=frozenset({"a9"}), queues=frozenset({"billing"}))))
    assert outside.get("/api/v1/alerts").get_json()["alerts"] == []
    assert outside.get(f"/api/v1/alerts/{agent_id}").status_code == 404
    assert outside.post(f"/api/v1/alerts/{agent_id}/ack").status_code == 404
    sam = alerts_api(store, Principal(kind="user", name="sam", role="supervisor",
                                      reach=Reach(agents=frozenset({"a2"}), queues=frozenset())))
    assert [r["id"] for r in sam.get("/api/v1/alerts").get_json()["alerts"]] == [agent_id]
    r = sam.post(f"/api/v1/alerts/{agent_id}/ack", headers={"X-Floorboard-User": "someone-else"})
    assert r.status_code == 200 and r.get_json()["acked_by"] == "sam"
    manager = alerts_api(store, Principal(kind="user", name="max", role="manager"))
    assert manager.get("/api/v1/alerts").get_json()["count"] == 4


def test_snooze_bounds_and_wake(store, client):
    alerts = AlertsComponent(store)
    alerts.tick(Engine(store, alerts=False).tick(NOW), [], NOW)
    alert_id = by_rule(client.get("/api/v1/alerts").get_json()["alerts"])["sl_below_target"]["id"]
    assert client.post(f"/api/v1/alerts/{alert_id}/snooze", json={"minutes": 1441}, headers=USER).status_code == 400
    r = client.post(f"/api/v1/alerts/{alert_id}/snooze", json={"minutes": 15}, headers=USER).get_json()
    assert r["snoozed"] and r["snoozed_by"] == "sam" and r["state"] == "open"
    assert client.get("/api/v1/alerts").get_json()["alerts"][-1]["id"] == alert_id  # sorts last while snoozed
    r = client.post(f"/api/v1/alerts/{alert_id}/snooze", json={"minutes": 0}, headers=USER).get_json()
    assert not r["snoozed"] and [t["action"] for t in r["transitions"]] == ["opened", "snoozed", "woken"]


def test_an_ack_between_ticks_survives_the_next_write(store, client):
    engine, alerts = Engine(store, alerts=False), AlertsComponent(store)
    alerts.tick(engine.tick(NOW), [], NOW)
    wait_id = by_rule(client.get("/api/v1/alerts").get_json()["alerts"])["longest_wait_above"]["id"]
    assert client.post(f"/api/v1/alerts/{wait_id}/ack", headers=USER).status_code == 200
    # c6 has now waited 65 s, above twice the limit: the tick escalates (and rewrites) the alert.
    counts = alerts.tick(engine.tick(at(1025)), [], at(1025))
    assert counts["escalated"] == 1 and counts["acknowledged"] == 1
    stored = get_alert(store, wait_id)
    assert stored["severity"] == "critical" and stored["state"] == "acknowledged" and stored["acked_by"] == "sam"
    assert [t["action"] for t in stored["transitions"]] == ["opened", "acknowledged", "escalated"]
    assert alerts.active[("longest_wait_above", "sales")].state == "acknowledged"


def test_cooldown_and_a_restarted_engine_neither_duplicate_nor_forget(store):
    engine, alerts = Engine(store, alerts=False), AlertsComponent(store)
    alerts.tick(engine.tick(NOW), [exception_a2()], NOW)
    alerts.tick(engine.tick(at(1002)), [], at(1002))  # the exception ended: resolved at 16:16:42
    restarted = AlertsComponent(store)  # a new engine process: loads open alerts and recent resolutions
    counts = restarted.tick(engine.tick(at(1004)), [exception_a2()], at(1004))
    assert counts["opened"] == 0 and counts["cooling"] == 1 and counts["active"] == 3
    counts = restarted.tick(engine.tick(at(1062)), [exception_a2()], at(1062))  # 60 s cooldown over
    assert counts["opened"] == 1
    ids = {a.id for a in restarted.active.values() if a.rule == "agent_exception"}
    assert ids == {f"agent_exception:a2:{at(1062)}"}


def test_a_failed_write_is_retried_by_the_next_tick(store):
    import redis

    engine, alerts = Engine(store, alerts=False), AlertsComponent(store)
    write = alerts._write

    def unreachable(**_kw: Any) -> Any:
        raise redis.ConnectionError("Redis went away")

    alerts._write = unreachable
    with pytest.raises(redis.ConnectionError):
        alerts.tick(engine.tick(NOW), [], NOW)
    assert alerts.active == {}  # nothing kept that Redis does not have
    alerts._write = write
    counts = alerts.tick(engine.tick(at(1002)), [], at(1002))
    assert counts["opened"] == 3 and get_alert(store, f"no_agent_available:sales:{at(1002)}") is not None


def test_webhook_fails_twice_then_is_delivered(redis_client, key_prefix, tmp_path, hook):
    store = make_store(redis_client, key_prefix, tmp_path,
                       f'[alerts.webhooks]\nno_agent_available = ["{hook.url}"]\n')
    hook.statuses = [500, 503]
    dispatcher = WebhookDispatcher(timeout_s=2, retries=4, backoff_s=0.05)
    alerts = AlertsComponent(store, dispatcher=dispatcher)
    try:
        counts = alerts.tick(Engine(store, alerts=False).tick(NOW), [], NOW)
        assert counts["notified"] == 1
        assert dispatcher.wait_idle(10)
        assert len(hook.bodies) == 3  # two failures, then delivered
        body = hook.bodies[-1]
        assert body["text"] == "[CRITICAL] Sales: 1 caller waiting and 2 logged in, none available"
        assert body["event"] == "opened" and body["alert"]["rule"] == "no_agent_available"
        assert body["alert"]["id"] == f"no_agent_available:sales:{NOW}"
        assert dispatcher.health() | {"last_error_ms": None, "last_sent_ms": None} == {
            "pending": 0, "sent": 1, "failed": 0, "retried": 2, "dropped": 0,
            "last_error": f"http://127.0.0.1:{hook.server.server_port}/…: HTTP 503",
            "last_error_ms": None, "last_sent_ms": None}
        alerts.tick(Engine(store, alerts=False).tick(at(1002)), [], at(1002))  # the next tick publishes the counters
        assert read_webhook_health(store)["sent"] == 1
    finally:
        alerts.close()


def test_a_hanging_webhook_never_delays_the_tick(redis_client, key_prefix, tmp_path, hook):
    store = make_store(redis_client, key_prefix, tmp_path, f'[alerts.webhooks]\n"*" = ["{hook.url}"]\n')
    hook.hold.clear()  # the endpoint accepts the connection and then says nothing
    dispatcher = WebhookDispatcher(timeout_s=1, retries=0, workers=1)
    alerts = AlertsComponent(store, dispatcher=dispatcher)
    engine = Engine(store, alerts=False)
    try:
        snap = engine.tick(NOW)
        started = time.perf_counter()
        counts = alerts.tick(snap, [exception_a2()], NOW)
        first_s = time.perf_counter() - started
        assert counts["notified"] == 4
        snap = engine.tick(at(1006))
        started = time.perf_counter()
        counts = alerts.tick(snap, [], at(1006))  # resolves the exception: a fifth notification
        second_s = time.perf_counter() - started
        assert counts["notified"] == 1
        assert first_s < 0.5 and second_s < 0.5  # while the worker is stuck on the first POST
        assert dispatcher.health()["pending"] >= 4
    finally:
        hook.hold.set()
        alerts.close()


def test_snoozed_alerts_and_quiet_hours_send_nothing(redis_client, key_prefix, tmp_path, hook):
    store = make_store(redis_client, key_prefix, tmp_path, f'[alerts.webhooks]\nlongest_wait_above = ["{hook.url}"]\n')
    dispatcher = WebhookDispatcher(timeout_s=2, backoff_s=0.05)
    alerts, engine = AlertsComponent(store, dispatcher=dispatcher), Engine(store, alerts=False)
    try:
        assert alerts.tick(engine.tick(NOW), [], NOW)["notified"] == 1
        wait_id = f"longest_wait_above:sales:{NOW}"
        r = alerts_api(store).post(f"/api/v1/alerts/{wait_id}/snooze", json={"minutes": 10}, headers=USER)
        assert r.status_code == 200
        counts = alerts.tick(engine.tick(at(1025)), [], at(1025))  # escalated while snoozed: silent
        assert counts["escalated"] == 1 and counts["notified"] == 0
    finally:
        alerts.close()
    # The same center with quiet hours over 16:16 (a second namespace, cleaned up with the first).
    quiet = make_store(redis_client, key_prefix + "q", tmp_path,
                       f'quiet_hours = "16:00-17:00"\n[alerts.webhooks]\n"*" = ["{hook.url}"]\n')
    alerts = AlertsComponent(quiet, dispatcher=WebhookDispatcher(timeout_s=2))
    try:
        counts = alerts.tick(Engine(quiet, alerts=False).tick(NOW), [], NOW)
        assert counts["opened"] == 3 and counts["notified"] == 0  # recorded and shown, not sent
    finally:
        alerts.close()
    assert len(hook.bodies) == 1
