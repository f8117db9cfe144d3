"""Helpers shared by the MQTT tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from adapters.base import ListSink
from adapters.mqtt import MqttAdapter


@contextlib.asynccontextmanager
async def running(adapter: MqttAdapter, sink: ListSink) -> AsyncIterator[asyncio.Task[None]]:
    """The adapter running into ``sink`` for the block's duration, then cancelled."""
    task = asyncio.create_task(adapter.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
