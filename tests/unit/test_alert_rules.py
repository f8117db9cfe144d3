"""Alert rules and lifecycle as pure functions: thresholds at their edges, open, escalate,
acknowledged, snoozed, resolve, cooldown, quiet hours; the [alerts] settings; the dispatcher's
queue and backoff."""

from __future__ import annotations

import random
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from floorboard.config import ConfigError, QueueConfig, QueuesConfig
from realtime.alert_rules import (
    Alert,
    agent_conditions,
    duration,
    evaluate,
    in_quiet_hours,
    key_of_id,
    queue_conditions,
    should_notify,
    sort_key,
    webhook_payload,
)
from realtime.webhooks import WebhookDispatcher, safe_url

T = 1_764_000_000_000  # 2025-11-24T16:00:00Z
COOLDOWN_MS = 300_000
CFG = QueueConfig(id="claims", name="Claims", sl_target=0.8, sl_critical=0.7, alert_min_offered=20,
                  alert_longest_wait_s=120, alert_waiting_above=10)


def block(qid="claims", *, waiting=0, longest=0.0, available=2, logged_in=5, sl=0.9, offered=50,
          iv_sl=None, iv_offered=0):
    return {
        "id": qid,
        "now": {"waiting": waiting, "longest_wait_s": longest,
                "agents": {"available": available, "on_call": logged_in - available, "acw": 0, "aux": 0,
                           "logged_in": logged_in}},
        "today": {"service_level": sl, "offered": offered},
        "interval": {"service_level": iv_sl, "offered": iv_offered},
    }


def rules(b, cfg=CFG):
    return {rule: c for (rule, _), c in queue_conditions([b], lambda _q: cfg).items()}


def exception(agent="ana", severity="warning", out_s=400.0, **kw):
    return {"agent": agent, "name": "Ana Lopes", "team": "Blue", "supervisor": "sam", "queues": ["claims"],
            "scheduled": "phone", "actual_state": "aux", "actual_reason": "break", "out_since_ms": T - 400_000,
            "out_s": out_s, "grace_s": 300, "severity": severity, "impact": "hurts", "impact_score": 2.0, **kw}


def step(conditions, active, resolved=None, now=T, cooldown_ms=COOLDOWN_MS):
    """One tick as the component does it: evaluate, then apply to the cache."""
    resolved = {} if resolved is None else resolved
    ev = evaluate(conditions, active, resolved, now, cooldown_ms=cooldown_ms)
    for a in (*ev.opened, *ev.escalated, *ev.refreshed):
        active[a.key] = a
    for a in ev.resolved:
        del active[a.key]
        resolved[a.key] = now
    return ev


# ------------------------------------------------------------------ each rule at its edges
def test_sl_below_target_edges():
    assert "sl_below_target" not in rules(block(sl=0.8))  # at target: not below
    c = rules(block(sl=0.799))["sl_below_target"]
    assert c.severity == "warning" and c.message == "Claims: SL 79 % below target 80 %"
    assert rules(block(sl=0.64))["sl_below_target"].message == "Claims: SL 64 % below target 80 %"
    assert rules(block(sl=0.699))["sl_below_target"].severity == "critical"
    assert rules(block(sl=0.7))["sl_below_target"].severity == "warning"


def test_sl_needs_enough_calls_and_a_defined_sl():
    assert "sl_below_target" not in rules(block(sl=0.1, offered=19))  # 08:01, two calls: noise
    assert "sl_below_target" in rules(block(sl=0.1, offered=20))
    assert "sl_below_target" not in rules(block(sl=None, offered=100))


def test_sl_period_can_be_the_interval():
    cfg = replace(CFG, alert_sl_period="interval", alert_min_offered=5)
    assert "sl_below_target" not in rules(block(sl=0.1, iv_sl=0.9, iv_offered=10), cfg)
    c = rules(block(sl=0.95, iv_sl=0.5, iv_offered=5), cfg)["sl_below_target"]
    assert c.message == "Claims: SL this interval 50 % below target 80 %" and c.details["period"] == "interval"


def test_longest_wait_edges():
    assert "longest_wait_above" not in rules(block(waiting=1, longest=120.0))
    c = rules(block(waiting=1, longest=121.0))["longest_wait_above"]
    assert c.severity == "warning" and c.message == "Claims: longest wait 2 min 01 s above limit 2 min"
    assert rules(block(waiting=1, longest=240.5))["longest_wait_above"].severity == "critical"
    assert "longest_wait_above" not in rules(block(waiting=0, longest=500.0))  # nobody waits now


def test_waiting_above_edges():
    assert "waiting_above" not in rules(block(waiting=10))
    c = rules(block(waiting=11))["waiting_above"]
    assert c.severity == "warning" and c.message == "Claims: 11 callers waiting, above limit 10"
    assert rules(block(waiting=21))["waiting_above"].severity == "critical"


