"""The simulated contact center: deterministic, valid, consistent, plausible."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.base import ListSink
from adapters.simulate import SimConfig, SimulatedCenter
from floorboard.events import Event, parse_event

DAY = date(2026, 3, 10)
START = datetime(2026, 3, 10, tzinfo=UTC)
END = START + timedelta(days=1)


@pytest.fixture(scope="module")
def day_events() -> list[Event]:
    return list(SimulatedCenter(SimConfig(seed=11)).generate(START, END))


def test_same_seed_same_events_other_seed_differs() -> None:
    a = [e.to_json() for e in SimulatedCenter(SimConfig(seed=5)).generate(START, END)]
    b = [e.to_json() for e in SimulatedCenter(SimConfig(seed=5)).generate(START, END)]
    c = [e.to_json() for e in SimulatedCenter(SimConfig(seed=6)).generate(START, END)]
    assert a == b
    assert a != c


def test_events_are_valid_unique_and_in_time_order(day_events: list[Event]) -> None:
    for ev in day_events:
        assert parse_event(json.loads(ev.to_json())) == ev
        assert ev.source == "simulate"
    assert len({e.id for e in day_events}) == len(day_events)
    assert all(e.id.startswith("sim-11-20260310-") for e in day_events)
    ts = [e.ts_ms for e in day_events]
    assert ts == sorted(ts)
    assert START.timestamp() * 1000 <= ts[0] and ts[-1] < END.timestamp() * 1000


def test_every_call_is_answered_or_abandoned_once_and_ends_after_answer(
    day_events: list[Event],
) -> None:
    outcome: dict[str, list[str]] = defaultdict(list)
    queued: dict[str, Event] = {}
    answered: dict[str, Event] = {}
    ended: dict[str, Event] = {}
    for ev in day_events:
        if ev.type == "call.queued":
            assert ev.call not in queued
            queued[ev.call] = ev
        elif ev.type in ("call.answered", "call.abandoned"):
            assert ev.call in queued and ev.queue == queued[ev.call].queue
            outcome[ev.call].append(ev.type)
            if ev.type == "call.answered":
                answered[ev.call] = ev
        elif ev.type in ("call.ended", "call.transferred"):
            # Either ends the answered leg, exactly once.
            assert ev.call not in ended
            ended[ev.call] = ev
            assert ev.agent == answered[ev.call].agent
            assert ev.ts_ms > answered[ev.call].ts_ms
            if ev.hold_s is not None:
                assert 0 < ev.hold_s * 1000 < ev.ts_ms - answered[ev.call].ts_ms
        elif ev.type == "call.missed":
            assert ev.call in queued and ev.call not in ended
    assert set(outcome) == set(queued), "a call neither answered nor abandoned"
    assert all(len(v) == 1 for v in outcome.values())
    assert set(ended) == set(answered)


def test_transfers_continue_as_a_new_leg_in_the_target_queue(day_events: list[Event]) -> None:
    transfers = [e for e in day_events if e.type == "call.transferred"]
    assert transfers
    queued = {e.call: e for e in day_events if e.type == "call.queued"}
    for t in transfers:
        leg = queued[f"{t.call}-t"]
        assert leg.queue == t.to_queue != t.queue
        assert leg.ts_ms == t.ts_ms


def test_volumes_peaks_and_outcomes_are_plausible(day_events: list[Event]) -> None:
    counts = Counter(e.type for e in day_events)
    assert 1500 < counts["call.queued"] < 3000
    assert counts["call.abandoned"] > 0.02 * counts["call.queued"]
    assert counts["call.abandoned"] < 0.3 * counts["call.queued"]
    assert counts["call.missed"] > 0 and counts["call.transferred"] > 0
    by_hour = Counter(
        datetime.fromtimestamp(e.ts_ms / 1000, UTC).hour for e in day_events if e.type == "call.queued"
    )
    assert set(by_hour) <= set(range(8, 20))  # open 08:00-20:00
    morning, lunch, afternoon, evening = by_hour[10], by_hour[12], by_hour[14], by_hour[19]
    assert morning > lunch < afternoon
    assert min(morning, afternoon) > 2 * evening
    assert {e.queue for e in day_events if e.type == "call.queued"} == {
        "sales", "support", "billing", "claims",
    }
    holds = [e for e in day_events if e.type == "call.ended" and e.hold_s]
    assert 0.05 < len(holds) / counts["call.ended"] < 0.5


def test_service_level_varies_through_the_day(day_events: list[Event]) -> None:
    queued = {e.call: e.ts_ms for e in day_events if e.type == "call.queued"}
    hit: dict[int, list[int]] = defaultdict(list)
    for e in day_events:
        if e.type in ("call.answered", "call.abandoned"):
            hour = datetime.fromtimestamp(queued[e.call] / 1000, UTC).hour
            ok = e.type == "call.answered" and e.ts_ms - queued[e.call] <= 20_000
            hit[hour].append(ok)
    sl = {h: sum(v) / len(v) for h, v in hit.items()}
    assert min(sl.values()) < 0.7 < max(sl.values())
    overall = sum(sum(v) for v in hit.values()) / sum(len(v) for v in hit.values())
    assert 0.6 < overall < 0.95


_NEXT = {  # allowed state changes
    None: {"available"},
    "available": {"on_call", "aux", "logged_out"},
    "on_call": {"acw"},
    "acw": {"available", "aux", "logged_out"},
    "aux": {"available", "aux", "logged_out"},
    "logged_out": set(),
}


def test_agent_state_sequences_are_consistent(day_events: list[Event]) -> None:
    state: dict[str, str | None] = defaultdict(lambda: None)
    reasons = Counter()
    for ev in day_events:
        if ev.type == "agent.state":
            assert ev.state in _NEXT[state[ev.agent]], (ev.agent, state[ev.agent], ev.state)
            assert (ev.reason is not None) == (ev.state == "aux")
            assert (ev.queues is not None) == (ev.state == "available")
            state[ev.agent] = ev.state
            reasons[ev.reason] += 1
        elif ev.type == "call.answered":
            # The answer comes first, then the on_call state at the same instant.
            assert state[ev.agent] == "available"
        elif ev.type == "call.ended":
            assert state[ev.agent] == "on_call"
        elif ev.type == "call.missed":
            assert state[ev.agent] == "available"
    assert len(state) == 40
    assert set(state.values()) == {"logged_out"}
    assert {"break", "lunch", "not_ready", "personal"} <= set(reasons)


def test_schedule_is_plain_data_and_matches_the_day(day_events: list[Event]) -> None:
    shifts = SimulatedCenter(SimConfig(seed=11)).schedule(DAY)
    assert len(shifts) == 40
    first_login = {}
    for ev in day_events:
        if ev.type == "agent.state" and ev.agent not in first_login:
            first_login[ev.agent] = ev.ts_ms
    for s in shifts:
        assert 1 <= len(s.skills) <= 2
        assert s.end_ms - s.start_ms == 8.5 * 3_600_000
        assert all(s.start_ms < a.start_ms < a.end_ms < s.end_ms for a in s.activities)
        assert {a.kind for a in s.activities} >= {"break", "lunch"}
        # Log-in is near the planned start (some agents are late, none by more than 15 min).
        assert -5 * 60_000 < first_login[s.agent] - s.start_ms <= 15 * 60_000
    late = [s for s in shifts if first_login[s.agent] - s.start_ms > 4 * 60_000]
    assert len(late) < 15


def test_starting_mid_day_sends_a_snapshot_and_only_later_calls() -> None:
    center = SimulatedCenter(SimConfig(seed=11))
    noon = START + timedelta(hours=12)
    events = list(center.generate(noon, noon + timedelta(hours=1)))
    noon_ms = int(noon.timestamp() * 1000)
    snap = [e for e in events if e.id.startswith("sim-11-snap-")]
    assert len(snap) >= 20  # most agents are in at noon
    assert all(e.ts_ms == noon_ms and e.state != "logged_out" for e in snap)
    assert events[: len(snap)] == snap
    rest = events[len(snap):]
    assert all(noon_ms <= e.ts_ms < noon_ms + 3_600_000 for e in rest)
    queued = {e.call for e in rest if e.type == "call.queued"}
    assert all(e.call in queued for e in rest if e.call is not None)
    # The same events as in the whole day (ids are stable whatever the start).
    whole = {e.id for e in center.generate(START, END)}
    assert {e.id for e in rest} <= whole


async def test_run_paces_events_by_speed() -> None:
    slept: list[float] = []
    fake = [0.0]

    async def sleep(s: float) -> None:
        slept.append(s)
        fake[0] += s

    start = START + timedelta(hours=10)
    center = SimulatedCenter(
        SimConfig(seed=2), start=start, end=start + timedelta(minutes=10), speed=60.0,
        clock=lambda: fake[0], sleep=sleep,
    )
    sink = ListSink()
    await center.run(sink)
    assert sink.items and all(src == "simulate" for src, _ in sink.items)
    assert center.sent == len(sink.items)
    # 10 simulated minutes at 60x take 10 s of (fake) wall time.
    assert 9.0 < sum(slept) <= 10.0
    first = parse_event(json.loads(sink.items[0][1]))
    assert first.ts_ms == int(start.timestamp() * 1000)


async def test_run_real_time_defaults_to_now_and_can_be_cancelled() -> None:
    import asyncio

    now = datetime(2026, 3, 10, 10, 30, tzinfo=UTC).timestamp()
    center = SimulatedCenter(SimConfig(seed=2), speed=600.0, now=lambda: now)
    sink = ListSink()
    task = asyncio.create_task(center.run(sink))
    await asyncio.sleep(0.3)  # ~3 simulated minutes of a busy morning
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    events = [parse_event(json.loads(p)) for _, p in sink.items]
    assert any(e.type == "call.queued" for e in events)
    assert min(e.ts_ms for e in events) == int(now * 1000)


async def test_catch_up_sends_the_past_at_once_then_paces_live() -> None:
    slept: list[float] = []
    fake = [0.0]
    batches: list[tuple[float, int]] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        fake[0] += s

    class Spy(ListSink):
        async def send(self, payloads, source):  # type: ignore[no-untyped-def]
            batches.append((fake[0], len(payloads)))
            await super().send(payloads, source)

    now = START + timedelta(hours=10)
    center = SimulatedCenter(
        SimConfig(seed=4), start=START, end=now + timedelta(minutes=5), speed=1.0,
        catch_up=True, now=lambda: now.timestamp(), clock=lambda: fake[0], sleep=sleep,
    )
    sink = Spy()
    await center.run(sink)
    events = [parse_event(json.loads(p)) for _, p in sink.items]
    now_ms = int(now.timestamp() * 1000)
    past = [e for e in events if e.ts_ms <= now_ms]
    assert len(past) > 1000  # the morning so far
    # Everything up to "now" went out before the first sleep, in batches of at most 500.
    sent_before_sleeping = sum(n for t, n in batches if t == 0.0)
    assert sent_before_sleeping >= len(past)
    assert max(n for _, n in batches) <= 500
    # The next five minutes are paced in real time.
    assert 250 < sum(slept) <= 300
    assert events == list(center.generate(START, now + timedelta(minutes=5)))


async def test_as_fast_as_possible_can_be_cancelled() -> None:
    import asyncio

    center = SimulatedCenter(SimConfig(seed=4), start=START, speed=None)
    sink = ListSink()
    task = asyncio.create_task(center.run(sink))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(sink.items) > 1000
