"""The agent changes stream folded into the engine's copy of the agents (no Redis here).

Every apply batch that changes agents adds one entry to the changes stream under a new agents
version (realtime/lua.py, APPLY_BATCH): for each agent, the live fields the batch set and the
amounts it added to the counters a tick uses, by interval and day. The engine adds those to its
copy instead of reading the agents again, so a tick's Redis work no longer grows with the agents
that changed. Other writers add an entry naming agents to read again (MARK_AGENTS_CHANGED).

One engine per key prefix folds and trims the stream: a second engine on the same prefix would
find entries gone (trimmed by the other) and read every agent each tick, right but slow.

Exact, not approximate, because of three rules:

- Versions are consecutive (each entry is a new version): an entry missing between the copy's
  version and the newest (trimmed while the engine was away, or Redis restarted) is a gap, and
  the engine reads every agent again.
- An agent read from Redis (a full read, or read again) carries the agents version read with it,
  atomically: entries up to that version are already in what was read, and are skipped for it.
- Only the current interval's and day's amounts are added; an amount for a later interval (the
  source's clock a little ahead of the engine's) waits in ``AgentCache.pending`` until the
  engine's interval reaches it, and an earlier interval's amount is not shown by the tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from realtime.live import (
    AGENT_TICK_DAY_FIELDS,
    AGENT_TICK_INTERVAL_FIELDS,
    AgentCache,
    AgentLive,
    skills_of,
)

_IV_FIELDS = frozenset(AGENT_TICK_INTERVAL_FIELDS)
_DAY_FIELDS = frozenset(AGENT_TICK_DAY_FIELDS)


class ChangesGap(Exception):
    """The stream no longer holds every change since the copy's version."""


@dataclass(slots=True)
class Changes:
    """The entries after a version, parsed: what to fold and whom to read again."""

    version: int  # the agents version the entries go up to
    deltas: list[tuple[int, list[Any]]] = field(default_factory=list)  # (version, agents' changes)
    reread: set[str] = field(default_factory=set)


def parse_changes(version_raw: Any, entries: Sequence[tuple[Any, Any]], since: int) -> Changes:
    """The stream's entries after version ``since`` (XRANGE's reply, read atomically with the
    version counter ``version_raw``). Raises ChangesGap when one is missing."""
    version = int(version_raw or 0)
    out = Changes(version)
    expected = since + 1
    for entry_id, fields in entries:
        eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        v = int(eid.split("-", 1)[0])
        if v != expected:
            raise ChangesGap(f"agent changes from version {expected} are gone (the stream starts at {v})")
        expected += 1
        fields = {(k.decode() if isinstance(k, bytes) else k): val for k, val in fields.items()}
        if "r" in fields:
            out.reread.update(orjson.loads(fields["r"]))
        else:
            out.deltas.append((v, orjson.loads(fields["d"])))
    if expected - 1 != version:
        raise ChangesGap(f"agents version is {version}, the stream ends at {expected - 1}")
    return out


def fold(cache: AgentCache, changes: Changes, interval_start_ms: int, day: str) -> dict[str, AgentLive]:
    """Add the changes to the cache's agents; returns the agents changed, as new objects (the
    cache's own are left as they are: the agent table tells changed rows by object identity).
    Agents to be read again are left out: the read has every change."""
    out: dict[str, AgentLive] = {}
    iv_text = str(interval_start_ms)
    read_versions, reread, agents, pending = cache.read_versions, changes.reread, cache.agents, cache.pending
    for v, entries in changes.deltas:
        for agent_id, state, reason, since, queues, call, counters in entries:
            if agent_id in reread or (read_versions and v <= read_versions.get(agent_id, 0)):
                continue
            a = out.get(agent_id)
            if a is None:
                old = agents.get(agent_id)
                # _copy, inlined for the usual case: a call per agent costs ~3 ms a tick at
                # 4,000 changed agents.
                a = out[agent_id] = _copy(agent_id, None) if old is None else AgentLive(
                    agent_id, old.state, old.reason, old.since_ms, old.queues, old.call, old.interval.copy(),
                    old.day.copy())
            if state is not False:
                a.state, a.reason, a.since_ms = state or None, reason or None, int(since) if since else None
            if queues is not False:
                a.queues = skills_of(queues)
            if call is not False:
                a.call = call or None
            if counters:  # {} when none (an empty Lua table encodes as an object)
                _add_counters(a, counters, iv_text, interval_start_ms, day, pending)
    if read_versions and changes.version >= max(read_versions.values()):
        cache.read_versions = {}
    return out


def _add_counters(a: AgentLive, counters: list[Any], iv_text: str, interval_start_ms: int, day: str,
                  pending: dict[int, list[tuple[str, str, float]]]) -> None:
    """(interval, day, field, amount) quadruples: the tick's fields, of this interval and day."""
    for j in range(0, len(counters), 4):
        civ, cday, name, amount = counters[j], counters[j + 1], counters[j + 2], counters[j + 3]
        if civ == iv_text:
            if name in _IV_FIELDS:
                a.interval[name] = a.interval.get(name, 0) + amount
        elif name in _IV_FIELDS and int(civ) > interval_start_ms:
            pending.setdefault(int(civ), []).append((a.id, name, amount))
        if cday == day and name in _DAY_FIELDS:
            a.day[name] = a.day.get(name, 0) + amount


def start_interval(cache: AgentCache, interval_start_ms: int) -> dict[str, AgentLive]:
    """A new interval began: every agent's interval counters start empty, plus what waited for
    this interval. Returns the agents with such amounts, as new objects."""
    for agent in cache.agents.values():
        agent.reset_interval()
    out: dict[str, AgentLive] = {}
    for agent_id, name, amount in cache.pending.pop(interval_start_ms, ()):
        a = out.get(agent_id)
        if a is None:
            a = out[agent_id] = _copy(agent_id, cache.agents.get(agent_id))
        a.interval[name] = a.interval.get(name, 0) + amount
    cache.pending = {iv: amounts for iv, amounts in cache.pending.items() if iv > interval_start_ms}
    return out


def _copy(agent_id: str, old: AgentLive | None) -> AgentLive:
    if old is None:  # first seen since the last full read
        return AgentLive(agent_id, None, None, None, (), None, {}, {})
    return AgentLive(old.id, old.state, old.reason, old.since_ms, old.queues, old.call, dict(old.interval), dict(old.day))
