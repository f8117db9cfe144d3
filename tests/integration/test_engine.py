"""The engine tick over real Redis: the snapshot's numbers for the hand-computed scenario."""

from __future__ import annotations

import json

import pytest

from floorboard.config import load_settings
from realtime.archive import Archiver
from realtime.engine import Engine
from realtime.history import History
from realtime.queries import queue_day_intervals
from realtime.runner import engine_alive
from realtime.store import Store
from staffing import erlang_a
from tests.integration.scenario import T0, at, scenario

pytestmark = pytest.mark.integration
NOW = at(1000)  # 16:16:40: c6 has waited 40 s (> T), c5's interval is 16:00


@pytest.fixture
def store(redis_client, key_prefix) -> Store:
    s = Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix}))
    s.apply_entries([(p, "test") for p in scenario()], NOW)
    return s


def test_snapshot_numbers(store):
    snap = Engine(store).tick(NOW)
    (q,) = snap["queues"]
    assert q["id"] == "sales" and snap["interval_start_ms"] == at(900)
    assert q["now"]["waiting"] == 1 and q["now"]["longest_wait_s"] == pytest.approx(40.0)
    assert q["now"]["waiting_over_t"] == 1
    # a1 on call (since 16:15:20), a2 in aux break.
    assert q["now"]["agents"] == {"available": 0, "on_call": 1, "acw": 0, "aux": 1, "logged_in": 2,
                                  "aux_reasons": {"break": 1}}
    today = q["today"]
    assert today["offered"] == 6 and today["answered"] == 3 and today["abandoned"] == 2
    # Live SL today: 1 within T ÷ (3 + 2 − 1 short + 1 still waiting beyond T) = 0.2.
    assert today["service_level"] == pytest.approx(1 / 5)
    assert q["now"]["service_level"] == pytest.approx(1 / 5)
    assert today["asa_s"] == pytest.approx(85 / 3)
    assert today["abandon_rate"] == pytest.approx(1 / 4)
    assert today["aht_s"] == pytest.approx(215.0)
    # The current interval (16:15) has c6, queued at 16:16:00 and still waiting beyond T.
    assert q["interval"]["offered"] == 1 and q["interval"]["service_level"] == 0.0


def test_occupancy_from_agent_state_time(store):
    snap = Engine(store).tick(NOW)
    today = snap["queues"][0]["today"]
    # a1: on_call 100 + acw 30 + on_call since 920 → 80 = 210 s handling; available 25 + 765 = 790 s.
    # a2: on_call 300 s; available 220 s; aux does not count.
    assert today["occupancy"] == pytest.approx((210 + 300) / (210 + 300 + 790 + 220))


def test_projection_is_the_staffing_engine_on_observed_inputs(store):
    snap = Engine(store).tick(NOW)
    p = snap["queues"][0]["projection"]
    # Rate: 5 offered in the previous interval + 1 in the 100 s of this one → 6 / 1000 s.
    assert p["rate_per_hour"] == pytest.approx(6 / 1000 * 3600)
    assert p["aht_s"] == pytest.approx(215.0) and not p["aht_assumed"]
    assert p["agents"] == 1  # a2 is in aux
    assert p["patience_s"] == 180.0  # too few abandons: the documented fallback
    direct = erlang_a(6 / 1000, 215.0, 1, 20.0, 180.0, short_abandon_s=5.0)
    assert p["service_level"] == pytest.approx(float(direct.service_level("excl_short")))
    assert p["required_agents"] >= 1


