"""Per-client MQTT credentials: a real Mosquitto that refuses anonymous clients, with one
user per publisher (each allowed its own topic only) and one for floorboard's ingest, which
takes its user name and password from FLOORBOARD_MQTT_URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from adapters.base import ListSink
from adapters.mqtt import MqttAdapter, publish_events
from floorboard.backoff import Backoff
from floorboard.events import Event
from tests.integration.mqtt_support import running

pytestmark = pytest.mark.integration

T0 = 1_773_136_800_000
ACL = """user ingest
topic read floorboard/events/#

user pbx1
topic write floorboard/events/pbx1

user pbx2
topic write floorboard/events/pbx2
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker() -> Iterator[int]:
    """A private Mosquitto on a free loopback port, with passwords and per-user topics."""
    with tempfile.TemporaryDirectory(prefix="fbtest-mosquitto-") as tmp:
        yield from _broker(Path(tmp))


def _broker(tmp_path: Path) -> Iterator[int]:
    mosquitto = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    passwd = shutil.which("mosquitto_passwd")
    if not mosquitto or not passwd:
        message = "mosquitto and mosquitto_passwd are needed (Debian package mosquitto)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    tmp_path.chmod(0o755)  # started as root, the broker drops to its own user: it must read these
    passwords = tmp_path / "passwords"
    passwords.touch(mode=0o644)
    for user, password in (("ingest", "ingest-secret"), ("pbx1", "pbx1-secret"), ("pbx2", "pbx2-secret")):
        subprocess.run([passwd, "-b", str(passwords), user, password], check=True, capture_output=True)
    (tmp_path / "acl").write_text(ACL)
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                    f"acl_file {tmp_path / 'acl'}\npersistence false\n")
    proc = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        if proc.poll() is not None:
            pytest.fail(f"mosquitto did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


def ev(n: int) -> Event:
    return Event(f"c-{n}", T0 + n, "call.queued", queue="sales", call=f"c{n}")


async def test_each_client_signs_in_with_its_own_credentials(broker: int) -> None:
    base = f"127.0.0.1:{broker}"
    adapter = MqttAdapter(f"mqtt://ingest:ingest-secret@{base}", "floorboard/events/#", identifier="fb-ingest-test",
                          clean_session=True, backoff=Backoff(initial_s=0.05, maximum_s=0.2))
    sink = ListSink()
    async with running(adapter, sink):
        await asyncio.wait_for(adapter.subscribed.wait(), 5)
        await publish_events(f"mqtt://pbx1:pbx1-secret@{base}", "floorboard/events/pbx1", [ev(1)])
        # pbx2 may not speak for pbx1: the broker drops what it publishes there.
        await publish_events(f"mqtt://pbx2:pbx2-secret@{base}", "floorboard/events/pbx1", [ev(2)])
        await publish_events(f"mqtt://pbx2:pbx2-secret@{base}", "floorboard/events/pbx2", [ev(3)])
        async with asyncio.timeout(5):
            while len(sink.items) < 2:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
    assert [(src, p) for src, p in sink.items] == [("mqtt:floorboard/events/pbx1", ev(1).to_json()),
                                                   ("mqtt:floorboard/events/pbx2", ev(3).to_json())]


@pytest.mark.parametrize("credentials", ["", "ingest:wrong@", "nobody:x@"])
async def test_anonymous_or_wrong_credentials_are_refused(broker: int, credentials: str) -> None:
    with pytest.raises(aiomqtt.MqttError):
        await publish_events(f"mqtt://{credentials}127.0.0.1:{broker}", "floorboard/events/pbx1", [ev(1)])
    adapter = MqttAdapter(f"mqtt://{credentials}127.0.0.1:{broker}", "floorboard/events/#", identifier="fb-refused",
                          clean_session=True, backoff=Backoff(initial_s=0.05, maximum_s=0.1))
    async with running(adapter, ListSink()):
        await asyncio.sleep(0.5)
        assert not adapter.subscribed.is_set() and adapter.stats.failures >= 1 and adapter.stats.connects == 0
