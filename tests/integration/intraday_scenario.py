"""A small center for the intraday tests, every number of it known by hand.

Day D is a week ahead (UTC, 15-minute intervals); now is D 10:00:05, so 08:00-09:45 are closed.

Queues: claims (Erlang C), billing (Erlang A, S = 5 s); both T = 20 s, target 80 %.
Forecast 08:00-12:00: claims 20 calls and AHT 180 s per interval; billing 10 calls, 240 s.
Events: in each closed interval claims gets 24 calls of 180 s talk, billing 10 of 240 s, so the
volume ratios are 24/20 = 1.2 and 1, the AHT ratios 1 (by hand; the recency weights cancel out
because every interval has the same ratio).
Schedules (open 08:00-12:00 unless said): c1 (break 10:30-10:45), c2, c3, c4 on claims; b1, b2,
b3 on billing; m1, and m2 (training 10:15-10:45), on both; v1 on billing 08:00-11:00.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import numpy as np

from realtime.forecasts import write_forecast_days
from realtime.schedules import write_roster, write_schedule_days
from realtime.store import Store
from staffing.schedule import RosterAgent, Segment
from staffing.schedule_edit import put

DAY_DATE = datetime.now(UTC).date() + timedelta(days=7)
D = DAY_DATE.isoformat()
DAY0 = int(datetime.combine(DAY_DATE, time(0), tzinfo=UTC).timestamp() * 1000)
IV_MS = 900_000
QUEUES = ("claims", "billing")
QUEUES_TOML = """
[defaults]
sl_threshold_s = 20
short_abandon_s = 5
sl_target = 0.8

[queues.claims]
model = "erlang_c"

[queues.billing]
model = "erlang_a"
"""
FORECAST = {"claims": (20.0, 180.0), "billing": (10.0, 240.0)}
ACTUAL = {"claims": (24, 180), "billing": (10, 240)}  # calls per closed interval, talk seconds
SKILLS = {"c1": ["claims"], "c2": ["claims"], "c3": ["claims"], "c4": ["claims"], "b1": ["billing"],
          "b2": ["billing"], "b3": ["billing"], "m1": ["claims", "billing"], "m2": ["claims", "billing"],
          "v1": ["billing"]}


def h(hour: float, minute: float = 0, second: float = 0) -> int:
    return DAY0 + round(hour * 3_600_000 + minute * 60_000 + second * 1000)


NOW = h(10, 0, 5)
DAY_STARTS = np.arange(DAY0, DAY0 + 86_400_000, IV_MS)
NOW_IV = 40  # 10:00
REST = DAY_STARTS[NOW_IV:]


def shift(agent: str, start: int = h(8), end: int = h(12), *extra: tuple[str, int, int]) -> list[Segment]:
    segs = [Segment(agent, "open", start, end)]
    for activity, s, e in extra:
        segs = put(segs, Segment(agent, activity, s, e))
    return segs


def schedule() -> dict[str, list[Segment]]:
    out = {a: shift(a) for a in SKILLS}
    out["c1"] = shift("c1", h(8), h(12), ("break", h(10, 30), h(10, 45)))
    out["m2"] = shift("m2", h(8), h(12), ("training", h(10, 15), h(10, 45)))
    out["v1"] = shift("v1", h(8), h(11))
    return out


def events() -> list[tuple[str, str]]:
    out = []
    n = 0
    for k in range(8):
        for queue, (count, talk) in ACTUAL.items():
            for j in range(count):
                call, t0 = f"{queue}-{k}-{j}", h(8) + k * IV_MS + j * 20_000
                for ts, etype, extra in ((t0, "call.queued", {}), (t0 + 5000, "call.answered", {"agent": "x"}),
                                         (t0 + 5000 + talk * 1000, "call.ended", {"agent": "x", "hold_s": 0})):
                    n += 1
                    out.append({"v": 1, "id": f"ev{n}", "ts": ts, "type": etype, "queue": queue, "call": call, **extra})
    out.sort(key=lambda e: e["ts"])
    return [(json.dumps(e), "test") for e in out]




def load(store: Store) -> None:
    """The forecast, the schedules, the roster and the closed intervals' events, into ``store``."""
    ivs = [h(8) + k * IV_MS for k in range(16)]
    write_forecast_days(store, {D: {q: dict.fromkeys(ivs, FORECAST[q]) for q in QUEUES}})
    write_schedule_days(store, {D: schedule()})
    write_roster(store, [RosterAgent(a, a.upper(), "t1", "", tuple(k)) for a, k in SKILLS.items()], replace=True)
    result = store.apply_entries(events(), NOW)
    assert not result.rejected
