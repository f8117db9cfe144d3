"""The store: the one object that issues Redis commands, exposing domain operations.

Write side: :meth:`Store.apply_entries` validates raw payloads, dead-letters the bad ones with a
reason, and applies the good ones idempotently through the Lua scripts in :mod:`realtime.lua`.
Read side: raw state for the engine tick, the snapshot and health for pages and the API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

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
from realtime.lua import AGENT_APPLY, MARK_AGENTS_CHANGED, QUEUE_APPLY, READ_AGENTS, UNMARK_TOUCHED
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
# Call events that also change the handling agent's counters.
_AGENT_CALL_OPS = {"answered", "ended", "transferred", "missed"}


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


class Store(StoreReads):
    """Domain operations over one Redis connection (sync; the web and engine are threads)."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.r = client
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.timebase = Timebase(settings.tz, settings.interval_s)
        self._queue_script = client.register_script(QUEUE_APPLY)
        self._agent_script = client.register_script(AGENT_APPLY)
        self._unmark_script = client.register_script(UNMARK_TOUCHED)
        self._mark_script = client.register_script(MARK_AGENTS_CHANGED)
        self._read_agents_script = client.register_script(READ_AGENTS)
        self._known_queues: set[str] = set()
        self._known_agents: set[str] = set()
        self._source_newest: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        client = redis.Redis.from_url(settings.redis_url_or_default, decode_responses=True)
        return cls(client, settings)

    # ------------------------------------------------------------------ ingest (write side)
    def append_raw(self, payloads: Sequence[str | bytes], source: str) -> None:
        """Append raw payloads to the events stream (what adapters' sinks do)."""
        pipe = self.r.pipeline(transaction=False)
        for raw in payloads:
            pipe.xadd(self.keys.events, {"src": source, "raw": raw}, maxlen=EVENTS_MAXLEN, approximate=True)
        pipe.execute()

    def dead_letter(self, rejected: Iterable[tuple[str, str, str]], now_ms: int) -> int:
        """Keep rejected payloads where someone can look at them, and count them by reason."""
        pipe = self.r.pipeline(transaction=False)
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
        if n:
            pipe.execute()
        return n

    def _validate(
        self, entries: Sequence[tuple[str, str]], now_ms: int, result: BatchResult
    ) -> list[_Pending]:
        future_limit = now_ms + int(self.settings.future_tolerance_s * 1000)
        late_ms = int(self.settings.late_tolerance_s * 1000)
        good: list[_Pending] = []
        late: list[_Pending] = []
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
                if event.source == "default":
                    event = replace(event, source=source)
                if event.ts_ms > future_limit:
                    result.rejected.append((item_raw, source, "ts is in the future"))
                    continue
                newest = self._newest(event.source)
                if newest is not None and event.ts_ms < newest - late_ms:
                    late.append(_Pending(event, item_raw))
                    continue
                self._source_newest[event.source] = max(newest or 0, event.ts_ms)
                good.append(_Pending(event, item_raw))
        self._classify_late(late, late_ms, result)
        return good

    def _classify_late(self, late: Sequence[_Pending], late_ms: int, result: BatchResult) -> None:
        """A late event that was applied before is a duplicate (redelivery); otherwise late."""
        if not late:
            return
        pipe = self.r.pipeline(transaction=False)
        for p in late:
            ev, day = p.event, self.timebase.day(p.event.ts_ms)
            key = self.keys.queue_seen(ev.queue, day) if ev.queue else self.keys.agent_seen(ev.agent or "", day)
            pipe.sismember(key, ev.id)
        for p, seen in zip(late, pipe.execute(), strict=True):
            if seen:
                result.rejected.append((p.raw, p.event.source, "duplicate: this event id was already applied"))
                result.duplicates += 1
            else:
                reason = f"late: more than {late_ms // 1000} s behind the newest event of source {p.event.source!r}"
                result.rejected.append((p.raw, p.event.source, reason))

    def _newest(self, source: str) -> int | None:
        if source not in self._source_newest:
            value = self.r.hget(self.keys.source_newest, source)
            if value is None:
                return None
            self._source_newest[source] = int(value)
        return self._source_newest[source]

    def apply_entries(self, entries: Sequence[tuple[str, str]], now_ms: int) -> BatchResult:
        """Validate and apply a batch of (raw payload, source) in order; dead-letter the bad."""
        result = BatchResult()
        pending = self._validate(entries, now_ms, result)
        self._register(pending)
        self._apply(pending, result)
        pipe = self.r.pipeline(transaction=False)
        if result.applied:
            pipe.hincrby(self.keys.stats, "applied", result.applied)
        if result.duplicates:
            pipe.hincrby(self.keys.stats, "duplicates", result.duplicates)
        if result.changed_agents:
            self.mark_agents_changed(sorted(result.changed_agents), pipe)
        for source in {p.event.source for p in pending}:
            # Monotonic max, so several aggregators never move a source backwards.
            pipe.eval(
                "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') "
                "if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end",
                1,
                self.keys.source_newest,
                source,
                self._source_newest[source],
            )
        pipe.execute()
        self.dead_letter(result.rejected, now_ms)
        return result

    def mark_agents_changed(self, agents: Sequence[str], pipe: Any = None) -> None:
        """Tell the engine these agents changed (it re-reads only marked agents each tick)."""
        self._mark_script(keys=[self.keys.agents_version, self.keys.agents_changed], args=list(agents),
                          client=pipe or self.r)

    def _register(self, pending: Sequence[_Pending]) -> None:
        queues = {p.event.queue for p in pending if p.event.queue} - self._known_queues
        agents = {p.event.agent for p in pending if p.event.agent} - self._known_agents
        if queues or agents:
            pipe = self.r.pipeline(transaction=False)
            if queues:
                pipe.sadd(self.keys.queues, *queues)
            if agents:
                pipe.sadd(self.keys.agents, *agents)
            pipe.execute()
            self._known_queues |= queues
            self._known_agents |= agents

    def _apply(self, pending: Sequence[_Pending], result: BatchResult) -> None:
        # Phase 1: the queue side of call events, in stream order, in one pipeline.
        call_items = [p for p in pending if p.event.type in _CALL_OPS]
        outcome: dict[int, list[str]] = {}
        if call_items:
            pipe = self.r.pipeline(transaction=False)
            for p in call_items:
                op = _CALL_OPS[p.event.type]
                self._queue_op(pipe, p.event, op, p.event.id, _hold_ms(p.event))
            for p, reply in zip(call_items, pipe.execute(raise_on_error=False), strict=True):
                outcome[id(p)] = _reply(reply)

        # Phase 2: the agent side (agent.state, and the agent's part of call events), in order.
        pipe = self.r.pipeline(transaction=False)
        slots: list[_Pending | None] = []  # aligned with the pipeline; None: reply not needed
        for p in pending:
            ev = p.event
            if ev.type == "agent.state":
                self._agent_state_op(pipe, ev)
                slots.append(p)
                continue
            reply = outcome[id(p)]
            if _tally(result, p, reply) == "bad":
                continue
            # On "dup" the agent side still runs: if a crash came between the two sides, this
            # redelivery completes it, and the agent script's own dedup makes it harmless otherwise.
            op = _CALL_OPS[ev.type]
            if op in _AGENT_CALL_OPS:
                talk, hold = (reply[1], reply[2]) if op in ("ended", "transferred") else ("0", "0")
                self._agent_call_op(pipe, ev, op, talk, hold)
                slots.append(None)
        replies = pipe.execute(raise_on_error=False) if slots else []

        # Phase 3: ACW that ended in phase 2 is added to its call's queue interval.
        pipe = self.r.pipeline(transaction=False)
        for p, raw_reply in zip(slots, replies, strict=True):
            if p is None:
                continue
            reply = _reply(raw_reply)
            if _tally(result, p, reply) == "ok" and len(reply) == 4 and reply[2]:
                acw_ms, queue, call = int(reply[1]), reply[2], reply[3]
                acw_event = Event(id=p.event.id, ts_ms=p.event.ts_ms, type="call.ended", queue=queue, call=call)
                self._queue_op(pipe, acw_event, "acw", f"{p.event.id}:acw", acw_ms)
        if len(pipe):
            pipe.execute(raise_on_error=False)

    def _queue_op(self, pipe: Any, ev: Event, op: str, op_id: str, amount_ms: int) -> None:
        assert ev.queue is not None and ev.call is not None
        cfg = self.queue_config(ev.queue)
        day = self.timebase.day(ev.ts_ms)
        k = self.keys
        self._queue_script(
            keys=[
                k.queue_seen(ev.queue, day),
                k.call(ev.queue, ev.call),
                k.queue_waiting(ev.queue),
                k.queue_touched(ev.queue),
            ],
            args=[
                op,
                op_id,
                ev.ts_ms,
                ev.call,
                ev.agent or "",
                self.timebase.interval_start_ms(ev.ts_ms),
                day,
                k.queue_waiting(ev.queue).rsplit(":", 1)[0],
                int(cfg.sl_threshold_s * 1000),
                int(cfg.short_abandon_s * 1000),
                amount_ms,
                COUNTER_TTL_S,
                SEEN_TTL_S,
                CALL_TTL_S,
            ],
            client=pipe,
        )

    def _agent_args(self, ev: Event, op: str) -> tuple[list[str], list[Any]]:
        assert ev.agent is not None
        k = self.keys
        keys = [
            k.agent_seen(ev.agent, self.timebase.day(ev.ts_ms)),
            k.agent(ev.agent),
            k.agent_touched(ev.agent),
        ]
        args: list[Any] = [
            op,
            ev.id,
            ev.ts_ms,
            k.agent(ev.agent).rsplit(":", 1)[0],
            self.timebase.interval_ms,
            self.timebase.offset_ms(ev.ts_ms),
            COUNTER_TTL_S,
            SEEN_TTL_S,
        ]
        return keys, args

    def _agent_state_op(self, pipe: Any, ev: Event) -> None:
        keys, args = self._agent_args(ev, "state")
        queues = json.dumps(list(ev.queues)) if ev.queues is not None else ""
        self._agent_script(keys=keys, args=[*args, ev.state, ev.reason or "", queues], client=pipe)

    def _agent_call_op(self, pipe: Any, ev: Event, op: str, talk_ms: str, hold_ms: str) -> None:
        keys, args = self._agent_args(ev, op)
        self._agent_script(keys=keys, args=[*args, ev.call, ev.queue, talk_ms, hold_ms], client=pipe)


def _hold_ms(ev: Event) -> int:
    return round(ev.hold_s * 1000) if ev.hold_s is not None else 0


def _tally(result: BatchResult, p: _Pending, reply: list[str]) -> str:
    """Count one script reply ("ok", "dup" or "bad"); duplicates and bad events are dead-lettered."""
    status = reply[0]
    if status == "bad":
        result.rejected.append((p.raw, p.event.source, reply[1]))
    elif status == "dup":
        result.duplicates += 1
        result.rejected.append((p.raw, p.event.source, "duplicate: this event id was already applied"))
    else:
        result.applied += 1
        if p.event.agent:
            result.changed_agents.add(p.event.agent)
    return status


def _reply(reply: Any) -> list[str]:
    if isinstance(reply, Exception):
        # A script error is a bug or a server problem, never the payload's fault; keep the
        # payload with the error so nothing is lost.
        log.error("apply script failed: %s", reply)
        return ["bad", f"internal error while applying: {reply}"]
    return [_s(x) for x in reply]


def _reason_kind(reason: str) -> str:
    """A short, bounded label for the per-reason counter (the full reason stays in the entry)."""
    head = reason.split(":", 1)[0].split(" ", 1)[0]
    return head[:40] or "unknown"
