"""MQTT ingest: subscribe to a topic filter and forward each message's events to the sink.

A message's payload is one v1 event (a JSON object) or a JSON array of events. Arrays are split
into one payload per item so each is validated and, if bad, dead-lettered on its own. A payload
that is not JSON at all (or not UTF-8) is forwarded unchanged, as one payload, so the pipeline
dead-letters it with the reason; nothing a publisher sends can stop the adapter.

Delivery: QoS 1 with a persistent session (``clean_session=False`` and a fixed client
identifier), so messages published while the adapter is away are queued by the broker and
delivered when it reconnects. Duplicates are possible (at-least-once); the pipeline drops them by
event id. The connection is retried for ever with jittered exponential backoff.

URLs: ``mqtt://[user[:password]@]host[:port]`` (default port 1883) and ``mqtts://…`` (TLS with
the system's trusted CAs, default port 8883).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt

from adapters.base import EventSink
from floorboard.backoff import Backoff
from floorboard.events import Event, InvalidEvent, decode_payload

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "floorboard/events/#"
DEFAULT_IDENTIFIER = "floorboard-ingest"


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where to connect, parsed from a URL. The password is kept out of the repr."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "hostname": self.hostname,
            "port": self.port,
            "username": self.username,
            "password": self.password,
        }
        if self.tls:
            kwargs["tls_params"] = aiomqtt.TLSParameters()
        return kwargs


def parse_mqtt_url(url: str) -> MqttTarget:
    """``mqtt://user:pass@host:port`` or ``mqtts://…`` as an :class:`MqttTarget`."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("MQTT URL has no host name")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError("MQTT URL has an invalid port") from None
    return MqttTarget(
        hostname=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def split_payload(payload: Any) -> tuple[list[str | bytes], bool]:
    """One MQTT payload as the list of payloads to send, and whether it was JSON at all (pure).

    Array items are re-encoded one by one as compact JSON; a single JSON value is passed on as
    the original text; a payload that is not JSON (or not UTF-8) is returned unchanged.
    """
    if isinstance(payload, bytes | bytearray):
        raw: str | bytes = bytes(payload)
    elif isinstance(payload, str):
        raw = payload
    else:
        # aiomqtt may hand over int/float/None for some payloads; keep a JSON-ish text.
        raw = "" if payload is None else str(payload)
    try:
        items = decode_payload(raw)
    except InvalidEvent:
        return [raw], False
    if len(items) == 1 and not _is_array(raw):
        return [raw.decode("utf-8") if isinstance(raw, bytes) else raw], True
    return [json.dumps(item, separators=(",", ":")) for item in items], True


def _is_array(raw: str | bytes) -> bool:
    text = raw.lstrip() if isinstance(raw, str) else raw.lstrip().decode("utf-8", "replace")
    return text.startswith("[")


@dataclass
class MqttStats:
    connects: int = 0  # successful connections
    failures: int = 0  # failed connects and dropped connections
    messages: int = 0  # MQTT messages received
    payloads: int = 0  # payloads handed to the sink
    malformed: int = 0  # messages that were not JSON (forwarded raw)


class MqttAdapter:
    """Subscribes to ``topic`` and forwards events until cancelled."""

    name = "mqtt"

    def __init__(
        self,
        url: str = "mqtt://127.0.0.1:1883",
        topic: str = DEFAULT_TOPIC,
        *,
        identifier: str = DEFAULT_IDENTIFIER,
        qos: int = 1,
        clean_session: bool = False,
        source_per_topic: bool = True,
        keepalive_s: int = 30,
        backoff: Backoff | None = None,
        max_batch: int = 500,
    ) -> None:
        self.target = parse_mqtt_url(url)
        self.max_batch = max_batch
        self.topic = topic
        self.identifier = identifier
        self.qos = qos
        self.clean_session = clean_session
        self.source_per_topic = source_per_topic
        self.keepalive_s = keepalive_s
        self.backoff = backoff or Backoff()
        self.stats = MqttStats()
        # Set while subscribed; tests and health checks can wait on it.
        self.subscribed = asyncio.Event()

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            identifier=self.identifier,
            clean_session=self.clean_session,
            keepalive=self.keepalive_s,
            **self.target.client_kwargs(),
        )

    async def run(self, sink: EventSink) -> None:
        while True:
            try:
                async with self._client() as client:
                    await client.subscribe(self.topic, qos=self.qos)
                    self.stats.connects += 1
                    self.backoff.reset()
                    self.subscribed.set()
                    log.info("mqtt: subscribed to %s on %s:%d", self.topic,
                             self.target.hostname, self.target.port)
                    async for message in client.messages:
                        # Take what is already queued too: one sink call per burst, not per
                        # message (a burst of thousands of events a second stays cheap).
                        batch = [message]
                        while len(client.messages) and len(batch) < self.max_batch:
                            batch.append(await anext(client.messages))
                        await self._forward(batch, sink)
                # The message iterator only ends when the connection does.
                raise aiomqtt.MqttError("message stream ended")
            except aiomqtt.MqttError as exc:
                self.subscribed.clear()
                self.stats.failures += 1
                delay_s = self.backoff.next_delay_s()
                log.warning("mqtt: %s (%s:%d); retrying in %.2f s", exc,
                            self.target.hostname, self.target.port, delay_s)
                await asyncio.sleep(delay_s)

    async def _forward(self, messages: list[aiomqtt.Message], sink: EventSink) -> None:
        source: str | None = None
        run: list[str | bytes] = []
        for message in messages:
            self.stats.messages += 1
            payloads, is_json = split_payload(message.payload)
            if not is_json:
                self.stats.malformed += 1
                if self.stats.malformed <= 10 or self.stats.malformed % 1000 == 0:
                    log.warning("mqtt: non-JSON payload on %s forwarded for dead-lettering "
                                "(%d so far)", message.topic, self.stats.malformed)
            msg_source = f"mqtt:{message.topic.value}" if self.source_per_topic else "mqtt"
            if msg_source != source and run:
                await self._send(run, source or msg_source, sink)
                run = []
            source = msg_source
            run.extend(payloads)
        if run and source is not None:
            await self._send(run, source, sink)

    async def _send(self, payloads: list[str | bytes], source: str, sink: EventSink) -> None:
        await sink.send(payloads, source)
        self.stats.payloads += len(payloads)


def _encode(event: Event | dict[str, Any] | str | bytes) -> str | bytes:
    if isinstance(event, Event):
        return event.to_json()
    if isinstance(event, dict):
        return json.dumps(event, separators=(",", ":"))
    return event


async def publish_events(
    url: str,
    topic: str,
    events: Iterable[Event | dict[str, Any] | str | bytes],
    *,
    qos: int = 1,
    as_array: bool = False,
    identifier: str | None = None,
) -> int:
    """Publish events to ``topic``, one message each (or one JSON array); returns messages sent.

    Strings and bytes are published as they are, so tools and tests can send malformed payloads.
    """
    target = parse_mqtt_url(url)
    items: Sequence[str | bytes] = [_encode(e) for e in events]
    if as_array:
        decoded = [json.loads(p) for p in items]
        items = [json.dumps(decoded, separators=(",", ":"))]
    client_id = identifier or f"floorboard-pub-{uuid.uuid4().hex[:12]}"
    async with aiomqtt.Client(identifier=client_id, **target.client_kwargs()) as client:
        for payload in items:
            await client.publish(topic, payload=payload, qos=qos)
    return len(items)