def test_no_agent_available_with_and_without_logged_in_agents():
    assert "no_agent_available" not in rules(block(waiting=1, available=1))
    assert "no_agent_available" not in rules(block(waiting=0, available=0))
    c = rules(block(waiting=1, available=0, logged_in=4))["no_agent_available"]
    assert c.severity == "critical" and c.message == "Claims: 1 caller waiting and 4 logged in, none available"
    c = rules(block(waiting=3, available=0, logged_in=0))["no_agent_available"]
    assert c.message == "Claims: 3 callers waiting and no agent logged in"


def test_rules_can_be_switched_off_per_queue():
    busy = block(waiting=30, longest=600.0, available=0, sl=0.1)
    assert set(rules(busy)) == {"sl_below_target", "longest_wait_above", "waiting_above", "no_agent_available"}
    assert set(rules(busy, replace(CFG, alert_rules_off=("waiting_above", "no_agent_available")))) == {
        "sl_below_target", "longest_wait_above"}
    assert rules(busy, replace(CFG, alerts_enabled=False)) == {}


def test_agent_exceptions_and_the_minimum_severity():
    c = agent_conditions([exception(out_s=419.0)])[("agent_exception", "ana")]
    assert c.kind == "agent" and c.severity == "warning" and c.details["impact_score"] == 2.0
    assert c.message == "Ana Lopes (Blue): aux (break) while scheduled phone, for 6 min, hurting service level"
    assert agent_conditions([exception()], "critical") == {}
    assert ("agent_exception", "ana") in agent_conditions([exception(severity="critical")], "critical")


# ------------------------------------------------------------------ lifecycle
def test_open_then_steady_then_resolve():
    active: dict = {}
    ev = step(rules_now := queue_conditions([block(waiting=11)], lambda _q: CFG), active)
    (a,) = ev.opened
    assert a.id == f"waiting_above:claims:{T}" and a.state == "open" and a.opened_ms == T
    assert a.transitions == [{"at_ms": T, "action": "opened", "by": "system", "state": "open", "severity": "warning"}]
    assert not step(rules_now, active, now=T + 2000).changed  # same condition, same alert: no write
    ev = step({}, active, now=T + 4000)
    (done,) = ev.resolved
    assert done.id == a.id and done.state == "resolved" and done.resolved_ms == T + 4000
    assert done.transitions[-1] == {"at_ms": T + 4000, "action": "resolved", "by": "system", "state": "resolved"}
    assert active == {}


def test_escalation_is_the_same_alert_and_severity_stays_at_its_peak():
    active: dict = {}
    (a,) = step(agent_conditions([exception()]), active).opened
    ev = step(agent_conditions([exception(severity="critical")]), active, now=T + 2000)
    (up,) = ev.escalated
    assert up.id == a.id and up.severity == "critical" and not ev.opened
    assert up.transitions[-1] == {"at_ms": T + 2000, "action": "escalated", "by": "system",
                                  "severity": "critical", "previous": "warning"}
    ev = step(agent_conditions([exception(severity="warning")]), active, now=T + 4000)
    assert not ev.escalated and not ev.opened and active[a.key].severity == "critical"


def test_an_acknowledged_alert_escalates_but_stays_acknowledged_and_then_resolves():
    active: dict = {}
    (a,) = step(agent_conditions([exception()]), active).opened
    active[a.key] = replace(a, state="acknowledged", acked_by="sam", acked_ms=T + 1000)
    (up,) = step(agent_conditions([exception(severity="critical")]), active, now=T + 2000).escalated
    assert up.state == "acknowledged" and up.acked_by == "sam"
    (done,) = step({}, active, now=T + 4000).resolved
    assert done.state == "resolved" and done.acked_by == "sam"


def test_a_snoozed_alert_is_silent_sorts_low_and_still_resolves():
    active: dict = {}
    (a,) = step(agent_conditions([exception()]), active).opened
    snoozed = replace(a, snoozed_until_ms=T + 600_000, snoozed_by="sam")
    assert not should_notify(snoozed, T + 599_999, quiet=False)
    assert should_notify(snoozed, T + 600_000, quiet=False)
    assert not should_notify(a, T, quiet=True)
    other = replace(a, id="x", severity="warning", opened_ms=T - 10)
    ordered = sorted([snoozed.as_dict(), other.as_dict()], key=lambda r: sort_key(r, T + 1000))
    assert [r["id"] for r in ordered] == ["x", a.id]
    ordered = sorted([snoozed.as_dict(), other.as_dict()], key=lambda r: sort_key(r, T + 700_000))
    assert [r["id"] for r in ordered] == [a.id, "x"]  # newer first once the snooze is over
    active[a.key] = snoozed
    (done,) = step({}, active, now=T + 2000).resolved
    assert done.id == a.id


