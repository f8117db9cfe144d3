"""The engine tick: raw live state in Redis → one metrics snapshot for every queue.

The tick reads everything it needs in a few round trips, computes KPIs with the pure functions
of :mod:`staffing`, adds the Erlang projection for the current interval, and writes the
snapshot, the per-queue details and a TTL'd heartbeat; round trips it need not wait for at once
are sent early and read late (realtime/deferred.py), so Redis works while this process
computes. Time is passed in (``now_ms``), never read deep inside, so a test can tick at any
instant.

Per-queue agent figures (counts by state, occupancy, team medians) come from the agent table
(:class:`realtime.live.AgentTable`): numpy columns refreshed only for the agents that changed,
summed per queue with ``np.bincount`` over the queue-membership index.
"""

from __future__ import annotations

import gc
import logging
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from floorboard.config import QueueConfig
from realtime.adherence import LiveAdherence
from realtime.alerts import AlertsComponent
from realtime.live import DAY_COL, STATE_NAMES, AgentCache, AgentTable, LiveState, QueueLive
from realtime.projection import RequiredAgents, project_queues
from realtime.store import Store
from staffing import kpis

log = logging.getLogger(__name__)

# Team medians are a slow-moving yardstick (a day's KPIs over a team): recomputed every 10 s,
# between ticks (Engine.between_ticks), not in them; a tick computes them itself only when they
# are missing or older than MEDIAN_STALE_MS (a caller that never runs between_ticks).
MEDIAN_EVERY_MS = 10_000
MEDIAN_STALE_MS = 30_000

AGENT_STATE_ORDER = STATE_NAMES  # available, on_call, acw, aux


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


# Member order on the queue page by state code (realtime.live.STATE_CODES; 0, not logged in,
# is never listed): aux, ACW, on a call, available.
_RANK_OF_CODE = np.array([4, 3, 2, 1, 0])
_SINCE_SPAN = 1 << 40  # the sort key's room for "since", in ms

_NO_AGENTS = _QueueAgents([0, 0, 0, 0], {}, (0.0, 0.0), (0.0, 0.0))


