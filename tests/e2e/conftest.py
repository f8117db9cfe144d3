"""Browser-test fixtures: the real app on a free port, a real Redis store, headless Chromium.

The Dash server runs once per session in a background thread (werkzeug). Each test builds its
own settings and store under its own key prefix (the ``key_prefix``/``redis_client`` fixtures)
and points the running app at them through :func:`app.context.set_context`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)
from werkzeug.serving import make_server

from app.context import set_context
from floorboard.config import Settings, load_settings
from realtime.engine import Engine
from realtime.store import Store
from tests.conftest import (
    REPO,
    TEST_PASSWORD,
    TEST_REDIS_URL,
    TEST_SECRET_KEY,
    _need,
    write_users_file,
)
from tests.e2e.scenario import QUEUES_TOML

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# Who signs in to the browser tests (password TEST_PASSWORD): one user per role. The agents are
# agents of the scripted morning (tests/e2e/scenario.py); the supervisor leads team "front-team".
E2E_USERS: dict[str, dict[str, object]] = {
    "boss": {"role": "manager"},
    "root": {"role": "admin"},
    "sup": {"role": "supervisor", "teams": ["front-team"]},
    "cleo": {"role": "agent", "agent": "cleo"},
    "dev": {"role": "agent", "agent": "dev"},
}


def build(redis_client: Any, key_prefix: str, queues_file: Path, tick_s: float,
          users_file: Path | None = None) -> tuple[Settings, Store]:
    settings = load_settings(
        {
            "FLOORBOARD_KEY_PREFIX": key_prefix,
            "FLOORBOARD_TICK_S": str(tick_s),
            "FLOORBOARD_QUEUES_FILE": str(queues_file),
            "FLOORBOARD_TIMEZONE": "Europe/Paris",
            "FLOORBOARD_SECRET_KEY": TEST_SECRET_KEY,
            **({"FLOORBOARD_USERS_FILE": str(users_file)} if users_file else {}),
        }
    )
    return settings, Store(redis_client, settings)


@dataclass
class Live:
    """One test's center: settings, store and engine, wired into the running app."""

    settings: Settings
    store: Store
    engine: Engine
    base_url: str

    def feed(self, payloads: list[tuple[str, str]], at_ms: int | None = None) -> None:
        at = at_ms or now_ms()
        result = self.store.apply_entries(payloads, at)
        assert not result.rejected, result.rejected

    def tick(self) -> dict[str, Any]:
        return self.engine.tick(now_ms())


@pytest.fixture(scope="session")
def queues_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "queues.toml"
    path.write_text(QUEUES_TOML, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def e2e_users_file(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Path:
    return write_users_file(tmp_path_factory.mktemp("users") / "users.json", password_hash, E2E_USERS)


@pytest.fixture(scope="session")
def base_url(queues_file: Path, e2e_users_file: Path) -> Iterator[str]:
    import redis

    from app.server import create_app

    _need(TEST_REDIS_URL, 6379, "Redis")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log in test output
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    settings, store = build(client, "fbtest:e2e-session", queues_file, 2.0, e2e_users_file)
    app = create_app(settings, store)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dash-e2e", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    client.close()


@pytest.fixture
def live_factory(base_url: str, redis_client: Any, key_prefix: str, queues_file: Path) -> Callable[..., Live]:
    def make(tick_s: float = 2.0) -> Live:
        settings, store = build(redis_client, key_prefix, queues_file, tick_s)
        set_context(settings, store)
        return Live(settings, store, Engine(store), base_url)

    return make


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)
    # Pages the server refused (401/403 on the page itself): the browser logs that status as a
    # console error; it is the refusal a test asked for, not a fault of the page.
    refused_pages: set[str] = field(default_factory=set)

    def on_response(self, response: Response) -> None:
        if response.status in (401, 403) and response.request.is_navigation_request():
            self.refused_pages.add(response.url)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        if msg.location.get("url") in self.refused_pages and "the server responded with a status of 40" in msg.text:
            return
        self.errors.append(msg.text)

    def on_error(self, exc: Exception) -> None:
        self.errors.append(f"pageerror: {exc}")


def sign_in(ctx: BrowserContext, base_url: str, username: str, password: str = TEST_PASSWORD) -> None:
    """Sign a browser context in through the sign-in form's POST (its cookies, its CSRF token)."""
    ctx.request.get(f"{base_url}/login")
    csrf = next(c["value"] for c in ctx.cookies() if c["name"] == "_csrf_token")
    r = ctx.request.post(f"{base_url}/login", form={"username": username, "password": password, "csrf_token": csrf},
                         max_redirects=0)
    assert r.status == 303 and "error" not in r.headers["location"], (r.status, r.headers.get("location"))


def watched_page(ctx: BrowserContext) -> tuple[Page, Console]:
    """A new page of ``ctx`` whose failed responses, console errors and page errors are kept."""
    page = ctx.new_page()
    console = Console()
    page.on("response", console.on_response)
    page.on("console", console.on_console)
    page.on("pageerror", console.on_error)
    return page, console


@pytest.fixture
def open_page(chromium_browser: Browser, base_url: str) -> Iterator[Callable[..., tuple[Page, Console]]]:
    """Open a page at a viewport size, signed in as ``user`` (default: a manager; None: nobody);
    after the test, assert the console stayed clean."""
    contexts = []
    consoles: list[Console] = []

    def make(width: int = 1920, height: int = 1080, user: str | None = "boss") -> tuple[Page, Console]:
        ctx = chromium_browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        contexts.append(ctx)
        if user:
            sign_in(ctx, base_url, user)
        page, console = watched_page(ctx)
        consoles.append(console)
        return page, console

    yield make
    for ctx in contexts:
        ctx.close()
    errors = [e for c in consoles for e in c.errors]
    assert not errors, f"console errors: {errors}"


def shot(page: Page, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
