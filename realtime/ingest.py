"""The adapters' sink: raw payloads appended to the events stream (asyncio, pipelined)."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from realtime.keys import EVENTS_MAXLEN, Keys


class StreamSink:
    """Implements ``adapters.base.EventSink`` over Redis Streams.

    Payloads are appended raw, before any validation, so nothing an adapter receives is lost:
    the aggregator validates each entry and dead-letters the bad ones with the reason.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self.sent = 0

    @classmethod
    def from_url(cls, url: str, keys: Keys) -> StreamSink:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), keys)

    async def send(self, payloads: Sequence[str | bytes], source: str) -> None:
        if not payloads:
            return
        pipe = self.r.pipeline(transaction=False)
        for raw in payloads:
            if isinstance(raw, bytes):
                # Keep undecodable bytes visible in the dead-letter entry instead of failing here.
                raw = raw.decode("utf-8", errors="backslashreplace")
            pipe.xadd(self.keys.events, {"src": source, "raw": raw}, maxlen=EVENTS_MAXLEN, approximate=True)
        await pipe.execute()
        self.sent += len(payloads)

    async def aclose(self) -> None:
        await self.r.aclose()