def test_queue_and_agent_views(store):
    Engine(store).tick(NOW)
    view = store.read_queue_view("sales", NOW)
    assert [m["agent"] for m in view["agents"]] == ["a2", "a1"]  # aux first
    assert view["waiting"] == [{"call": "c6", "enter_ms": at(960), "wait_s": pytest.approx(40.0)}]
    assert sum(r["offered"] for r in view["intervals"]) == 6 and len(view["intervals"]) == 96
    a1 = store.read_agent_view("a1", NOW)
    assert a1["state"] == "on_call" and a1["time_in_state_s"] == pytest.approx(80.0)
    assert a1["today"]["handled"] == 1 and a1["today"]["aht_s"] == pytest.approx(130.0)
    assert [t["state"] for t in a1["timeline"]] == ["available", "on_call", "acw", "available", "on_call"]
    assert a1["team"]["size"] == 2 and a1["team"]["median"]["handled"] == 1.0
    assert store.read_agent_view("nobody", NOW) is None


def test_heartbeat_and_check(store):
    assert engine_alive(store, NOW)[0] is False
    Engine(store).tick(NOW)
    assert engine_alive(store, NOW + 1000)[0] is True
    alive, message = engine_alive(store, NOW + 60_000)
    assert not alive and "old" in message


def test_closed_intervals_are_archived_and_served_from_history(store, tmp_path):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    later = at(900 + 900 + 400)  # 16:15 closed at 16:30, more than 5 min before 16:36:40
    nq, na = Archiver(store, history).run_once(later)
    assert nq == 2 and na == 3  # sales 16:00, 16:15; a1 16:00, 16:15; a2 16:00
    assert Archiver(store, history).run_once(later) == (0, 0)  # nothing touched since
    # Live keys gone (expired, or a restart without persistence): the history answers.
    store.r.delete(store.keys.queue_interval("sales", T0))
    day = queue_day_intervals(store, history, "sales", "2025-11-24")
    row = next(r for r in day["intervals"] if r["start_ms"] == T0)
    assert row["source"] == "history" and row["offered"] == 5 and row["service_level"] == pytest.approx(0.25)
    assert day["totals"]["offered"] == 6


def test_a_change_during_archiving_is_archived_next_time(store, tmp_path):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    later = at(900 + 900 + 400)
    rows, _, marks = store.closed_intervals(later - 1_200_000)
    # A backfill lands in the 16:00 interval between the read and the unmark.
    backfill = json.dumps({"v": 1, "id": "bf1", "ts": at(600), "type": "call.queued", "queue": "sales",
                           "call": "bf1", "source": "backfill"})
    assert store.apply_entries([(backfill, "backfill")], later).applied == 1
    history.upsert_queue_intervals(rows, later)
    store.unmark_touched(marks)
    Archiver(store, history).run_once(later)
    assert history.queue_day("sales", "2025-11-24")[T0]["offered"] == 6


def test_incremental_ticks_equal_a_full_read(store):
    """The engine's agent cache re-reads only changed agents; it must never differ from a full read,
    across new events, an interval boundary and the running state's time."""
    engine = Engine(store)
    engine.tick(NOW)
    later = [
        json.dumps({"v": 1, "id": "i1", "ts": at(1010), "type": "agent.state", "agent": "a2", "state": "available"}),
        json.dumps({"v": 1, "id": "i2", "ts": at(1020), "type": "call.answered", "queue": "sales", "call": "c6", "agent": "a2"}),
        json.dumps({"v": 1, "id": "i3", "ts": at(1020), "type": "agent.state", "agent": "a2", "state": "on_call"}),
    ]
    for i, t in enumerate((at(1015), at(1030), at(1805), at(1900))):  # 1805: the 16:30 interval
        if i < len(later):
            store.apply_entries([(later[i], "test")], t)
        if i == 1:
            store.apply_entries([(later[2], "test")], t)
        cached = engine.tick(t)
        fresh = Engine(store).build(store.fetch_live(t), t)[0]
        for key in ("now", "interval", "today"):
            assert cached["queues"][0][key] == fresh["queues"][0][key], (t, key)
    assert engine.agents.version == int(store.r.get(store.keys.agents_version))


