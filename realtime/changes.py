"""The agent changes stream folded into the engine's copy of the agents (no Redis here).

Every apply batch that changes agents adds one entry to the changes stream under a new agents
version (realtime/lua.py, APPLY_BATCH): for each agent, the live fields the batch set and the
amounts it added to the counters a tick uses, by interval and day. The engine adds those to its
copy instead of reading the agents again, so a tick's Redis work no longer grows with the agents
that changed. Other writers add an entry naming agents to read again (MARK_AGENTS_CHANGED).

:func:`fold` turns the entries into new ``AgentLive`` objects (agents whose live fields changed)
and counter amounts for ``AgentCounters`` (numpy, added in one operation); :func:`commit` puts
them into the copy only once the tick's reads succeeded, so a failed tick leaves the copy as it
was and the next one folds the same entries again.

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

import numpy as np
import orjson

from realtime.live import (
    DAY_COL,
    IV_COL,
    AgentCache,
    AgentCounters,
    AgentLive,
    CounterDeltas,
    skills_of,
)


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


@dataclass(slots=True)
class Folded:
    """What :func:`fold` found, not yet in the cache (the store commits it once the tick's
    reads succeeded, so a failed tick folds the same entries again, not twice)."""

    agents: dict[str, AgentLive] = field(default_factory=dict)  # agents whose live fields changed, new objects
    deltas: CounterDeltas = field(default_factory=CounterDeltas)  # this interval's and day's amounts
    later: list[tuple[int, str, str, float]] = field(default_factory=list)  # (interval start, agent, field, amount)


def fold(cache: AgentCache, changes: Changes, interval_start_ms: int, day: str) -> Folded:
    """The changes to the cache's agents: the agents whose live fields changed, as new objects
    (the cache's own are left as they are: the agent table tells changed rows by object
    identity), and the amounts to add to their counters. Agents to be read again are left out:
    the read has every change."""
    out = Folded()
    agents_out = out.agents
    amounts = _Amounts(out, interval_start_ms, day)
    read_versions, reread, agents = cache.read_versions, changes.reread, cache.agents
    # One tight loop: at 4,000 changed agents a tick, every call and allocation per agent shows.
    for v, entries in changes.deltas:
        for agent_id, state, reason, since, queues, call, counters in entries:
            if agent_id in reread or (read_versions and v <= read_versions.get(agent_id, 0)):
                continue
            if state is not False or queues is not False or call is not False or agent_id not in agents:
                a = agents_out.get(agent_id)
                if a is None:
                    old = agents.get(agent_id)
                    a = agents_out[agent_id] = AgentLive(agent_id, None, None, None, (), None) if old is None else \
                        AgentLive(agent_id, old.state, old.reason, old.since_ms, old.queues, old.call)
                if state is not False:
                    a.state, a.reason, a.since_ms = state or None, reason or None, int(since) if since else None
                if queues is not False:
                    a.queues = skills_of(queues)
                if call is not False:
                    a.call = call or None
            if counters:  # {} when none (an empty Lua table encodes as an object)
                amounts.take(agent_id, counters)
    d = out.deltas
    # Checked here, where an error reads every agent again, so commit cannot fail half way.
    d.iv_amounts, d.day_amounts = _finite(d.iv_amounts), _finite(d.day_amounts)
    _finite([amount for _, _, _, amount in out.later])
    return out


def _finite(values: list[Any]) -> Any:
    """Amounts as a float array; ValueError unless every one is a finite number."""
    array = np.array(values)
    if len(values) and (array.ndim != 1 or array.dtype.kind not in "iuf" or not np.isfinite(array).all()):
        raise ValueError("agent changes: a counter amount is not a finite number")
    return array.astype(np.float64)


class _Amounts:
    """Sorts an entry's (interval, day, field, amount) quadruples into a :class:`Folded`: the
    tick's fields, of this interval and day; a later interval's wait."""

    __slots__ = ("later", "iv_text", "interval_start_ms", "day", "to_iv", "to_day")

    def __init__(self, into: Folded, interval_start_ms: int, day: str) -> None:
        d = into.deltas
        self.later = into.later
        self.iv_text, self.interval_start_ms, self.day = str(interval_start_ms), interval_start_ms, day
        self.to_iv = (d.iv_agents.append, d.iv_cols.append, d.iv_amounts.append)
        self.to_day = (d.day_agents.append, d.day_cols.append, d.day_amounts.append)

    def take(self, agent_id: str, counters: list[Any]) -> None:
        # The interval's and the day's branches are alike and kept apart, appending to parallel
        # lists: (agent, column, amount) tuples unzipped later measured ~2 ms slower a tick at
        # 4,000 changed agents.
        iv_agent, iv_col, iv_amount = self.to_iv
        day_agent, day_col, day_amount = self.to_day
        for j in range(0, len(counters), 4):
            civ, cday, name, amount = counters[j : j + 4]
            if civ == self.iv_text:
                col = IV_COL.get(name)
                if col is not None:
                    iv_agent(agent_id)
                    iv_col(col)
                    iv_amount(amount)
            elif name in IV_COL and int(civ) > self.interval_start_ms:
                self.later.append((int(civ), agent_id, name, amount))
            if cday == self.day:
                col = DAY_COL.get(name)
                if col is not None:
                    day_agent(agent_id)
                    day_col(col)
                    day_amount(amount)


def start_interval(cache: AgentCache, interval_start_ms: int) -> CounterDeltas:
    """A new interval began: what waited for it (the cache's interval counters start empty
    when the store commits the tick)."""
    out = CounterDeltas()
    for agent_id, name, amount in cache.pending.get(interval_start_ms, ()):
        out.iv_agents.append(agent_id)
        out.iv_cols.append(IV_COL[name])
        out.iv_amounts.append(amount)
    return out


def commit(cache: AgentCache, folded: Folded, waited: CounterDeltas | None, interval_start_ms: int, version: int,
           changed: dict[str, AgentLive], read: tuple[list[str], np.ndarray], read_versions: dict[str, int]) -> None:
    """Put what a tick folded and read into the cache, once every read of the tick succeeded.
    ``waited``: a new interval began (what :func:`start_interval` found); ``changed``: every
    agent folded or read, as new objects; ``read``: the agents read again and their counters as
    read (every change up to the version read at)."""
    counters = cache.counters
    if waited is not None:  # a new interval: empty, plus what waited for it
        counters.iv[:] = 0.0
        counters.add(waited)
        cache.pending = {start: amounts for start, amounts in cache.pending.items() if start > interval_start_ms}
    counters.add(folded.deltas)
    for start, agent, name, amount in folded.later:
        cache.pending.setdefault(start, []).append((agent, name, amount))
    counters.set(*read)
    cache.agents.update(changed)
    cache.read_versions.update(read_versions)
    if cache.read_versions:
        # Entries folded from now on are newer than ``version``: reads up to it skip none.
        cache.read_versions = {a: v for a, v in cache.read_versions.items() if v > version}
    cache.version, cache.interval_start_ms = version, interval_start_ms


def replace_all(cache: AgentCache, agents: dict[str, AgentLive], counters: AgentCounters, day: str,
                interval_start_ms: int, version: int, read_versions: dict[str, int]) -> None:
    """Every agent read whole (a new day, a fresh cache, changes missing): the cache becomes what
    was read, at the agents version read first."""
    cache.agents, cache.counters, cache.day, cache.pending = agents, counters, day, {}
    cache.read_versions = read_versions
    cache.version, cache.interval_start_ms = version, interval_start_ms
