"""The simulator following an imported schedule, and the plan and roster the demo stores."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.simulate import Activity, SimConfig, SimulatedCenter, demo_roster, shift_segments
from floorboard.events import Event
from floorboard.imports import AgentsImport, ScheduleImport, parse_agents_csv, parse_schedule_csv
from staffing.schedule import Segment

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
TZ = "Europe/Paris"
DAY = date(2026, 3, 10)
START = datetime(2026, 3, 10, tzinfo=ZoneInfo(TZ))
_MIN = 60_000

_NEXT = {  # allowed state changes, as in test_adapters_simulate
    None: {"available"},
    "available": {"on_call", "aux", "logged_out"},
    "on_call": {"acw"},
    "acw": {"available", "aux", "logged_out"},
    "aux": {"available", "aux", "logged_out"},
    "logged_out": {"available"},  # a split shift, or the next day
}


def _example_center(seed: int = 3) -> SimulatedCenter:
    sched = parse_schedule_csv((EXAMPLES / "schedule.csv").read_bytes(), TZ)
    roster = parse_agents_csv((EXAMPLES / "agents.csv").read_bytes())
    assert isinstance(sched, ScheduleImport) and isinstance(roster, AgentsImport)
    plan = {day: [s for segs in agents.values() for s in segs] for day, agents in sched.days.items()}
    return SimulatedCenter(SimConfig(seed=seed, tz=TZ), plan=plan,
                           skills={a.agent: a.skills for a in roster.agents})


@pytest.fixture(scope="module")
def example_events() -> list[Event]:
    return list(_example_center().generate(START, START + timedelta(days=3)))


def _local(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, ZoneInfo(TZ)).strftime("%d %H:%M")


def test_shifts_follow_the_imported_segments_and_roster_skills() -> None:
    shifts = {s.agent: s for s in _example_center().schedule(DAY)}
    assert set(shifts) == {"agent01", "agent02", "agent03"}  # agent04 is off all day
    a1 = shifts["agent01"]
    assert (_local(a1.start_ms), _local(a1.end_ms)) == ("10 08:00", "10 16:30")
    assert [(a.kind, _local(a.start_ms), _local(a.end_ms)) for a in a1.activities] == [
        ("break", "10 10:00", "10 10:15"), ("lunch", "10 12:30", "10 13:00")]
    assert a1.skills == ("sales", "support")
    assert [a.kind for a in shifts["agent02"].activities] == ["meeting", "lunch", "training", "break"]
    night = shifts["agent03"]
    assert (_local(night.start_ms), _local(night.end_ms)) == ("10 22:00", "11 06:00")
    assert night.skills == ("billing", "claims")


def test_agents_log_in_and_out_as_planned_with_lapses_and_take_their_activities(example_events: list[Event]) -> None:
    ts = [e.ts_ms for e in example_events]
    assert ts == sorted(ts) and len({e.id for e in example_events}) == len(example_events)
    states = [e for e in example_events if e.type == "agent.state"]
    assert {e.agent for e in states} == {"agent01", "agent02", "agent03", "agent04"}
    first = {}
    for e in states:
        first.setdefault(e.agent, e)
    assert abs(first["agent01"].ts_ms - (START.timestamp() * 1000 + 8 * 60 * _MIN)) <= 15 * _MIN
    reasons = Counter((e.agent, e.reason) for e in states if e.state == "aux")
    assert reasons["agent02", "meeting"] == 1 and reasons["agent02", "training"] == 1
    assert reasons["agent01", "lunch"] == 2  # both days
    assert reasons["agent03", "break"] == 1
    # The night shift goes on past midnight and logs out near 06:00 on the 11th.
    outs = [_local(e.ts_ms) for e in states if e.agent == "agent03" and e.state == "logged_out"]
    assert len(outs) == 1 and outs[0].startswith("11 0")
    # agent04 is off on the 10th and works on the 11th.
    assert _local(first["agent04"].ts_ms).startswith("11 11:")


def test_state_sequences_stay_consistent_across_days(example_events: list[Event]) -> None:
    state: dict[str, str | None] = defaultdict(lambda: None)
    for ev in example_events:
        if ev.type == "agent.state":
            assert ev.state in _NEXT[state[ev.agent]], (ev.agent, state[ev.agent], ev.state, _local(ev.ts_ms))
            state[ev.agent] = ev.state
    assert set(state.values()) == {"logged_out"}


def test_same_seed_same_events() -> None:
    end = START + timedelta(days=2)
    a = [e.to_json() for e in _example_center(5).generate(START, end)]
    b = [e.to_json() for e in _example_center(5).generate(START, end)]
    assert a == b


def test_starting_after_midnight_includes_the_night_shift_in_the_snapshot() -> None:
    at = START + timedelta(days=1, hours=2)
    events = list(_example_center().generate(at, at + timedelta(hours=1)))
    snap = [e for e in events if "-snap-" in e.id]
    assert [(e.agent, e.state) for e in snap] in ([("agent03", "available")], [("agent03", "on_call")],
                                                   [("agent03", "acw")], [("agent03", "aux")])


def test_a_split_shift_logs_in_twice_and_off_is_ignored() -> None:
    o = int(START.timestamp() * 1000)
    plan = {"2026-03-10": [
        Segment("sam", "open", o + 9 * 60 * _MIN, o + 12 * 60 * _MIN),
        Segment("sam", "off", o + 12 * 60 * _MIN, o + 15 * 60 * _MIN),
        Segment("sam", "open", o + 15 * 60 * _MIN, o + 18 * 60 * _MIN),
    ]}
    center = SimulatedCenter(SimConfig(seed=2, tz=TZ), plan=plan, skills={"sam": ["nowhere"]})
    shifts = center.schedule(DAY)
    assert [(_local(s.start_ms), _local(s.end_ms)) for s in shifts] == [("10 09:00", "10 12:00"), ("10 15:00", "10 18:00")]
    assert shifts[0].skills == shifts[1].skills and set(shifts[0].skills) <= {"sales", "support", "billing", "claims"}
    states = [e for e in center.generate(START, START + timedelta(days=1)) if e.type == "agent.state"]
    logins = [_local(e.ts_ms) for i, e in enumerate(states) if e.state == "available"
              and (i == 0 or states[i - 1].state == "logged_out")]
    assert len(logins) == 2 and logins[1] >= "10 14:5"
    assert states[-1].state == "logged_out"


def test_a_day_without_segments_has_nobody_working() -> None:
    center = SimulatedCenter(SimConfig(seed=2, tz=TZ), plan=lambda day: [])
    events = list(center.generate(START, START + timedelta(days=1)))
    assert not [e for e in events if e.type in ("agent.state", "call.answered")]
    assert any(e.type == "call.abandoned" for e in events)


def test_generated_shifts_round_trip_through_segments() -> None:
    """What the demo stores (shift_segments) is what the simulator would follow."""
    generated = SimulatedCenter(SimConfig(seed=9, tz=TZ))
    shifts = generated.schedule(DAY)
    segments = [Segment(s.agent, a.kind, a.start_ms, a.end_ms) for s in shifts for a in shift_segments(s)]
    follower = SimulatedCenter(SimConfig(seed=9, tz=TZ), plan={DAY.isoformat(): segments},
                               skills={s.agent: s.skills for s in shifts})
    assert sorted(follower.schedule(DAY), key=lambda s: s.agent) == sorted(shifts, key=lambda s: s.agent)


def test_shift_segments_cover_the_shift_without_gaps_or_overlaps() -> None:
    for shift in SimulatedCenter(SimConfig(seed=4, n_agents=60)).schedule(DAY):
        segs = shift_segments(shift)
        assert segs[0].start_ms == shift.start_ms and segs[-1].end_ms == shift.end_ms
        assert all(a.end_ms == b.start_ms for a, b in zip(segs, segs[1:], strict=False))
        assert [s for s in segs if s.kind != "open"] == list(shift.activities)
        assert all(isinstance(s, Activity) and s.end_ms > s.start_ms for s in segs)


def test_demo_roster_has_names_teams_of_about_ten_and_supervisors() -> None:
    agents = [f"agent{i + 1:02d}" for i in range(40)]
    roster = demo_roster(agents, {"agent01": ("sales",)})
    assert [r.agent for r in roster] == agents
    assert len({r.name for r in roster}) == 40 and all(r.name for r in roster)
    teams = Counter(r.team for r in roster)
    assert len(teams) == 4 and set(teams.values()) == {10}
    assert len({(r.team, r.supervisor) for r in roster}) == 4
    assert roster[0].skills == ("sales",) and roster[1].skills == ()
    assert len(Counter(r.team for r in demo_roster([f"a{i}" for i in range(25)], {}))) == 2
