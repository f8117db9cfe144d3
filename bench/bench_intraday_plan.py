"""Benchmark of the intraday plan: 500 queues x the rest of the day, 10,000 agents.

Workload (seeded): a day of 96 quarter-hours, 56 closed (it is 14:00), 40 remaining. 500
queues, half Erlang A (patience 60-300 s) and half Erlang C, SL formulas mixed; calls 3-80
per interval, AHT 180-480 s. 10,000 agents with 8.5-hour shifts (two breaks and a lunch,
some crossing midnight), each skilled for 1-3 queues.

Stages, each timed alone (median of ``--repeat`` runs after one warm-up) and together:

1. ``reforecast``: trend-to-date ratio of volume and AHT over the whole day, with overlays;
2. ``scheduled``: the scheduled-agents matrix from the Segment lists and skills;
3. ``plan``: required agents (fractional, as the live planner asks) and projected SL/ASA/abandon
   for the 40 remaining intervals;
4. ``agents``: the agents' arrays the live planner builds from the schedules and the roster
   (``realtime.intraday.build_agents``: phone time per remaining interval, shifts, breaks and
   meetings; rebuilt there when the interval or a schedule changes; the schedules themselves are
   parsed and flattened once per schedule version, outside this timing);
5. ``actions``: the ranking's inputs (``make_plan_inputs``: phone time and activities on the
   ranking's grid, skills, shifts, overtime and VTO allowances) and ``rank_actions`` (30 actions,
   at most 8 of a kind), as the live planner runs them.

The target is the whole recomputation (plan, projections and ranked actions) within 1 s.
To add a stage (e.g. ranking roster actions), write ``def stage_x(w, done) -> object`` --
``done`` holds the earlier stages' results by name -- and append it to ``STAGES``.

Run: ``python bench/bench_intraday_plan.py`` (``--repeat N``, default 7).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._timing import repeated  # noqa: E402
from realtime.intraday import (  # noqa: E402
    PER_KIND,
    TOP_ACTIONS,
    build_agents,
    flatten_schedules,
)
from realtime.intraday_actions import ranking_phone  # noqa: E402
from staffing.actions import make_plan_inputs, rank_actions  # noqa: E402
from staffing.plan import scheduled_agents_matrix, staffing_plan  # noqa: E402
from staffing.reforecast import Overlay, reforecast  # noqa: E402
from staffing.schedule import Segment  # noqa: E402

QUEUES, AGENTS, DAY_IVS, CLOSED = 500, 10_000, 96, 56
INTERVAL_S = 900
DAY0_MS = 1_767_225_600_000  # a midnight (UTC), so interval starts are whole quarter-hours
MIN_MS = 60_000


@dataclass(frozen=True)
class Workload:
    forecast_calls: np.ndarray  # (queues, day intervals)
    forecast_aht: np.ndarray
    actual_calls: np.ndarray    # NaN after the closed intervals
    actual_aht: np.ndarray
    overlays: list[Overlay]
    segments: dict[str, list[Segment]]
    skills: dict[str, list[str]]
    queue_index: dict[str, int]
    interval_starts_ms: np.ndarray  # the remaining intervals
    model: list[str]
    sl_formula: list[str]
    patience_s: np.ndarray
    threshold_s: np.ndarray
    target_sl: np.ndarray
    short_abandon_s: np.ndarray


def _schedule(rng: np.random.Generator, queues: list[str]) -> tuple[dict, dict]:
    segments: dict[str, list[Segment]] = {}
    skills: dict[str, list[str]] = {}
    starts_min = rng.integers(0, 17 * 4, size=AGENTS) * 15 + 6 * 60  # 06:00-22:45
    night = rng.random(AGENTS) < 0.05  # yesterday 22:00 -> today 06:30
    for i in range(AGENTS):
        a = f"a{i:05d}"
        s = DAY0_MS + (int(starts_min[i]) * MIN_MS if not night[i] else -120 * MIN_MS)
        cuts = [(0, 120, "open"), (120, 135, "break"), (135, 240, "open"), (240, 270, "lunch"),
                (270, 390, "open"), (390, 405, "break"), (405, 510, "open")]
        segments[a] = [Segment(a, act, s + b * MIN_MS, s + e * MIN_MS) for b, e, act in cuts]
        k = int(rng.integers(1, 4))
        skills[a] = [queues[i % QUEUES]] + [queues[j] for j in rng.integers(0, QUEUES, k - 1)]
    return segments, skills


def workload(seed: int = 20260301) -> Workload:
    rng = np.random.default_rng(seed)
    queues = [f"q{i:03d}" for i in range(QUEUES)]
    shape = (QUEUES, DAY_IVS)
    t = np.arange(DAY_IVS)
    profile = 0.2 + np.exp(-((t - 42) / 12.0) ** 2) + 0.8 * np.exp(-((t - 62) / 10.0) ** 2)
    fc = np.round(rng.uniform(3, 80, size=(QUEUES, 1)) * profile / profile.max())
    fa = rng.uniform(180, 480, size=(QUEUES, 1)) * np.ones(shape)
    ac = rng.poisson(fc * rng.uniform(0.8, 1.3, size=(QUEUES, 1))).astype(float)
    aa = fa * rng.uniform(0.9, 1.15, size=shape)
    ac[:, CLOSED:], aa[:, CLOSED:] = np.nan, np.nan
    overlays = [Overlay(int(q), 56, 72, 1.3, label="storm") for q in rng.integers(0, QUEUES, 20)]
    segments, skills = _schedule(rng, queues)
    half = QUEUES // 2
    return Workload(
        forecast_calls=fc, forecast_aht=fa, actual_calls=ac, actual_aht=aa, overlays=overlays,
        segments=segments, skills=skills, queue_index={q: i for i, q in enumerate(queues)},
        interval_starts_ms=DAY0_MS + np.arange(CLOSED, DAY_IVS) * INTERVAL_S * 1000,
        model=["erlang_a"] * half + ["erlang_c"] * (QUEUES - half),
        sl_formula=[("excl_short", "of_answered")[i % 2] for i in range(QUEUES)],
        patience_s=rng.uniform(60, 300, QUEUES), threshold_s=np.full(QUEUES, 20.0),
        target_sl=np.full(QUEUES, 0.8), short_abandon_s=np.full(QUEUES, 5.0),
    )


def stage_reforecast(w: Workload, done: dict[str, Any]) -> Any:
    return reforecast(w.forecast_calls, w.forecast_aht, w.actual_calls, w.actual_aht, CLOSED,
                      overlays=w.overlays)


def stage_scheduled(w: Workload, done: dict[str, Any]) -> np.ndarray:
    rf = done["reforecast"]
    load = rf.calls[:, CLOSED:] * rf.aht_s[:, CLOSED:] / INTERVAL_S  # Erlangs, the split weights
    return scheduled_agents_matrix(w.segments, w.skills, w.interval_starts_ms, INTERVAL_S,
                                   w.queue_index, {"open"}, load)


def stage_plan(w: Workload, done: dict[str, Any]) -> Any:
    rf = done["reforecast"]
    return staffing_plan(rf.calls[:, CLOSED:], rf.aht_s[:, CLOSED:], done["scheduled"],
                         interval_s=INTERVAL_S, threshold_s=w.threshold_s,
                         target_sl=w.target_sl, model=w.model, patience_s=w.patience_s,
                         sl_formula=w.sl_formula, short_abandon_s=w.short_abandon_s, fractional=True)


_FLAT: dict[int, Any] = {}  # parsed once per schedule version in the live planner: not timed


def stage_agents(w: Workload, done: dict[str, Any]) -> Any:
    flat = _FLAT.get(id(w))
    if flat is None:
        flat = _FLAT[id(w)] = flatten_schedules(w.segments, {})
    return build_agents(w.segments, {}, "D", (DAY0_MS, DAY0_MS + DAY_IVS * INTERVAL_S * 1000),
                        w.interval_starts_ms, INTERVAL_S, int(w.interval_starts_ms[0]) + 5_000, w.skills, {},
                        w.queue_index, frozenset({"open"}), "D-1", flat=flat)


def stage_actions(w: Workload, done: dict[str, Any]) -> Any:
    rf, plan, agents = done["reforecast"], done["plan"], done["agents"]
    rest = w.interval_starts_ms
    iv_ms = INTERVAL_S * 1000
    calls, aht = rf.calls[:, CLOSED:], rf.aht_s[:, CLOSED:]
    on_phone, acts = ranking_phone(agents, rest, iv_ms)
    first = int(rest[0])
    inputs = make_plan_inputs(
        list(w.queue_index), rest, INTERVAL_S, calls, aht, agent_ids=agents.ids, skills=agents.skills,
        on_phone=on_phone, shift_start_iv=(agents.shift_start_ms - first) // iv_ms,
        shift_end_iv=-((first - agents.shift_end_ms) // iv_ms), now_iv=0, agents=done["scheduled"],
        required=plan.required, split_weight=calls * aht / INTERVAL_S, threshold_s=w.threshold_s,
        target_sl=w.target_sl, model=w.model, patience_s=w.patience_s, sl_formula=w.sl_formula,
        short_abandon_s=w.short_abandon_s, overtime_before_min=30.0, overtime_after_min=60.0,
        vto_allowed=True, activities=acts)
    return rank_actions(inputs, limit=TOP_ACTIONS, per_kind=PER_KIND)


STAGES: list[tuple[str, Callable[[Workload, dict[str, Any]], Any]]] = [
    ("reforecast", stage_reforecast),
    ("scheduled", stage_scheduled),
    ("plan", stage_plan),
    ("agents", stage_agents),
    ("actions", stage_actions),
]


def run_all(w: Workload) -> dict[str, Any]:
    done: dict[str, Any] = {}
    for name, fn in STAGES:
        done[name] = fn(w, done)
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    w = workload()
    done = run_all(w)
    rows = []
    for name, fn in STAGES:
        before = {k: v for k, v in done.items() if k != name}
        rows.append((name, *repeated(lambda fn=fn, before=before: fn(w, dict(before)), args.repeat)[:3]))
    rows.append(("all stages", *repeated(lambda: run_all(w), args.repeat)[:3]))
    plan = done["plan"]
    cells = plan.required.size
    print(f"Intraday plan: {QUEUES} queues x {DAY_IVS - CLOSED} remaining intervals "
          f"({cells:,} cells), {AGENTS:,} agents; median of {args.repeat} runs.\n")
    print("| stage | median wall | best wall | median CPU |\n| --- | ---: | ---: | ---: |")
    for name, med, best, cpu in rows:
        print(f"| {name} | {med * 1e3:.1f} ms | {best * 1e3:.1f} ms | {cpu * 1e3:.1f} ms |")
    sched = done["scheduled"]
    print(f"\nScheduled agent-intervals {sched.sum():,.1f}; required {np.nansum(plan.required):,.0f}; "
          f"cells short of agents {int((plan.gap < 0).sum()):,}; mean projected SL "
          f"{np.nanmean(plan.service_level):.3f}; actions ranked {len(done['actions'])} "
          f"({', '.join(sorted({a.kind for a in done['actions']}))}).")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores; 1-min load average before the run "
          f"{load_before:.1f}. Target: all stages (with action ranking) <= 1 s.")


if __name__ == "__main__":
    main()
