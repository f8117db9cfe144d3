"""Live adherence over real Redis: schedules written, agent states driven by real events through
the store, LiveAdherence ticked like the engine does, the view and the agent entries read back.

Day D is a day a week from now (UTC). Roster: ana, ben (team red, queue sales), cat, dan (team blue), eve
(no schedule). Schedules:

  ana  open 09:00-10:00, break 10:00-10:15, open 10:15-12:00
  ben  open 09:00-12:00 (at 11:30 a meeting 11:00-11:20 is added: schedule changed mid-day)
  cat  meeting 09:00-10:00, open 10:00-12:00
  dan  from D−1 (a midnight-crossing shift): open 22:00-02:00, lunch 02:00-02:30, open 02:30-06:00

States (events): ana available 08:58, aux break 10:02:30, available 10:20. ben available 09:00,
aux meeting 11:00, available 11:20. cat aux meeting 09:00, available 10:04. dan available
D−1 21:55, aux personal 23:57, available 00:04, aux lunch 02:00, available 02:40, logged out
06:00. eve available 09:00.

Hand-computed day at 12:00 (seconds):
  ana  scheduled 10,800; out 10:00-10:02:30 inside the break's 180 s grace; back late 10:15-10:20
       = 300 s, 120 beyond. Phone 9,900; worked 08:58-10:02:30 (3,870) + 10:20-12:00 (6,000).
  ben  with the new schedule: scheduled 10,800, 0 beyond; phone 9,600; worked 7,200 + 2,400.
  cat  out 10:00-10:04 (240 s < 300 s): 0 beyond; scheduled 10,800; phone 7,200; worked 6,960.
  dan  today 00:00-06:00: scheduled 21,600; the 23:57 episode (grace 300 s) is beyond it from
       00:02 to 00:04 = 120 today; back from lunch 02:30 → 02:40, 420 beyond: 540. Phone 19,800;
       worked 00:04-02:00 (6,960) + 02:40-06:00 (12,000) = 18,960.
  red  = ana + ben: 1 − 120 / 21,600; conformance 19,470 / 19,500.
  blue = cat + dan: 1 − 540 / 32,400; conformance 25,920 / 27,000.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from floorboard.config import load_settings
from realtime.adherence import (
    AdherenceResult,
    LiveAdherence,
    read_adherence_view,
    read_agent_adherence,
)
from realtime.engine import Engine
from realtime.live import AgentCache
from realtime.schedules import write_agent_schedule, write_roster, write_schedule_days
from realtime.store import Store
from staffing.schedule import RosterAgent, Segment

pytestmark = pytest.mark.integration

# A day a week ahead (UTC): stored schedules expire a fortnight after their day, so a fixed
# date would one day be written already expired.
_DAY = datetime.now(UTC).date() + timedelta(days=7)
DAY0 = int(datetime.combine(_DAY, time(0), tzinfo=UTC).timestamp() * 1000)
D, D1 = _DAY.isoformat(), (_DAY - timedelta(days=1)).isoformat()


def h(hour: float, minute: float = 0, second: float = 0) -> int:
    return DAY0 + round(hour * 3_600_000 + minute * 60_000 + second * 1000)


def seg(agent: str, activity: str, start: int, end: int) -> Segment:
    return Segment(agent, activity, start, end)


STATES = [
    ("dan", h(-2, -5), "available", None), ("dan", h(0, -3), "aux", "personal"), ("dan", h(0, 4), "available", None),
    ("dan", h(2), "aux", "lunch"), ("dan", h(2, 40), "available", None), ("dan", h(6), "logged_out", None),
    ("ana", h(8, 58), "available", None), ("ben", h(9), "available", None), ("cat", h(9), "aux", "meeting"),
    ("eve", h(9), "available", None), ("ana", h(10, 2, 30), "aux", "break"), ("cat", h(10, 4), "available", None),
    ("ana", h(10, 20), "available", None), ("ben", h(11), "aux", "meeting"), ("ben", h(11, 20), "available", None),
]
SALES_SHORT = [{"id": "sales", "projection": {"agents": 3, "required_agents": 5}}]  # deficit 2


class Floor:
    """The store fed in time order, with the engine's own agent cache."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache = AgentCache()
        self.sent = 0

    def at(self, t: int) -> list:
        pending = [e for e in STATES[self.sent :] if e[1] <= t]
        payloads = []
        for n, (agent, ts, state, reason) in enumerate(pending, start=self.sent):
            body = {"v": 1, "id": f"st{n}", "ts": ts, "type": "agent.state", "agent": agent, "state": state}
            if reason:
                body["reason"] = reason
            if agent in ("ana", "ben"):
                body["queues"] = ["sales"]
            payloads.append((json.dumps(body), "test"))
        if payloads:
            result = self.store.apply_entries(payloads, t)
            assert result.applied == len(payloads), result.rejected
        self.sent += len(pending)
        live = self.store.fetch_live(t, self.cache)
        self.changed = live.changed
        return live.agents


