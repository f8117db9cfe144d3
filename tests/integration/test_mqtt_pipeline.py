"""The scripted scenario published with a real MQTT client to a real broker, through the
MQTT adapter, the Redis stream, the aggregator and the engine tick, checked in the JSON API."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from adapters.mqtt import MqttAdapter, publish_events
from floorboard.config import load_settings
from realtime.aggregator import Aggregator
from realtime.engine import Engine
from realtime.ingest import StreamSink
from realtime.store import Store
from tests.conftest import api_client
from tests.integration.scenario import at, scenario

pytestmark = pytest.mark.integration
NOW = at(1000)


async def _publish_and_collect(mqtt_url: str, topic_root: str, redis_url: str, store: Store, payloads: list[str]) -> None:
    adapter = MqttAdapter(mqtt_url, f"{topic_root}/#", identifier=f"fbtest-{uuid.uuid4().hex[:8]}", clean_session=True)
    sink = StreamSink.from_url(redis_url, store.keys)
    task = asyncio.create_task(adapter.run(sink))
    try:
        await asyncio.wait_for(adapter.subscribed.wait(), 10)
        # One event per message, and the bad payload in between, as a real ACD bridge might.
        await publish_events(mqtt_url, f"{topic_root}/pbx1", payloads)
        for _ in range(200):
            if sink.sent >= len(payloads):
                break
            await asyncio.sleep(0.05)
        assert sink.sent == len(payloads)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sink.aclose()


def test_scenario_over_mqtt_gives_exact_api_numbers(mqtt_url, mqtt_topic_root, redis_url, redis_client, key_prefix,
                                                    users_file):
    store = Store(redis_client, load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix}))
    payloads = scenario()
    payloads.insert(5, "this is not JSON")
    asyncio.run(_publish_and_collect(mqtt_url, mqtt_topic_root, redis_url, store, payloads))

    agg = Aggregator(store, clock=lambda: NOW)
    agg.ensure_group()
    result = agg.drain()
    assert result.applied == 21 and len(result.rejected) == 1
    Engine(store).tick(NOW)

    client = api_client(store, users_file)
    body = client.get("/api/v1/queues/sales").get_json()
    today = body["today"]
    assert (today["offered"], today["answered"], today["abandoned"], today["abandoned_short"]) == (6, 3, 2, 1)
    assert today["answered_within_t"] == 1
    assert today["service_level"] == pytest.approx(1 / 5)  # 1 ÷ (3 + 2 − 1 + 1 waiting beyond T)
    assert today["asa_s"] == pytest.approx(85 / 3)
    assert today["abandon_rate"] == pytest.approx(1 / 4)
    assert body["now"]["waiting"] == 1 and body["waiting"][0]["call"] == "c6"

    letters = client.get("/api/v1/deadletters?limit=5").get_json()["deadletters"]
    assert letters[0]["raw"] == "this is not JSON" and "malformed JSON" in letters[0]["reason"]
    assert letters[0]["source"] == f"mqtt:{mqtt_topic_root}/pbx1"
    health = client.get("/api/v1/health").get_json()
    assert health["deadletters"] == 1 and health["events_applied"] == 21
