"""Schedules and the roster in Redis: written by imports, read by the engine and the pages.

A day's schedule is one hash (agent → JSON segments) replaced as a whole in one transaction,
so a reader never sees half an import. Each write bumps the day's version, so the engine can
keep its parsed copy until the version moves instead of re-reading 10,000 agents every tick.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from staffing.schedule import RosterAgent, Segment

if TYPE_CHECKING:
    from realtime.store import Store

# Live copies only need to cover today, yesterday's midnight-crossing shifts and a look back
# over the last week on the pages; the history store keeps every day for good. The clock starts
# at the end of the schedule's day (or at the write, if later), so a schedule imported weeks ahead
# is still there on its day.
SCHEDULE_TTL_S = 14 * 86400


def _expire_at_s(store: Store, day: str) -> int:
    # Whichever is later: a fortnight after the day ends, or a fortnight after this write (an
    # old day imported for a look back is kept as long as a fresh one).
    return max(store.timebase.day_bounds_ms(day)[1] // 1000, int(time.time())) + SCHEDULE_TTL_S


def write_schedule_days(store: Store, days: Mapping[str, Mapping[str, Sequence[Segment]]]) -> None:
    """Replace each given day's whole schedule (agents absent from the mapping are dropped)."""
    k = store.keys
    pipe = store.r.pipeline(transaction=True)
    for day, agents in days.items():
        key = k.schedule_day(day)
        pipe.delete(key)
        rows = {agent: json.dumps([[s.activity, s.start_ms, s.end_ms] for s in segs], separators=(",", ":"))
                for agent, segs in agents.items()}
        if rows:
            pipe.hset(key, mapping=rows)
            pipe.expireat(key, _expire_at_s(store, day))
        pipe.hincrby(k.schedule_versions, day, 1)
    pipe.execute()


def write_agent_schedule(store: Store, day: str, agent: str, segments: Sequence[Segment]) -> None:
    """Replace one agent's schedule of one day (roster actions, manual edits)."""
    k = store.keys
    pipe = store.r.pipeline(transaction=True)
    if segments:
        pipe.hset(k.schedule_day(day), agent,
                  json.dumps([[s.activity, s.start_ms, s.end_ms] for s in segments], separators=(",", ":")))
        pipe.expireat(k.schedule_day(day), _expire_at_s(store, day))
    else:
        pipe.hdel(k.schedule_day(day), agent)
    pipe.hincrby(k.schedule_versions, day, 1)
    pipe.execute()


def _parse(agent: str, raw: str) -> list[Segment]:
    return [Segment(agent, str(a), int(s), int(e)) for a, s, e in json.loads(raw)]


def read_schedule_day(store: Store, day: str) -> dict[str, list[Segment]]:
    """agent → that agent's segments of shifts starting on ``day``, sorted by start."""
    raw = store.r.hgetall(store.keys.schedule_day(day))
    return {agent: sorted(_parse(agent, value), key=lambda s: s.start_ms) for agent, value in raw.items()}


def read_agent_schedule(store: Store, day: str, agent: str) -> list[Segment]:
    raw = store.r.hget(store.keys.schedule_day(day), agent)
    return sorted(_parse(agent, raw), key=lambda s: s.start_ms) if raw else []


def schedule_versions(store: Store, days: Iterable[str]) -> tuple[int, ...]:
    """The version of each day (0 when never written): a cache key for parsed schedules."""
    days = list(days)
    values = store.r.hmget(store.keys.schedule_versions, days) if days else []
    return tuple(int(v or 0) for v in values)


def write_roster(store: Store, agents: Sequence[RosterAgent], *, replace: bool = False) -> None:
    """Add or update agents; with ``replace`` the roster becomes exactly ``agents``."""
    k = store.keys
    pipe = store.r.pipeline(transaction=True)
    if replace:
        pipe.delete(k.roster)
    if agents:
        pipe.hset(k.roster, mapping={
            a.agent: json.dumps({"name": a.name, "team": a.team, "supervisor": a.supervisor, "skills": list(a.skills)})
            for a in agents
        })
    pipe.incr(k.roster_version)
    pipe.execute()


def read_roster(store: Store) -> dict[str, RosterAgent]:
    out = {}
    for agent, raw in store.r.hgetall(store.keys.roster).items():
        d = json.loads(raw)
        out[agent] = RosterAgent(agent, d.get("name", ""), d.get("team", ""), d.get("supervisor", ""),
                                 tuple(d.get("skills", ())))
    return out


def roster_version(store: Store) -> int:
    return int(store.r.get(store.keys.roster_version) or 0)
