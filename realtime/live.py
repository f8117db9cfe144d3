"""Plain data read from Redis for one engine tick (no Redis here: the store fills these), and
the engine's column table of agents."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson


def numbers(raw: Mapping[str, str] | None) -> dict[str, float]:
    """A Redis counter hash as floats (missing hash → empty)."""
    return {k: float(v) for k, v in (raw or {}).items()}


@dataclass(slots=True)
class QueueLive:
    id: str
    interval: dict[str, float]
    previous_interval: dict[str, float]
    day: dict[str, float]
    waiting: int
    oldest_enter_ms: int | None
    waiting_over_t: int
    waiting_over_t_interval: int
    waiting_calls: list[tuple[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class AgentLive:
    """An agent's live fields (their counters, for a tick, are in :class:`AgentCounters`)."""

    id: str
    state: str | None
    reason: str | None
    since_ms: int | None
    queues: tuple[str, ...]
    call: str | None

    @classmethod
    def from_redis(cls, agent: str, live: Sequence[str | None]) -> AgentLive:
        """An agent from its live fields (AGENT_LIVE_FIELDS) as Redis gives them."""
        state, reason, since, queues, call = live
        return cls(agent, state or None, reason or None, int(since) if since else None, skills_of(queues), call or None)


# Agents share few distinct skill lists, and each is parsed on every read of an agent.
_SKILLS: dict[str, tuple[str, ...]] = {}


