"""Benchmark of the live intraday planner and of the pages that read it, over a real Redis.

Workload: bench_intraday_plan's (500 queues, 10,000 agents, 14:00 with 56 closed intervals),
moved to a day a week ahead and written into Redis as the imports and the engine would: the
forecast, the schedules, the roster, the closed intervals' counters, and an adherence view with
200 exceptions. Then, timed:

1. ``IntradayPlanner.run_once``: the first run (everything read from Redis and parsed), a full
   recomputation with warm caches (after an overlay is added or removed), the first run of a
   new interval (agents' arrays rebuilt), and a steady-state run (nothing changed: only the
   live part is refreshed);
2. the pages' refresh callbacks through the whole web stack in-process (Flask test client:
   the access-control gate, Dash's dispatch, the presenters, JSON): ``/firefight`` and
   ``/intraday``, signed in as a manager. The page reads precomputed views only.

The alternative, computing the plan when a page asks, would cost a full recomputation per
request (item 1). Run: ``python bench/bench_firefight.py`` (``--repeat N``, default 15; Redis
from ``FLOORBOARD_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``; keys under a prefix
of their own, removed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_intraday_plan as plan_bench  # noqa: E402

from floorboard.config import AuthSettings, QueueConfig, QueuesConfig, load_settings  # noqa: E402
from realtime import intraday_store as ops  # noqa: E402
from realtime.forecasts import write_forecast_days  # noqa: E402
from realtime.intraday import IntradayPlanner  # noqa: E402
from realtime.schedules import write_roster, write_schedule_days  # noqa: E402
from realtime.store import Store  # noqa: E402
from staffing.schedule import RosterAgent, Segment  # noqa: E402

REDIS_URL = os.environ.get("FLOORBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "bench password, not a secret"
IV_MS = plan_bench.INTERVAL_S * 1000


def setup(store: Store, w: plan_bench.Workload, day0: int) -> None:
    shift = day0 - plan_bench.DAY0_MS
    day = datetime.fromtimestamp(day0 / 1000, UTC).date().isoformat()
    queues = list(w.queue_index)
    starts = day0 + np.arange(plan_bench.DAY_IVS) * IV_MS
    write_forecast_days(store, {day: {q: {int(s): (float(w.forecast_calls[i, k]), float(w.forecast_aht[i, k]))
                                          for k, s in enumerate(starts)} for i, q in enumerate(queues)}})
    segs = {a: [Segment(a, s.activity, s.start_ms + shift, s.end_ms + shift) for s in v] for a, v in w.segments.items()}
    write_schedule_days(store, {day: segs})
    write_roster(store, [RosterAgent(a, f"Agent {a}", f"team{i % 1000}", "", tuple(k))
                         for i, (a, k) in enumerate(w.skills.items())], replace=True)
    pipe = store.r.pipeline(transaction=False)
    for i, q in enumerate(queues):
        for k in range(plan_bench.CLOSED):
            c = float(w.actual_calls[i, k])
            pipe.hset(store.keys.queue_interval(q, int(starts[k])),
                      mapping={"offered": int(c), "handled": int(c), "talk_ms": int(c * w.actual_aht[i, k] * 1000)})
        pipe.sadd(store.keys.queues, q)
    pipe.execute()
    now = int(starts[plan_bench.CLOSED])
    exceptions = [{"agent": f"a{i:05d}", "name": f"Agent a{i:05d}", "queues": [queues[i % len(queues)]],
                   "scheduled": "open", "actual_state": "aux", "actual_reason": "personal", "out_since_ms": now - 600_000,
                   "out_s": 600.0, "severity": "critical", "impact": "hurts", "impact_score": 10.0 - i / 100}
                  for i in range(200)]
    store.r.set(store.keys.adherence_view, json.dumps({"generated_ms": now, "day": day, "exceptions": exceptions,
                                                       "teams": {}, "totals": {}}))


def timed_ms(fn: Any, repeat: int) -> list[tuple[float, float]]:
    """(wall ms, CPU ms of this process) per run; the CPU leaves out Redis's own work."""
    out = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))
    return out


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def callback_body(app: Any, output: str) -> dict[str, Any]:
    spec = app.callback_map[output]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in output.strip(".").split("...")]
    return {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [{**d, "value": 1 if d["property"] == "n_intervals" else None} for d in spec["inputs"]],
            "state": [{**d, "value": None} for d in spec["state"]], "changedPropIds": []}