# Young-generation collections: every this many allocations instead of CPython's 700.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Garbage-collector settings for a process that ticks (call after its first tick).

    The engine keeps a large long-lived heap (every agent, schedules, member lists) and a tick
    allocates a few hundred thousand short-lived objects. With CPython's default thresholds the
    collector ran a young collection every 700 allocations and, every so often, a full one over
    the whole heap: 20–40 ms of a tick in profiles, its slowest ticks, and more as the day went on. What
    exists after the first tick is frozen (never scanned again; it is freed as usual when
    dropped), young collections run every 50,000 allocations, and the process collects fully
    between ticks (:func:`collect_garbage`), so no full collection falls inside a tick.
    (Pausing collection during a tick as well measured no faster.)
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def collect_garbage() -> float:
    """A full collection, run between ticks; returns its milliseconds (docs/benchmarks.md, part
    3: the long-lived heap is frozen, so it does not scan that)."""
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


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
        self._median_inputs: tuple[Any, ...] | None = None  # the last tick's, for between_ticks
        self._members: dict[str, list[dict[str, Any]]] = {}
        self._members_json: dict[str, bytes] = {}  # each queue's member list as JSON
        self._written: dict[str, bytes] = {}
        # Each queue's config as the snapshot shows it: settings are fixed for the process's
        # life, and building 500 of these dicts from the dataclass cost ~13 ms a tick.
        self._config_dicts: dict[str, dict[str, Any]] = {}
        self._required = RequiredAgents()  # each queue's required agents, refreshed in turn
        # Adherence needs the queue blocks' projections (impact is judged from each queue's
        # gap); alerts need adherence's exceptions. Both run after the snapshot is built.
        self.adherence = LiveAdherence(store)
        # alerts=False: a caller (a test, a tool) drives its own AlertsComponent.
        self.alerts = AlertsComponent(store) if alerts else None

    def _group_agents(self, live: LiveState, now_ms: int, with_medians: bool) -> list[_QueueAgents]:
        """Per queue of ``live.queues``: its staffed agents' figures (and member lists and,
        with ``with_medians``, team medians kept on the engine)."""
        t = self.table
        t.refresh(live.agents, [q.id for q in live.queues], live.interval_start_ms, live.changed, live.counters)
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
        self._update_members(live, now_ms)
        self._median_inputs = (live, occ, rows, qs)
        if with_medians:
            self._update_medians(live, occ, rows, qs)
        return [
            _QueueAgents(counts[j], aux_reasons[j], (sums[0][j], sums[1][j]), (sums[2][j], sums[3][j]))
            for j in range(nq)
        ]

    def _update_members(self, live: LiveState, now_ms: int) -> None:
        """Rebuild the member list of each queue whose members changed, in the order the queue
        page shows them: the longest in aux first (who a supervisor asks about), then ACW, on a
        call, available, each longest in state first, ties by agent id so a list is always
        written the same way. One sort over every queue's members, not a sort per queue: a
        stable sort of one integer key (queue, state rank, since) over the membership index,
        which lists each queue's members by agent id already, so ties keep that order (six
        times faster than np.lexsort of the four keys at 25,000 memberships)."""
        t = self.table
        changed = t.changed_queues
        if changed is not None and not changed and len(self._members) == len(live.queues):
            return
        n = t.size
        state = t.state[:n]
        logged = state[t.member_row] > 0
        rows, qs = t.member_row[logged], t.member_queue[logged]
        since = t.since[:n]
        since_key = np.where(np.isnan(since) | (since == 0), float(now_ms), since)[rows]
        if len(rows):
            # Milliseconds since the earliest, in the key's low 40 bits (34 years).
            since_key = np.minimum(since_key - since_key.min(), _SINCE_SPAN - 1).astype(np.int64)
        key = (qs * len(_RANK_OF_CODE) + _RANK_OF_CODE[state[rows]]) * _SINCE_SPAN + since_key
        order = np.argsort(key, kind="stable")
        rows = rows[order]
        bounds = np.searchsorted(qs[order], np.arange(len(live.queues) + 1)).tolist()
        # Every listed member's dict and JSON at once, then a slice per queue.
        members = np.empty(n, object)
        members[:] = t.members
        member_json = np.empty(n, object)
        member_json[:] = t.member_json
        listed, listed_json = members[rows].tolist(), member_json[rows].tolist()
        for j, q in enumerate(live.queues):
            if changed is not None and q.id not in changed and q.id in self._members:
                continue
            self._members[q.id] = listed[bounds[j] : bounds[j + 1]]
            self._members_json[q.id] = b"[" + b",".join(listed_json[bounds[j] : bounds[j + 1]]) + b"]"

    def _update_medians(self, live: LiveState, occ: np.ndarray, rows: np.ndarray, qs: np.ndarray) -> None:
        """Each queue's team median of the day's agent KPIs (staffing.kpis.agent_kpis), over its
        logged-in agents: exactly ``kpis.median_by_key``, vectorised over queues."""
        t = self.table
        staffed_rows = np.unique(rows)
        day = t.day[staffed_rows]

        def col(field: str) -> np.ndarray:
            return day[:, DAY_COL[field]]

        # One row of KPIs per staffed agent (None → NaN), then rows of member → agent row.
        values = kpis.agent_kpi_columns(col("handled"), col("talk_ms"), col("hold_ms"), col("s:acw"), col("missed"),
                                        col("transfers"), occ[staffed_rows, 2], occ[staffed_rows, 3])
        at = np.searchsorted(staffed_rows, rows)
        nq = len(live.queues)
        medians = np.full((nq, len(kpis.AGENT_KPI_KEYS)), np.nan)
        for k in range(len(kpis.AGENT_KPI_KEYS)):
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
            q.id: {key: (None if np.isnan(x) else float(x)) for key, x in zip(kpis.AGENT_KPI_KEYS, medians[j].tolist(), strict=True)}
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
        with_medians = self._medians_ms is None or now_ms - self._medians_ms >= MEDIAN_STALE_MS
        by_queue = self._group_agents(live, now_ms, with_medians) if live.queues else []
        if with_medians:
            self._medians_ms = now_ms
        blocks = [self._queue_block(q, qa, now_ms) for q, qa in zip(live.queues, by_queue, strict=True)]
        project_queues(blocks, live, self.settings.interval_s, now_ms, self._required)
        details = {
            q.id: {
                "agents": self._members.get(q.id, []),  # in the queue page's order (_update_members)
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

    def between_ticks(self, now_ms: int) -> float:
        """Work no tick waits for, run after one (the engine process does): the required agents
        of the queues whose turn it was (realtime.projection.RequiredAgents), and the team
        medians, every MEDIAN_EVERY_MS, from the last tick's agents (the next tick shows both
        and writes the details that changed). Returns its milliseconds."""
        spent = self._required.refresh()
        if self._median_inputs is None or (self._medians_ms is not None and now_ms - self._medians_ms < MEDIAN_EVERY_MS):
            return spent
        started = time.perf_counter()
        self._update_medians(*self._median_inputs)
        self._medians_ms = now_ms
        return spent + (time.perf_counter() - started) * 1000

    def tick(self, now_ms: int) -> dict[str, Any]:
        """Read (only what changed), compute, write (only details that changed).

        Round trips whose replies are not needed at once are sent early and read late
        (realtime.deferred), so Redis, on its own core, works while this process computes: the
        adherence timelines are read while the snapshot is built, the snapshot is written while
        adherence is evaluated. The tick returns when every write is done.
        """
        live = self.store.fetch_live(now_ms, self.agents, on_agents=self.table.take)
        adherence = None
        written = None
        try:
            adherence = self.adherence.begin(live.agents, now_ms, changed=live.changed)
            snapshot, details = self.build(live, now_ms)
            encoded = {q: self._detail_json(q, d) for q, d in details.items()}
            changed = {q: d for q, d in encoded.items() if self._written.get(q) != d}
            self._written.update(changed)
            written = self.store.send_snapshot(snapshot, changed, now_ms)
            result = self.adherence.finish(adherence, snapshot["queues"])
            if self.alerts is not None:
                self.alerts.tick(snapshot, result.exceptions, now_ms)
        except BaseException:
            # Read what was sent (a connection with replies unread is never reused), and write
            # every detail next tick: whether this tick's were written is not known.
            if adherence is not None:
                self.adherence.discard(adherence)
            if written is not None:
                with suppress(Exception):
                    written.result()
            self._written.clear()
            raise
        try:
            self.adherence.wait(adherence)
        finally:
            try:
                written.result()
            except BaseException:
                self._written.clear()
                raise
        return snapshot

    def _detail_json(self, queue: str, detail: dict[str, Any]) -> bytes:
        """A queue's detail as written: its members' JSON joined (each serialised once, when
        the member changed) rather than the whole list serialised every tick."""
        members = self._members_json.get(queue, b"[]") if detail["agents"] else b"[]"
        rest = orjson.dumps({k: v for k, v in detail.items() if k != "agents"})
        return b'{"agents":' + members + (b"}" if rest == b"{}" else b"," + rest[1:])

    def close(self) -> None:
        """Stop background work (the alert webhooks' sender)."""
        if self.alerts is not None:
            self.alerts.close()
