"""A scripted contact-center morning as v1 events, relative to "now" (the pages use the wall clock).

Four queues in two groups; one of them in trouble (callers waiting a long time, nobody
available), one in warning, two fine. Every event is a real canonical v1 payload, applied
through the store like any adapter's.
"""

from __future__ import annotations

import json
from itertools import count
from typing import Any

QUEUES_TOML = """
[defaults]
sl_threshold_s = 20
sl_target = 0.8

[queues.sales]
name = "Sales"
groups = ["front"]

[queues.billing]
name = "Billing"
groups = ["front"]
wait_warning_s = 45
wait_critical_s = 150

[queues.support]
name = "Tech support"
groups = ["back"]
wait_warning_s = 30
wait_critical_s = 60

[queues.claims]
name = "Claims"
groups = ["back"]
"""


class Script:
    """Builds events with unique ids and timestamps relative to ``now_ms``."""

    def __init__(self, now_ms: int, tag: str = "s") -> None:
        self.now_ms = now_ms
        self.tag = tag
        self._ids = count(1)
        self.events: list[dict[str, Any]] = []

    def at(self, seconds_ago: float) -> int:
        return int(self.now_ms - seconds_ago * 1000)

    def add(self, seconds_ago: float, type_: str, **fields: Any) -> None:
        self.events.append({"v": 1, "id": f"{self.tag}-{next(self._ids)}", "ts": self.at(seconds_ago), "type": type_, **fields})

    def state(self, seconds_ago: float, agent: str, state: str, queues: list[str] | None = None, reason: str | None = None) -> None:
        fields: dict[str, Any] = {"agent": agent, "state": state}
        if queues is not None:
            fields["queues"] = queues
        if reason:
            fields["reason"] = reason
        self.add(seconds_ago, "agent.state", **fields)

    def handled_call(
        self, start_ago: float, queue: str, call: str, agent: str, wait_s: float, talk_s: float, hold_s: float = 0, acw_s: float = 30
    ) -> None:
        """Queued, answered, talked, wrapped up: the call events and the agent's states."""
        answered, ended = start_ago - wait_s, start_ago - wait_s - talk_s
        self.add(start_ago, "call.queued", queue=queue, call=call)
        self.add(answered, "call.answered", queue=queue, call=call, agent=agent)
        self.state(answered, agent, "on_call")
        self.add(ended, "call.ended", queue=queue, call=call, agent=agent, hold_s=hold_s)
        self.state(ended, agent, "acw")
        self.state(ended - acw_s, agent, "available")

    def payloads(self) -> list[tuple[str, str]]:
        ordered = sorted(self.events, key=lambda e: e["ts"])
        return [(json.dumps(e), "test") for e in ordered]


def morning(now_ms: int) -> Script:
    s = Script(now_ms, "m")
    # Agents log in about 50 minutes ago.
    s.state(3000, "ada", "available", ["sales"])
    s.state(2990, "ben", "available", ["sales"])
    s.state(2980, "cleo", "available", ["sales", "billing"])
    s.state(2970, "dev", "available", ["billing"])
    s.state(2960, "eve", "available", ["support"])
    s.state(2950, "finn", "available", ["claims"])
    # Sales: steady, answered fast.
    for i, start in enumerate(range(2900, 400, -300)):
        agent = ("ada", "ben")[i % 2]
        s.handled_call(start, "sales", f"s{i}", agent, wait_s=6 + (i % 3) * 5, talk_s=150, hold_s=10)
    # Billing: slower answers, one abandon.
    for i, start in enumerate(range(2800, 600, -450)):
        s.handled_call(start, "billing", f"b{i}", "dev", wait_s=14 + (i % 2) * 25, talk_s=240, hold_s=30)
    s.add(500, "call.queued", queue="billing", call="b-ab")
    s.add(420, "call.abandoned", queue="billing", call="b-ab")
    # Support: some calls answered late, then eve goes to lunch.
    for i, start in enumerate(range(2700, 1200, -500)):
        s.handled_call(start, "support", f"t{i}", "eve", wait_s=35, talk_s=300)
    s.state(600, "eve", "aux", reason="lunch")
    # Agents' current states.
    s.state(280, "cleo", "aux", reason="break")
    s.state(20, "finn", "aux", reason="training")
    # Callers waiting now.
    s.add(95, "call.queued", queue="support", call="t-w1")
    s.add(70, "call.queued", queue="support", call="t-w2")
    s.add(40, "call.queued", queue="support", call="t-w3")
    s.add(60, "call.queued", queue="billing", call="b-w1")
    s.add(30, "call.queued", queue="sales", call="s-w1")
    s.add(25, "call.answered", queue="sales", call="s-w1", agent="ada")
    s.state(25, "ada", "on_call")
    return s


def many_queues(now_ms: int, n: int) -> Script:
    """``n`` queues with a little traffic each, for the layout at 40 tiles."""
    s = Script(now_ms, f"q{n}")
    for q in range(n):
        queue, agent = f"q{q:02d}", f"ag{q:02d}"
        s.state(1800, agent, "available", [queue])
        s.handled_call(1500 - q * 5, queue, f"{queue}-c1", agent, wait_s=4 + (q % 4) * 3, talk_s=200)
        s.handled_call(900 - q * 5, queue, f"{queue}-c2", agent, wait_s=8 + (q % 6) * 4, talk_s=180)
        if q % 5 == 0:
            s.add(30 + q * 3, "call.queued", queue=queue, call=f"{queue}-w")
        if q % 7 == 3:
            s.state(300, agent, "aux", reason="break")
    return s
