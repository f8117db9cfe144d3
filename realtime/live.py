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
            interval=numbers(interval),
            day=numbers(day),
        )


AGENT_LIVE_FIELDS = ("state", "reason", "since_ms", "queues", "call")


@dataclass(slots=True)
class LiveState:
    now_ms: int
    interval_start_ms: int
    day: str
    day_start_ms: int
    queues: list[QueueLive]
    agents: list[AgentLive]