def test_written_snapshot_and_details_are_strict_json(store):
    """What browsers and the API read must parse as strict JSON (no NaN or Infinity tokens)."""
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    Engine(store).tick(NOW)
    snap = json.loads(store.r.get(store.keys.snapshot), parse_constant=refuse)
    assert snap["queues"][0]["id"] == "sales"
    detail = json.loads(store.r.get(store.keys.queue_detail("sales")), parse_constant=refuse)
    assert [m["agent"] for m in detail["agents"]] == ["a2", "a1"]


def test_a_tick_that_fails_half_way_leaves_no_reply_unread_and_the_next_writes_everything(store):
    """Round trips sent early and read late (realtime.deferred) are read even when the tick
    fails; the next tick then writes every queue's detail again, changed or not."""
    engine = Engine(store)
    engine.tick(NOW)
    pool = store.r.connection_pool
    store.r.delete(store.keys.queue_detail("sales"))  # as if this tick's write had been lost

    def broken(*_args):
        raise RuntimeError("alerts failed")

    engine.alerts.tick = broken
    with pytest.raises(RuntimeError):
        engine.tick(NOW + 1000)
    assert not pool._in_use_connections
    del engine.alerts.tick
    engine.tick(NOW + 2000)
    assert store.r.get(store.keys.queue_detail("sales")) is not None
    engine.close()