def test_feed_order_critical_first_then_open_before_acknowledged_newest_first():
    base = Alert("a", "waiting_above", "q", "queue", "warning", "open", T, T, "m", {})
    recs = [replace(base, id="old-warning", opened_ms=T - 5).as_dict(),
            replace(base, id="new-warning", opened_ms=T).as_dict(),
            replace(base, id="acked-critical", severity="critical", state="acknowledged").as_dict(),
            replace(base, id="critical", severity="critical").as_dict(),
            replace(base, id="resolved", severity="critical", state="resolved", resolved_ms=T + 9).as_dict()]
    assert [r["id"] for r in sorted(recs, key=lambda r: sort_key(r, T))] == [
        "critical", "acked-critical", "new-warning", "old-warning", "resolved"]


def test_cooldown_keeps_a_flapping_condition_from_reopening():
    active: dict = {}
    resolved: dict = {}
    cond = queue_conditions([block(waiting=11)], lambda _q: CFG)
    (first,) = step(cond, active, resolved).opened
    step({}, active, resolved, now=T + 10_000)
    ev = step(cond, active, resolved, now=T + 10_000 + COOLDOWN_MS - 1)
    assert not ev.opened and ev.cooling == 1
    (again,) = step(cond, active, resolved, now=T + 10_000 + COOLDOWN_MS).opened
    assert again.id != first.id and again.id == f"waiting_above:claims:{T + 10_000 + COOLDOWN_MS}"


def test_refresh_is_throttled_and_carries_no_transition():
    active: dict = {}
    step(queue_conditions([block(waiting=1, longest=130.0)], lambda _q: CFG), active)
    ev = step(queue_conditions([block(waiting=1, longest=140.0)], lambda _q: CFG), active, now=T + 2000)
    assert not ev.changed  # message changed, but too soon to rewrite
    ev = step(queue_conditions([block(waiting=1, longest=150.0)], lambda _q: CFG), active, now=T + 15_000)
    (fresh,) = ev.refreshed
    assert fresh.message.startswith("Claims: longest wait 2 min 30 s") and not ev.transitions
    assert fresh.updated_ms == T + 15_000 and len(fresh.transitions) == 1


def test_ids_round_trip_even_when_subjects_contain_colons():
    assert key_of_id("agent_exception:sip:ana@x:1764000000000") == ("agent_exception", "sip:ana@x")


# ------------------------------------------------------------------ notifications
@pytest.mark.parametrize(
    ("local_hm", "quiet"),
    [("21:59", False), ("22:00", True), ("23:30", True), ("00:00", True), ("06:59", True), ("07:00", False),
     ("12:00", False)],
)
def test_quiet_hours_span_midnight_in_local_time(local_hm, quiet):
    # Europe/Paris is UTC+1 in November: 22:00-07:00 local is 21:00-06:00 UTC.
    h, m = map(int, local_hm.split(":"))
    now = T - 16 * 3_600_000 + ((h - 1) % 24) * 3_600_000 + m * 60_000  # local h:m on 2025-11-24
    assert in_quiet_hours(now, ZoneInfo("Europe/Paris"), (22 * 60, 7 * 60)) is quiet


def test_quiet_hours_within_a_day_and_none():
    tz = ZoneInfo("UTC")
    assert in_quiet_hours(T, tz, (15 * 60, 17 * 60)) and not in_quiet_hours(T, tz, (17 * 60, 18 * 60))
    assert not in_quiet_hours(T, tz, None) and not in_quiet_hours(T, tz, (600, 600))


def test_webhook_payload_has_chat_text_and_the_structured_alert():
    a = Alert("sl_below_target:claims:1", "sl_below_target", "claims", "queue", "critical", "open", T, T,
              "Claims: SL 64 % below target 80 %", {"service_level": 0.64}, transitions=[{"action": "opened"}])
    p = webhook_payload("opened", a, T)
    assert p["text"] == "[CRITICAL] Claims: SL 64 % below target 80 %" and p["event"] == "opened"
    assert p["alert"]["id"] == a.id and p["alert"]["details"] == {"service_level": 0.64}
    assert "transitions" not in p["alert"] and p["alert"]["snoozed"] is False
    assert webhook_payload("resolved", a, T)["text"] == "Resolved: Claims: SL 64 % below target 80 %"
    assert webhook_payload("escalated", a, T)["text"].startswith("[CRITICAL] Escalated: ")


def test_durations_read_like_a_person_would_say_them():
    assert [duration(s) for s in (0, 59.9, 60, 61, 3599, 3600, 3725)] == [
        "0 s", "59 s", "1 min", "1 min 01 s", "59 min 59 s", "1 h 00 min", "1 h 02 min"]


