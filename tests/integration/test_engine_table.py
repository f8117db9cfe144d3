"""The engine's agent table and per-queue figures against the plain per-agent definitions.

The table (realtime.live.AgentTable) and Engine._group_agents replace a Python loop over agents
and their queues with numpy sums; these tests run both on random centers and ask for equality:
counts by state, aux reasons, occupancy, member lists and team medians (staffing.kpis).
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from floorboard.config import load_settings
from realtime.engine import Engine
from realtime.live import AgentCounters, AgentLive, LiveState, QueueLive
from realtime.store import Store
from staffing import kpis

pytestmark = pytest.mark.integration  # an Engine needs a store; build() itself reads no Redis
IV = 1_764_000_000_000
DAY_START = IV - 16 * 3600 * 1000
STATES = (None, "logged_out", "available", "on_call", "acw", "aux")


@pytest.fixture
def engine(redis_client, key_prefix) -> Engine:
    return Engine(Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix})), alerts=False)


# Each test agent's counters (interval, day) by id: the tick takes them from LiveState.counters.
Counts = dict[str, tuple[dict[str, float], dict[str, float]]]


def _agent(rng: random.Random, i: int, queues: list[str], counts: Counts, agent_id: str | None = None) -> AgentLive:
    state = rng.choice(STATES)
    counters = {f: float(rng.choice((0, rng.randrange(1, 3_600_000)))) for f in ("s:on_call", "s:acw", "s:available")}
    day = dict(counters, handled=float(rng.randrange(0, 40)), talk_ms=float(rng.randrange(0, 10**7)),
               hold_ms=float(rng.choice((0, rng.randrange(1, 10**6)))), missed=float(rng.randrange(0, 3)),
               transfers=float(rng.randrange(0, 3)))
    agent = AgentLive(
        id=agent_id or f"a{i:04d}", state=state, reason=rng.choice((None, "break", "lunch")) if state == "aux" else None,
        since_ms=rng.choice((None, IV - rng.randrange(0, 7_200_000), IV + rng.randrange(0, 600_000))),
        queues=tuple(rng.sample(queues, rng.randrange(0, min(4, len(queues) + 1)))), call=None,
    )
    counts[agent.id] = ({k: v / 7 // 1 for k, v in counters.items()}, day)
    return agent


def _live(agents: list[AgentLive], queues: list[str], now_ms: int, counts: Counts, iv: int = IV,
          changed: list[AgentLive] | None = None) -> LiveState:
    rows = [QueueLive(q, {}, {}, {}, 0, None, 0, 0) for q in queues]
    # The counters' rows in an order of their own (reversed ids), not the table's.
    return LiveState(now_ms, iv, "2025-11-24", DAY_START, rows, agents, changed,
                     AgentCounters.from_mappings(dict(sorted(counts.items(), reverse=True))))


_PAGE_RANK = {"aux": 0, "acw": 1, "on_call": 2, "available": 3}


def _page_order(m: dict[str, Any], now_ms: int) -> tuple[int, float, str]:
    """The queue page's member order, written out plainly: the longest in aux first, then ACW,
    on a call, available, each longest in state first; ties by agent id."""
    return _PAGE_RANK[m["state"]], m["since_ms"] or now_ms, m["agent"]


def _reference(live: LiveState, now_ms: int, counts: Counts) -> dict[str, dict[str, Any]]:
    """The per-agent loop the table replaces (as the engine computed it before)."""
    out: dict[str, dict[str, Any]] = {}
    for q in live.queues:
        out[q.id] = {"counts": dict.fromkeys(("available", "on_call", "acw", "aux"), 0), "aux": {},
                     "occ": [0.0, 0.0, 0.0, 0.0], "members": [], "rows": []}
    for a in live.agents:
        if a.state in (None, "logged_out"):
            continue
        interval, day = counts[a.id]
        hi = interval.get("s:on_call", 0.0) + interval.get("s:acw", 0.0)
        ai = interval.get("s:available", 0.0)
        hd = day.get("s:on_call", 0.0) + day.get("s:acw", 0.0)
        ad = day.get("s:available", 0.0)
        if a.since_ms is not None and a.state in ("on_call", "acw", "available"):
            run_iv = max(0, now_ms - max(a.since_ms, live.interval_start_ms))
            run_day = max(0, now_ms - max(a.since_ms, DAY_START))
            if a.state == "available":
                ai, ad = ai + run_iv, ad + run_day
            else:
                hi, hd = hi + run_iv, hd + run_day
        for q in a.queues:
            if q not in out:
                continue
            ref = out[q]
            ref["counts"][a.state] += 1
            if a.state == "aux":
                reason = a.reason or "other"
                ref["aux"][reason] = ref["aux"].get(reason, 0) + 1
            for j, v in enumerate((hi, ai, hd, ad)):
                ref["occ"][j] += v
            ref["members"].append({"agent": a.id, "state": a.state, "reason": a.reason, "since_ms": a.since_ms})
            ref["rows"].append(kpis.agent_kpis(day, hd, ad))
    return out


def _check(engine: Engine, live: LiveState, now_ms: int, counts: Counts) -> None:
    snapshot, details = engine.build(live, now_ms)
    ref = _reference(live, now_ms, counts)
    for block in snapshot["queues"]:
        r = ref[block["id"]]
        now = block["now"]["agents"]
        assert {k: now[k] for k in r["counts"]} == r["counts"]
        assert now["logged_in"] == sum(r["counts"].values())
        assert now["aux_reasons"] == dict(sorted(r["aux"].items()))
        assert block["interval"]["occupancy"] == kpis.occupancy(r["occ"][0], r["occ"][1])
        assert block["today"]["occupancy"] == kpis.occupancy(r["occ"][2], r["occ"][3])
        assert details[block["id"]]["agents"] == sorted(r["members"], key=lambda m: _page_order(m, now_ms))
        assert details[block["id"]]["team_median"] == kpis.median_by_key(r["rows"])
        # What the tick writes (members' JSON joined, not the list serialised) is the same detail.
        assert json.loads(engine._detail_json(block["id"], details[block["id"]])) == details[block["id"]]


@pytest.mark.parametrize("seed", range(6))
def test_group_figures_equal_the_per_agent_loop(engine, seed):
    rng = random.Random(seed)
    counts: Counts = {}
    queues = [f"q{j}" for j in range(rng.randrange(1, 12))]
    agents = [_agent(rng, i, [*queues, "not-a-live-queue"], counts) for i in range(rng.randrange(0, 300))]
    rng.shuffle(agents)  # the table's rows not in id order: ties in the member lists go by id
    now = IV + 400_000
    _check(engine, _live(agents, queues, now, counts), now, counts)
    # Later ticks: some agents re-read (new objects), the others unchanged; then a new interval,
    # where (as the agent cache does) unchanged agents keep their object, with no interval counters.
    iv = IV
    for step in range(4):
        now += 2_000 if step < 3 else 900_000
        if step == 3:
            iv = IV + 900_000
            counts = {a: ({}, day) for a, (_, day) in counts.items()}
        changed = []
        for i in rng.sample(range(len(agents)), len(agents) // 3):
            agents[i] = _agent(rng, i, [*queues, "not-a-live-queue"], counts, agents[i].id)
            changed.append(agents[i])
        if step == 1:  # a new agent whose id sorts first, added last
            agents.append(_agent(rng, 0, [*queues, "not-a-live-queue"], counts, "a-late"))
            changed.append(agents[-1])
        engine._medians_ms = None  # medians every build, to compare them each time
        # As the agent cache says which agents it read again (every other step: "any may have").
        _check(engine, _live(agents, queues, now, counts, iv, changed if step % 2 else None), now, counts)


def test_medians_match_kpis_median_by_key_on_ties_and_gaps(engine):
    """Even and odd counts, equal values, KPIs undefined (None) for some agents or all."""
    rng = random.Random(3)
    counts: Counts = {}
    agents = []
    for i in range(60):
        a = _agent(rng, i, ["q0", "q1"], counts)
        a.state = "available"
        counts[a.id][1]["handled"] = float(rng.choice((0, 0, 1, 2, 2)))  # many ties; 0 handled: AHT None
        agents.append(a)
    _check(engine, _live(agents, ["q0", "q1", "q2"], IV + 1000, counts), IV + 1000, counts)


def test_unchanged_member_lists_are_reused(engine):
    rng = random.Random(5)
    counts: Counts = {}
    queues = ["q0", "q1", "q2"]
    agents = [_agent(rng, i, queues, counts) for i in range(50)]
    _, first = engine.build(_live(agents, queues, IV + 1000, counts), IV + 1000)
    _, second = engine.build(_live(agents, queues, IV + 3000, counts), IV + 3000)
    assert all(first[q]["agents"] is second[q]["agents"] for q in queues)
    changed = next(i for i, a in enumerate(agents) if a.state == "available" and a.queues)
    agents[changed] = AgentLive(**{**{f: getattr(agents[changed], f) for f in AgentLive.__slots__}, "state": "aux"})
    _, third = engine.build(_live(agents, queues, IV + 5000, counts), IV + 5000)
    for q in queues:
        assert (third[q]["agents"] is second[q]["agents"]) == (q not in agents[changed].queues)


def test_no_agents_yet_across_an_interval(engine):
    """A center with queues but no agent (a fresh demo, a night): every tick still builds."""
    for iv in (IV, IV + 900_000):
        snapshot, details = engine.build(_live([], ["q0"], iv + 1000, {}, iv), iv + 1000)
        assert snapshot["queues"][0]["now"]["agents"]["logged_in"] == 0 and details["q0"]["agents"] == []
    snapshot, _ = engine.build(_live([], [], IV + 2_000_000, {}, IV + 1_800_000), IV + 2_000_000)
    assert snapshot["queues"] == []
