"""A synthetic but realistic contact center as a list of v1 events, for the pipeline benchmark.

The center: ``queues`` queues and ``agents`` agents, each agent skilled for 1-3 queues (the
first one round-robin, so every queue has agents). Every agent logs in during the first
minute; then calls arrive over the span with a skewed queue mix. A call waits for the free
skilled agent found first among a few tried (a cheap stand-in for longest-idle routing) and is
abandoned when its patience runs out first. An answered call produces, in order:

    call.queued, agent.state on_call + call.answered, call.ended (3 % call.transferred)
    + agent.state acw, agent.state available (with the agent's skills)

and 8 % of agents then take an aux break (break/lunch/training/meeting) before the next call.
Nothing is emitted after ``end_ms``, so the final state is a center in mid-flight: agents on
call, in ACW, in aux, available, and callers waiting. In the last minute a few calls are queued
in every queue and left waiting, so every queue has someone waiting at the end.

Events are sorted by time (stable: a call's and an agent's own events stay in causal order on
equal timestamps), so one file is one well-ordered source. Seeded: same arguments, same events.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

AUX_REASONS = ("break", "lunch", "training", "meeting")
# Average events per generated call (answered ≈ 6, abandoned 2, some still open at the end), used to size
# the number of calls for a requested number of events.
EVENTS_PER_CALL = 5.0


@dataclass(frozen=True, slots=True)
class Center:
    queues: int = 500
    agents: int = 10_000
    seed: int = 20261124

    def queue(self, i: int) -> str:
        return f"q{i:03d}"

    def agent(self, i: int) -> str:
        return f"a{i:05d}"


class _Gen:
    def __init__(self, center: Center, id_prefix: str) -> None:
        self.c = center
        self.rng = random.Random(center.seed)
        self.id_prefix = id_prefix
        self.out: list[tuple[int, int, dict[str, Any]]] = []  # (ts_ms, seq, event)

    def emit(self, ts_ms: int, etype: str, **fields: Any) -> None:
        seq = len(self.out)
        ev = {"v": 1, "id": f"{self.id_prefix}{seq}", "ts": ts_ms, "type": etype}
        ev.update((k, v) for k, v in fields.items() if v is not None)
        self.out.append((ts_ms, seq, ev))

    def lognormal_ms(self, mean_s: float, cv: float) -> int:
        sigma2 = math.log1p(cv * cv)
        mu = math.log(mean_s) - sigma2 / 2
        return max(1000, int(self.rng.lognormvariate(mu, math.sqrt(sigma2)) * 1000))


def generate(
    n_events: int, end_ms: int, *, center: Center = Center(), span_s: float = 35 * 60, id_prefix: str = "e"
) -> list[dict[str, Any]]:
    """About ``n_events`` events (at least the logins), the last at or before ``end_ms``."""
    g = _Gen(center, id_prefix)
    rng = g.rng
    start_ms = int(end_ms - span_s * 1000)
    queues = [center.queue(i) for i in range(center.queues)]
    skills: list[list[str]] = []
    skilled: dict[str, list[int]] = {q: [] for q in queues}
    for a in range(center.agents):
        own = [queues[a % center.queues]]
        for _ in range(rng.choice((0, 1, 1, 2))):
            q = rng.choice(queues)
            if q not in own:
                own.append(q)
        skills.append(own)
        for q in own:
            skilled[q].append(a)

    free_at = [0] * center.agents
    for a in range(center.agents):
        ts = start_ms + rng.randrange(60_000)
        g.emit(ts, "agent.state", agent=center.agent(a), state="available", queues=skills[a])
        free_at[a] = ts

    tail = [(q, rng.randint(1, 4)) for q in queues]
    n_tail = sum(n for _, n in tail)
    n_calls = max(0, int((n_events - center.agents - n_tail) / EVENTS_PER_CALL))
    weights = [rng.paretovariate(1.5) for _ in queues]
    calls_start = start_ms + 60_000
    arrivals = sorted(calls_start + rng.randrange(max(1, end_ms - calls_start)) for _ in range(n_calls))
    chosen = rng.choices(queues, weights=weights, k=n_calls)
    for n, (t, q) in enumerate(zip(arrivals, chosen, strict=True)):
        _call(g, f"c{n}", q, t, end_ms, skilled[q], skills, free_at)
    for q, k in tail:
        for j in range(k):
            g.emit(end_ms - rng.randrange(60_000), "call.queued", queue=q, call=f"w{q}-{j}")
    g.out.sort(key=lambda item: (item[0], item[1]))
    return [ev for _, _, ev in g.out]


def _call(
    g: _Gen, call: str, q: str, t: int, end_ms: int, pool: list[int], skills: list[list[str]], free_at: list[int]
) -> None:
    rng, c = g.rng, g.c
    g.emit(t, "call.queued", queue=q, call=call, caller=f"+4420{rng.randrange(10**7):07d}")
    tried = [pool[rng.randrange(len(pool))] for _ in range(min(6, len(pool)))]
    a = min(tried, key=lambda i: free_at[i])
    answer = max(t, free_at[a]) + rng.randrange(500, 4000)
    patience = int(rng.expovariate(1 / 150.0) * 1000)
    if answer - t > patience:
        if t + patience <= end_ms:
            g.emit(t + patience, "call.abandoned", queue=q, call=call)
        return
    if answer > end_ms:
        return  # still waiting at the end
    name = c.agent(a)
    g.emit(answer, "agent.state", agent=name, state="on_call")
    g.emit(answer, "call.answered", queue=q, call=call, agent=name)
    free_at[a] = end_ms + 1  # busy until proven otherwise
    done = answer + g.lognormal_ms(240, 0.8)
    if done > end_ms:
        return
    hold = round(rng.uniform(0, (done - answer) / 1000 / 3), 1) if rng.random() < 0.3 else None
    if rng.random() < 0.03:
        g.emit(done, "call.transferred", queue=q, call=call, agent=name, to_queue=rng.choice(skills[a]))
    else:
        g.emit(done, "call.ended", queue=q, call=call, agent=name, hold_s=hold)
    g.emit(done, "agent.state", agent=name, state="acw")
    ready = done + g.lognormal_ms(30, 0.7)
    if ready > end_ms:
        return
    g.emit(ready, "agent.state", agent=name, state="available", queues=skills[a])
    free_at[a] = ready
    if rng.random() < 0.08:
        away = ready + rng.randrange(1000, 20_000)
        back = away + rng.randrange(120_000, 900_000)
        if away > end_ms:
            return
        g.emit(away, "agent.state", agent=name, state="aux", reason=rng.choice(AUX_REASONS))
        free_at[a] = end_ms + 1
        if back <= end_ms:
            g.emit(back, "agent.state", agent=name, state="available", queues=skills[a])
            free_at[a] = back