def test_an_agents_day_after_midnight_starts_with_the_state_they_were_in(redis_client, key_prefix):
    """Aux since 23:50: at 00:10 the agent's day shows aux from midnight (not an empty day),
    until their first change of the new day."""
    s = Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix}))
    midnight = (T0 // 86_400_000 + 1) * 86_400_000  # the UTC midnight after the scenario's day
    _set_states(s, midnight - 60_000, ("m0", midnight - 3_600_000, "ana", "available"),
                ("m1", midnight - 600_000, "ana", "aux", "break"))
    view = s.read_agent_view("ana", midnight + 600_000)
    assert view["timeline"] == [{"start_ms": midnight, "end_ms": midnight + 600_000, "state": "aux", "reason": "break"}]
    _set_states(s, midnight + 600_000, ("m9", midnight + 300_000, "ana", "available"))
    view = s.read_agent_view("ana", midnight + 600_000)
    assert [(t["start_ms"], t["state"]) for t in view["timeline"]] == [(midnight, "aux"), (midnight + 300_000, "available")]


def _set_states(store: Store, now_ms: int, *changes: tuple) -> None:
    """Apply agent.state events through the store: (event id, ts, agent, state[, reason]) each."""
    store.apply_entries([(json.dumps({"v": 1, "id": eid, "ts": ts, "type": "agent.state", "agent": agent,
                                      "state": state, **({"reason": reason[0]} if reason else {})}), "test")
                         for eid, ts, agent, state, *reason in changes], now_ms)


def _reads_every_agent_again_then_folds(store: Store, entry: dict[str, str], caplog):
    """Add a changes entry only a bug could write; the next tick reads every agent again, and
    the state after the next change (a2 available), folded again."""
    engine = Engine(store)
    engine.tick(NOW)
    version = store.r.incr(store.keys.agents_version)
    store.r.xadd(store.keys.agent_changes, entry, id=f"{version}-0")
    snap = engine.tick(NOW + 1000)
    assert "reading every agent again" in caplog.text
    assert snap["queues"][0]["now"]["agents"]["logged_in"] == 2
    _set_states(store, NOW + 1500, ("u1", NOW + 1500, "a2", "available"))
    return store.fetch_live(NOW + 2000, engine.agents, on_agents=engine.table.take)


def _agent_essence(live) -> dict[str, tuple]:
    return {a.id: (a.state, a.reason, a.since_ms, a.queues, a.call, *live.counters.of(a.id)) for a in live.agents}


def test_folded_agent_changes_equal_a_full_read(store):
    """The engine folds what each apply batch changed (the agent changes stream) instead of
    reading agents again: after random state changes and calls, across an interval boundary,
    with agents marked by another writer, and after changes were trimmed away (a gap: every
    agent is read again), its copy of every agent equals a full read."""
    import random

    rng = random.Random(5)
    engine = Engine(store)
    engine.tick(NOW)
    agents = [f"r{i}" for i in range(12)]
    states = ("available", "on_call", "acw", "aux", "logged_out")
    t, n, calls = NOW, 0, 0
    folded_ticks = 0
    for tick in range(40):
        batch = []
        for _ in range(rng.randrange(1, 9)):
            t += rng.randrange(1, 40_000)  # crosses the 16:30 and 16:45 interval starts
            n += 1
            agent = rng.choice(agents)
            if rng.random() < 0.6:
                state = rng.choice(states)
                ev = {"v": 1, "id": f"s{n}", "ts": t, "type": "agent.state", "agent": agent, "state": state,
                      **({"reason": rng.choice(("break", "lunch"))} if state == "aux" else {}),
                      **({"queues": ["sales"]} if rng.random() < 0.3 else {})}
                batch.append(json.dumps(ev))
            else:
                calls += 1
                call = f"rc{calls}"
                batch.append(json.dumps({"v": 1, "id": f"q{n}", "ts": t, "type": "call.queued", "queue": "sales", "call": call}))
                batch.append(json.dumps({"v": 1, "id": f"a{n}", "ts": t + 1000, "type": "call.answered", "queue": "sales",
                                         "call": call, "agent": agent}))
                if rng.random() < 0.7:
                    batch.append(json.dumps({"v": 1, "id": f"e{n}", "ts": t + 2000, "type": "call.ended", "queue": "sales",
                                             "call": call, "agent": agent, "hold_s": 0.5}))
                t += 2000
        # Batches of various sizes, each its own entry of the stream.
        for lo in range(0, len(batch), 3):
            store.apply_entries([(p, "test") for p in batch[lo : lo + 3]], t)
        if tick == 10:
            store.mark_agents_changed(["r1", "r2"])
        if tick == 20:
            store.r.xtrim(store.keys.agent_changes, maxlen=0, approximate=False)  # changes lost: a gap
        live = store.fetch_live(t, engine.agents, on_agents=engine.table.take)
        folded_ticks += live.changed is not None
        assert _agent_essence(live) == _agent_essence(store.fetch_live(t)), tick
        assert engine.agents.version == int(store.r.get(store.keys.agents_version))
    assert folded_ticks == 39  # every tick folded changes, except the one after the gap
    # What a tick folded is trimmed by the next: the stream keeps only what is not folded yet.
    store.fetch_live(t, engine.agents, on_agents=engine.table.take)
    assert store.r.xlen(store.keys.agent_changes) == 0


def test_a_later_intervals_change_waits_for_its_interval(store):
    """A source clock a little ahead of the engine's: a change counted in the next interval is
    not shown in this one, and is shown (not lost) once the engine reaches that interval."""
    engine = Engine(store)
    engine.tick(NOW)
    start_1630 = at(1800)
    # a2 becomes available at 16:29:50 and on a call at 16:30:10 (20 s ahead of the engine's clock).
    _set_states(store, start_1630 + 10_000, ("w1", start_1630 - 10_000, "a2", "available"),
                ("w2", start_1630 + 10_000, "a2", "on_call"))
    before = store.fetch_live(start_1630 - 5_000, engine.agents, on_agents=engine.table.take)
    assert before.changed is not None
    assert before.counters.of("a2")[0]["s:available"] == 10_000  # only 16:29:50–16:30 (in aux before, since 16:08:40)
    after = store.fetch_live(start_1630 + 20_000, engine.agents, on_agents=engine.table.take)
    assert after.counters.of("a2")[0].get("s:available") == 10_000  # 16:30:00–16:30:10, waited for this interval
    assert _agent_essence(after) == _agent_essence(store.fetch_live(start_1630 + 20_000))


def test_a_tick_failing_after_its_fold_folds_the_same_changes_again_not_twice(store, monkeypatch):
    """What a tick folded goes into the engine's copy only once every read succeeded: a tick
    whose queue read fails after the fold (here at an interval boundary, with an amount that
    waited for the new interval) leaves the copy as it was, and the next tick folds the same
    changes once."""
    import realtime.reads

    engine = Engine(store)
    engine.tick(NOW)
    start_1630 = at(1800)
    _set_states(store, start_1630 + 10_000, ("f1", start_1630 - 10_000, "a2", "available"),
                ("f2", start_1630 + 10_000, "a2", "on_call"))
    store.fetch_live(start_1630 - 5_000, engine.agents, on_agents=engine.table.take)  # 16:30's amount waits
    _set_states(store, start_1630 + 15_000, ("f3", start_1630 + 15_000, "a2", "acw"))
    real = realtime.reads._queue_rows
    monkeypatch.setattr(realtime.reads, "_queue_rows", lambda *a: (_ for _ in ()).throw(ConnectionError("lost")))
    with pytest.raises(ConnectionError):
        store.fetch_live(start_1630 + 20_000, engine.agents, on_agents=engine.table.take)
    monkeypatch.setattr(realtime.reads, "_queue_rows", real)
    live = store.fetch_live(start_1630 + 20_000, engine.agents, on_agents=engine.table.take)
    assert live.changed is not None  # folded, not read again
    assert live.counters.of("a2")[0] == {"s:available": 10_000, "s:on_call": 5_000}  # once each
    assert _agent_essence(live) == _agent_essence(store.fetch_live(start_1630 + 20_000))


@pytest.mark.parametrize("amount", ['"500"', "null", "true", "1e999", "[1]"])
def test_an_agent_changes_amount_that_is_not_a_number_reads_every_agent_again(store, amount, caplog):
    """A counter amount that is not a finite number (only a bug could write one) is caught while
    folding, so the engine reads every agent again instead of failing every tick after it."""
    tb = store.timebase
    entry = f'[["a2", false, false, false, false, false, ["{tb.interval_start_ms(NOW)}", "{tb.day(NOW)}", "s:available", {amount}]]]'
    live = _reads_every_agent_again_then_folds(store, {"d": entry}, caplog)
    assert live.changed is not None  # folding again
    assert _agent_essence(live) == _agent_essence(store.fetch_live(NOW + 2000))


def test_team_medians_are_refreshed_between_ticks_not_in_them(store):
    """The engine process runs the team medians after a tick, every 10 s; a tick computes them
    itself only when there are none yet or they are older than 30 s."""
    engine = Engine(store)
    engine.tick(NOW)
    assert engine._medians_ms == NOW  # none yet: the first tick computes them
    engine.tick(NOW + 12_000)
    assert engine._medians_ms == NOW  # due, but not in the tick
    assert engine.between_ticks(NOW + 12_000) > 0 and engine._medians_ms == NOW + 12_000
    assert engine.between_ticks(NOW + 14_000) == 0.0  # not due yet
    fresh = Engine(store)
    fresh.build(store.fetch_live(NOW + 12_000), NOW + 12_000)  # the same agents at the same time
    assert engine._medians == fresh._medians and engine._medians
    engine.tick(NOW + 43_000)  # never run between ticks for 31 s: the tick does it
    assert engine._medians_ms == NOW + 43_000


@pytest.mark.parametrize("entry", [{"d": "not json"}, {"d": '[["a1", "available"]]'}, {"x": "1"}])
def test_an_unreadable_agent_changes_entry_reads_every_agent_again(store, entry, caplog):
    """Only the apply script writes the changes stream, so a bad entry is a bug; still, it must
    not stop every tick for good: the engine reads every agent again and goes on folding."""
    live = _reads_every_agent_again_then_folds(store, entry, caplog)
    assert live.changed is not None and [a.id for a in live.changed] == ["a2"]  # folding again
    assert _agent_essence(live) == _agent_essence(store.fetch_live(NOW + 2000))
