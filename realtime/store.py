"""The store: the one object that issues Redis commands, exposing domain operations.

Write side: :meth:`Store.apply_entries` validates raw payloads, dead-letters the bad ones with a
reason, and applies the good ones idempotently through the Lua scripts in :mod:`realtime.lua`.
Read side: raw state for the engine tick, the snapshot and health for pages and the API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import hiredis
import redis

from floorboard.config import Settings
from floorboard.events import Event, InvalidEvent, decode_payload, parse_event
from realtime.keys import (
    CALL_TTL_S,
    COUNTER_TTL_S,
    DEADLETTER_MAXLEN,
    EVENTS_MAXLEN,
    SEEN_TTL_S,
    Keys,
)
from realtime.lua import (
    APPEND_EVENTS,
    APPLY_BATCH,
    MARK_AGENTS_CHANGED,
    NEWEST_BY_SOURCE,
    READ_AGENTS,
    READ_QUEUE,
    UNMARK_TOUCHED,
)
from realtime.reads import StoreReads
from realtime.timebase import Timebase

log = logging.getLogger(__name__)

_CALL_OPS = {
    "call.queued": "queued",
    "call.answered": "answered",
    "call.abandoned": "abandoned",
    "call.ended": "ended",
    "call.transferred": "transferred",
    "call.missed": "missed",
}


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(slots=True)
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (raw, source, reason)
    changed_agents: set[str] = field(default_factory=set)

    def merge(self, other: BatchResult) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.changed_agents |= other.changed_agents


@dataclass(slots=True)
class _Pending:
    event: Event
    raw: str
    source: str  # the event's own source, else the stream entry's
    late: bool = False  # behind its source's newest by more than the tolerance


class Store(StoreReads):
    """Domain operations over one Redis connection (sync; the web and engine are threads)."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.r = client
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.timebase = Timebase(settings.tz, settings.interval_s)
        self._apply_script = client.register_script(APPLY_BATCH)
        self._append_script = client.register_script(APPEND_EVENTS)
        self._read_queue_script = client.register_script(READ_QUEUE)
        self._newest_script = client.register_script(NEWEST_BY_SOURCE)
        self._unmark_script = client.register_script(UNMARK_TOUCHED)
        self._mark_script = client.register_script(MARK_AGENTS_CHANGED)
        self._read_agents_script = client.register_script(READ_AGENTS)
        self._known_queues: set[str] = set()
        self._known_agents: set[str] = set()
        self._source_newest: dict[str, int] = {}
        self._thresholds_ms: dict[str, tuple[int, int]] = {}
        # Key-base templates the apply script builds entity keys from: base = pre .. name .. suf.
        self._base_templates = (*self.keys.queue_base("\0").split("\0"), *self.keys.agent_base("\0").split("\0"))

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        client = redis.Redis.from_url(settings.redis_url_or_default, decode_responses=True)
        return cls(client, settings)

    # ------------------------------------------------------------------ ingest (write side)
    def append_raw(self, payloads: Sequence[str | bytes], source: str) -> None:
        """Append raw payloads to the events stream (what adapters' sinks do), in one call."""
        if payloads:
            self._append_script(keys=[self.keys.events], args=[EVENTS_MAXLEN, source, *payloads])

    def dead_letter(self, rejected: Iterable[tuple[str, str, str]], now_ms: int, pipe: Any = None) -> int:
        """Keep rejected payloads where someone can look at them, and count them by reason.

        With ``pipe`` the commands are only queued on it (the caller executes it)."""
        own = pipe is None
        pipe = self.r.pipeline(transaction=False) if own else pipe
        n = 0
        for raw, source, reason in rejected:
            pipe.xadd(
                self.keys.deadletters,
                {"raw": raw, "src": source, "reason": reason, "at_ms": now_ms},
                maxlen=DEADLETTER_MAXLEN,
                approximate=True,
            )
            pipe.hincrby(self.keys.stats, "deadletters", 1)
            pipe.hincrby(self.keys.stats, f"reason:{_reason_kind(reason)}", 1)
            n += 1
        if n and own:
            pipe.execute()
        return n

    def _validate(self, entries: Sequence[tuple[str, str]], now_ms: int, result: BatchResult) -> list[_Pending]:
        """Parse and check each payload; return the events to apply, in order (late ones are
        kept, flagged, for the apply script to tell a redelivery from a late event)."""
        future_limit = now_ms + int(self.settings.future_tolerance_s * 1000)
        late_ms = int(self.settings.late_tolerance_s * 1000)
        newest_by_source = self._source_newest
        good: list[_Pending] = []
        for raw, source in entries:
            try:
                items = decode_payload(raw)
            except InvalidEvent as exc:
                result.rejected.append((raw, source, exc.reason))
                continue
            for item in items:
                item_raw = raw if len(items) == 1 else json.dumps(item)
                try:
                    event = parse_event(item)
                except InvalidEvent as exc:
                    result.rejected.append((item_raw, source, exc.reason))
                    continue
                # An event without its own source takes the stream entry's.
                src = source if event.source == "default" else event.source
                ts = event.ts_ms
                if ts > future_limit:
                    result.rejected.append((item_raw, source, "ts is in the future"))
                    continue
                newest = newest_by_source[src] if src in newest_by_source else self._newest(src)
                if newest is not None and ts < newest - late_ms:
                    good.append(_Pending(event, item_raw, src, late=True))
                    continue
                if newest is None or ts > newest:
                    newest_by_source[src] = ts
                good.append(_Pending(event, item_raw, src))
        return good

    def _newest(self, source: str) -> int | None:
        if source not in self._source_newest:
            value = self.r.hget(self.keys.source_newest, source)
            if value is None:
                return None
            self._source_newest[source] = int(value)
        return self._source_newest[source]

    def apply_entries(
        self, entries: Sequence[tuple[str, str]], now_ms: int, finish: Callable[[Any], None] | None = None
    ) -> BatchResult:
        """Validate and apply a batch of (raw payload, source) in order; dead-letter the bad.

        Two round trips whatever the batch size: the apply script, then the bookkeeping
        (stats, newest time per source, dead letters). ``finish`` may queue more commands on
        that last pipeline (the aggregator acknowledges the stream entries there, so they are
        acknowledged only once applied and dead-lettered).
        """
        return self.complete_batch(self.prepare_batch(entries, now_ms), now_ms, finish)

    def prepare_batch(self, entries: Sequence[tuple[str, str]], now_ms: int) -> PreparedBatch:
        """Validate a batch and build the apply script's arguments (no Redis, except to learn a
        new source's newest event time)."""
        result = BatchResult()
        pending = self._validate(entries, now_ms, result)
        on_time = [p for p in pending if not p.late]
        return PreparedBatch(
            pending=pending,
            result=result,
            args=self._script_args(pending),
            queues={p.event.queue for p in on_time if p.event.queue} - self._known_queues,
            agents={p.event.agent for p in on_time if p.event.agent} - self._known_agents,
            newest={p.source: self._source_newest[p.source] for p in on_time},
        )

    def send_batch(self, batch: PreparedBatch) -> Any:
        """Send the batch's apply script without waiting for it (see :meth:`complete_batch`):
        the caller can prepare the next batch while Redis runs this one."""
        if not batch.pending:
            return None
        return _InFlight.send(self.r, self._batch_commands(batch))

    def complete_batch(
        self, batch: PreparedBatch, now_ms: int, finish: Callable[[Any], None] | None = None, sent: Any = None
    ) -> BatchResult:
        """Apply a prepared batch (or wait for the one ``send_batch`` sent), count the outcome,
        then write stats, newest times and dead letters, and whatever ``finish`` adds, in one
        pipeline."""
        result = batch.result
        if batch.pending:
            reply = sent.wait() if sent is not None else self._run_batch(batch)
            if isinstance(reply, redis.exceptions.NoScriptError):
                reply = self._run_batch(batch)  # the script cache was empty: this call loads it
            self._tally(batch, reply, result)
            self._known_queues |= batch.queues
            self._known_agents |= batch.agents
        pipe = self.r.pipeline(transaction=False)
        if result.applied:
            pipe.hincrby(self.keys.stats, "applied", result.applied)
        if result.duplicates:
            pipe.hincrby(self.keys.stats, "duplicates", result.duplicates)
        for source, newest in batch.newest.items():
            self._newest_script(keys=[self.keys.source_newest], args=[source, newest], client=pipe)
        self.dead_letter(result.rejected, now_ms, pipe)
        if finish is not None:
            finish(pipe)
        if len(pipe):
            pipe.execute()
        return result

    def mark_agents_changed(self, agents: Sequence[str], pipe: Any = None) -> None:
        """Tell the engine these agents changed (it re-reads only marked agents each tick).
        The apply script marks the agents it changes itself; this is for other writers."""
        self._mark_script(keys=[self.keys.agents_version, self.keys.agents_changed], args=list(agents),
                          client=pipe or self.r)

    def _queue_ms(self, queue: str) -> tuple[int, int]:
        """(T, S) of the queue in ms, as the apply script wants them (cached: config is fixed)."""
        cached = self._thresholds_ms.get(queue)
        if cached is None:
            cfg = self.queue_config(queue)
            cached = self._thresholds_ms[queue] = (int(cfg.sl_threshold_s * 1000), int(cfg.short_abandon_s * 1000))
        return cached

    def _script_args(self, pending: Sequence[_Pending]) -> list[Any]:
        """APPLY_BATCH's ARGV (see realtime/lua.py): a header, then 14 fields per event."""
        tb = self.timebase
        args: list[Any] = [len(pending), COUNTER_TTL_S, SEEN_TTL_S, CALL_TTL_S, tb.interval_ms, *self._base_templates]
        for p in pending:
            ev = p.event
            ts = ev.ts_ms
            day, off = tb.day(ts), tb.offset_ms(ts)
            if p.late:
                args += ("late", ev.id, ts, ev.queue or "", "", ev.agent or "", day, off, 0, 0, 0, "", "", "")
            elif ev.type == "agent.state":
                queues = json.dumps(list(ev.queues)) if ev.queues is not None else ""
                args += ("state", ev.id, ts, "", "", ev.agent, day, off, 0, 0, 0, ev.state, ev.reason or "", queues)
            else:
                t_ms, s_ms = self._queue_ms(ev.queue)  # type: ignore[arg-type]
                hold_ms = round(ev.hold_s * 1000) if ev.hold_s is not None else 0
                args += (_CALL_OPS[ev.type], ev.id, ts, ev.queue, ev.call, ev.agent or "", day, off,
                         t_ms, s_ms, hold_ms, "", "", "")
        return args

    def _batch_commands(self, batch: PreparedBatch) -> list[tuple[Any, ...]]:
        """New ids registered, then the apply script (its reply last)."""
        k = self.keys
        cmds: list[tuple[Any, ...]] = []
        if batch.queues:
            cmds.append(("SADD", k.queues, *batch.queues))
        if batch.agents:
            cmds.append(("SADD", k.agents, *batch.agents))
        cmds.append(("EVALSHA", self._apply_script.sha, 2, k.agents_version, k.agents_changed, *batch.args))
        return cmds

    def _run_batch(self, batch: PreparedBatch) -> Any:
        pipe = self.r.pipeline(transaction=False)
        if batch.queues:
            pipe.sadd(self.keys.queues, *batch.queues)
        if batch.agents:
            pipe.sadd(self.keys.agents, *batch.agents)
        self._apply_script(keys=[self.keys.agents_version, self.keys.agents_changed], args=batch.args, client=pipe)
        return pipe.execute(raise_on_error=False)[-1]

    def _tally(self, batch: PreparedBatch, reply: Any, result: BatchResult) -> None:
        """Count the script's reply: applied, duplicates, and each rejection with its reason."""
        pending = batch.pending
        if isinstance(reply, Exception):
            # A failure of the whole script is a bug or a server problem, never the payloads'
            # fault; keep every payload with the error so nothing is lost.
            log.error("apply script failed: %s", reply)
            for p in pending:
                result.rejected.append((p.raw, p.source, f"internal error while applying: {reply}"))
            return
        applied, failed = reply
        not_applied: dict[int, tuple[str, str]] = {}
        for j in range(0, len(failed), 3):
            not_applied[int(failed[j])] = (_s(failed[j + 1]), _s(failed[j + 2]))
        late_ms = int(self.settings.late_tolerance_s * 1000)
        for i, p in enumerate(pending):
            status = not_applied.get(i)
            if status is None:
                if p.event.agent:
                    result.changed_agents.add(p.event.agent)
                continue
            code, detail = status
            if code == "dup":
                result.duplicates += 1
                reason = "duplicate: this event id was already applied"
            elif code == "late":
                reason = f"late: more than {late_ms // 1000} s behind the newest event of source {p.source!r}"
            elif code == "bad":
                reason = detail
            else:
                log.error("apply script failed on one event: %s", detail)
                reason = f"internal error while applying: {detail}"
            result.rejected.append((p.raw, p.source, reason))
        result.applied += int(applied)


