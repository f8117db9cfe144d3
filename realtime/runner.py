"""The engine process: the aggregator loop plus the scheduled tick and archiver.

The scheduled jobs are thin wrappers that read the clock once and pass the time in. APScheduler
runs the tick every FLOORBOARD_TICK_S; a tick that overruns is coalesced, never stacked.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from apscheduler.schedulers.background import BackgroundScheduler

from realtime.aggregator import Aggregator
from realtime.archive import Archiver
from realtime.engine import Engine
from realtime.history import History
from realtime.store import Store

log = logging.getLogger(__name__)

ARCHIVE_EVERY_S = 60


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class EngineProcess:
    def __init__(self, store: Store, history: History | None) -> None:
        self.store = store
        self.engine = Engine(store)
        self.aggregator = Aggregator(store)
        self.archiver = Archiver(store, history) if history is not None else None
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_tick_ms: float | None = None

    def tick_job(self) -> None:
        started = time.perf_counter()
        try:
            self.engine.tick(now_ms())
        except redis.ConnectionError as exc:
            log.warning("tick skipped, Redis unreachable: %s", exc)
            return
        self.last_tick_ms = (time.perf_counter() - started) * 1000
        if self.last_tick_ms > self.store.settings.tick_s * 1000 / 2:
            log.warning("tick took %.0f ms (tick every %.1f s)", self.last_tick_ms, self.store.settings.tick_s)

    def archive_job(self) -> None:
        if self.archiver is None:
            return
        try:
            self.archiver.run_once(now_ms())
        except redis.ConnectionError as exc:
            log.warning("archive skipped, Redis unreachable: %s", exc)

    def start(self) -> None:
        self.aggregator.ensure_group()
        self._thread = threading.Thread(target=self.aggregator.run, args=(self._stop,), name="aggregator", daemon=True)
        self._thread.start()
        tick_s = self.store.settings.tick_s
        self.scheduler.add_job(self.tick_job, "interval", seconds=tick_s, id="tick", max_instances=1,
                               coalesce=True, misfire_grace_time=max(1, int(tick_s)))
        self.scheduler.add_job(self.archive_job, "interval", seconds=ARCHIVE_EVERY_S, id="archive",
                               max_instances=1, coalesce=True)
        self.scheduler.start()
        self.tick_job()  # a first snapshot at once, not one tick later

    def stop(self) -> None:
        self._stop.set()
        self.scheduler.shutdown(wait=True)
        if self._thread is not None:
            self._thread.join(timeout=5)
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
