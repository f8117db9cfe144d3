"""Benchmark of the roster-action ranking: 500 queues x 40 intervals, 10,000 agents.

Workload (seeded): the rest of a day, 40 quarter-hours from 14:00. 500 queues, half
Erlang A (patience 60-300 s) and half Erlang C, SL formulas mixed, 80 % in 20 s. 10,000
agents with 8.5-hour shifts starting 06:00-22:45 (two 15-minute breaks and a 30-minute
lunch each, at the usual offsets, with the default windows), 1-3 skills (the first round
robin, the others among the queues of the same group of 10), 60 % allowed VTO, 60 minutes
of overtime after and 30 before the shift; 150 team meetings or trainings of 4-8 agents.
Calls per cell are drawn around the load the scheduled agents can carry (x 0.7-1.35), so a
realistic mix of cells is short and over staffed. The plan (required, agents) is built
once, outside the timing: it is the plan stage's job (bench/bench_intraday_plan.py).

Timed (median of ``--repeat`` runs after one warm-up): ``rank_actions`` end to end, and its
parts: the shared context (projected SL at the plan, marginal values), candidate generation
per kind, the evaluation of all candidates, the records of the top 50.

Naive alternative: the same candidates evaluated one at a time, the way a straightforward
implementation would: cell deltas in Python loops and one scalar ``staffing.erlang_c`` /
``staffing.erlang_a`` call per whole agent count, on a random sample of candidates,
extrapolated to all of them (and checked to give the same scores).

Run: ``python bench/bench_actions.py`` (``--repeat N``, default 7; ``--sample N``, default
200).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import staffing  # noqa: E402
from bench._timing import repeated  # noqa: E402
from staffing import actions  # noqa: E402
from staffing.actions.context import _context  # noqa: E402
from staffing.actions.rank import _select  # noqa: E402
from staffing.actions.records import _action  # noqa: E402
from staffing.erlang_c import SL_FORMULAS  # noqa: E402

QUEUES, AGENTS, IVS, FIRST_IV = 500, 10_000, 40, 56  # 14:00 at 15 minutes
INTERVAL_S = 900.0
DAY0_MS = 1_767_225_600_000  # a midnight (UTC)
SHIFT_IVS = 34  # 8.5 hours
BREAKS = ((8, 9, "break"), (16, 18, "lunch"), (26, 27, "break"))  # offsets in the shift
MEETINGS = 150


def _roster(rng: np.random.Generator) -> dict[str, Any]:
    start = rng.integers(6 * 4, 23 * 4, size=AGENTS) - FIRST_IV  # relative to 14:00
    end = start + SHIFT_IVS
    iv = np.arange(IVS)
    on = ((iv >= start[:, None]) & (iv < end[:, None])).astype(float)
    skills = np.zeros((AGENTS, QUEUES), dtype=bool)
    skills[np.arange(AGENTS), np.arange(AGENTS) % QUEUES] = True
    n_extra = rng.integers(0, 3, size=AGENTS)
    for j in range(2):
        who = np.flatnonzero(n_extra > j)
        grp = (np.arange(AGENTS)[who] % QUEUES) // 10 * 10
        skills[who, grp + rng.integers(0, 10, who.size)] = True
    act: dict[str, list] = {"agent": [], "activity": [], "start_iv": [], "end_iv": [],
                            "group": []}
    for b0, b1, name in BREAKS:
        s, e = start + b0, start + b1
        ok = (s >= 0) & (e <= IVS)
        for a in np.flatnonzero(ok):
            act["agent"].append(int(a))
            act["activity"].append(name)
            act["start_iv"].append(int(s[a]))
            act["end_iv"].append(int(e[a]))
            act["group"].append(-1)
            on[a, s[a]:e[a]] = 0.0
    for g in range(MEETINGS):  # team meetings: agents of one queue group, free at that time
        t0 = int(rng.integers(2, IVS - 6))
        dur = int(rng.integers(2, 5))
        free = np.flatnonzero((on[:, t0:t0 + dur] == 1).all(axis=1))
        team = rng.choice(free, size=min(int(rng.integers(4, 9)), free.size), replace=False)
        for a in team:
            act["agent"].append(int(a))
            act["activity"].append("meeting" if g % 2 else "training")
            act["start_iv"].append(t0)
            act["end_iv"].append(t0 + dur)
            act["group"].append(g)
            on[a, t0:t0 + dur] = 0.0
    return {"start": start, "end": end, "on": on, "skills": skills, "activities": act}


def workload(seed: int = 20260302) -> actions.PlanInputs:
    rng = np.random.default_rng(seed)
    r = _roster(rng)
    queues = [f"q{i:03d}" for i in range(QUEUES)]
    aht = rng.uniform(180, 480, size=(QUEUES, 1)) * np.ones((QUEUES, IVS))
    # The scheduled agents with an even split, to size the calls around them.
    e_agent, e_queue = np.nonzero(r["skills"])
    n_sk = r["skills"].sum(axis=1)
    sched = np.zeros((QUEUES, IVS))
    np.add.at(sched, e_queue, r["on"][e_agent] / n_sk[e_agent, None])
    load = np.maximum(sched - 1.2 * np.sqrt(sched), 0.2) * rng.uniform(0.7, 1.35, size=sched.shape)
    calls = np.round(load * INTERVAL_S / aht)
    half = QUEUES // 2
    return actions.make_plan_inputs(
        queues, DAY0_MS + (FIRST_IV + np.arange(IVS)) * int(INTERVAL_S * 1000), INTERVAL_S,
        calls, aht, agent_ids=[f"a{i:05d}" for i in range(AGENTS)], skills=r["skills"],
        on_phone=r["on"], shift_start_iv=r["start"], shift_end_iv=r["end"], now_iv=0,
        model=["erlang_a"] * half + ["erlang_c"] * (QUEUES - half),
        sl_formula=[("excl_short", "of_answered")[i % 2] for i in range(QUEUES)],
        patience_s=rng.uniform(60, 300, QUEUES), short_abandon_s=5.0, threshold_s=20.0,
        target_sl=0.8, overtime_before_min=30, overtime_after_min=60,
        vto_allowed=rng.random(AGENTS) < 0.6, activities=r["activities"])


def naive_score(inp: actions.PlanInputs, cands: actions.Candidates, c: int) -> float:
    """One candidate, one cell and one whole agent count at a time (scalar engine calls)."""
    n_iv = inp.calls.shape[1]
    skills = {a: np.flatnonzero(inp.skills[a]) for a in set(cands.row_agent.tolist())}
    delta: dict[tuple[int, int], float] = {}
    for r in range(cands.row_ptr[c], cands.row_ptr[c + 1]):
        a, i = int(cands.row_agent[r]), int(cands.row_iv[r])
        qs = skills[a]
        w = inp.split_weight[qs, i]
        share = w / w.sum() if w.sum() > 0 else np.full(qs.size, 1.0 / qs.size)
        if inp.pinned[a, i] >= 0:
            share = (qs == inp.pinned[a, i]).astype(float)
        for q, s in zip(qs, share, strict=True):
            to = int(cands.row_to[r])
            d = inp.on_phone[a, i] * ((q == to) - s) if to >= 0 else cands.row_delta[r] * s
            delta[(int(q), i)] = delta.get((int(q), i), 0.0) + d
    score = 0.0
    for (q, i), d in delta.items():
        if abs(d) <= 1e-12:
            continue
        n0 = inp.agents[q, i]
        score += inp.calls[q, i] * (_sl(inp, q, i, max(n0 + d, 0.0)) - _sl(inp, q, i, n0))
    assert n_iv > 0
    return score


def _sl(inp: actions.PlanInputs, q: int, i: int, n: float) -> float:
    lam, h, t = inp.calls[q, i] / inp.interval_s, inp.aht_s[q, i], inp.threshold_s[q, i]
    formula = SL_FORMULAS[int(inp.formula[q, i])]

    def whole(k: float) -> float:
        if inp.erlang_a[q, i]:
            r = staffing.erlang_a(lam, h, k, t, inp.patience_s[q, i], inp.short_abandon_s[q, i])
            return float(np.nan_to_num(r.service_level(formula)))
        return float(staffing.erlang_c(lam, h, k, t).service_level)

    x = round(n, 9)
    k = float(np.floor(x))
    f = x - k
    return whole(k) if f == 0 else (1 - f) * whole(k) + f * whole(k + 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--sample", type=int, default=200)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    inp = workload()
    opt = actions.ActionOptions()
    rows = []
    med, best, cpu, ranked = repeated(lambda: actions.rank_actions(inp, opt), args.repeat)
    rows.append(("rank_actions (all of the below)", med, best, cpu))
    med, best, cpu, ctx = repeated(lambda: _context(inp), args.repeat)
    rows.append(("context: SL at the plan, marginal values", med, best, cpu))
    for kind in actions.KINDS:
        o = actions.ActionOptions(kinds=(kind,))
        med, best, cpu, _ = repeated(lambda o=o: actions.generate_candidates(inp, o, _ctx=ctx),
                                  args.repeat)
        rows.append((f"candidates: {kind}", med, best, cpu))
    cands = actions.generate_candidates(inp, opt, _ctx=ctx)

    med, best, cpu, ev = repeated(lambda: actions.evaluate_candidates(inp, cands, opt, _ctx=ctx),
                               args.repeat)
    rows.append(("evaluation of all candidates", med, best, cpu))
    top = _select(cands, ev, 50)
    med, best, cpu, _ = repeated(lambda: [_action(ctx, cands, ev, int(c), opt, UTC)
                                       for c in top], args.repeat)
    rows.append(("selection and the 50 Action records", med, best, cpu))
    rng = np.random.default_rng(1)
    sample = rng.choice(len(cands), size=min(args.sample, len(cands)), replace=False)
    t0 = time.perf_counter()
    naive = np.array([naive_score(inp, cands, int(c)) for c in sample])
    naive_s = (time.perf_counter() - t0) / sample.size * len(cands)
    agree = float(np.abs(naive - ev.score[sample]).max())

    counts = {k: int((cands.kind == j).sum()) for j, k in enumerate(actions.KINDS)}
    kept = {k: sum(a.kind == k for a in ranked) for k in actions.KINDS}
    cells = int((ctx.deficit > 1e-9).sum())
    print(f"Roster actions: {QUEUES} queues x {IVS} intervals, {AGENTS:,} agents, "
          f"{len(inp.activity_name):,} activities; median of {args.repeat} runs.\n")
    print("| stage | median wall | best wall | median CPU |\n| --- | ---: | ---: | ---: |")
    for name, m, b, c in rows:
        print(f"| {name} | {m * 1e3:.1f} ms | {b * 1e3:.1f} ms | {c * 1e3:.1f} ms |")
    print(f"\nCandidates {len(cands):,} ({', '.join(f'{k} {v:,}' for k, v in counts.items())}); "
          f"{ev.cell.size:,} (candidate, cell) effects; {ev.evaluated:,} model evaluations "
          f"beyond the {2 * ctx.table.sl0.size:,} at the plan (every distinct cell and agent count once).")
    print(f"Top 50: {', '.join(f'{k} {v}' for k, v in kept.items())}. Cells short of agents: "
          f"{cells:,} of {inp.calls.size:,}.")
    print(f"Best: {ranked[0].text} (score {ranked[0].score:.1f} calls within T).")
    print(f"\nNaive (one candidate at a time, scalar engine calls): {sample.size} sampled "
          f"candidates took {naive_s / len(cands) * 1e3:.1f} ms each; extrapolated to all "
          f"{len(cands):,}: {naive_s:.0f} s. Scores agree within {agree:.1e} calls.")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores; 1-min load average before the run "
          f"{load_before:.1f}. Target: ranking <= 500 ms (plan + projections + actions <= 1 s).")


if __name__ == "__main__":
    main()
