"""The store's read side: what the engine, the pages and the API read (mixed into Store)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from realtime.changes import (
    Changes,
    ChangesGap,
    commit,
    fold,
    parse_changes,
    replace_all,
    start_interval,
)
from realtime.deferred import Deferred, DeferredScripts, Ready
from realtime.keys import Keys
from realtime.live import (
    AGENT_LIVE_FIELDS,
    AGENT_TICK_DAY_FIELDS,
    AGENT_TICK_INTERVAL_FIELDS,
    AgentCache,
    AgentCounters,
    AgentLive,
    LiveState,
    QueueLive,
    numbers,
    skills_of,
)
from realtime.timebase import Timebase
from staffing import kpis

if TYPE_CHECKING:
    import redis

    from floorboard.config import QueueConfig, Settings

log = logging.getLogger(__name__)

# Callers listed on the queue page; the count and the oldest are always exact.
MAX_WAITING_LISTED = 200
_READ_AGENTS_ARGS = [
    len(AGENT_LIVE_FIELDS), *AGENT_LIVE_FIELDS, len(AGENT_TICK_INTERVAL_FIELDS), *AGENT_TICK_INTERVAL_FIELDS,
    *AGENT_TICK_DAY_FIELDS,
]
# Agents read per script call (about 3,000 Redis commands, a few ms of server time).
READ_AGENTS_CHUNK = 1000
# The heartbeat outlives this many missed ticks before it expires.
HEARTBEAT_TICKS = 5


class StoreReads:
    r: redis.Redis
    keys: Keys
    timebase: Timebase
    settings: Settings
    _unmark_script: Any
    _read_agents_script: Any
    _read_queues_script: Any

    def queue_config(self, queue: str) -> QueueConfig:
        return self.settings.queues.get(queue)

    # ----------------------------------------------------------------- engine input
    def queue_ids(self) -> list[str]:
        seen = set(self.r.smembers(self.keys.queues))
        return sorted(seen | set(self.settings.queues.queues))

    def fetch_live(self, now_ms: int, cache: AgentCache | None = None,
                   on_agents: Callable[[list[AgentLive]], None] | None = None) -> LiveState:
        """Everything one tick needs, in a few round trips.

        With a ``cache`` (the engine keeps one), agents are not read again: the changes the
        apply batches made since the cache's version are folded into it (realtime/changes.py);
        without one, or on a new day, or when changes are missing from the stream, every agent
        is read. The queues' read is sent first, so Redis runs it while this client folds.
        ``on_agents`` gets the changed agents as they are ready (their live fields; counters
        are in the state's ``counters``), so the engine's table takes them while Redis reads.
        """
        tb = self.timebase
        iv = tb.interval_start_ms(now_ms)
        day = tb.day(now_ms)
        queues = self.queue_ids()
        since = cache.version if cache is not None and cache.day == day else None
        changes_sent = self._send_changes_read(since) if since is not None else None
        queues_sent = self._send_queue_read(queues, now_ms, iv, day)
        fresh: dict[str, AgentLive] = {}
        changes = None
        folded = waited = None
        if changes_sent is not None:
            assert since is not None
            changes = self._changes(changes_sent, since)
        if changes is not None:  # folded while Redis reads the queues
            assert cache is not None
            try:
                if cache.interval_start_ms != iv:
                    waited = start_interval(cache, iv)
                folded = fold(cache, changes, iv, day)
                fresh.update(folded.agents)
            except (ValueError, TypeError, KeyError, IndexError) as e:
                # Only the apply script writes the stream, so this is a bug, not bad input; but
                # no entry may stop every tick for good: the copy is dropped and read again.
                log.error("agent changes could not be folded (%r): reading every agent again", e)
                changes, fresh, folded, waited = None, {}, None, None
        if changes is None:  # every agent, read whole
            version, ids = self._agent_ids()
            reread: list[str] = ids
        else:
            version, reread = changes.version, sorted(changes.reread)
        agents_sent = self._send_agents_read(reread, iv, day)
        if fresh and on_agents is not None:
            on_agents(list(fresh.values()))
        queue_rows = _queue_rows(queues, queues_sent.result()[0] if queues else [])
        read_versions: dict[str, int] = {}
        read_counts: list[np.ndarray] = []
        for reply in agents_sent.each():
            first = len(read_versions)
            chunk, counts, read_at = _agent_rows(reread, reply, first)
            read_versions.update((a.id, read_at) for a in chunk)
            read_counts.append(counts)
            fresh.update((a.id, a) for a in chunk)
            if on_agents is not None:
                on_agents(chunk)
        # Every read succeeded: what this tick read and folded goes into the cache now (a tick
        # failing before this point folds the same entries again next time, not twice).
        counts = np.concatenate(read_counts) if read_counts else np.zeros((0, _N_IV + _N_DAY))
        changed: list[AgentLive] | None
        if changes is None:
            counters = AgentCounters(reread, counts)
            agents, changed = list(fresh.values()), None
            if cache is not None:
                replace_all(cache, fresh, counters, day, iv, version, read_versions)
        else:
            assert cache is not None and folded is not None
            commit(cache, folded, waited, iv, version, fresh, (reread, counts), read_versions)
            counters, agents, changed = cache.counters, list(cache.agents.values()), list(fresh.values())
        day_start, _ = tb.day_bounds_ms(day)
        return LiveState(now_ms, iv, day, day_start, queue_rows, agents, changed, counters)

    def _agent_ids(self) -> tuple[int, list[str]]:
        """The agents version, then every agent id: an agent changed by a batch up to that
        version is in the set already (its id is added before its batch runs)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.keys.agents_version)
        pipe.smembers(self.keys.agents)
        version_raw, members = pipe.execute()
        return int(version_raw or 0), sorted(members)

    def _send_changes_read(self, since: int) -> Deferred:
        """The agent changes after version ``since``, read atomically with the version; those up
        to ``since`` (folded last tick) are trimmed first (a few entries: exact is cheap)."""
        k, first = self.keys, f"{since + 1}-0"
        return Deferred(self.r, [("MULTI",), ("XTRIM", k.agent_changes, "MINID", first), ("GET", k.agents_version),
                                 ("XRANGE", k.agent_changes, first, "+"), ("EXEC",)])

    def _changes(self, sent: Deferred, since: int) -> Changes | None:
        """The changes read, parsed; None when some are missing or unreadable (every agent is
        read again)."""
        _, version_raw, entries = sent.result()[-1]
        try:
            return parse_changes(version_raw, _stream_entries(entries), since)
        except ChangesGap as e:
            log.warning("reading every agent again: %s", e)
        except (ValueError, TypeError, KeyError) as e:  # see fetch_live: a bug, never input
            log.error("agent changes could not be read (%r): reading every agent again", e)
        return None

    def _send_queue_read(self, queues: list[str], now_ms: int, iv: int, day: str) -> DeferredScripts | Ready:
        if not queues:
            return Ready()
        k = self.keys
        prev_iv = self.timebase.interval_start_ms(iv - 1)
        keys = [key for q in queues for key in (k.queue_interval(q, iv), k.queue_interval(q, prev_iv),
                                                k.queue_day(q, day), k.queue_waiting(q))]
        beyond_t = [now_ms - int(self.queue_config(q).sl_threshold_s * 1000) for q in queues]
        return DeferredScripts(self._read_queues_script, [(keys, [MAX_WAITING_LISTED, iv, *beyond_t])])

    def _send_agents_read(self, ids: list[str], iv: int, day: str) -> DeferredScripts | Ready:
        """The agents' read, in chunks that keep each script short, so Redis never stalls other
        clients for long. Each call's first key is the agents version counter: its reply says
        the version the agents were read at."""
        if not ids:
            return Ready()
        k = self.keys
        calls = []
        for start in range(0, len(ids), READ_AGENTS_CHUNK):
            chunk = ids[start : start + READ_AGENTS_CHUNK]
            keys = [k.agents_version, *(key for a in chunk for key in (k.agent(a), k.agent_interval(a, iv), k.agent_day(a, day)))]
            calls.append((keys, _READ_AGENTS_ARGS))
        return DeferredScripts(self._read_agents_script, calls)

    def write_snapshot(self, snapshot: dict[str, Any], details: dict[str, dict[str, Any] | bytes], now_ms: int) -> None:
        """Snapshot, the per-queue details given (only changed ones) and heartbeat in one
        transaction, then notify."""
        self.send_snapshot(snapshot, details, now_ms).result()

    def send_snapshot(self, snapshot: dict[str, Any], details: dict[str, dict[str, Any] | bytes], now_ms: int) -> Deferred:
        """:meth:`write_snapshot`, with its replies read when the caller asks (``.result()``).
        A detail given as bytes is JSON already."""
        ttl_s = max(2, round(self.settings.tick_s * HEARTBEAT_TICKS))
        k = self.keys
        # orjson: a tenth of the stdlib's time for the 0.9 MB snapshot of 500 queues. It writes a
        # non-finite float as null, so the JSON always stays readable to browsers; the engine's
        # figures are finite by construction (ratios of positive denominators, projections
        # through _finite), and a test checks a snapshot survives a strict round trip.
        # Times in details are absolute (since_ms, enter_ms), so a detail stays right until its
        # content changes; staleness is judged from the snapshot's age. The TTL'd heartbeat: if
        # the engine dies the key disappears and `engine --check` fails.
        return Deferred(self.r, [
            ("MULTI",),
            ("SET", k.snapshot, orjson.dumps(snapshot)),
            *(("SET", k.queue_detail(queue), detail if isinstance(detail, bytes) else orjson.dumps(detail))
              for queue, detail in details.items()),
            ("SET", k.heartbeat, now_ms, "EX", ttl_s),
            ("PUBLISH", k.snapshot_channel, now_ms),
            ("EXEC",),
        ], background=True)

    # ----------------------------------------------------------------- archiving
    def closed_intervals(
        self, before_ms: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str, str]]]:
        """Touched intervals that started before ``before_ms``, with their counters.

        Returns queue rows, agent rows, and the (touched key, interval, change count) marks to
        clear once the rows are stored.
        """
        k, tb = self.keys, self.timebase
        queues = self.queue_ids()
        agents = sorted(self.r.smembers(k.agents))
        touched = [(k.queue_touched(q), q, "queue") for q in queues]
        touched += [(k.agent_touched(a), a, "agent") for a in agents]
        pipe = self.r.pipeline(transaction=False)
        for key, _, _ in touched:
            pipe.hgetall(key)
        found = [
            (key, ident, kind, iv, version)
            for (key, ident, kind), marks in zip(touched, pipe.execute(), strict=True)
            for iv, version in marks.items()
            if int(iv) < before_ms
        ]
        pipe = self.r.pipeline(transaction=False)
        for _, ident, kind, iv, _ in found:
            pipe.hgetall(k.queue_interval(ident, int(iv)) if kind == "queue" else k.agent_interval(ident, int(iv)))
        queue_rows, agent_rows, marks = [], [], []
        for (key, ident, kind, iv, version), raw in zip(found, pipe.execute(), strict=True):
            marks.append((key, iv, version))
            if not raw:
                continue  # expired before it could be archived; nothing left to keep
            start = int(iv)
            counters = {f: int(v) for f, v in raw.items()}
            if kind == "queue":
                row = {"queue": ident, "interval_start_ms": start, "day": tb.day(start)}
                row.update({f: counters.get(f, 0) for f in kpis.COUNTER_FIELDS})
                queue_rows.append(row)
            else:
                agent_rows.append({"agent": ident, "interval_start_ms": start, "day": tb.day(start), "counters": counters})
        return queue_rows, agent_rows, marks

    def unmark_touched(self, marks: list[tuple[str, str, str]]) -> None:
        """Clear archived marks whose interval has not changed since it was read."""
        by_key: dict[str, list[str]] = {}
        for key, iv, version in marks:
            by_key.setdefault(key, []).extend((iv, version))
        pipe = self.r.pipeline(transaction=False)
        for key, args in by_key.items():
            self._unmark_script(keys=[key], args=args, client=pipe)
        if by_key:
            pipe.execute()

    # ----------------------------------------------------------------- pages and API
    def read_snapshot(self) -> dict[str, Any] | None:
        raw = self.r.get(self.keys.snapshot)
        return json.loads(raw) if raw else None

    def heartbeat_age_s(self, now_ms: int) -> float | None:
        raw = self.r.get(self.keys.heartbeat)
        return None if raw is None else max(0.0, (now_ms - int(raw)) / 1000)

    def read_intervals(self, queue: str, day: str) -> list[dict[str, Any]]:
        """Every interval of a local day with its counters and KPIs (live state only)."""
        cfg = self.queue_config(queue)
        starts = self.timebase.day_intervals_ms(day)
        pipe = self.r.pipeline(transaction=False)
        for start in starts:
            pipe.hgetall(self.keys.queue_interval(queue, start))
        rows = []
        for start, raw in zip(starts, pipe.execute(), strict=True):
            row: dict[str, Any] = {"start_ms": start, "label": self.timebase.local_label(start)}
            row.update(kpis.summarize(numbers(raw), cfg.sl_formula))
            rows.append(row)
        return rows

    def read_queue_view(self, queue: str, now_ms: int) -> dict[str, Any] | None:
        if queue not in self.queue_ids():
            return None
        raw = self.r.get(self.keys.queue_detail(queue))
        detail = json.loads(raw) if raw else {"agents": [], "waiting": []}
        for m in detail["agents"]:
            m["time_in_state_s"] = (now_ms - m["since_ms"]) / 1000 if m.get("since_ms") else None
        for w in detail["waiting"]:
            w["wait_s"] = max(0.0, (now_ms - w["enter_ms"]) / 1000)
        return {
            "queue": queue,
            "config": self.queue_config(queue).as_dict(),
            "intervals": self.read_intervals(queue, self.timebase.day(now_ms)),
            "agents": detail["agents"],
            "waiting": detail["waiting"],
            "team_median": detail.get("team_median", {}),
        }

    def read_agent_view(self, agent: str, now_ms: int) -> dict[str, Any] | None:
        """One agent's own live state, today's counters and timeline, and their team median."""
        k = self.keys
        if not self.r.sismember(k.agents, agent):
            return None
        day = self.timebase.day(now_ms)
        pipe = self.r.pipeline(transaction=False)
        pipe.hmget(k.agent(agent), AGENT_LIVE_FIELDS)
        pipe.hgetall(k.agent_day(agent, day))
        pipe.lrange(k.agent_timeline(agent, day), 0, -1)
        day_start, _ = self.timebase.day_bounds_ms(day)
        # Yesterday's last change: the state the agent was in at midnight.
        pipe.lindex(k.agent_timeline(agent, self.timebase.day(day_start - 1)), -1)
        live_raw, day_raw, timeline_raw, at_midnight = pipe.execute()
        live = AgentLive.from_redis(agent, live_raw)
        team: dict[str, Any] = {"size": 0, "median": {}}
        if live.queues:
            raw = self.r.get(k.queue_detail(live.queues[0]))
            if raw:
                detail = json.loads(raw)
                team = {"queue": live.queues[0], "size": len(detail["agents"]), "median": detail.get("team_median", {})}
        return {
            "agent": agent,
            "state": live.state,
            "reason": live.reason,
            "since_ms": live.since_ms,
            "time_in_state_s": (now_ms - live.since_ms) / 1000 if live.since_ms else None,
            "queues": list(live.queues),
            "call": live.call,
            "today": _agent_today(live, numbers(day_raw), now_ms, self.timebase.day_bounds_ms(day)[0]),
            "timeline": _timeline(timeline_raw, now_ms, at_midnight, day_start),
            "team": team,
        }

    def read_health(self, now_ms: int) -> dict[str, Any]:
        k = self.keys
        pipe = self.r.pipeline(transaction=False)
        pipe.get(k.heartbeat)
        pipe.hgetall(k.stats)
        pipe.xlen(k.deadletters)
        pipe.xinfo_groups(k.events) if self.r.exists(k.events) else pipe.echo("[]")
        beat, stats, dl_len, groups = pipe.execute()
        backlog = 0
        if isinstance(groups, list):
            for g in groups:
                backlog += int(g.get("lag") or 0) + int(g.get("pending") or 0)
        age = None if beat is None else max(0.0, (now_ms - int(beat)) / 1000)
        return {
            "status": "ok" if age is not None and age <= self.settings.tick_s * 3 else "stale",
            "heartbeat_age_s": age,
            "tick_s": self.settings.tick_s,
            "events_applied": int(stats.get("applied", 0)),
            "duplicates": int(stats.get("duplicates", 0)),
            "deadletters": int(stats.get("deadletters", 0)),
            "deadletters_kept": int(dl_len),
            "deadletter_reasons": {
                key.split(":", 1)[1]: int(v) for key, v in stats.items() if key.startswith("reason:")
            },
            "stream_backlog": backlog,
        }

    def read_deadletters(self, limit: int) -> list[dict[str, Any]]:
        entries = self.r.xrevrange(self.keys.deadletters, count=max(1, min(limit, 1000)))
        return [
            {"id": eid, "at_ms": int(f.get("at_ms", 0)), "source": f.get("src"), "reason": f.get("reason"), "raw": f.get("raw")}
            for eid, f in entries
        ]


