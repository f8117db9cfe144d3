"""The MQTT adapter against a real broker: payload shapes, bad payloads, reconnects, QoS 1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import aiomqtt
import pytest

from adapters.base import ListSink
from adapters.mqtt import MqttAdapter, parse_mqtt_url, publish_events, split_payload
from floorboard.backoff import Backoff
from floorboard.events import Event
from tests.integration.mqtt_support import running

pytestmark = pytest.mark.integration

T0 = 1_773_136_800_000


def ev(n: int) -> Event:
    return Event(f"m-{n}", T0 + n, "call.queued", queue="sales", call=f"c{n}")


async def wait_for(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.02)


async def forget_session(url: str, identifier: str) -> None:
    """Drop the broker's persistent session of a test client (clean up what we made)."""
    target = parse_mqtt_url(url)
    async with aiomqtt.Client(identifier=identifier, clean_session=True,
                              **target.client_kwargs()):
        pass


@pytest.fixture
async def identifier(mqtt_url: str) -> AsyncIterator[str]:
    ident = f"fbtest-{uuid.uuid4().hex[:12]}"
    yield ident
    await forget_session(mqtt_url, ident)


def fast_backoff() -> Backoff:
    return Backoff(initial_s=0.05, maximum_s=0.2)


def test_url_parsing() -> None:
    t = parse_mqtt_url("mqtts://ops%40x:s3cret@broker.example:8884")
    assert (t.hostname, t.port, t.username, t.password, t.tls) == (
        "broker.example", 8884, "ops@x", "s3cret", True)
    assert "s3cret" not in repr(t)
    assert parse_mqtt_url("mqtt://localhost").port == 1883
    assert parse_mqtt_url("mqtts://localhost").port == 8883
    assert "tls_params" in parse_mqtt_url("mqtts://h").client_kwargs()
    with pytest.raises(ValueError):
        parse_mqtt_url("http://localhost")


def test_split_payload_shapes() -> None:
    one = ev(1).to_json()
    assert split_payload(one.encode()) == ([one], True)
    arr = json.dumps([ev(1).to_dict(), {"junk": True}]).encode()
    items, ok = split_payload(arr)
    assert ok and [json.loads(i) for i in items] == [ev(1).to_dict(), {"junk": True}]
    assert split_payload(b"{oops") == ([b"{oops"], False)
    assert split_payload(b"\xff\xfe\x00") == ([b"\xff\xfe\x00"], False)
    assert split_payload(b"[]") == ([], True)


async def test_delivers_events_arrays_and_bad_payloads(
    mqtt_url: str, mqtt_topic_root: str, identifier: str
) -> None:
    adapter = MqttAdapter(mqtt_url, f"{mqtt_topic_root}/#", identifier=identifier,
                          backoff=fast_backoff())
    sink = ListSink()
    async with running(adapter, sink) as task:
        await asyncio.wait_for(adapter.subscribed.wait(), 5)
        topic = f"{mqtt_topic_root}/site1"
        await publish_events(mqtt_url, topic, [ev(1), ev(2)])
        await publish_events(mqtt_url, topic, [ev(3), ev(4), ev(5)], as_array=True)
        await publish_events(mqtt_url, topic, ['{"v":1,"id":', b"\xff\xfe\xfd not utf-8"])
        await publish_events(mqtt_url, topic, [ev(6)])  # still listening after bad ones
        await wait_for(lambda: len(sink.items) == 8)
        assert not task.done()
    assert {src for src, _ in sink.items} == {f"mqtt:{topic}"}
    payloads = [p for _, p in sink.items]
    good = [json.loads(p)["id"] for p in payloads if p not in (b'{"v":1,"id":', b"\xff\xfe\xfd not utf-8")]
    assert good == ["m-1", "m-2", "m-3", "m-4", "m-5", "m-6"]
    assert b'{"v":1,"id":' in payloads and b"\xff\xfe\xfd not utf-8" in payloads
    assert (adapter.stats.messages, adapter.stats.payloads, adapter.stats.malformed) == (6, 8, 2)


