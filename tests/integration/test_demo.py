"""`floorboard demo` as a new user runs it: no Redis configured, one command, live numbers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_demo_starts_embedded_redis_shows_live_numbers_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORBOARD_")}
    env |= {"FLOORBOARD_WEB_PORT": str(port), "FLOORBOARD_TICK_S": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "floorboard.cli", "demo", "--agents", "20"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        status, health = 0, {}
        while time.monotonic() < deadline:
            try:
                status, health = _get(f"{base}/health")
                if status == 200 and health["events_applied"] > 0:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        assert status == 200, health
        _, queues = _get(f"{base}/queues")
        assert {q["id"] for q in queues["queues"]} == {"sales", "support", "billing", "claims"}
        first = health["events_applied"]
        time.sleep(3)
        _, health = _get(f"{base}/health")
        assert health["events_applied"] >= first and health["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/wallboard", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "floorboard demo is running" in out and "Traceback" not in out