_N_LIVE, _N_IV, _N_DAY = len(AGENT_LIVE_FIELDS), len(AGENT_TICK_INTERVAL_FIELDS), len(AGENT_TICK_DAY_FIELDS)


def _agent_rows(ids: list[str], reply: list[Any], first: int) -> tuple[list[AgentLive], np.ndarray, int]:
    """AgentLive objects from one READ_AGENTS reply (the chunk of ``ids`` from ``first``), their
    counters as a matrix (one row per agent: the interval fields, then the day fields), and the
    agents version they were read at."""
    live, packed, version = reply
    n = len(live) // _N_LIVE
    counts = np.fromstring(packed, dtype=np.int64, sep=",") if n else np.zeros(0, np.int64)
    counts = counts.reshape(n, _N_IV + _N_DAY)
    out: list[AgentLive] = []
    # AgentLive built directly (not through from_redis): this runs for every agent read.
    for j in range(n):
        state, reason, since, queues, call = live[j * _N_LIVE : (j + 1) * _N_LIVE]
        out.append(AgentLive(ids[first + j], state or None, reason or None, int(since) if since else None,
                             skills_of(queues), call or None))
    return out, counts, int(version)


def _stream_entries(raw: list[Any]) -> list[tuple[Any, dict[Any, Any]]]:
    """XRANGE's raw reply (entry id, flat field list) as (id, fields) pairs."""
    return [(entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in raw]


def _queue_rows(queues: list[str], replies: list[Any]) -> list[QueueLive]:
    """QueueLive rows from READ_QUEUES' reply (seven replies per queue)."""
    rows: list[QueueLive] = []
    for j, q in enumerate(queues):
        cur, prev, dayc, count, listed, over_t, over_t_iv = replies[j * 7 : j * 7 + 7]
        waiting_calls = [(listed[i], int(float(listed[i + 1]))) for i in range(0, len(listed), 2)]
        rows.append(
            QueueLive(
                id=q,
                interval=_counters(cur),
                previous_interval=_counters(prev),
                day=_counters(dayc),
                waiting=int(count),
                oldest_enter_ms=waiting_calls[0][1] if waiting_calls else None,
                waiting_over_t=int(over_t),
                waiting_over_t_interval=int(over_t_iv),
                waiting_calls=waiting_calls,
            )
        )
    return rows


def _counters(flat: list[str]) -> dict[str, float]:
    """A counter hash from HGETALL's flat reply, as floats."""
    return dict(zip(flat[::2], map(float, flat[1::2]), strict=True))


def _agent_today(live: AgentLive, day: dict[str, float], now_ms: int, day_start_ms: int) -> dict[str, Any]:
    """Today's KPIs of an agent from their day counters (every field), the running state included."""
    if live.state and live.state != "logged_out" and live.since_ms is not None:
        field = f"s:{live.state}" + (f":{live.reason}" if live.state == "aux" and live.reason else "")
        day[field] = day.get(field, 0.0) + max(0, now_ms - max(live.since_ms, day_start_ms))
    handled = day.get("handled", 0.0)
    handling = day.get("s:on_call", 0.0) + day.get("s:acw", 0.0)
    return {
        "handled": handled,
        "answered": day.get("answered", 0.0),
        "talk_ms": day.get("talk_ms", 0.0),
        "hold_ms": day.get("hold_ms", 0.0),
        "acw_ms": day.get("s:acw", 0.0),
        "missed": day.get("missed", 0.0),
        "transfers": day.get("transfers", 0.0),
        "aht_s": kpis.agent_aht_s(day),
        "occupancy": kpis.occupancy(handling, day.get("s:available", 0.0)),
        "state_s": {key[2:]: v / 1000 for key, v in sorted(day.items()) if key.startswith("s:")},
    }


def _timeline(raw: list[str], now_ms: int, before: str | None = None, day_start_ms: int = 0) -> list[dict[str, Any]]:
    """Today's states from the day's timeline entries; ``before`` (the day before's last entry)
    gives the state running at midnight, shown from midnight until the day's first change."""
    changes = [json.loads(x) for x in raw]
    if before is not None:
        _, state, reason = json.loads(before)
        if state != "logged_out" and (not changes or int(changes[0][0]) > day_start_ms):
            changes.insert(0, [day_start_ms, state, reason])
    out = []
    for i, (ts, state, reason) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else now_ms
        out.append({"start_ms": int(ts), "end_ms": int(end), "state": state, "reason": reason or None})
    return out
