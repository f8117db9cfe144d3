"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(wall milliseconds, result) of one call."""
    t0 = time.perf_counter()
    value = fn()
    return (time.perf_counter() - t0) * 1000, value


def repeated(fn: Callable[[], Any], repeat: int, warm_up: bool = True) -> tuple[float, float, float, Any]:
    """(median wall s, best wall s, median CPU s, last result) over ``repeat`` runs, after one
    warm-up run (imports, caches) unless ``warm_up`` is false.

    CPU time (``process_time``) is reported too: it is what the code costs when other jobs on
    the machine delay the wall clock.
    """
    out = fn() if warm_up else None
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), min(wall), statistics.median(cpu), out


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 200 samples is the 198th)."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(len(s) * p / 100 + 0.999999) - 1))]


def cpu_probe_s() -> float:
    """Seconds for a fixed piece of Python work like the engine's (200,000 small dicts built and
    serialised): the machine's speed at that moment. On a shared machine it varies by half or
    more within minutes, and every figure of a run with it; a benchmark prints it at its start
    and end so a reader can tell. (A bare arithmetic loop did not show those slow phases.)"""
    import json

    t0 = time.perf_counter()
    rows = [{"agent": f"a{i}", "state": "on_call", "since_ms": 1_700_000_000_000 + i, "n": i % 7} for i in range(200_000)]
    json.dumps(rows)
    return time.perf_counter() - t0
