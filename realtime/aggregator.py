"""The aggregator: reads the events stream in a consumer group and applies it to live state.

Delivery is at-least-once: an entry is acknowledged only after it was applied or
dead-lettered, and entries left pending by a consumer that died are claimed after
``CLAIM_IDLE_MS``. Because every apply is idempotent, redelivery changes nothing.

Run **one** aggregator per events stream: a consumer group hands a call's or an agent's events
to different consumers, which may then apply them out of order (measured: about 2 % dead-letters
with two consumers). The group is used for at-least-once delivery and take-over after a crash,
not for parallelism; scaling out means one stream per shard of queues and agents.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from realtime.keys import AGGREGATOR_GROUP
from realtime.store import BatchResult, PreparedBatch, Store

log = logging.getLogger(__name__)

BATCH = 2000
BLOCK_MS = 500
# A consumer that has not acknowledged for this long is presumed dead; its entries move on.
CLAIM_IDLE_MS = 30_000
# How often a running aggregator looks for such entries (and always on its first step).
CLAIM_EVERY_MS = 5_000
# Acknowledged entries are trimmed from the stream beyond this many (dead letters keep the bad).
STREAM_KEEP = 500_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# A stream entry as the aggregator keeps it: (id, raw payload, source).
_Entry = tuple[str, str, str]


def _as_sent(response: Any, **options: Any) -> Any:
    return response


def _entry(eid: str, fields: list[str]) -> _Entry:
    """An entry from its fields as Redis sends them (name, value, …); the sink writes src, raw."""
    if len(fields) == 4 and fields[0] == "src" and fields[2] == "raw":
        return eid, fields[3], fields[1]
    named = dict(zip(fields[::2], fields[1::2], strict=False))
    return eid, named.get("raw", ""), named.get("src", "unknown")


@dataclass(slots=True)
class Aggregator:
    store: Store
    consumer: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    clock: Callable[[], int] = _now_ms
    _next_claim_ms: int = 0
    # The batch read ahead by the last step (and validated while Redis ran that step's script).
    _ahead: list[_Entry] | None = None
    _ahead_prepared: PreparedBatch | None = None
    # The store's connections, with XREADGROUP's reply left as Redis sends it (see _read).
    _reader: redis.Redis | None = None

    def ensure_group(self) -> None:
        try:
            self.store.r.xgroup_create(self.store.keys.events, AGGREGATOR_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _read(self, block_ms: int | None) -> list[_Entry]:
        """The next entries: stale ones claimed from a dead consumer (looked for now and then),
        else new ones (waiting up to ``block_ms`` for some; None: not at all)."""
        r, stream = self.store.r, self.store.keys.events
        now = self.clock()
        if now >= self._next_claim_ms:
            claimed = r.xautoclaim(stream, AGGREGATOR_GROUP, self.consumer, CLAIM_IDLE_MS, "0-0", count=BATCH)
            entries = claimed[1] if claimed else []
            if len(entries) < BATCH:
                self._next_claim_ms = now + CLAIM_EVERY_MS
            if entries:
                return [(eid, f.get("raw", ""), f.get("src", "unknown")) for eid, f in entries if f is not None]
        if self._reader is None:
            # redis-py would turn each entry's fields into a dict, which costs more than reading
            # the two the aggregator needs from the list.
            self._reader = redis.Redis(connection_pool=r.connection_pool)
            self._reader.set_response_callback("XREADGROUP", _as_sent)
        reply = self._reader.xreadgroup(AGGREGATOR_GROUP, self.consumer, {stream: ">"}, count=BATCH, block=block_ms)
        if not reply:
            return []
        # RESP2: [[stream, entries]]; RESP3: {stream: entries}.
        entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
        return [_entry(eid, fields) for eid, fields in entries if fields is not None]

    def _prepare(self, entries: list[_Entry]) -> PreparedBatch:
        return self.store.prepare_batch([(raw, src) for _, raw, src in entries], self.clock())

    def step(self, block_ms: int = BLOCK_MS, read_ahead: bool = True) -> BatchResult:
        """Apply one batch and acknowledge it; return what happened to it.

        Per batch: the apply script, and one pipeline with stats, dead letters and the
        acknowledgement (an entry is acknowledged only after it was applied or
        dead-lettered). With ``read_ahead``, the next batch is read before this one's script is
        sent and validated while Redis runs it; it is applied by the next step, in order.
        """
        try:
            if self._ahead is None:
                self._ahead = self._read(block_ms)
                self._ahead_prepared = None
            entries, prepared = self._ahead, self._ahead_prepared
            self._ahead = self._ahead_prepared = None
            if not entries:
                return BatchResult()
            if prepared is None:
                prepared = self._prepare(entries)
            following = self._read(None) if read_ahead else []
            stream = self.store.keys.events

            def acknowledge(pipe: redis.client.Pipeline) -> None:
                pipe.xack(stream, AGGREGATOR_GROUP, *[entry[0] for entry in entries])
                pipe.xtrim(stream, maxlen=STREAM_KEEP, approximate=True)

            sent = self.store.send_batch(prepared)
            following_prepared = None
            try:
                following_prepared = self._prepare(following) if following else None
            finally:
                # Whatever happened to the next batch, this one's reply is read and it is
                # acknowledged.
                result = self.store.complete_batch(prepared, self.clock(), acknowledge, sent)
            if following:
                self._ahead, self._ahead_prepared = following, following_prepared
            return result
        except BaseException:
            # Whatever was read and not acknowledged stays pending and is claimed again later.
            self._ahead = self._ahead_prepared = None
            raise

    def drain(self, timeout_s: float = 10.0) -> BatchResult:
        """Apply until the stream has nothing new (tests, replays, benchmarks)."""
        total = BatchResult()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = self.step(block_ms=50)
            total.merge(result)
            if not (result.applied or result.duplicates or result.rejected):
                break
        return total

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; a Redis outage is logged and retried, never fatal."""
        self.ensure_group()
        backoff = 0.5
        while not stop.is_set():
            try:
                self.step()
                backoff = 0.5
            except redis.ConnectionError as exc:
                log.warning("aggregator lost Redis (%s); retrying in %.1f s", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        if self._ahead:
            # The batch read ahead is applied before stopping, not left to be claimed later.
            try:
                self.step(read_ahead=False)
            except redis.ConnectionError as exc:
                log.warning("aggregator stopped with a batch unapplied (%s); it will be claimed again", exc)
