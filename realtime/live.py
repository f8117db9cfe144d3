"""Plain data read from Redis for one engine tick (no Redis here: the store fills these)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field


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
    # (handling, available) ms from the stored interval and day counters, computed once per
    # read of this agent instead of on every tick.
    occupancy_base: tuple[float, float, float, float] | None = None

    def reset_interval(self) -> None:
        """A new interval began: this agent has no counters in it until their next event."""
        self.interval = {}
        self.occupancy_base = None

    @classmethod
    def from_redis(
        cls, agent: str, live: list[str | None], interval: Mapping[str, str], day: Mapping[str, str]
    ) -> AgentLive:
        state, reason, since, queues, call = live
        try:
            skills = tuple(json.loads(queues)) if queues else ()
        except json.JSONDecodeError:
            skills = ()
        return cls(
            id=agent,
            state=state or None,
            reason=reason or None,
            since_ms=int(since) if since else None,
            queues=skills,
            call=call or None,
            interval=interval if _is_numeric(interval) else numbers(interval),
            day=day if _is_numeric(day) else numbers(day),
        )


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
