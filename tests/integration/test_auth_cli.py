"""`floorboard users|tokens|kiosk` and the web's refusal to start without access control."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from app.auth import kiosk
from app.auth.users import UsersFile
from floorboard.config import load_settings
from realtime.store import Store
from tests.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.integration


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORBOARD_")} | env
    return subprocess.run([sys.executable, "-m", "floorboard.cli", *args], env=full_env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_users_and_tokens(tmp_path):
    env = {"FLOORBOARD_USERS_FILE": str(tmp_path / "users.json")}
    r = run(["users", "add", "sam", "--role", "supervisor", "--team", "Amber", "--queue", "sales",
             "--password-stdin"], env, "sam's long password\n")
    assert r.returncode == 0, r.stderr
    assert run(["users", "add", "ana", "--role", "agent", "--password-stdin"], env, "short\n").returncode == 1
    assert run(["users", "add", "ana", "--role", "agent", "--password-stdin"], env, "ana's long password\n").returncode == 0
    listing = run(["users", "list"], env).stdout
    assert "sam\tsupervisor\tteams=Amber queues=sales" in listing and "ana\tagent\tagent=ana" in listing
    assert "long password" not in (tmp_path / "users.json").read_text()
    users = UsersFile(tmp_path / "users.json")
    assert users.verify("sam", "sam's long password")
    assert run(["users", "passwd", "sam", "--password-stdin"], env, "a new long password\n").returncode == 0
    assert users.verify("sam", "a new long password") and users.user("sam").session_version == 2
    r = run(["tokens", "create", "--name", "reporting", "--scope", "read:queues", "--scope", "read:health"], env)
    secret = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0 and users.token_for(secret) is not None
    assert secret not in (tmp_path / "users.json").read_text()
    token_id = secret.split("_")[1]
    assert f"{token_id}\tread:queues,read:health\treporting" in run(["tokens", "list"], env).stdout
    assert secret not in run(["tokens", "list"], env).stdout
    assert run(["tokens", "revoke", token_id], env).returncode == 0
    assert users.token_for(secret) is None
    assert run(["users", "remove", "nobody"], env).returncode == 1
    assert run(["users", "remove", "ana"], env).returncode == 0
    assert "ana" not in json.loads((tmp_path / "users.json").read_text())["users"]


def test_kiosk_links(redis_url, redis_client, key_prefix, tmp_path):
    queues = tmp_path / "queues.toml"
    queues.write_text('[queues.sales]\ngroups = ["front"]\n')
    env = {"FLOORBOARD_REDIS_URL": redis_url, "FLOORBOARD_KEY_PREFIX": key_prefix,
           "FLOORBOARD_SECRET_KEY": TEST_SECRET_KEY, "FLOORBOARD_QUEUES_FILE": str(queues)}
    r = run(["kiosk", "create", "--group", "front", "--days", "2", "--note", "lobby TV",
             "--base-url", "https://board.example"], env)
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip().splitlines()[-1]
    assert url.startswith("https://board.example/kiosk/")
    store = Store(redis_client, load_settings(env))
    link = kiosk.verify(store, TEST_SECRET_KEY, url.rsplit("/", 1)[1], time.time())
    assert link.group == "front" and link.note == "lobby TV"
    assert re.search(rf"{link.id}\tfront\tuntil .* UTC\tlobby TV", run(["kiosk", "list"], env).stdout)
    assert run(["kiosk", "create", "--group", "nowhere"], env).returncode == 1
    assert run(["kiosk", "revoke", link.id], env).returncode == 0
    with pytest.raises(kiosk.KioskError, match="revoked"):
        kiosk.verify(store, TEST_SECRET_KEY, url.rsplit("/", 1)[1], time.time())
    assert run(["kiosk", "revoke", link.id], env).returncode == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "FLOORBOARD_SECRET_KEY is required"),
        ({"FLOORBOARD_SECRET_KEY": TEST_SECRET_KEY}, "nobody could sign in"),
    ],
)
def test_web_will_not_start_without_access_control(env, message):
    r = run(["web"], env)
    assert r.returncode == 2 and message in r.stderr
