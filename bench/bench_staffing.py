"""Benchmark of the staffing engine against pyworkforce on one day of queues.

Workload: required agents for an 80 % / 20 s service-level target for
100 queues x 96 quarter-hour intervals (calls 10-2,000 per 15 min, AHT
180-600 s, seeded), plus the forward measures on the same grid at the
answer.  pyworkforce's ``ErlangC`` is run the way a user would: one object
per problem in a Python loop.  Answers are checked to agree.

Run: ``python bench/bench_staffing.py`` prints the Markdown section;
``--write`` also replaces the "## Staffing engine" section of
docs/benchmarks.md (creating the file if missing) and leaves the rest alone.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import staffing  # noqa: E402
from bench._docs import write_section  # noqa: E402
from bench._timing import repeated  # noqa: E402

QUEUES, INTERVALS, INTERVAL_S = 100, 96, 900.0
TARGET_SL, THRESHOLD_S, PATIENCE_S = 0.8, 20.0, 120.0


def workload(seed: int = 20240601) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    calls = rng.integers(10, 2001, size=(QUEUES, INTERVALS)).astype(float)
    aht = rng.uniform(180.0, 600.0, size=(QUEUES, INTERVALS))
    return calls / INTERVAL_S, aht


def pyworkforce_required(rate: np.ndarray, aht: np.ndarray) -> np.ndarray:
    from pyworkforce.queuing import ErlangC

    out = np.empty(rate.size)
    for k, (lam, h) in enumerate(zip(rate.ravel(), aht.ravel(), strict=True)):
        # pyworkforce works in minutes; "asa" is its name for the SL threshold.
        ec = ErlangC(transactions=lam * INTERVAL_S, aht=h / 60.0, asa=THRESHOLD_S / 60.0,
                     interval=INTERVAL_S / 60.0)
        out[k] = ec.required_positions(service_level=TARGET_SL)["raw_positions"]
    return out.reshape(rate.shape)


SECTION = "## Staffing engine"



def main() -> None:
    load_before = os.getloadavg()[0]
    rate, aht = workload()
    n = rate.size
    rows = []

    t_c, b_c, u_c, req_c = repeated(lambda: staffing.required_agents(rate, aht, target_sl=TARGET_SL,
                                                        threshold_s=THRESHOLD_S), 21)
    rows.append(("required agents, Erlang C", t_c, b_c, u_c))
    t_a, b_a, u_a, req_a = repeated(lambda: staffing.required_agents(
        rate, aht, target_sl=TARGET_SL, threshold_s=THRESHOLD_S, model="erlang_a",
        patience_s=PATIENCE_S), 7)
    rows.append((f"required agents, Erlang A (patience {PATIENCE_S:.0f} s)", t_a, b_a, u_a))
    rows.append(("forward Erlang C measures at the answer",
                 *repeated(lambda: staffing.erlang_c(rate, aht, req_c, THRESHOLD_S), 21)[:3]))
    rows.append(("forward Erlang A measures (all fields, incl. ASA; S = 5 s)",
                 *repeated(lambda: staffing.erlang_a(rate, aht, req_a, THRESHOLD_S, PATIENCE_S, 5.0),
                        7)[:3]))
    # One run: its O(N) recursion per point makes a loop over 9,600 problems slow.
    t_pw, b_pw, u_pw, req_pw = repeated(lambda: pyworkforce_required(rate, aht), 1, warm_up=False)
    rows.append(("pyworkforce ErlangC.required_positions, loop", t_pw, b_pw, u_pw))

    agree = int(np.sum(req_pw == req_c))
    sl_c = staffing.erlang_c(rate, aht, req_c, THRESHOLD_S).service_level
    sl_prev = staffing.erlang_c(rate, aht, req_c - 1, THRESHOLD_S).service_level
    assert np.all(sl_c >= TARGET_SL) and np.all(sl_prev < TARGET_SL)
    out = [f"{SECTION}\n", f"Command: `python bench/bench_staffing.py --write`. "
           f"{n:,} problems ({QUEUES} queues x {INTERVALS} intervals, calls 10-2,000 per "
           f"15 min, AHT 180-600 s, seeded), SL target {TARGET_SL:.0%} in {THRESHOLD_S:.0f} s; "
           "median of repeated runs (21 for Erlang C, 7 for Erlang A, 1 for pyworkforce).\n",
           "| what | median wall | best wall | median CPU | median per problem |",
           "| --- | ---: | ---: | ---: | ---: |"]
    out += [f"| {name} | {med * 1e3:.1f} ms | {best * 1e3:.1f} ms | {cpu * 1e3:.1f} ms "
            f"| {med / n * 1e6:.2f} us |" for name, med, best, cpu in rows]
    out += ["", f"Agreement with pyworkforce: {agree:,} / {n:,} identical answers "
            f"(max |diff| {np.max(np.abs(req_pw - req_c)):.0f}); "
            f"speed-up {t_pw / t_c:,.0f}x (Erlang C). Every answer checked minimal "
            "(N meets 80 %, N - 1 does not).",
            f"Erlang A (patience {PATIENCE_S:.0f} s) needs {np.mean(req_c - req_a):.1f} fewer "
            f"agents per interval on average ({np.sum(req_a):,.0f} vs {np.sum(req_c):,.0f}).", "",
            f"Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, {platform.machine()}, "
            f"{len(os.sched_getaffinity(0))} cores; loads "
            f"{math.floor(np.min(rate * aht))}-{math.ceil(np.max(rate * aht))} Erlangs. "
            f"1-min load average before the run: {load_before:.1f} (other jobs may share the "
            "cores; the median is the figure of record). "
            "Targets on this machine: Erlang C <= 10 ms, Erlang A <= 250 ms."]
    text = "\n".join(out) + "\n"
    print(text)
    if "--write" in sys.argv[1:]:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
