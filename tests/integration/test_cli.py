"""The `floorboard` program as a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from floorboard.config import load_settings
from realtime.engine import Engine
from realtime.store import Store

pytestmark = pytest.mark.integration


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORBOARD_")} | env
    return subprocess.run([sys.executable, "-m", "floorboard.cli", *args], env=full_env,
                          capture_output=True, text=True, timeout=60)


def test_bad_setting_fails_at_start_naming_it():
    r = run(["engine", "--check"], {"FLOORBOARD_INTERVAL_MIN": "20"})
    assert r.returncode == 2 and "FLOORBOARD_INTERVAL_MIN" in r.stderr


def test_engine_check_exit_codes(redis_url, redis_client, key_prefix):
    env = {"FLOORBOARD_REDIS_URL": redis_url, "FLOORBOARD_KEY_PREFIX": key_prefix}
    r = run(["engine", "--check"], env)
    assert r.returncode == 1 and "no heartbeat" in r.stdout
    store = Store(redis_client, load_settings(env))
    import time

    Engine(store).tick(time.time_ns() // 1_000_000)
    r = run(["engine", "--check"], env)
    assert r.returncode == 0 and "alive" in r.stdout


def test_engine_check_without_redis():
    r = run(["engine", "--check"], {"FLOORBOARD_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert r.returncode == 1 and "cannot reach Redis" in r.stdout


def test_replay_missing_file_is_a_clear_error():
    r = run(["ingest", "replay", "no-such-file.jsonl"], {})
    assert r.returncode != 0 and "no such file" in r.stderr
