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
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from werkzeug.serving import make_server

from app.context import set_context
from floorboard.config import Settings, load_settings
from realtime.engine import Engine
from realtime.store import Store
from tests.conftest import REPO, TEST_REDIS_URL, _need
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


def build(redis_client: Any, key_prefix: str, queues_file: Path, tick_s: float) -> tuple[Settings, Store]:
    settings = load_settings(
        {
            "FLOORBOARD_KEY_PREFIX": key_prefix,
            "FLOORBOARD_TICK_S": str(tick_s),
            "FLOORBOARD_QUEUES_FILE": str(queues_file),
            "FLOORBOARD_TIMEZONE": "Europe/Paris",
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
def base_url(queues_file: Path) -> Iterator[str]:
    import redis

    from app.server import create_app

    _need(TEST_REDIS_URL, 6379, "Redis")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log in test output
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    settings, store = build(client, "fbtest:e2e-session", queues_file, 2.0)
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

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)

    def on_error(self, exc: Exception) -> None:
        self.errors.append(f"pageerror: {exc}")


@pytest.fixture
def open_page(chromium_browser: Browser) -> Iterator[Callable[..., tuple[Page, Console]]]:
    """Open a page at a viewport size; after the test, assert the console stayed clean."""
    contexts = []
    consoles: list[Console] = []

    def make(width: int = 1920, height: int = 1080) -> tuple[Page, Console]:
        ctx = chromium_browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        contexts.append(ctx)
        page = ctx.new_page()
        console = Console()
        page.on("console", console.on_console)
        page.on("pageerror", console.on_error)
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