@dataclass(slots=True)
class PreparedBatch:
    """A validated batch with the apply script's arguments (:meth:`Store.prepare_batch`)."""

    pending: list[_Pending]
    result: BatchResult  # rejections found while validating; the apply adds the rest
    args: list[Any]
    queues: set[str]  # ids to register (not known to have been registered yet)
    agents: set[str]
    newest: dict[str, int]  # newest event time per source once this batch is applied


class _InFlight:
    """Commands sent on a connection of their own, replies read later: Redis runs the apply
    script while the aggregator validates the next batch (two cores instead of one)."""

    def __init__(self, client: redis.Redis, conn: Any, n: int) -> None:
        self.client, self.conn, self.n = client, conn, n

    @classmethod
    def send(cls, client: redis.Redis, cmds: list[tuple[Any, ...]]) -> _InFlight:
        pool = client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command(_pack(cmds))
        except BaseException:
            conn.disconnect()
            pool.release(conn)
            raise
        return cls(client, conn, len(cmds))

    def wait(self) -> Any:
        """The last command's reply (the script's); an error reply is returned, not raised."""
        pool = self.client.connection_pool
        replies: list[Any] = []
        try:
            for _ in range(self.n):
                try:
                    replies.append(self.conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            self.conn.disconnect()
            raise
        finally:
            pool.release(self.conn)
        return replies[-1]


def _pack(cmds: list[tuple[Any, ...]]) -> list[bytes]:
    # hiredis packs ints and strs itself; redis-py's packer first walks every argument in
    # Python, which for a 28,000-argument script call costs more than the packing.
    return [b"".join(hiredis.pack_command(c) for c in cmds)]


def _reason_kind(reason: str) -> str:
    """A short, bounded label for the per-reason counter (the full reason stays in the entry)."""
    head = reason.split(":", 1)[0].split(" ", 1)[0]
    return head[:40] or "unknown"