# ------------------------------------------------------------------ settings
ALERTS_TOML = """
[defaults]
alert_min_offered = 30
[queues.claims]
alert_longest_wait_s = 90
alert_waiting_above = 5
alert_sl_period = "interval"
alert_rules_off = ["no_agent_available"]
[queues.lab]
alerts_enabled = false
[alerts]
cooldown_s = 600
quiet_hours = "22:00-07:00"
agent_min_severity = "critical"
webhook_timeout_s = 3
webhook_retries = 2
[alerts.webhooks]
sl_below_target = ["https://chat.example.com/hooks/secret-token"]
"*" = "http://127.0.0.1:9000/all"
"""


def test_alert_settings_from_the_queues_file():
    cfg = QueuesConfig.from_toml(ALERTS_TOML)
    claims = cfg.get("claims")
    assert claims.alert_min_offered == 30 and claims.alert_longest_wait_s == 90 and claims.alert_waiting_above == 5
    assert claims.alert_sl_period == "interval" and claims.alert_rules_off == ("no_agent_available",)
    assert claims.as_dict()["alert_rules_off"] == ["no_agent_available"]
    assert cfg.get("lab").alerts_enabled is False and cfg.get("other").alerts_enabled is True
    a = cfg.alerts
    assert a.cooldown_s == 600 and a.quiet_hours == (22 * 60, 7 * 60) and a.agent_min_severity == "critical"
    assert a.webhook_timeout_s == 3 and a.webhook_retries == 2
    assert a.webhooks == {"sl_below_target": ("https://chat.example.com/hooks/secret-token",),
                          "*": ("http://127.0.0.1:9000/all",)}
    assert "secret-token" not in repr(cfg)
    assert QueuesConfig.from_toml("").alerts.webhooks == {}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[alerts]\nquiet_hours = '22-07'\n", "quiet_hours"),
        ("[alerts]\nquiet_hours = '25:00-07:00'\n", "quiet_hours"),
        ("[alerts]\ncooldown_s = -1\n", "cooldown_s"),
        ("[alerts]\nsnooze = 1\n", "snooze"),
        ("[alerts]\nagent_min_severity = 'high'\n", "agent_min_severity"),
        ("[alerts.webhooks]\nsl_low = ['https://x']\n", "sl_low"),
        ("[alerts.webhooks]\nwaiting_above = ['ftp://x']\n", "waiting_above"),
        ("[queues.a]\nalert_sl_period = 'week'\n", "alert_sl_period"),
        ("[queues.a]\nalert_rules_off = ['agent_exception']\n", "alert_rules_off"),
        ("[queues.a]\nalerts_enabled = 1\n", "alerts_enabled"),
        ("[queues.a]\nalert_waiting_above = -3\n", "alert_waiting_above"),
    ],
)
def test_bad_alert_settings_name_the_setting(text, named):
    with pytest.raises(ConfigError, match=named):
        QueuesConfig.from_toml(text)


# ------------------------------------------------------------------ dispatcher (no network)
def test_a_full_queue_drops_its_oldest_delivery_and_counts_it():
    d = WebhookDispatcher(max_pending=3)  # not started: nothing is sent
    for i in range(5):
        d.submit("http://127.0.0.1:9/x", {"n": i})
    assert d.health()["dropped"] == 2 and d.health()["pending"] == 3
    assert [x.body for x in d._new] == [b'{"n":2}', b'{"n":3}', b'{"n":4}']


def test_backoff_doubles_with_jitter_and_a_cap():
    d = WebhookDispatcher(backoff_s=1.0, max_backoff_s=10.0, rng=random.Random(7))
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [d.backoff(attempt) for _ in range(50)]
        assert all(base / 2 <= x <= base for x in delays) and len(set(delays)) > 1


def test_retries_then_gives_up_and_keeps_the_last_error():
    calls = []

    def post(url, body, timeout_s):
        calls.append(url)
        return False, "HTTP 503", True

    d = WebhookDispatcher(retries=2, backoff_s=0.001, post=post)
    d.start()
    try:
        d.submit("https://chat.example.com/hooks/secret", {"text": "x"})
        assert d.wait_idle(5)
    finally:
        d.stop()
    h = d.health()
    assert len(calls) == 3 and h["retried"] == 2 and h["failed"] == 1 and h["sent"] == 0
    assert h["last_error"] == "https://chat.example.com/…: HTTP 503"
    assert safe_url("http://h:81/a/b?c=d") == "http://h:81/…"


def test_a_permanent_error_is_not_retried():
    calls = []

    def post(url, body, timeout_s):
        calls.append(url)
        return False, "HTTP 404", False

    d = WebhookDispatcher(retries=5, backoff_s=0.001, post=post)
    d.start()
    try:
        d.submit("http://127.0.0.1:9/x", {})
        assert d.wait_idle(5)
    finally:
        d.stop()
    assert len(calls) == 1 and d.health()["failed"] == 1
