"""The engine process: the aggregator loop plus the scheduled tick and archiver.

The scheduled jobs are thin wrappers that read the clock once and pass the time in. APScheduler
runs the tick every FLOORBOARD_TICK_S; a tick that overruns is coalesced, never stacked.

The aggregator runs in a child process by default: the tick is CPU-bound Python, and sharing one
interpreter (one GIL) with it made events wait behind every tick. Two processes use both cores.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

import redis
from apscheduler.schedulers.background import BackgroundScheduler

from floorboard.config import Settings
from realtime.aggregator import Aggregator
from realtime.archive import Archiver
from realtime.engine import Engine, collect_garbage, tune_gc
from realtime.history import History
from realtime.intraday import IntradayPlanner
from realtime.store import Store

log = logging.getLogger(__name__)

ARCHIVE_EVERY_S = 60


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _aggregate(settings: Settings, stop: Any) -> None:
    """Child-process entry point: apply the stream until the parent sets ``stop``."""
    # The parent handles Ctrl-C and then sets ``stop``; the child must not die half-way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    Aggregator(Store.from_settings(settings)).run(stop)


class EngineProcess:
    def __init__(self, store: Store, history: History | None, *, separate_aggregator: bool = True) -> None:
        self.store = store
        self.engine = Engine(store)
        self.aggregator = Aggregator(store)
        self.archiver = Archiver(store, history) if history is not None else None
        self.intraday = IntradayPlanner(store, history)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.separate_aggregator = separate_aggregator
        self._mp = multiprocessing.get_context("spawn")
        self._stop: Any = self._mp.Event() if separate_aggregator else threading.Event()
        self._worker: threading.Thread | BaseProcess | None = None
        self.last_tick_ms: float | None = None

    def tick_job(self) -> None:
        started = time.perf_counter()
        try:
            self.engine.tick(now_ms())
        except redis.ConnectionError as exc:
            log.warning("tick skipped, Redis unreachable: %s", exc)
            return
        finally:
            collect_garbage()  # between ticks, not during them (see tune_gc)
        self.last_tick_ms = (time.perf_counter() - started) * 1000
        self.engine.between_ticks(now_ms())  # required agents, team medians: no tick waits for them
        if self.last_tick_ms > self.store.settings.tick_s * 1000 / 2:
            log.warning("tick took %.0f ms (tick every %.1f s)", self.last_tick_ms, self.store.settings.tick_s)

    def intraday_job(self) -> None:
        # Its own job, not part of the tick: a full replan of a large center takes most of a
        # second, and the tick must not wait for it. Coalesced like the tick.
        try:
            self.intraday.run_once(now_ms())
        except redis.ConnectionError as exc:
            log.warning("intraday plan skipped, Redis unreachable: %s", exc)

    def archive_job(self) -> None:
        if self.archiver is None:
            return
        try:
            self.archiver.run_once(now_ms())
        except redis.ConnectionError as exc:
            log.warning("archive skipped, Redis unreachable: %s", exc)

    def start(self) -> None:
        self.aggregator.ensure_group()
        if self.separate_aggregator:
            self._worker = self._mp.Process(target=_aggregate, args=(self.store.settings, self._stop),
                                            name="floorboard-aggregator", daemon=True)
        else:
            self._worker = threading.Thread(target=self.aggregator.run, args=(self._stop,), name="aggregator", daemon=True)
        self._worker.start()
        tick_s = self.store.settings.tick_s
        self.scheduler.add_job(self.tick_job, "interval", seconds=tick_s, id="tick", max_instances=1,
                               coalesce=True, misfire_grace_time=max(1, int(tick_s)))
        self.scheduler.add_job(self.intraday_job, "interval", seconds=tick_s, id="intraday", max_instances=1,
                               coalesce=True, misfire_grace_time=max(1, int(tick_s)))
        self.scheduler.add_job(self.archive_job, "interval", seconds=ARCHIVE_EVERY_S, id="archive",
                               max_instances=1, coalesce=True)
        self.scheduler.start()
        self.tick_job()  # a first snapshot at once, not one tick later
        tune_gc()  # after the first tick: its caches are what is frozen

    def stop(self) -> None:
        self._stop.set()
        self.scheduler.shutdown(wait=True)
        if self._worker is not None:
            self._worker.join(timeout=10)
        self.engine.close()
        self.archive_job()  # keep what closed while we ran


def engine_alive(store: Store, now: int | None = None) -> tuple[bool, str]:
    """What `floorboard engine --check` answers: alive when the heartbeat is recent."""
    age = store.heartbeat_age_s(now if now is not None else now_ms())
    if age is None:
        return False, "no heartbeat: the engine is not running (or has not ticked yet)"
    limit = store.settings.tick_s * 3
    if age > limit:
        return False, f"heartbeat is {age:.1f} s old (limit {limit:.1f} s)"
    return True, f"alive: last tick {age:.1f} s ago"
