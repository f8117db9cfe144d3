"""Shared fixtures: a real Redis and a real MQTT broker, each test isolated by key prefix/topic.

Servers come from FLOORBOARD_TEST_REDIS_URL / FLOORBOARD_TEST_MQTT_URL (defaults: the local
ones on the standard ports). Under CI (CI=true) a missing server fails the test loudly; on a
developer machine without one, the test is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_REAL = REPO.parent / "shared" / "fixtures" / "real"
TEST_REDIS_URL = os.environ.get("FLOORBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_MQTT_URL = os.environ.get("FLOORBOARD_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), 1):
            return True
    except OSError:
        return False


def _need(url: str, default_port: int, what: str) -> None:
    if _reachable(url, default_port):
        return
    message = f"{what} is not answering at {url}; start it (see README, 'Running the tests')"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def real_fixture(name: str) -> Path:
    """A file from the shared real-data fixtures; skips (outside CI) when they are absent."""
    path = SHARED_REAL / name
    if not path.exists():
        message = f"real fixture {name} not found beside the repository (../shared/fixtures/real)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def key_prefix() -> str:
    """A namespace of its own for each test, so tests never see each other's keys."""
    return f"fbtest:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_url() -> str:
    _need(TEST_REDIS_URL, 6379, "Redis")
    return TEST_REDIS_URL


@pytest.fixture
def redis_client(redis_url: str, key_prefix: str) -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    # Clean up what the test created.
    keys = list(client.scan_iter(match=f"{key_prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])
    client.close()


@pytest.fixture
def mqtt_url() -> str:
    _need(TEST_MQTT_URL, 1883, "the MQTT broker")
    return TEST_MQTT_URL


@pytest.fixture
def mqtt_topic_root() -> str:
    """A topic root of its own for each test."""
    return f"fbtest/{uuid.uuid4().hex[:12]}"
