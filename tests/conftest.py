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
from typing import Any
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


# --------------------------------------------------------------------------- access control
# Tests sign in like people do (docs/security.md); nothing switches access control off.
TEST_PASSWORD = "correct horse battery staple"
TEST_SECRET_KEY = "floorboard-tests-only-secret-key-0123456789"
# One user per role. The agent is "a2" of tests/integration/scenario.py; the supervisor leads
# team "t1" (give it members with realtime.schedules.write_roster).
TEST_USERS: dict[str, dict[str, object]] = {
    "agent2": {"role": "agent", "agent": "a2"},
    "sup": {"role": "supervisor", "teams": ["t1"]},
    "boss": {"role": "manager"},
    "root": {"role": "admin"},
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash of TEST_PASSWORD, shared by test users (hashing is slow on purpose)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(TEST_PASSWORD)


def write_users_file(path: Path, password_hash: str, users: dict[str, dict[str, object]] | None = None) -> Path:
    import json

    users = TEST_USERS if users is None else users
    path.write_text(json.dumps({"users": {name: {"password": password_hash, **record} for name, record in users.items()},
                                "tokens": {}}), encoding="utf-8")
    return path


@pytest.fixture
def users_file(tmp_path: Path, password_hash: str) -> Path:
    """A users file with TEST_USERS, all with TEST_PASSWORD."""
    return write_users_file(tmp_path / "users.json", password_hash)


def auth_env(users_file: Path) -> dict[str, str]:
    """The settings a web app needs to start: the secret key and the users file."""
    return {"FLOORBOARD_SECRET_KEY": TEST_SECRET_KEY, "FLOORBOARD_USERS_FILE": str(users_file)}


def api_client(store: Any, users_file: Path, scopes: tuple[str, ...] | None = None, history: Any = None) -> Any:
    """A Flask test client of /api/v1 behind the access-control gate, sending an API token with
    ``scopes`` (default: every read scope)."""
    from dataclasses import replace

    from flask import Flask

    from app.api import register_api
    from app.auth import UsersFile, install
    from floorboard.config import AuthSettings

    settings = replace(store.settings, auth=AuthSettings(secret_key=TEST_SECRET_KEY, users_file=users_file))
    users = UsersFile(users_file)
    server = Flask(__name__)
    install(server, settings, users, lambda: store)
    register_api(server, store, history)
    _, secret = users.create_token("tests", scopes or ("read:queues", "read:agents", "read:health", "read:deadletters"))
    client = server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def sign_in(client: Any, username: str, password: str = TEST_PASSWORD) -> str:
    """Sign a Flask test client in through the form, as a browser does; returns the CSRF token."""
    client.get("/login")
    csrf = client.get_cookie("_csrf_token").value
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf})
    assert r.status_code == 303 and "error" not in r.headers["Location"], (r.status_code, r.headers.get("Location"))
    return client.get_cookie("_csrf_token").value


# The whole web app (pages, callbacks, API) behind the gate. Dash keeps callbacks registered with
# dash.callback in one global map that the first app to serve a request takes for itself, so one
# app per test process serves every test that needs callbacks; tests point it at their own store.
WEB_QUEUES_TOML = '[queues.sales]\nname = "Sales"\ngroups = ["front"]\n\n[queues.support]\nname = "Support"\ngroups = ["back"]\n'


@pytest.fixture(scope="session")
def web_app(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Any:
    import redis

    from app.server import create_app
    from floorboard.config import load_settings
    from realtime.store import Store

    folder = tmp_path_factory.mktemp("web")
    users = write_users_file(folder / "users.json", password_hash)
    queues = folder / "queues.toml"
    queues.write_text(WEB_QUEUES_TOML, encoding="utf-8")
    settings = load_settings({"FLOORBOARD_KEY_PREFIX": "fbtest:web-session", "FLOORBOARD_QUEUES_FILE": str(queues),
                              **auth_env(users)})
    # The client connects lazily: tests that reach Redis point the app at their own store first.
    app = create_app(settings, Store(redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True), settings))
    assert app.server.test_client().get("/_dash-layout").status_code == 200  # Dash finishes its setup
    return app


class Web:
    """One test's view of the shared app: its own store, signed-in clients, crafted callbacks."""

    def __init__(self, app: Any, store: Any) -> None:
        self.app = app
        self.store = store
        self.gate = app.server.extensions["floorboard.auth"]
        self.users = self.gate.users

    def client(self, who: str | None = None) -> Any:
        """A test client: anonymous (None), a user name, "kiosk:<group>", or "token:<scope,…>"."""
        client = self.app.server.test_client()
        if who is None:
            client.get("/login")
        elif who.startswith("kiosk:"):
            import time

            from app.auth import kiosk

            _, token = kiosk.create(self.store, TEST_SECRET_KEY, who[6:], 1, time.time())
            assert client.get(f"/kiosk/{token}").status_code == 303
        elif who.startswith("token:"):
            _, secret = self.users.create_token("tests", who[6:].split(","))
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        else:
            sign_in(client, who)
        return client

    def callback_body(self, output: str, values: dict[tuple[str, str], Any] | None = None) -> dict[str, Any]:
        """The POST body Dash's renderer sends for a callback, with ``values`` by (id, property)."""
        spec = self.app.callback_map[output]
        values = values or {}

        def item(dep: dict[str, Any]) -> dict[str, Any]:
            return {**dep, "value": values.get((dep["id"], dep["property"]))}

        outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in output.strip(".").split("...")]
        return {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": [item(d) for d in spec["inputs"]], "state": [item(d) for d in spec["state"]],
                "changedPropIds": []}

    def post_callback(self, client: Any, output: str, values: dict[tuple[str, str], Any] | None = None,
                      csrf: str | None = "cookie") -> Any:
        if csrf == "cookie":
            cookie = client.get_cookie("_csrf_token")
            csrf = cookie.value if cookie else None
        headers = {"X-CSRFToken": csrf} if csrf else {}
        return client.post("/_dash-update-component", json=self.callback_body(output, values), headers=headers)

    def open_page(self, client: Any, path: str, search: str = "") -> Any:
        """What the browser asks when it opens a page: Dash's router callback for the path."""
        from app.auth.policy import PAGES_ROUTER

        return self.post_callback(client, PAGES_ROUTER, {("_pages_location", "pathname"): path,
                                                         ("_pages_location", "search"): search})


@pytest.fixture
def web(web_app: Any, redis_client: Any, key_prefix: str) -> Web:
    from app.context import set_context
    from floorboard.config import load_settings
    from realtime.store import Store

    settings = load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix,
                              "FLOORBOARD_QUEUES_FILE": str(web_app.server.extensions["floorboard.auth"].settings.queues_file)})
    store = Store(redis_client, settings)
    set_context(settings, store)  # pages and callbacks
    web_app.server.extensions["floorboard.store"] = store  # the API
    return Web(web_app, store)
