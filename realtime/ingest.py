"""The adapters' sink: raw payloads appended to the events stream (asyncio, pipelined)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import hiredis
import redis
import redis.asyncio as aioredis

from realtime.keys import EVENTS_MAXLEN, Keys
from realtime.lua import APPEND_EVENTS

log = logging.getLogger(__name__)
MAX_RETRY_DELAY_S = 5.0


_PLAIN = (str, bytes, int)


class _HiredisPacking:
    """Connection mixin: commands packed by hiredis in C.

    redis.asyncio packs in Python, at about a microsecond per argument; an append sends one
    argument per payload, so packing cost as much as all the rest an adapter does per event.
    Arguments of other types than str, bytes and int (and a command name with a space, which
    redis-py splits) are left to redis-py's packer; for these three both give the same bytes.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0] if args else None
        if (first.__class__ is str and " " not in first) or (first.__class__ is bytes and b" " not in first):
            for arg in args:
                if arg.__class__ not in _PLAIN:
                    break
            else:
                return [hiredis.pack_command(args)]
        return super().pack_command(*args)  # type: ignore[misc,no-any-return]


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
        client = aioredis.Redis.from_url(url, decode_responses=True)
        pool = client.connection_pool
        # The pool's class depends on the URL (TCP, TLS, Unix socket): keep it, pack with hiredis.
        pool.connection_class = type(
            f"HiredisPacking{pool.connection_class.__name__}", (_HiredisPacking, pool.connection_class), {}
        )
        return cls(client, keys)

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
