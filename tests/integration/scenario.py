"""A scripted scenario whose every number is computed by hand in the comments.

Queue "sales", T = 20 s, S = 5 s, 15-minute intervals, UTC. T0 = 2025-11-24 16:00:00Z.

  c1 queued 16:00:10, answered 16:00:25 by a1 (wait 15 s, within T), ended 16:02:05 with
     10 s hold (talk 90 s), a1 in ACW 16:02:05 → 16:02:35 (30 s ACW).
  c2 queued 16:02:40, abandoned 16:02:43 (3 s: a short abandon, within S and T).
  c3 queued 16:03:00, answered 16:03:40 by a2 (40 s: not within T), ended 16:08:40 (talk 300 s).
  c4 queued 16:05:00, abandoned 16:05:50 (50 s: a real abandon, after T).
  c5 queued 16:14:50 (interval 16:00), answered 16:15:20 (30 s, in the 16:15 interval clock-wise,
     but it belongs to 16:00 where it entered).
  c6 queued 16:16:00 and still waiting.

Interval 16:00: offered 5, answered 3 (1 within T), abandoned 2, short 1, abandoned within T 1,
wait_answered 15+40+30 = 85 s, wait_abandoned 3+50 = 53 s, handled 2, talk 390 s, hold 10 s,
ACW 30 s.
  SL (excl_short) = 1 / (3 + 2 − 1) = 0.25; ASA = 85/3 s; abandon rate = 1/(3+1) = 0.25;
  AHT = (390 + 10 + 30) / 2 = 215 s.
"""

from __future__ import annotations

import json

T0 = 1_764_000_000_000  # 2025-11-24T16:00:00Z


def at(seconds: float) -> int:
    return T0 + int(seconds * 1000)


def _e(n: int, secs: float, etype: str, **fields) -> str:
    return json.dumps({"v": 1, "id": f"s{n}", "ts": at(secs), "type": etype, **fields})


def scenario() -> list[str]:
    q = "sales"
    return [
        _e(1, 0, "agent.state", agent="a1", state="available", queues=[q]),
        _e(2, 0, "agent.state", agent="a2", state="available", queues=[q]),
        _e(3, 10, "call.queued", queue=q, call="c1", caller="+3312345678"),
        _e(4, 25, "call.answered", queue=q, call="c1", agent="a1"),
        _e(5, 25, "agent.state", agent="a1", state="on_call"),
        _e(6, 125, "call.ended", queue=q, call="c1", agent="a1", hold_s=10),
        _e(7, 125, "agent.state", agent="a1", state="acw"),
        _e(8, 155, "agent.state", agent="a1", state="available"),
        _e(9, 160, "call.queued", queue=q, call="c2"),
        _e(10, 163, "call.abandoned", queue=q, call="c2"),
        _e(11, 180, "call.queued", queue=q, call="c3"),
        _e(12, 220, "call.answered", queue=q, call="c3", agent="a2"),
        _e(13, 220, "agent.state", agent="a2", state="on_call"),
        _e(14, 300, "call.queued", queue=q, call="c4"),
        _e(15, 350, "call.abandoned", queue=q, call="c4"),
        _e(16, 520, "call.ended", queue=q, call="c3", agent="a2"),
        _e(17, 520, "agent.state", agent="a2", state="aux", reason="break"),
        _e(18, 890, "call.queued", queue=q, call="c5"),
        _e(19, 920, "call.answered", queue=q, call="c5", agent="a1"),
        _e(20, 920, "agent.state", agent="a1", state="on_call"),
        _e(21, 960, "call.queued", queue=q, call="c6"),
    ]


EXPECTED_INTERVAL_1600 = {
    "offered": 5, "answered": 3, "answered_within_t": 1, "abandoned": 2, "abandoned_short": 1,
    "abandoned_within_t": 1, "wait_answered_ms": 85_000, "wait_abandoned_ms": 53_000,
    "handled": 2, "talk_ms": 390_000, "hold_ms": 10_000, "acw_ms": 30_000,
}