def run(adherence: LiveAdherence, floor: Floor, t: int, blocks: list) -> AdherenceResult:
    """One tick as the engine runs it: only the agents the cache read again are looked at."""
    agents = floor.at(t)
    begun = adherence.begin(agents, t, changed=floor.changed)
    result = adherence.finish(begun, blocks)
    adherence.wait(begun)
    return result


@pytest.fixture
def store(redis_client, key_prefix) -> Store:
    s = Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix}))
    write_roster(s, [RosterAgent("ana", "Ana", "red", "sue", ("sales",)), RosterAgent("ben", "Ben", "red", "sue", ("sales",)),
                     RosterAgent("cat", "Cat", "blue", "tom", ("sales",)), RosterAgent("dan", "Dan", "blue", "tom", ("sales",)),
                     RosterAgent("eve", "Eve", "blue", "tom", ("sales",))])
    write_schedule_days(s, {
        D1: {"dan": [seg("dan", "open", h(-2), h(2)), seg("dan", "lunch", h(2), h(2, 30)), seg("dan", "open", h(2, 30), h(6))]},
        D: {"ana": [seg("ana", "open", h(9), h(10)), seg("ana", "break", h(10), h(10, 15)), seg("ana", "open", h(10, 15), h(12))],
            "ben": [seg("ben", "open", h(9), h(12))],
            "cat": [seg("cat", "meeting", h(9), h(10)), seg("cat", "open", h(10), h(12))]},
    })
    return s