def pages(settings: Any, store: Store, now: int, repeat: int) -> dict[str, list[tuple[float, float]]]:
    from argon2 import PasswordHasher

    from app.context import set_context
    from app.server import create_app

    folder = Path(tempfile.mkdtemp(prefix="fb-bench-"))
    users = folder / "users.json"
    users.write_text(json.dumps({"users": {"boss": {"password": PasswordHasher().hash(PASSWORD), "role": "manager"}},
                                 "tokens": {}}))
    settings = replace(settings, auth=AuthSettings(secret_key="bench-only-secret-key-0123456789abcdef",
                                                   users_file=users))
    app = create_app(settings, store)
    set_context(settings, store, clock_ms=lambda: now + 3000)
    client = app.server.test_client()
    client.get("/login")
    r = client.post("/login", data={"username": "boss", "password": PASSWORD,
                                    "csrf_token": client.get_cookie("_csrf_token").value})
    assert r.status_code == 303, r.status_code
    headers = {"X-CSRFToken": client.get_cookie("_csrf_token").value}
    out = {}
    for name, output in (("/firefight refresh", "ff-body.children"),
                         ("/intraday refresh", next(k for k in app.callback_map if "int-status.children" in k))):
        body = callback_body(app, output)
        r = client.post("/_dash-update-component", json=body, headers=headers)
        assert r.status_code == 200, (name, r.status_code, r.data[:300])
        size = len(r.data)
        out[f"{name} ({size / 1024:.0f} kB)"] = timed_ms(
            lambda body=body: client.post("/_dash-update-component", json=body, headers=headers), repeat)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    w = plan_bench.workload()
    day0 = int(datetime.combine(datetime.now(UTC).date() + timedelta(days=7), datetime.min.time(), UTC).timestamp() * 1000)
    half = plan_bench.QUEUES // 2
    cfgs = {q: QueueConfig(id=q, model="erlang_a" if i < half else "erlang_c", sl_formula=w.sl_formula[i],
                           short_abandon_s=5.0) for i, q in enumerate(w.queue_index)}
    prefix = f"fbbench:{uuid.uuid4().hex[:8]}"
    settings = replace(load_settings({"FLOORBOARD_KEY_PREFIX": prefix}), queues=QueuesConfig(queues=cfgs))
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = Store(client, settings)
    try:
        setup(store, w, day0)
        now = day0 + plan_bench.CLOSED * IV_MS + 5_000
        planner = IntradayPlanner(store)
        rows: dict[str, list[tuple[float, float]]] = {"planner: first run (cold: all read from Redis)": timed_ms(
            lambda: planner.run_once(now), 1)}
        view = ops.read_view(store)
        rows["planner: steady state (nothing changed)"] = timed_ms(lambda: planner.run_once(now + 2000), args.repeat)
        toggled: list[str] = []

        def full() -> None:
            if toggled:
                ops.remove_overlay(store, toggled.pop(), user="bench", now_ms=now)
            else:
                toggled.append(ops.add_overlay(store, "q000", now, now + 3_600_000, 1.3, user="bench", now_ms=now)["id"])
            planner.run_once(now + 2000)

        rows["planner: full recomputation (an overlay changed)"] = timed_ms(full, args.repeat)
        steps = iter(range(1, 100))
        rows["planner: a new interval (agents rebuilt)"] = timed_ms(
            lambda: planner.run_once(now + next(steps) * IV_MS // 8 * 8), 3)
        planner.run_once(now)
        timings = dict(planner.last_timings_ms)
        rows.update(pages(settings, store, now, args.repeat))
        print(f"Intraday, live: {plan_bench.QUEUES} queues, {plan_bench.AGENTS:,} agents, 14:00 "
              f"({plan_bench.DAY_IVS - plan_bench.CLOSED} intervals left); {len(view['actions'])} actions in the view, "
              f"view {len(json.dumps(view)) / 1024:.0f} kB.\n")
        print("| what | runs | median wall | p95 wall | max wall | median CPU |\n| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, runs in rows.items():
            wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
            print(f"| {name} | {len(runs)} | {statistics.median(wall):.0f} ms | {p(wall, 95):.0f} ms | {max(wall):.0f} ms "
                  f"| {statistics.median(cpu):.0f} ms |")
        print(f"\nStages of the last full run (ms): {timings}")
        print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} cores; "
              f"Redis {client.info()['redis_version']}; 1-min load average before the run {load_before:.1f}.")
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])


if __name__ == "__main__":
    main()
