"""The engine tick: raw live state in Redis → one metrics snapshot for every queue.

The tick reads everything it needs in two pipelined round trips, computes KPIs with the pure
functions of :mod:`staffing`, adds the Erlang projection for the current interval, and writes
the snapshot, the per-queue details and a TTL'd heartbeat. Time is passed in (``now_ms``),
never read deep inside, so a test can tick at any instant.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from realtime.live import AgentCache, AgentLive, LiveState, QueueLive
from realtime.projection import project_queues
from realtime.store import Store
from staffing import kpis

log = logging.getLogger(__name__)

# Team medians are a slow-moving yardstick (a day's KPIs over a team); recomputing them for
# every queue on every tick would cost more than the rest of the tick.
MEDIAN_EVERY_MS = 10_000

AGENT_STATE_ORDER = ("available", "on_call", "acw", "aux")
HANDLING_STATES = ("s:on_call", "s:acw")


@dataclass(slots=True)
class _Occupancy:
    """Handling and available-idle milliseconds of the agents staffed on one queue."""

    handling_ms: float = 0.0
    available_ms: float = 0.0

    def add(self, handling_ms: float, available_ms: float) -> None:
        self.handling_ms += handling_ms
        self.available_ms += available_ms

    @property
    def value(self) -> float | None:
        return kpis.occupancy(self.handling_ms, self.available_ms)


@dataclass(slots=True)
class _QueueAgents:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGENT_STATE_ORDER, 0))
    aux_reasons: dict[str, int] = field(default_factory=dict)
    occ_interval: _Occupancy = field(default_factory=_Occupancy)
    occ_today: _Occupancy = field(default_factory=_Occupancy)
    members: list[dict[str, Any]] = field(default_factory=list)
    day_kpis: list[dict[str, float | None]] = field(default_factory=list)

    def as_now(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.counts)
        out["logged_in"] = sum(self.counts.values())
        out["aux_reasons"] = dict(sorted(self.aux_reasons.items()))
        return out


def _base_ms(counters: Mapping[str, float]) -> tuple[float, float]:
    return counters.get("s:on_call", 0.0) + counters.get("s:acw", 0.0), counters.get("s:available", 0.0)


def _occupancy_ms(live: AgentLive, iv_start_ms: int, day_start_ms: int, now_ms: int) -> tuple[float, float, float, float]:
    """Handling and available ms in the interval and the day: stored counters (cached on the
    agent) plus the state still running now."""
    if live.occupancy_base is None:
        live.occupancy_base = (*_base_ms(live.interval), *_base_ms(live.day))
    hi, ai, hd, ad = live.occupancy_base
    if live.since_ms is not None and live.state in ("on_call", "acw", "available"):
        run_iv = max(0, now_ms - max(live.since_ms, iv_start_ms))
        run_day = max(0, now_ms - max(live.since_ms, day_start_ms))
        if live.state == "available":
            ai, ad = ai + run_iv, ad + run_day
        else:
            hi, hd = hi + run_iv, hd + run_day
    return hi, ai, hd, ad


class Engine:
    """Ticks keep state between them: the agent cache, the last medians and details written."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = store.settings
        self.agents = AgentCache()
        self._medians: dict[str, dict[str, float | None]] = {}
        self._medians_ms: int | None = None
        self._written: dict[str, dict[str, Any]] = {}

    def _group_agents(self, live: LiveState, now_ms: int, with_medians: bool) -> dict[str, _QueueAgents]:
        by_queue: dict[str, _QueueAgents] = defaultdict(_QueueAgents)
        iv_start = live.interval_start_ms
        day_start = live.day_start_ms
        for agent in live.agents:
            if agent.state in (None, "logged_out"):
                continue
            hi, ai, hd, ad = _occupancy_ms(agent, iv_start, day_start, now_ms)
            day_row = kpis.agent_kpis(agent.day, hd, ad) if with_medians else None
            member = {"agent": agent.id, "state": agent.state, "reason": agent.reason, "since_ms": agent.since_ms}
            for queue in agent.queues:
                qa = by_queue[queue]
                qa.counts[agent.state] = qa.counts.get(agent.state, 0) + 1
                if agent.state == "aux":
                    reason = agent.reason or "other"
                    qa.aux_reasons[reason] = qa.aux_reasons.get(reason, 0) + 1
                qa.occ_interval.add(hi, ai)
                qa.occ_today.add(hd, ad)
                qa.members.append(member)
                if day_row is not None:
                    qa.day_kpis.append(day_row)
        return by_queue

    def _queue_block(self, q: QueueLive, qa: _QueueAgents, now_ms: int) -> dict[str, Any]:
        cfg = self.store.queue_config(q.id)
        interval = kpis.summarize(q.interval, cfg.sl_formula, q.waiting_over_t_interval)
        interval["occupancy"] = qa.occ_interval.value
        today = kpis.summarize(q.day, cfg.sl_formula, q.waiting_over_t)
        today["occupancy"] = qa.occ_today.value
        longest = (now_ms - q.oldest_enter_ms) / 1000 if q.oldest_enter_ms is not None else 0.0
        return {
            "id": q.id,
            "config": cfg.as_dict(),
            "now": {
                "waiting": q.waiting,
                "longest_wait_s": max(0.0, longest),
                "waiting_over_t": q.waiting_over_t,
                "service_level": today["service_level"],
                "agents": qa.as_now(),
            },
            "interval": interval,
            "today": today,
            "projection": None,
        }

    def build(self, live: LiveState, now_ms: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The snapshot and every queue's details (pure: no Redis)."""
        with_medians = self._medians_ms is None or now_ms - self._medians_ms >= MEDIAN_EVERY_MS
        by_queue = self._group_agents(live, now_ms, with_medians)
        if with_medians:
            self._medians = {q: kpis.median_by_key(qa.day_kpis) for q, qa in by_queue.items()}
            self._medians_ms = now_ms
        blocks = [self._queue_block(q, by_queue[q.id], now_ms) for q in live.queues]
        project_queues(blocks, live, self.settings.interval_s, now_ms)
        details = {
            q.id: {
                "agents": by_queue[q.id].members,  # sorted when written (see tick)
                "waiting": [{"call": call, "enter_ms": enter} for call, enter in q.waiting_calls],
                "team_median": self._medians.get(q.id, {}),
            }
            for q in live.queues
        }
        snapshot = {
            "generated_ms": now_ms,
            "tick_s": self.settings.tick_s,
            "interval_min": self.settings.interval_min,
            "interval_start_ms": live.interval_start_ms,
            "day": live.day,
            "timezone": self.settings.timezone,
            "queues": blocks,
            "groups": self.settings.queues.groups(),
        }
        return snapshot, details

    def tick(self, now_ms: int) -> dict[str, Any]:
        """Read (only what changed), compute, write (only details that changed)."""
        live = self.store.fetch_live(now_ms, self.agents)
        snapshot, details = self.build(live, now_ms)
        changed = {q: d for q, d in details.items() if self._written.get(q) != d}
        self._written.update(changed)
        # Sorting only what is written: the longest in aux first, for the queue page.
        ordered = {q: {**d, "agents": sorted(d["agents"], key=lambda m: _member_order(m, now_ms))} for q, d in changed.items()}
        self.store.write_snapshot(snapshot, ordered, now_ms)
        return snapshot


def _member_order(m: dict[str, Any], now_ms: int) -> tuple[int, float]:
    # The longest in aux first: that is who a supervisor asks about.
    rank = {"aux": 0, "acw": 1, "on_call": 2, "available": 3}.get(m["state"], 4)
    return rank, m["since_ms"] or now_ms