def test_a_day_of_live_adherence(store):
    floor, adherence = Floor(store), LiveAdherence(store)

    # 00:03: dan's aux began at 23:57 yesterday, 6 min ago: past the 5 min grace.
    result = run(adherence, floor, h(0, 3), SALES_SHORT)
    assert result.evaluated == 4 and result.recomputed == 4
    (dan,) = result.exceptions
    assert (dan["agent"], dan["scheduled"], dan["out_since_ms"], dan["out_s"], dan["severity"]) == (
        "dan", "open", h(0, -3), 360.0, "warning")
    assert dan["actual_state"] == "aux" and dan["actual_reason"] == "personal" and dan["team"] == "blue"
    assert dan["impact"] == "hurts" and dan["impact_score"] == 4.0  # aux on a short queue: 2 × 2
    assert read_agent_adherence(store, "eve") is None  # no schedule: not evaluated

    # 10:17: ana is 2 min late back from her break: out, but inside the 3 min grace.
    result = run(adherence, floor, h(10, 17), SALES_SHORT)
    assert result.exceptions == [] and result.recomputed == 0 and result.folded > 0
    ana = read_agent_adherence(store, "ana")
    assert (ana["scheduled"], ana["adhering"], ana["out_since_ms"], ana["grace_s"], ana["severity"]) == (
        "open", False, h(10, 15), 180.0, None)
    assert [s["activity"] for s in ana["segments"]] == ["open", "break", "open"] and ana["next"] is None
    cat = read_agent_adherence(store, "cat")
    assert cat["adhering"] is True and cat["name"] == "Cat"

    # 10:19: 4 min late: a warning that hurts the short queue.
    result = run(adherence, floor, h(10, 19), SALES_SHORT)
    (ana,) = result.exceptions
    assert (ana["agent"], ana["severity"], ana["impact"], ana["grace_s"]) == ("ana", "warning", "hurts", 180.0)
    assert (ana["scheduled_start_ms"], ana["scheduled_end_ms"], ana["supervisor"]) == (h(10, 15), h(12), "sue")
    view = read_adherence_view(store)
    assert view["exceptions"] == result.exceptions and view["generated_ms"] == h(10, 19) and view["day"] == D
    assert view["teams"]["red"]["out_now"] == 1 and view["totals"]["out_now"] == 1

    # 11:10: ben in an unscheduled meeting for 10 min.
    result = run(adherence, floor, h(11, 10), SALES_SHORT)
    assert [(e["agent"], e["severity"], e["actual_reason"]) for e in result.exceptions] == [("ben", "warning", "meeting")]

    # 11:30: the meeting is added to ben's schedule; his day is read again with it.
    write_agent_schedule(store, D, "ben", [seg("ben", "open", h(9), h(11)), seg("ben", "meeting", h(11), h(11, 20)),
                                           seg("ben", "open", h(11, 20), h(12))])
    result = run(adherence, floor, h(11, 30), SALES_SHORT)
    assert result.recomputed == 1 and result.exceptions == []
    assert read_agent_adherence(store, "ben")["adherence_pct"] == 1.0

    result = run(adherence, floor, h(12), SALES_SHORT)
    red, blue = result.teams["red"], result.teams["blue"]
    assert (red["agents"], red["scheduled_s"], red["out_beyond_grace_s"]) == (2, 21_600, 120)
    assert red["adherence_pct"] == pytest.approx(1 - 120 / 21_600)
    assert (red["scheduled_on_queue_s"], red["worked_on_queue_s"]) == (19_500, 19_470)
    assert (blue["scheduled_s"], blue["out_beyond_grace_s"]) == (32_400, 540)
    assert blue["adherence_pct"] == pytest.approx(1 - 540 / 32_400)
    assert blue["conformance_pct"] == pytest.approx(25_920 / 27_000)
    assert result.totals["adherence_pct"] == pytest.approx(1 - 660 / 54_000)
    dan = read_agent_adherence(store, "dan")
    assert dan["adherence_pct"] == round(1 - 540 / 21_600, 3) and dan["conformance_pct"] == round(18_960 / 19_800, 3)
    assert dan["scheduled"] is None and dan["adhering"] is None  # his shift ended at 06:00

    # A fresh engine reading every day from scratch agrees with the incremental one.
    fresh = LiveAdherence(store).tick(floor.at(h(12)), SALES_SHORT, h(12))
    assert fresh.teams == result.teams and fresh.totals == result.totals and fresh.recomputed == 4
    assert read_agent_adherence(store, "ana")["adherence_pct"] == round(1 - 120 / 10_800, 3)


def test_entries_are_written_only_when_they_change(store):
    floor, adherence = Floor(store), LiveAdherence(store)
    agents = floor.at(h(9, 30))
    assert adherence.tick(agents, [], h(9, 30)).agents_written == 4
    assert adherence.tick(agents, [], h(9, 30)).agents_written == 0
    before = store.r.hgetall(store.keys.adherence_agents)
    assert set(before) == {"ana", "ben", "cat", "dan"}
    assert read_agent_adherence(store, "ana")["next"] == {"activity": "break", "start_ms": h(10)}
    # Two seconds on, only ana's conformance creeps (she logged in two minutes early): at most
    # her entry is rewritten, and only on her turn.
    later = run(adherence, floor, h(9, 30, 2), [])
    assert later.agents_written <= 1
    after = store.r.hgetall(store.keys.adherence_agents)
    assert {a for a in after if after[a] != before[a]} <= {"ana"}
    # A change of status goes out at once: ana is still available when her break starts.
    run(adherence, floor, h(10, 0, 30), [])
    ana = read_agent_adherence(store, "ana")
    assert (ana["scheduled"], ana["adhering"], ana["out_since_ms"]) == ("break", False, h(10))


def test_a_running_engine_crosses_midnight_like_a_fresh_one(store):
    """At D−1 23:58 dan's shift is in D−1's schedule; at 00:03 it comes from yesterday's."""
    floor, adherence = Floor(store), LiveAdherence(store)
    result = run(adherence, floor, h(0, -2), SALES_SHORT)
    assert result.day == D1 and [e["agent"] for e in result.exceptions] == []  # 60 s out, within the grace
    result = run(adherence, floor, h(0, 3), SALES_SHORT)
    fresh = LiveAdherence(store).tick(floor.at(h(0, 3)), SALES_SHORT, h(0, 3))
    assert result.day == D and result.recomputed == 4
    assert result.exceptions == fresh.exceptions and [e["agent"] for e in result.exceptions] == ["dan"]
    assert result.teams == fresh.teams
    # Today counts from midnight: 3 min scheduled, 60 s past the grace (which ended at 00:02).
    assert (result.teams["blue"]["scheduled_s"], result.teams["blue"]["out_beyond_grace_s"]) == (180, 60)


