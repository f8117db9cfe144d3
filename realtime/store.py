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
from json.encoder import encode_basestring_ascii
from typing import Any

import hiredis
import redis

from floorboard.config import Settings
from floorboard.events import InvalidEvent, decode_payload, event_fields
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
    READ_QUEUES,
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

    def merge(self, other: BatchResult) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


# What the apply needs back about each event of a batch, in batch order: (raw payload or None,
# the decoded item when the raw payload held several, source). A batch holds thousands, so a
# plain tuple; an item's own JSON text is only made if it is rejected.
_Pending = tuple[str | None, Any, str]


def _pending_raw(p: _Pending) -> str:
    raw, item = p[0], p[1]
    return raw if raw is not None else json.dumps(item)


class Store(StoreReads):
    """Domain operations over one Redis connection (sync; the web and engine are threads)."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.r = client
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.timebase = Timebase(settings.tz, settings.interval_s)
        self._apply_script = client.register_script(APPLY_BATCH)
        self._append_script = client.register_script(APPEND_EVENTS)
        self._read_queues_script = client.register_script(READ_QUEUES)
        self._newest_script = client.register_script(NEWEST_BY_SOURCE)
        self._unmark_script = client.register_script(UNMARK_TOUCHED)
        self._mark_script = client.register_script(MARK_AGENTS_CHANGED)
        self._read_agents_script = client.register_script(READ_AGENTS)
        self._known_queues: set[str] = set()
        self._known_agents: set[str] = set()
        self._source_newest: dict[str, int] = {}
        self._threshold_args: dict[str, tuple[str, str]] = {}
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
        batch = self.prepare_batch(entries, now_ms)
        return self.complete_batch(batch, now_ms, finish, self.send_batch(batch))

    def prepare_batch(self, entries: Sequence[tuple[str, str]], now_ms: int) -> PreparedBatch:
        """Validate a batch and build the apply script's call (no Redis, except to learn a new
        source's newest event time)."""
        batch = self._validate(entries, now_ms)
        if batch.pending:
            # Packed now, while the previous batch's script runs, rather than when it is sent.
            commands = self._batch_commands(batch)
            batch.packed, batch.n_commands = _pack(commands), len(commands)
        return batch

    def _validate(self, entries: Sequence[tuple[str, str]], now_ms: int) -> PreparedBatch:
        """Parse and check each payload: the bad are rejected with the reason, the rest kept in
        order with their arguments (see APPLY_BATCH in realtime/lua.py). An event more than the
        late tolerance behind its source's newest is kept too, flagged, for the script to tell a
        redelivery (a duplicate) from a late event."""
        result = BatchResult()
        rejected = result.rejected
        future_limit = now_ms + int(self.settings.future_tolerance_s * 1000)
        late_ms = int(self.settings.late_tolerance_s * 1000)
        newest_by_source = self._source_newest
        tb = self.timebase
        # Offsets change, and days begin, only on quarter-hour boundaries (realtime.timebase),
        # so all the events of one minute share them.
        by_minute: dict[int, tuple[str, str]] = {}
        thresholds = self._threshold_args
        pending: list[_Pending] = []
        args: list[Any] = [0, COUNTER_TTL_S, SEEN_TTL_S, CALL_TTL_S, tb.interval_ms, *self._base_templates]
        queues: set[str] = set()
        agents: set[str] = set()
        sources: dict[str, None] = {}  # of the events on time, in order
        for raw, source in entries:
            try:
                items = decode_payload(raw)
            except InvalidEvent as exc:
                rejected.append((raw, source, exc.reason))
                continue
            single = len(items) == 1
            for item in items:
                try:
                    fields = event_fields(item)
                except InvalidEvent as exc:
                    rejected.append((raw if single else json.dumps(item), source, exc.reason))
                    continue
                event_id, ts, etype, own_source, queue, call, agent = fields[:7]
                # An event without its own source takes the stream entry's.
                src = source if own_source == "default" else own_source
                if ts > future_limit:
                    rejected.append((raw if single else json.dumps(item), source, "ts is in the future"))
                    continue
                newest = newest_by_source[src] if src in newest_by_source else self._newest(src)
                minute = ts // 60_000
                when = by_minute.get(minute)
                if when is None:
                    when = by_minute[minute] = (tb.day(ts), str(tb.offset_ms(ts)))
                pending.append((raw, None, src) if single else (None, item, src))
                if newest is not None and ts < newest - late_ms:
                    args += ("late", event_id, queue or "", agent or "", when[0])
                    continue
                if newest is None or ts > newest:
                    newest_by_source[src] = ts
                sources[src] = None
                if queue:
                    queues.add(queue)
                if agent:
                    agents.add(agent)
                if etype == "agent.state":
                    skills = fields[12]
                    args += ("state", event_id, str(ts), agent, when[0], when[1], fields[10], fields[11] or "",
                             _json_names(skills) if skills is not None else "")
                else:
                    t_s = thresholds.get(queue) or self._thresholds(queue)  # type: ignore[arg-type]
                    hold_s = fields[8]
                    args += (_CALL_OPS[etype], event_id, str(ts), queue, call, agent or "", when[0], when[1],
                             t_s[0], t_s[1], str(round(hold_s * 1000)) if hold_s is not None else "0")
        args[0] = len(pending)
        return PreparedBatch(
            pending=pending,
            result=result,
            args=args,
            queues=queues - self._known_queues,
            agents=agents - self._known_agents,
            newest={src: newest_by_source[src] for src in sources},
        )

    def send_batch(self, batch: PreparedBatch) -> Any:
        """Send the batch's apply script without waiting for it (see :meth:`complete_batch`):
        the caller can prepare the next batch while Redis runs this one."""
        if not batch.pending:
            return None
        return _InFlight.send(self.r, batch.packed, batch.n_commands)

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
        """Tell the engine to read these agents again (the apply script tells it what it
        changed itself; this is for other writers)."""
        self._mark_script(keys=[self.keys.agents_version, self.keys.agent_changes], args=list(agents),
                          client=pipe or self.r)

    def _thresholds(self, queue: str) -> tuple[str, str]:
        """(T, S) of the queue in ms, as the apply script's arguments (cached: config is fixed)."""
        cfg = self.queue_config(queue)
        t_s = self._threshold_args[queue] = (str(int(cfg.sl_threshold_s * 1000)), str(int(cfg.short_abandon_s * 1000)))
        return t_s

    def _batch_commands(self, batch: PreparedBatch) -> list[tuple[Any, ...]]:
        """New ids registered, then the apply script (its reply last)."""
        k = self.keys
        cmds: list[tuple[Any, ...]] = []
        if batch.queues:
            cmds.append(("SADD", k.queues, *batch.queues))
        if batch.agents:
            cmds.append(("SADD", k.agents, *batch.agents))
        cmds.append(("EVALSHA", self._apply_script.sha, 2, k.agents_version, k.agent_changes, *batch.args))
        return cmds

    def _run_batch(self, batch: PreparedBatch) -> Any:
        pipe = self.r.pipeline(transaction=False)
        if batch.queues:
            pipe.sadd(self.keys.queues, *batch.queues)
        if batch.agents:
            pipe.sadd(self.keys.agents, *batch.agents)
        self._apply_script(keys=[self.keys.agents_version, self.keys.agent_changes], args=batch.args, client=pipe)
        return pipe.execute(raise_on_error=False)[-1]

    def _tally(self, batch: PreparedBatch, reply: Any, result: BatchResult) -> None:
        """Count the script's reply: applied, duplicates, and each rejection with its reason."""
        pending = batch.pending
        if isinstance(reply, Exception):
            # A failure of the whole script is a bug or a server problem, never the payloads'
            # fault; keep every payload with the error so nothing is lost.
            log.error("apply script failed: %s", reply)
            for p in pending:
                result.rejected.append((_pending_raw(p), p[2], f"internal error while applying: {reply}"))
            return
        applied, failed = reply
        late_ms = int(self.settings.late_tolerance_s * 1000)
        for j in range(0, len(failed), 3):  # in batch order
            p = pending[int(failed[j])]
            code, detail = _s(failed[j + 1]), _s(failed[j + 2])
            if code == "dup":
                result.duplicates += 1
                reason = "duplicate: this event id was already applied"
            elif code == "late":
                reason = f"late: more than {late_ms // 1000} s behind the newest event of source {p[2]!r}"
            elif code == "bad":
                reason = detail
            else:
                log.error("apply script failed on one event: %s", detail)
                reason = f"internal error while applying: {detail}"
            result.rejected.append((_pending_raw(p), p[2], reason))
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
    packed: list[bytes] = field(default_factory=list)  # what send_batch sends, in the wire protocol
    n_commands: int = 0


class _InFlight:
    """Commands sent on a connection of their own, replies read later: Redis runs the apply
    script while the aggregator validates the next batch (two cores instead of one)."""

    def __init__(self, client: redis.Redis, conn: Any, n: int) -> None:
        self.client, self.conn, self.n = client, conn, n

    @classmethod
    def send(cls, client: redis.Redis, packed: list[bytes], n: int) -> _InFlight:
        """Send ``n`` commands already packed (see :func:`_pack`)."""
        pool = client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command(packed)
        except BaseException:
            conn.disconnect()
            pool.release(conn)
            raise
        return cls(client, conn, n)

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


def _json_names(names: Sequence[str]) -> str:
    """``json.dumps(list(names))``, byte for byte, for a list of strings (without the generic
    encoder's per-call set-up, which costs more than the encoding)."""
    return "[" + ", ".join(map(encode_basestring_ascii, names)) + "]"


def _reason_kind(reason: str) -> str:
    """A short, bounded label for the per-reason counter (the full reason stays in the entry)."""
    head = reason.split(":", 1)[0].split(" ", 1)[0]
    return head[:40] or "unknown"
