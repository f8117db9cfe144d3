"""The engine tick: raw live state in Redis → one metrics snapshot for every queue.

The tick reads everything it needs in a few pipelined round trips, computes KPIs with the pure
functions of :mod:`staffing`, adds the Erlang projection for the current interval, and writes
the snapshot, the per-queue details and a TTL'd heartbeat. Time is passed in (``now_ms``),
never read deep inside, so a test can tick at any instant.

Per-queue agent figures (counts by state, occupancy, team medians) come from the agent table
(:class:`realtime.live.AgentTable`): numpy columns refreshed only for the agents that changed,
summed per queue with ``np.bincount`` over the queue-membership index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from floorboard.config import QueueConfig
from realtime.adherence import LiveAdherence
from realtime.alerts import AlertsComponent
from realtime.live import STATE_NAMES, AgentCache, AgentTable, LiveState, QueueLive
from realtime.projection import project_queues
from realtime.store import Store
from staffing import kpis

log = logging.getLogger(__name__)

# Team medians are a slow-moving yardstick (a day's KPIs over a team); recomputing them for
# every queue on every tick would cost more than the rest of the tick.
MEDIAN_EVERY_MS = 10_000

AGENT_STATE_ORDER = STATE_NAMES  # available, on_call, acw, aux
# The team-median KPIs, in the order staffing.kpis.agent_kpis gives them.
_MEDIAN_KEYS = tuple(kpis.agent_kpis({}, 0.0, 0.0))


@dataclass(slots=True)
class _QueueAgents:
    """One queue's staffed agents: counts by state, aux reasons, occupancy inputs."""

    counts: list[int]  # in AGENT_STATE_ORDER
    aux_reasons: dict[str, int]
    occ_interval: tuple[float, float]  # handling, available ms
    occ_today: tuple[float, float]

    def as_now(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(zip(AGENT_STATE_ORDER, self.counts, strict=True))
        out["logged_in"] = sum(self.counts)
        out["aux_reasons"] = dict(sorted(self.aux_reasons.items()))
        return out


_NO_AGENTS = _QueueAgents([0, 0, 0, 0], {}, (0.0, 0.0), (0.0, 0.0))


class Engine:
    """Ticks keep state between them: the agent cache and table, the last medians, the member
    lists and details written."""

    def __init__(self, store: Store, *, alerts: bool = True) -> None:
        self.store = store
        self.settings = store.settings
        self.agents = AgentCache()
        self.table = AgentTable()
        self._medians: dict[str, dict[str, float | None]] = {}
        self._medians_ms: int | None = None
        self._members: dict[str, list[dict[str, Any]]] = {}
        self._written: dict[str, dict[str, Any]] = {}
        # Each queue's config as the snapshot shows it: settings are fixed for the process's
        # life, and building 500 of these dicts from the dataclass cost ~13 ms a tick.
        self._config_dicts: dict[str, dict[str, Any]] = {}
        # Adherence needs the queue blocks' projections (impact is judged from each queue's
        # gap); alerts need adherence's exceptions. Both run after the snapshot is built.
        self.adherence = LiveAdherence(store)
        # alerts=False: a caller (a test, a tool) drives its own AlertsComponent.
        self.alerts = AlertsComponent(store) if alerts else None

    def _group_agents(self, live: LiveState, now_ms: int, with_medians: bool) -> list[_QueueAgents]:
        """Per queue of ``live.queues``: its staffed agents' figures (and member lists and,
        with ``with_medians``, team medians kept on the engine)."""
        t = self.table
        t.refresh(live.agents, [q.id for q in live.queues], live.interval_start_ms)
        nq, n = len(live.queues), t.size
        state = t.state[:n]
        occ = t.occupancy_ms(now_ms, live.day_start_ms)
        logged = state[t.member_row] > 0
        rows, qs = t.member_row[logged], t.member_queue[logged]
        sums = [np.bincount(qs, weights=occ[rows, c], minlength=nq).tolist() for c in range(4)]
        counts = np.bincount(qs * 5 + state[rows], minlength=nq * 5).reshape(nq, 5)[:, 1:].tolist()
        aux = state[rows] == STATE_NAMES.index("aux") + 1
        n_reasons = len(t.reasons)
        by_reason = np.bincount(qs[aux] * n_reasons + t.reason[:n][rows[aux]], minlength=nq * n_reasons)
        aux_reasons: list[dict[str, int]] = [{} for _ in range(nq)]
        for cell in np.flatnonzero(by_reason).tolist():
            aux_reasons[cell // n_reasons][t.reasons[cell % n_reasons]] = int(by_reason[cell])
        self._update_members(live)
        if with_medians:
            self._update_medians(live, occ, rows, qs)
        return [
            _QueueAgents(counts[j], aux_reasons[j], (sums[0][j], sums[1][j]), (sums[2][j], sums[3][j]))
            for j in range(nq)
        ]

    def _update_members(self, live: LiveState) -> None:
        """Rebuild the member list of each queue whose members changed (in table row order;
        sorted only when written)."""
        t = self.table
        changed = t.changed_queues
        members = t.members
        for j, q in enumerate(live.queues):
            if changed is not None and q.id not in changed and q.id in self._members:
                continue
            rows = t.member_row[t.queue_start[j] : t.queue_start[j + 1]].tolist()
            self._members[q.id] = [m for m in (members[r] for r in rows) if m is not None]

    def _update_medians(self, live: LiveState, occ: np.ndarray, rows: np.ndarray, qs: np.ndarray) -> None:
        """Each queue's team median of the day's agent KPIs (staffing.kpis.agent_kpis), over its
        logged-in agents: exactly ``kpis.median_by_key``, vectorised over queues."""
        t = self.table
        staffed_rows = np.unique(rows)
        objs, day_ms = t.objs, occ[staffed_rows, 2:4].tolist()
        # One row of KPIs per staffed agent (None → NaN), then rows of member → agent row.
        values = np.array(
            [list(kpis.agent_kpis(objs[row].day, hd, ad).values()) for row, (hd, ad) in zip(staffed_rows.tolist(), day_ms, strict=True)],
            dtype=float,
        ).reshape(len(staffed_rows), len(_MEDIAN_KEYS))
        at = np.searchsorted(staffed_rows, rows)
        nq = len(live.queues)
        medians = np.full((nq, len(_MEDIAN_KEYS)), np.nan)
        for k in range(len(_MEDIAN_KEYS)):
            v = values[at, k]
            ok = ~np.isnan(v)
            vq, vv = qs[ok], v[ok]
            # By queue, then by value: complex numbers sort by real, then imaginary part (exact
            # here, and three times faster than np.lexsort).
            order = np.argsort(vq + 1j * vv)
            vq, vv = vq[order], vv[order]
            count = np.bincount(vq, minlength=nq)
            start = np.concatenate(([0], np.cumsum(count)[:-1]))
            has = np.flatnonzero(count)
            lo = start[has] + (count[has] - 1) // 2
            hi = start[has] + count[has] // 2
            # The middle value, or the mean of the two middle values (as np.median).
            medians[has, k] = (vv[lo] + vv[hi]) / 2
        staffed = np.bincount(qs, minlength=nq) > 0
        self._medians = {
            q.id: {key: (None if np.isnan(x) else float(x)) for key, x in zip(_MEDIAN_KEYS, medians[j].tolist(), strict=True)}
            for j, q in enumerate(live.queues)
            if staffed[j]
        }

    def _config_dict(self, queue: str, cfg: QueueConfig) -> dict[str, Any]:
        found = self._config_dicts.get(queue)
        if found is None:
            found = self._config_dicts[queue] = cfg.as_dict()
        return found

    def _queue_block(self, q: QueueLive, qa: _QueueAgents, now_ms: int) -> dict[str, Any]:
        cfg = self.store.queue_config(q.id)
        interval = kpis.summarize(q.interval, cfg.sl_formula, q.waiting_over_t_interval)
        interval["occupancy"] = kpis.occupancy(*qa.occ_interval)
        today = kpis.summarize(q.day, cfg.sl_formula, q.waiting_over_t)
        today["occupancy"] = kpis.occupancy(*qa.occ_today)
        longest = (now_ms - q.oldest_enter_ms) / 1000 if q.oldest_enter_ms is not None else 0.0
        return {
            "id": q.id,
            "config": self._config_dict(q.id, cfg),
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
        by_queue = self._group_agents(live, now_ms, with_medians) if live.queues else []
        if with_medians:
            self._medians_ms = now_ms
        blocks = [self._queue_block(q, qa, now_ms) for q, qa in zip(live.queues, by_queue, strict=True)]
        project_queues(blocks, live, self.settings.interval_s, now_ms)
        details = {
            q.id: {
                "agents": self._members.get(q.id, []),  # sorted when written (see tick)
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
        adherence = self.adherence.tick(live.agents, snapshot["queues"], now_ms)
        if self.alerts is not None:
            self.alerts.tick(snapshot, adherence.exceptions, now_ms)
        return snapshot

    def close(self) -> None:
        """Stop background work (the alert webhooks' sender)."""
        if self.alerts is not None:
            self.alerts.close()


_RANK = {"aux": 0, "acw": 1, "on_call": 2, "available": 3}


def _member_order(m: dict[str, Any], now_ms: int) -> tuple[int, float, str]:
    # The longest in aux first: that is who a supervisor asks about (then by id, so ties are
    # always written in the same order).
    return _RANK.get(m["state"], 4), m["since_ms"] or now_ms, m["agent"]