def test_agents_without_a_schedule_leave_the_hash_and_no_schedule_means_no_view(store):
    floor, adherence = Floor(store), LiveAdherence(store)
    run(adherence, floor, h(9, 30), [])
    write_agent_schedule(store, D, "cat", [])
    run(adherence, floor, h(9, 31), [])
    assert set(store.r.hgetall(store.keys.adherence_agents)) == {"ana", "ben", "dan"}
    assert set(store.r.hgetall(store.keys.adherence_segments)) == {"ana", "ben", "dan"}
    write_schedule_days(store, {D: {}, D1: {}})
    result = run(adherence, floor, h(9, 32), [])
    assert result.evaluated == 0 and read_adherence_view(store) is None
    assert read_agent_adherence(store, "ana") is None
    assert not store.r.exists(store.keys.adherence_segments)


def test_segments_are_written_when_the_schedules_change_not_with_every_entry(store):
    """An entry changes all day; the segments only when a schedule does: they are kept in a
    hash of their own, written whole when the schedules change, and read back with the entry."""
    floor, adherence = Floor(store), LiveAdherence(store)
    run(adherence, floor, h(9, 30), [])
    assert "segments" not in json.loads(store.r.hget(store.keys.adherence_agents, "ana"))
    assert [s["activity"] for s in read_agent_adherence(store, "ana")["segments"]] == ["open", "break", "open"]
    store.r.delete(store.keys.adherence_segments)
    run(adherence, floor, h(10, 0, 30), [])  # ana's entry changes (her break began), her schedule not
    assert not store.r.exists(store.keys.adherence_segments)
    write_agent_schedule(store, D, "cat", [])
    run(adherence, floor, h(10, 1), [])
    assert set(store.r.hgetall(store.keys.adherence_segments)) == {"ana", "ben", "dan"}


def test_with_the_engines_own_queue_blocks(store):
    """The gap comes from the snapshot's projection: 20 callers queued on sales in 10 minutes
    (none answered), one agent staffed, ben in aux: he hurts by twice the deficit."""
    floor, adherence = Floor(store), LiveAdherence(store)
    agents = floor.at(h(11, 0))
    calls = [(json.dumps({"v": 1, "id": f"q{n}", "ts": h(11, 0, 30 * n), "type": "call.queued", "queue": "sales",
                          "call": f"c{n}"}), "test") for n in range(20)]
    assert store.apply_entries(calls, h(11, 10)).applied == 20
    agents = floor.at(h(11, 10))
    snapshot, _ = Engine(store).build(store.fetch_live(h(11, 10)), h(11, 10))
    (sales,) = snapshot["queues"]
    p = sales["projection"]
    deficit = p["required_agents"] - p["agents"]
    assert deficit > 0
    result = adherence.tick(agents, snapshot["queues"], h(11, 10))
    (ben,) = result.exceptions
    assert (ben["agent"], ben["impact"], ben["queues"]) == ("ben", "hurts", ["sales"])
    assert ben["impact_score"] == pytest.approx(2 * deficit)


def test_a_tick_that_fails_after_begin_folds_its_changes_next_tick(store):
    """The engine names an agent as changed once; if that tick fails after adherence began,
    the change is still folded by the next tick (before, it was lost until the agent's next
    change)."""
    floor, adherence = Floor(store), LiveAdherence(store)
    run(adherence, floor, h(9, 30), SALES_SHORT)
    # 10:02:30 ana goes on break (scheduled 10:00–10:15): the tick that sees it fails half way.
    agents = floor.at(h(10, 3))
    assert [a.id for a in floor.changed] == ["ana"]
    adherence.discard(adherence.begin(agents, h(10, 3), changed=floor.changed))
    result = run(adherence, floor, h(10, 4), SALES_SHORT)  # nothing new for the engine to name
    entry = json.loads(store.r.hget(store.keys.adherence_agents, "ana"))
    assert entry["scheduled"] == "break" and entry["adhering"] is True
    assert result.folded >= 1
