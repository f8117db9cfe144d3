"""Plain data read from Redis for one engine tick (no Redis here: the store fills these), and
the engine's column table of agents."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
    id: str
    state: str | None
    reason: str | None
    since_ms: int | None
    queues: tuple[str, ...]
    call: str | None
    interval: dict[str, float]
    day: dict[str, float]

    def reset_interval(self) -> None:
        """A new interval began: this agent has no counters in it until their next event."""
        self.interval = {}

    @classmethod
    def from_redis(
        cls, agent: str, live: list[str | None], interval: Mapping[str, Any], day: Mapping[str, Any],
        numeric: bool = False,
    ) -> AgentLive:
        """``numeric``: the counters are numbers already (the read-agents script's)."""
        state, reason, since, queues, call = live
        return cls(
            id=agent,
            state=state or None,
            reason=reason or None,
            since_ms=int(since) if since else None,
            queues=_skills(queues),
            call=call or None,
            interval=interval if numeric or _is_numeric(interval) else numbers(interval),  # type: ignore[arg-type]
            day=day if numeric or _is_numeric(day) else numbers(day),  # type: ignore[arg-type]
        )


# Agents share few distinct skill lists, and each is parsed on every read of an agent.
_SKILLS: dict[str, tuple[str, ...]] = {}


def _skills(raw: str | None) -> tuple[str, ...]:
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


def _is_numeric(d: Mapping[str, object]) -> bool:
    return all(isinstance(v, int | float) for v in d.values())


AGENT_LIVE_FIELDS = ("state", "reason", "since_ms", "queues", "call")
# The only agent counters a tick uses: occupancy (interval and day) and the team-median KPIs.
AGENT_TICK_INTERVAL_FIELDS = ("s:on_call", "s:acw", "s:available")
AGENT_TICK_DAY_FIELDS = ("s:on_call", "s:acw", "s:available", "handled", "talk_ms", "hold_ms", "missed", "transfers")


def picked(fields: tuple[str, ...], values: list[int]) -> dict[str, int]:
    """The read-agents script's integer counters by field name."""
    return dict(zip(fields, values, strict=True))


@dataclass(slots=True)
class LiveState:
    now_ms: int
    interval_start_ms: int
    day: str
    day_start_ms: int
    queues: list[QueueLive]
    agents: list[AgentLive]


@dataclass(slots=True)
class AgentCache:
    """The engine's copy of every agent, refreshed each tick only for agents that changed.

    Exact, not approximate: an agent's counters change only through that agent's own events,
    and every apply marks the agents it touched. A new interval starts with empty counters for
    every agent; a new day (or no cache yet) triggers a full read.
    """

    version: int | None = None
    day: str | None = None
    interval_start_ms: int | None = None
    agents: dict[str, AgentLive] = field(default_factory=dict)


# State codes of the agent table (0: not logged in).
STATE_CODES = {"available": 1, "on_call": 2, "acw": 3, "aux": 4}
STATE_NAMES = ("available", "on_call", "acw", "aux")
_HANDLING = ("s:on_call", "s:acw")


def _base_ms(counters: Mapping[str, float]) -> tuple[float, float]:
    """Handling and available ms of stored counters (the state still running is added per tick)."""
    return counters.get("s:on_call", 0.0) + counters.get("s:acw", 0.0), counters.get("s:available", 0.0)


class AgentTable:
    """Every agent as numpy columns, for the tick's per-queue sums (np.bincount over a CSR index
    of queue membership instead of a Python loop over agents and their queues).

    Kept between ticks and refreshed only for the rows whose ``AgentLive`` object changed (the
    store replaces the object of every agent it re-reads); a new interval recomputes the
    interval column of every row. ``changed_queues`` says which queues' member lists changed
    since the last refresh (None: all may have).
    """

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.objs: list[AgentLive] = []  # the object each row was last filled from
        self.size = 0
        cap = 1024
        self.state = np.zeros(cap, dtype=np.int8)
        self.reason = np.zeros(cap, dtype=np.int32)  # index into self.reasons
        self.since = np.full(cap, np.nan)
        self.base = np.zeros((cap, 4))  # handling and available ms: interval, interval, day, day
        self.reasons: list[str] = ["other"]
        self._reason_index = {"other": 0}
        self.interval_start_ms: int | None = None
        self.queue_ids: tuple[str, ...] = ()
        self._membership_changed = True
        self.member_row = np.zeros(0, dtype=np.int64)  # CSR: rows sorted by queue
        self.member_queue = np.zeros(0, dtype=np.int64)
        self.queue_start = np.zeros(1, dtype=np.int64)  # members of queue j: [start[j], start[j+1])
        self.changed_queues: set[str] | None = None
        self.members: list[dict[str, Any] | None] = []  # per row: the member dict of the details

    def _grow(self, need: int) -> None:
        cap = len(self.state)
        if need <= cap:
            return
        new = max(need, cap * 2)
        self.state = np.resize(self.state, new)
        self.reason = np.resize(self.reason, new)
        self.since = np.resize(self.since, new)
        self.base = np.resize(self.base, (new, 4))

    def refresh(self, agents: Sequence[AgentLive], queue_ids: Sequence[str], interval_start_ms: int) -> None:
        """Bring the table up to date with this tick's agents and queues."""
        if len(agents) < self.size:
            self.__init__()  # type: ignore[misc]  # not the agents it holds: start again
        index, objs = self.index, self.objs
        touched: set[str] = set()
        rows: list[int] = []
        codes: list[int] = []
        reasons: list[int] = []
        since: list[float] = []
        base: list[tuple[float, float, float, float]] = []
        for agent in agents:
            row = index.get(agent.id)
            if row is None:
                row = self._add(agent.id)
            elif objs[row] is agent:
                continue
            code = STATE_CODES.get(agent.state or "", 0)
            touched |= self._member(row, agent, code)
            reason = agent.reason or "other"
            ridx = self._reason_index.get(reason)
            if ridx is None:
                ridx = self._reason_index[reason] = len(self.reasons)
                self.reasons.append(reason)
            rows.append(row)
            codes.append(code)
            reasons.append(ridx)
            since.append(agent.since_ms if agent.since_ms is not None else np.nan)
            base.append((*_base_ms(agent.interval), *_base_ms(agent.day)))
        if rows:
            # One numpy write per column for all changed rows (per-element writes cost more).
            self.state[rows] = codes
            self.reason[rows] = reasons
            self.since[rows] = since
            self.base[rows] = base
        if self.interval_start_ms != interval_start_ms:
            # A new interval: rows not re-read keep their object, with the interval reset.
            if self.size:
                self.base[: self.size, :2] = [_base_ms(agent.interval) for agent in objs]
            self.interval_start_ms = interval_start_ms
        queue_ids = tuple(queue_ids)
        if queue_ids != self.queue_ids:
            self.queue_ids = queue_ids
            self._membership_changed = True
        if self._membership_changed:
            self._build_csr()
            self.changed_queues = None
        else:
            self.changed_queues = touched

    def _add(self, agent_id: str) -> int:
        row = self.size
        self._grow(row + 1)
        self.size += 1
        self.index[agent_id] = row
        self.objs.append(None)  # type: ignore[arg-type]
        self.members.append(None)
        return row

    def _member(self, row: int, agent: AgentLive, code: int) -> set[str]:
        """Take the agent's new object for its row; return the queues whose member lists this
        changes (the details show state, reason and since of each logged-in member)."""
        old: AgentLive | None = self.objs[row]
        self.objs[row] = agent
        old_queues = old.queues if old is not None else ()
        if old_queues != agent.queues:
            self._membership_changed = True
        member = self.members[row]
        seen_as = (member["state"], member["reason"], member["since_ms"]) if member is not None else None
        now_as = (agent.state, agent.reason, agent.since_ms) if code else None
        if seen_as == now_as and old_queues == agent.queues:
            return set()
        self.members[row] = {"agent": agent.id, "state": agent.state, "reason": agent.reason,
                             "since_ms": agent.since_ms} if code else None
        return set(old_queues) | set(agent.queues)

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
        order = np.lexsort((member_row, member_queue))  # by queue, then by row
        self.member_row, self.member_queue = member_row[order], member_queue[order]
        counts = np.bincount(self.member_queue, minlength=len(self.queue_ids))
        self.queue_start = np.concatenate(([0], np.cumsum(counts)))
        self._membership_changed = False

    def occupancy_ms(self, now_ms: int, day_start_ms: int) -> np.ndarray:
        """(rows × 4) handling and available ms in the interval and the day: the stored
        counters plus the state still running now."""
        n = self.size
        state, since = self.state[:n], self.since[:n]
        out = self.base[:n].copy()
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
