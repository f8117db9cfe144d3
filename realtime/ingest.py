"""The adapters' sink: raw payloads appended to the events stream (asyncio, pipelined)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import redis
import redis.asyncio as aioredis

from realtime.keys import EVENTS_MAXLEN, Keys
from realtime.lua import APPEND_EVENTS

log = logging.getLogger(__name__)
MAX_RETRY_DELAY_S = 5.0


class StreamSink:
    """Implements ``adapters.base.EventSink`` over Redis Streams.

    Payloads are appended raw, before any validation, so nothing an adapter receives is lost:
    the aggregator validates each entry and dead-letters the bad ones with the reason.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self.sent = 0
        self._append = client.register_script(APPEND_EVENTS)

    @classmethod
    def from_url(cls, url: str, keys: Keys) -> StreamSink:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), keys)

    async def send(self, payloads: Sequence[str | bytes], source: str) -> None:
        """Append, retrying while Redis is unreachable: an adapter's events are never dropped.

        Retrying blocks the adapter, which is the back-pressure we want (MQTT then holds the
        messages). The append is one script, so all-or-nothing; a retry after a lost reply may
        repeat entries, and event ids make that safe.
        """
        if not payloads:
            return
        # Keep undecodable bytes visible in the dead-letter entry instead of failing here.
        texts = [p.decode("utf-8", errors="backslashreplace") if isinstance(p, bytes) else p for p in payloads]
        delay_s = 0.2
        while True:
            try:
                # One script call appends them all (see realtime/lua.py), in order.
                await self._append(keys=[self.keys.events], args=[EVENTS_MAXLEN, source, *texts])
                break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("cannot append %d events to Redis (%s); retrying in %.1f s", len(texts), exc, delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, MAX_RETRY_DELAY_S)
        self.sent += len(payloads)

    async def aclose(self) -> None:
        await self.r.aclose()