def skills_of(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    found = _SKILLS.get(raw)
    if found is None:
        try:
            value = json.loads(raw)
            found = tuple(value) if isinstance(value, list) else ()
        except json.JSONDecodeError:
            found = ()
        if len(_SKILLS) < 100_000:
            _SKILLS[raw] = found
    return found


AGENT_LIVE_FIELDS = ("state", "reason", "since_ms", "queues", "call")
# The only agent counters a tick uses: occupancy (interval and day) and the team-median KPIs.
AGENT_TICK_INTERVAL_FIELDS = ("s:on_call", "s:acw", "s:available")
AGENT_TICK_DAY_FIELDS = ("s:on_call", "s:acw", "s:available", "handled", "talk_ms", "hold_ms", "missed", "transfers")


_N_IV, _N_DAY = len(AGENT_TICK_INTERVAL_FIELDS), len(AGENT_TICK_DAY_FIELDS)


class AgentCounters:
    """The counters a tick uses of every agent, one row per agent: ``iv`` (AGENT_TICK_INTERVAL_FIELDS,
    this interval) and ``day`` (AGENT_TICK_DAY_FIELDS, today), 0 where absent.

    Numpy, not a dict per agent: a tick adds what the apply batches changed in one operation
    per matrix, and the engine's table takes every agent's counters by one gather. Rows are only
    ever appended (an agent keeps its row).
    """

    __slots__ = ("row", "iv", "day")

    def __init__(self, ids: Sequence[str] = (), counts: np.ndarray | None = None) -> None:
        """``counts``: one row per id, the interval fields then the day fields (zeros if None)."""
        self.row: dict[str, int] = {a: i for i, a in enumerate(ids)}
        if counts is None:
            counts = np.zeros((len(self.row), _N_IV + _N_DAY))
        self.iv = np.array(counts[:, :_N_IV], dtype=np.float64).reshape(-1, _N_IV)
        self.day = np.array(counts[:, _N_IV:], dtype=np.float64).reshape(-1, _N_DAY)

    @classmethod
    def from_mappings(cls, counters: Mapping[str, tuple[Mapping[str, float], Mapping[str, float]]]) -> AgentCounters:
        """From agent → (interval counters, day counters) mappings (other fields are ignored)."""
        counts = [[iv.get(f, 0.0) for f in AGENT_TICK_INTERVAL_FIELDS] + [day.get(f, 0.0) for f in AGENT_TICK_DAY_FIELDS]
                  for iv, day in counters.values()]
        return cls(list(counters), np.array(counts, dtype=np.float64).reshape(-1, _N_IV + _N_DAY))

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """The rows of these agents, adding a row of zeros for each one not seen yet."""
        row = self.row
        new = [a for a in dict.fromkeys(ids) if a not in row]
        if new:
            row.update(zip(new, range(len(row), len(row) + len(new)), strict=True))
            self.iv = np.concatenate([self.iv, np.zeros((len(new), _N_IV))])
            self.day = np.concatenate([self.day, np.zeros((len(new), _N_DAY))])
        return np.fromiter(map(row.__getitem__, ids), np.int64, len(ids))

    def set(self, ids: Sequence[str], counts: np.ndarray) -> None:
        """These agents' counters as read (the interval fields, then the day fields, per row)."""
        rows = self.rows(ids)
        self.iv[rows] = counts[:, :_N_IV]
        self.day[rows] = counts[:, _N_IV:]

    def add(self, deltas: CounterDeltas) -> None:
        for matrix, agents, cols, amounts in (("iv", deltas.iv_agents, deltas.iv_cols, deltas.iv_amounts),
                                              ("day", deltas.day_agents, deltas.day_cols, deltas.day_amounts)):
            if agents:
                rows = self.rows(agents)  # may replace the matrices (new agents): looked up after
                np.add.at(getattr(self, matrix), (rows, np.array(cols, np.int64)), np.array(amounts, np.float64))

    def of(self, agent: str) -> tuple[dict[str, float], dict[str, float]]:
        """One agent's counters as (interval, day) mappings, the non-zero ones (for tests and tools)."""
        i = self.row.get(agent)
        if i is None:
            return {}, {}
        return ({f: v for f, v in zip(AGENT_TICK_INTERVAL_FIELDS, self.iv[i].tolist(), strict=True) if v},
                {f: v for f, v in zip(AGENT_TICK_DAY_FIELDS, self.day[i].tolist(), strict=True) if v})


@dataclass(slots=True)
class CounterDeltas:
    """Amounts to add to :class:`AgentCounters`: (agent, column, amount) for each matrix."""

    iv_agents: list[str] = field(default_factory=list)
    iv_cols: list[int] = field(default_factory=list)
    iv_amounts: list[float] | np.ndarray = field(default_factory=list)  # an array once folded
    day_agents: list[str] = field(default_factory=list)
    day_cols: list[int] = field(default_factory=list)
    day_amounts: list[float] | np.ndarray = field(default_factory=list)


@dataclass(slots=True)
class LiveState:
    now_ms: int
    interval_start_ms: int
    day: str
    day_start_ms: int
    queues: list[QueueLive]
    agents: list[AgentLive]
    # The agents whose live fields changed for this state, read or folded (the others are the
    # objects of an earlier one; counters may change without them); None: any may have changed.
    changed: list[AgentLive] | None = None
    # Every agent's counters. With the engine's cache this is the cache's own object, updated in
    # place by the next fetch: a state's counters are good until then, not a snapshot.
    counters: AgentCounters = field(default_factory=AgentCounters)


@dataclass(slots=True)
class AgentCache:
    """The engine's copy of every agent, kept up to date each tick from the agent changes
    stream (realtime/changes.py: what each apply batch changed), so agents are not read again.

    Exact, not approximate: an agent's counters change only through that agent's own events,
    and every apply batch says what it changed. A new interval starts with empty counters for
    every agent; a new day (or no cache yet, or changes missing from the stream) triggers a
    full read. The live fields are in ``agents``, the counters in ``counters``.
    """

    version: int | None = None  # the agents version folded up to
    day: str | None = None
    interval_start_ms: int | None = None
    agents: dict[str, AgentLive] = field(default_factory=dict)
    counters: AgentCounters = field(default_factory=AgentCounters)
    # Agents read from Redis → the agents version they were read at (changes up to it are in
    # what was read); each dropped once the folded version passes it.
    read_versions: dict[str, int] = field(default_factory=dict)
    # Later intervals' counter amounts (interval start → (agent, field, amount)), added when
    # the engine's interval reaches them.
    pending: dict[int, list[tuple[str, str, float]]] = field(default_factory=dict)


# State codes of the agent table (0: not logged in).
STATE_CODES = {"available": 1, "on_call": 2, "acw": 3, "aux": 4}
STATE_NAMES = ("available", "on_call", "acw", "aux")
# Column positions in the table's counter matrices (the fields the tick reads, in order).
IV_COL = {f: j for j, f in enumerate(AGENT_TICK_INTERVAL_FIELDS)}
DAY_COL = {f: j for j, f in enumerate(AGENT_TICK_DAY_FIELDS)}

class AgentTable:
    """Every agent as numpy columns, for the tick's per-queue sums (np.bincount over a CSR index
    of queue membership instead of a Python loop over agents and their queues).

    Kept between ticks and refreshed only for the rows whose ``AgentLive`` object changed (the
    store replaces the object of every agent it reads or whose live fields it folds); the counters
    are gathered from the tick's :class:`AgentCounters` whole. ``changed_queues`` says which
    queues' member lists changed since the last refresh (None: all may have).
    """

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.objs: list[AgentLive] = []  # the object each row was last filled from
        self.size = 0
        cap = 1024
        self.state = np.zeros(cap, dtype=np.int8)
        self.reason = np.zeros(cap, dtype=np.int32)  # index into self.reasons
        self.since = np.full(cap, np.nan)
        # Stored counters (AGENT_TICK_INTERVAL_FIELDS, AGENT_TICK_DAY_FIELDS) per row, and
        # where each row's are in the AgentCounters they were last gathered from.
        self.iv = np.zeros((0, _N_IV))
        self.day = np.zeros((0, _N_DAY))
        self._source: tuple[AgentCounters, int, int] | None = None  # counters, rows, their agents
        self._source_rows = np.zeros(0, np.int64)
        self.reasons: list[str] = ["other"]
        self._reason_index = {"other": 0}
        self.interval_start_ms: int | None = None
        self.queue_ids: tuple[str, ...] = ()
        self._membership_changed = True
        self.member_row = np.zeros(0, dtype=np.int64)  # CSR: rows sorted by queue, then agent id
        self.member_queue = np.zeros(0, dtype=np.int64)
        self.changed_queues: set[str] | None = None
        self.members: list[dict[str, Any] | None] = []  # per row: the member dict of the details
        # ... and its JSON: a queue's detail is written by joining its members' (see Engine.tick).
        self.member_json: list[bytes | None] = []
        self._id_ranks = np.zeros(0, np.int64)
        self._touched: set[str] = set()

    def _grow(self, need: int) -> None:
        cap = len(self.state)
        if need <= cap:
            return
        new = max(need, cap * 2)
        self.state = np.resize(self.state, new)
        self.reason = np.resize(self.reason, new)
        self.since = np.resize(self.since, new)

    def refresh(self, agents: Sequence[AgentLive], queue_ids: Sequence[str], interval_start_ms: int,
                changed: Sequence[AgentLive] | None = None, counters: AgentCounters | None = None) -> None:
        """Bring the table up to date with this tick's agents, their counters and the queues.
        ``changed``: the agents whose objects are new since the last refresh (None: look at
        every agent). Without ``counters`` every counter is 0."""
        if len(agents) < self.size:
            self.__init__()  # type: ignore[misc]  # not the agents it holds: start again
            changed = None
        self.take(agents if changed is None else changed)
        touched, self._touched = self._touched, set()
        self.interval_start_ms = interval_start_ms
        self._gather(counters if counters is not None else AgentCounters())
        queue_ids = tuple(queue_ids)
        if queue_ids != self.queue_ids:
            self.queue_ids = queue_ids
            self._membership_changed = True
        if self._membership_changed:
            self._build_csr()
            self.changed_queues = None
        else:
            self.changed_queues = touched

    def _gather(self, counters: AgentCounters) -> None:
        """Every row's counters from ``counters`` (a row it has none for: 0). Where each agent's
        row is there is worked out again only when rows were added or the counters replaced."""
        n = self.size
        if self._source is None or self._source[0] is not counters or self._source[1:] != (n, len(counters.row)):
            where = counters.row.get
            self._source_rows = np.fromiter((where(a, -1) for a in self.index), np.int64, n)
            self._source = (counters, n, len(counters.row))
        src = self._source_rows
        known = src >= 0
        self.iv = np.zeros((n, _N_IV))
        self.day = np.zeros((n, _N_DAY))
        self.iv[known] = counters.iv[src[known]]
        self.day[known] = counters.day[src[known]]

    def take(self, agents: Sequence[AgentLive]) -> None:
        """Fill the rows of agents whose object is new (the next :meth:`refresh` finishes the
        update, counters included). The engine hands agents over as they are folded or read,
        while Redis still works on the tick's reads."""
        index, objs, members, reason_index = self.index, self.objs, self.members, self._reason_index
        member_json = self.member_json
        touched = self._touched  # queues whose member lists change
        rows: list[int] = []
        codes: list[int] = []
        reasons: list[int] = []
        since: list[float] = []
        # One tight loop: at 4,000 changed agents a tick, every call and allocation per agent shows.
        for agent in agents:
            row = index.get(agent.id)
            if row is None:
                row = self._add(agent.id)
            old = objs[row]
            if old is agent:
                continue
            objs[row] = agent
            state, reason, since_ms, queues = agent.state, agent.reason, agent.since_ms, agent.queues
            code = STATE_CODES.get(state, 0)
            # The member dict (what the queue details show) changes only when state, reason or
            # since changed, or the agent's queues did; then those queues' lists are rebuilt.
            old_queues = old.queues if old is not None else ()
            member = members[row]
            if old_queues != queues:
                self._membership_changed = True
                touched.update(old_queues)
                touched.update(queues)
            # Whether the member entry (None when not logged in) no longer shows the agent.
            elif (member is not None) if not code else (
                    member is None or member["since_ms"] != since_ms or member["state"] != state
                    or member["reason"] != reason):
                touched.update(queues)
            else:
                member = False  # unchanged
            if member is not False:
                if code:
                    members[row] = {"agent": agent.id, "state": state, "reason": reason, "since_ms": since_ms}
                    member_json[row] = orjson.dumps(members[row])
                else:
                    members[row] = member_json[row] = None
            ridx = reason_index.get(reason or "other")
            if ridx is None:
                ridx = reason_index[reason or "other"] = len(self.reasons)
                self.reasons.append(reason or "other")
            rows.append(row)
            codes.append(code)
            reasons.append(ridx)
            since.append(since_ms if since_ms is not None else np.nan)
        if rows:
            # One numpy write per column for all changed rows (per-element writes cost more).
            self.state[rows] = codes
            self.reason[rows] = reasons
            self.since[rows] = since

    def id_ranks(self) -> np.ndarray:
        """Each row's place in the order of agent ids (for stable, id-ordered ties)."""
        if len(self._id_ranks) != self.size:
            ids = np.array(list(self.index), dtype=object)  # in row order: rows are added in order
            ranks = np.empty(self.size, np.int64)
            ranks[np.argsort(ids, kind="stable")] = np.arange(self.size)
            self._id_ranks = ranks
        return self._id_ranks

    def _add(self, agent_id: str) -> int:
        row = self.size
        self._grow(row + 1)
        self.size += 1
        self.index[agent_id] = row
        self.objs.append(None)  # type: ignore[arg-type]
        self.members.append(None)
        self.member_json.append(None)
        return row

    def _build_csr(self) -> None:
        qindex = {q: j for j, q in enumerate(self.queue_ids)}
        rows: list[int] = []
        qs: list[int] = []
        for row, agent in enumerate(self.objs):
            for q in agent.queues:
                j = qindex.get(q)
                if j is not None:
                    rows.append(row)
                    qs.append(j)
        member_row = np.array(rows, dtype=np.int64)
        member_queue = np.array(qs, dtype=np.int64)
        # By queue, then by agent id: the engine's member lists keep this order on ties.
        order = np.lexsort((self.id_ranks()[member_row], member_queue))
        self.member_row, self.member_queue = member_row[order], member_queue[order]
        self._membership_changed = False

    def occupancy_ms(self, now_ms: int, day_start_ms: int) -> np.ndarray:
        """(rows × 4) handling and available ms in the interval and the day: the stored
        counters plus the state still running now."""
        n = self.size
        state, since = self.state[:n], self.since[:n]
        iv, day = self.iv[:n], self.day[:n]
        out = np.empty((n, 4))
        out[:, 0] = iv[:, IV_COL["s:on_call"]] + iv[:, IV_COL["s:acw"]]
        out[:, 1] = iv[:, IV_COL["s:available"]]
        out[:, 2] = day[:, DAY_COL["s:on_call"]] + day[:, DAY_COL["s:acw"]]
        out[:, 3] = day[:, DAY_COL["s:available"]]
        running = ~np.isnan(since) & (state >= 1) & (state <= 3)
        start = since[running]
        run_iv = np.maximum(0.0, now_ms - np.maximum(start, float(self.interval_start_ms or 0)))
        run_day = np.maximum(0.0, now_ms - np.maximum(start, float(day_start_ms)))
        available = state[running] == 1
        rows = np.flatnonzero(running)
        # Available time counts as available, on call and ACW as handling.
        out[rows, 0] += np.where(available, 0.0, run_iv)
        out[rows, 1] += np.where(available, run_iv, 0.0)
        out[rows, 2] += np.where(available, 0.0, run_day)
        out[rows, 3] += np.where(available, run_day, 0.0)
        return out