class Proxy:
    """A TCP forwarder to the broker that can be started, and cut, on demand."""

    def __init__(self, broker_host: str, broker_port: int) -> None:
        self.broker = (broker_host, broker_port)
        with socket.socket() as s:  # a port where nothing listens yet
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.broker)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        for w in self.writers:
            w.close()
        self.writers.clear()

    async def stop(self) -> None:
        await self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_reconnects_with_backoff(mqtt_url: str, mqtt_topic_root: str, identifier: str) -> None:
    broker = urlsplit(mqtt_url)
    proxy = Proxy(broker.hostname or "127.0.0.1", broker.port or 1883)
    adapter = MqttAdapter(f"mqtt://127.0.0.1:{proxy.port}", f"{mqtt_topic_root}/#",
                          identifier=identifier, backoff=fast_backoff())
    sink = ListSink()
    try:
        async with running(adapter, sink) as task:
            await wait_for(lambda: adapter.stats.failures >= 3)  # nothing listens: retries
            assert not task.done() and adapter.stats.connects == 0
            await proxy.start()
            await asyncio.wait_for(adapter.subscribed.wait(), 5)
            await publish_events(mqtt_url, f"{mqtt_topic_root}/a", [ev(1)])
            await wait_for(lambda: len(sink.items) == 1)

            failures = adapter.stats.failures
            await proxy.cut()  # the connection drops under the adapter
            await wait_for(lambda: adapter.stats.failures > failures)
            await wait_for(lambda: adapter.stats.connects == 2)
            await publish_events(mqtt_url, f"{mqtt_topic_root}/a", [ev(2)])
            await wait_for(lambda: len(sink.items) == 2)
            assert not task.done()
    finally:
        await proxy.stop()
    assert [json.loads(p)["id"] for _, p in sink.items] == ["m-1", "m-2"]


async def test_persistent_session_gets_messages_sent_while_away(
    mqtt_url: str, mqtt_topic_root: str, identifier: str
) -> None:
    topic = f"{mqtt_topic_root}/#"
    first = MqttAdapter(mqtt_url, topic, identifier=identifier, backoff=fast_backoff())
    sink = ListSink()
    async with running(first, sink):
        await asyncio.wait_for(first.subscribed.wait(), 5)
    # The adapter is gone; the broker keeps its session and queues QoS 1 messages for it.
    await publish_events(mqtt_url, f"{mqtt_topic_root}/late", [ev(1), ev(2)])
    await publish_events(mqtt_url, f"{mqtt_topic_root}/late", [ev(3), ev(4)], as_array=True)
    second = MqttAdapter(mqtt_url, topic, identifier=identifier, backoff=fast_backoff())
    async with running(second, sink):
        await wait_for(lambda: len(sink.items) == 4)
    assert [json.loads(p)["id"] for _, p in sink.items] == ["m-1", "m-2", "m-3", "m-4"]


class CountingSink(ListSink):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def send(self, payloads, source):  # type: ignore[no-untyped-def]
        self.calls += 1
        await super().send(payloads, source)


async def test_a_burst_is_sent_in_few_batches_keeping_topics_apart(
    mqtt_url: str, mqtt_topic_root: str, identifier: str
) -> None:
    adapter = MqttAdapter(mqtt_url, f"{mqtt_topic_root}/#", identifier=identifier,
                          backoff=fast_backoff())
    sink = CountingSink()
    async with running(adapter, sink):
        await asyncio.wait_for(adapter.subscribed.wait(), 5)
        await asyncio.gather(
            publish_events(mqtt_url, f"{mqtt_topic_root}/a", [ev(i) for i in range(1000)]),
            publish_events(mqtt_url, f"{mqtt_topic_root}/b", [ev(i) for i in range(1000, 1500)]),
        )
        await wait_for(lambda: len(sink.items) == 1500, timeout_s=10)
    by_source: dict[str, list[int]] = {}
    for src, p in sink.items:
        by_source.setdefault(src, []).append(int(json.loads(p)["id"][2:]))
    assert by_source == {
        f"mqtt:{mqtt_topic_root}/a": list(range(1000)),
        f"mqtt:{mqtt_topic_root}/b": list(range(1000, 1500)),
    }
    assert sink.calls <= 1500
