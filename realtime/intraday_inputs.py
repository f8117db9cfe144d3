"""The live plan's inputs, read from the store and the history and cached (:mod:`realtime.intraday`).

- the **forecast** of each queue (``realtime.forecasts``), or, for a queue without one, a
  **baseline** from the history store: the median of the same weekday over the last weeks;
- the **actual** calls, AHT and handled calls of each closed interval (live counters; the
  history store where Redis has nothing);
- the **overlays** and the **pins** (agents moved to one queue) of today;
- the **schedules** of today and yesterday and the roster's skills → the scheduled agents'
  arrays (:mod:`realtime.intraday_agents`);
- per queue: the queue ids and the patience the engine learned;
- past days' forecast accuracy.

Parsed schedules, the closed intervals' actuals, the baseline and past days' accuracy are
cached; :class:`IntradayInputs` keeps those caches (one per planner).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from realtime.forecasts import read_forecast_day
from realtime.intraday_agents import (
    FlatSchedules,
    ScheduledAgents,
    build_agents,
    flatten_schedules,
    phone_activities,
)
from realtime.intraday_store import list_overlays, list_pins
from realtime.intraday_view import rounded
from realtime.projection import DEFAULT_AHT_S, DEFAULT_PATIENCE_S
from realtime.schedules import read_roster, read_schedule_day
from staffing import kpis
from staffing.reforecast import Overlay, accuracy, baseline_from_history
from staffing.schedule import Segment

if TYPE_CHECKING:
    from floorboard.config import IntradayConfig
    from realtime.history import History
    from realtime.store import Store

log = logging.getLogger(__name__)

SETTLE_INTERVALS = 2  # closed intervals re-read at every full run (ACW and late events still arrive)
PATIENCE_STEP_S = 5.0  # learned patience is rounded to this: a new abandon does not replan
ACCURACY_DAYS = 7  # past days whose forecast accuracy is shown
_COUNTER_FIELDS = ("offered", "handled", "talk_ms", "hold_ms", "acw_ms")


@dataclass
class DayCache:
    """Per-day caches."""

    day: str
    starts: np.ndarray  # every interval start of the day
    counters: np.ndarray | None = None  # (Q, I_day, fields) of _COUNTER_FIELDS, NaN = not read yet
    counter_queues: tuple[str, ...] = ()
    settled: int = 0  # intervals before this one are read and settled
    archived: dict[str, dict[int, dict[str, float]]] | None = None  # history's copy of today
    baseline: tuple[tuple[str, ...], dict[str, Any]] | None = None
    accuracy: dict[str, list[dict[str, Any]]] | None = None


class IntradayInputs:
    """Reads the plan's inputs for one day and keeps what did not change (one per planner)."""

    def __init__(self, store: Store, history: History | None = None) -> None:
        self.store = store
        self.history = history
        self.settings = store.settings
        self.cfg: IntradayConfig = store.settings.queues.intraday
        self.day: DayCache | None = None
        self._schedules: dict[tuple[str, int], dict[str, list[Segment]]] = {}
        self._roster: tuple[int, dict[str, Any]] | None = None
        self._agents: tuple[tuple[Any, ...], ScheduledAgents] | None = None
        self._flat: tuple[tuple[Any, ...], FlatSchedules] | None = None
        self._imported: tuple[tuple[Any, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def start_day(self, day: str) -> bool:
        """Start the day's caches when the day changed; True if it did."""
        if self.day is not None and self.day.day == day:
            return False
        self.day = DayCache(day, np.array(self.store.timebase.day_intervals_ms(day), dtype=np.int64))
        return True

    def queue_ids(self, day: str) -> list[str]:
        """The configured queues, then the others seen live or in the day's forecast."""
        configured = list(self.settings.queues.queues)
        seen = set(self.store.queue_ids()) | set(self.store.r.hkeys(self.store.keys.forecast_day(day)))
        return configured + sorted(seen - set(configured))

    def patience(self, block: Mapping[str, Any] | None, queue: str) -> float:
        """The patience an Erlang A queue's projection learned, rounded to ``PATIENCE_STEP_S`` (inf otherwise)."""
        cfg = self.store.queue_config(queue)
        if cfg.model != "erlang_a":
            return math.inf
        p = ((block or {}).get("projection") or {}).get("patience_s")
        p = DEFAULT_PATIENCE_S if p is None or not math.isfinite(p) or p <= 0 else float(p)
        return max(PATIENCE_STEP_S, round(p / PATIENCE_STEP_S) * PATIENCE_STEP_S)

    def _schedule(self, day: str, version: int) -> dict[str, list[Segment]]:
        got = self._schedules.get((day, version))
        if got is None:
            # Keep one version of the two days a plan reads (today, yesterday): drop the rest.
            keep = {day, (date.fromisoformat(day) + timedelta(days=1)).isoformat(),
                    (date.fromisoformat(day) - timedelta(days=1)).isoformat()}
            self._schedules = {k: v for k, v in self._schedules.items() if k[0] != day and k[0] in keep}
            got = self._schedules[(day, version)] = read_schedule_day(self.store, day)
        return got

    def _roster_of(self, version: int) -> dict[str, Any]:
        if self._roster is None or self._roster[0] != version:
            self._roster = (version, read_roster(self.store))
        return self._roster[1]

    def scheduled_agents(self, day: str, versions: Mapping[str, Any], queues: Sequence[str], iv_start: int,
                         now_ms: int) -> ScheduledAgents:
        key = (day, tuple(versions["schedule"]), versions["roster"], tuple(queues), iv_start)
        if self._agents is not None and self._agents[0] == key:
            return self._agents[1]
        yday = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
        today = self._schedule(day, versions["schedule"][0])
        yesterday = self._schedule(yday, versions["schedule"][1])
        roster = self._roster_of(versions["roster"])
        d = self.day
        assert d is not None
        flat_key = (day, tuple(versions["schedule"]))
        if self._flat is None or self._flat[0] != flat_key:
            self._flat = (flat_key, flatten_schedules(today, yesterday))
        now_iv = int(np.searchsorted(d.starts, iv_start))
        built = build_agents(today, yesterday, day, self.store.timebase.day_bounds_ms(day), d.starts[now_iv:],
                             self.settings.interval_s, now_ms, {a: r.skills for a, r in roster.items()},
                             {a: r.name for a, r in roster.items()}, {q: i for i, q in enumerate(queues)},
                             phone_activities(self.store), yday, flat=self._flat[1])
        self._agents = (key, built)
        return built

    def forecast(self, day: str, queues: Sequence[str], version: int
                 ) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
        """(Q, I_day) forecast calls and AHT, each queue's source, and the baseline's details
        (the imported forecast is read again when its ``version`` moves)."""
        d = self.day
        assert d is not None
        key = (day, version, tuple(queues))
        if self._imported is None or self._imported[0] != key:
            self._imported = (key, self._forecast_arrays(day, queues))
        calls, aht, sources = (x.copy() for x in self._imported[1])
        sources = list(sources)
        missing = tuple(q for q, s in zip(queues, sources, strict=True) if s == "none")
        info: dict[str, Any] = {}
        if missing and self.history is not None:
            if d.baseline is None or d.baseline[0] != missing:
                d.baseline = (missing, self._baseline(day, missing))
            info = d.baseline[1]
            for q, queue in enumerate(queues):
                got = info["queues"].get(queue)
                if got is not None:
                    calls[q], aht[q], sources[q] = got["calls"], got["aht_s"], "baseline"
        return calls, aht, sources, info

    def _forecast_arrays(self, day: str, queues: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The imported forecast as (Q, I_day) arrays (read once per forecast version)."""
        d = self.day
        assert d is not None
        n_iv = d.starts.size
        calls, aht = np.full((len(queues), n_iv), np.nan), np.full((len(queues), n_iv), np.nan)
        index = {int(s): i for i, s in enumerate(d.starts)}
        sources = np.array(["none"] * len(queues), dtype=object)
        imported = read_forecast_day(self.store, day, self.history)
        for q, queue in enumerate(queues):
            rows = imported.get(queue)
            if not rows:
                continue
            sources[q] = "imported"
            for start, (c, h) in rows.items():
                i = index.get(int(start))
                if i is not None:
                    calls[q, i], aht[q, i] = c, h
        return calls, aht, sources

    def _baseline(self, day: str, queues: Sequence[str]) -> dict[str, Any]:
        """The same weekday of the last ``baseline_weeks`` weeks, from the history store: the median
        per interval (calls: offered; AHT: handle time ÷ handled), mapped by local time of day."""
        assert self.history is not None and self.day is not None
        tb = self.store.timebase
        d0 = date.fromisoformat(day)
        days = [(d0 - timedelta(weeks=w)).isoformat() for w in range(1, self.cfg.baseline_weeks + 1)]
        archived = self.history.queue_days(days)
        minute = {_minute(tb, int(s)): i for i, s in enumerate(self.day.starts)}
        n_iv = self.day.starts.size
        out: dict[str, Any] = {"days": days, "min_days": self.cfg.baseline_min_days, "queues": {}}
        for queue in queues:
            c = np.full((len(days), n_iv), np.nan)
            h = np.full((len(days), n_iv), np.nan)
            for k, past in enumerate(days):
                rows = archived.get(past, {}).get(queue)
                if not rows:
                    continue  # not archived that day: unknown, not zero
                c[k], h[k] = 0.0, np.nan
                for start, ctr in rows.items():
                    i = minute.get(_minute(tb, int(start)))
                    if i is not None:
                        c[k, i] = ctr.get("offered", 0.0)
                        aht = kpis.aht_s(ctr)
                        h[k, i] = np.nan if aht is None else aht
            base_c = baseline_from_history(c, min_days=self.cfg.baseline_min_days)
            if not np.isfinite(base_c.values).any():
                continue
            base_h = baseline_from_history(h, min_days=1).values
            pooled = np.nanmedian(h) if np.isfinite(h).any() else DEFAULT_AHT_S
            base_h = np.where(np.isfinite(base_h), base_h, pooled)
            out["queues"][queue] = {"calls": base_c.values, "aht_s": base_h,
                                    "n_days": int(np.isfinite(c).any(axis=1).sum())}
        return out

    def actuals(self, queues: Sequence[str], upto: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Q, I_day) offered calls, AHT and handled calls of the intervals up to ``upto`` (the
        running one so far). Settled intervals are read once; the last ``SETTLE_INTERVALS``
        closed ones and the running one are read again at every full run."""
        d = self.day
        assert d is not None
        if d.archived is None:
            d.archived = (self.history.queue_days([d.day]).get(d.day, {}) if self.history is not None else {})
        n_iv = d.starts.size
        if d.counters is None or d.counter_queues != tuple(queues):
            d.counters = np.full((len(queues), n_iv, len(_COUNTER_FIELDS)), np.nan)
            d.counter_queues, d.settled = tuple(queues), 0
        last = min(upto + 1, n_iv)
        cols = range(min(d.settled, max(0, upto - SETTLE_INTERVALS)), last)
        k = self.store.keys
        pipe = self.store.r.pipeline(transaction=False)
        for q in queues:
            for i in cols:
                pipe.hmget(k.queue_interval(q, int(d.starts[i])), _COUNTER_FIELDS)
        replies = iter(pipe.execute() if cols and queues else [])
        for qi, q in enumerate(queues):
            archived = d.archived.get(q, {})
            for i in cols:
                raw = next(replies)
                start = int(d.starts[i])
                if not any(raw) and start in archived:  # Redis no longer has it: the archived copy
                    d.counters[qi, i] = [archived[start].get(f, 0.0) for f in _COUNTER_FIELDS]
                else:
                    d.counters[qi, i] = [float(v or 0) for v in raw]
        d.settled = max(d.settled, max(0, upto - SETTLE_INTERVALS))
        c = d.counters
        offered, handled = c[:, :, 0].copy(), c[:, :, 1].copy()
        handle_s = (c[:, :, 2] + c[:, :, 3] + c[:, :, 4]) / 1000
        offered[:, last:], handled[:, last:] = np.nan, np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            aht = np.where(handled > 0, handle_s / handled, np.nan)
        return offered, aht, handled

    def overlays(self, day: str, queues: Sequence[str]) -> tuple[list[Overlay], list[dict[str, Any]]]:
        d = self.day
        assert d is not None
        index = {q: i for i, q in enumerate(queues)}
        out, rows = [], list_overlays(self.store, day)
        for o in rows:
            if o["queue"] not in index:
                continue
            s = int(np.searchsorted(d.starts, o["start_ms"], side="right")) - 1
            e = int(np.searchsorted(d.starts, o["end_ms"], side="left"))
            s, e = max(s, 0), min(e, d.starts.size)
            if e > s:
                out.append(Overlay(index[o["queue"]], s, e, float(o["volume_multiplier"]),
                                   float(o.get("aht_multiplier", 1.0)), o.get("label", "")))
        return out, rows

    def pins(self, day: str, agents: ScheduledAgents, queues: Sequence[str], rest: np.ndarray) -> np.ndarray:
        """(A, I_rest) the queue each agent is pinned to by an applied move, -1 where none."""
        pinned = np.full((len(agents.ids), rest.size), -1, dtype=np.int32)
        index, qindex = {a: i for i, a in enumerate(agents.ids)}, {q: i for i, q in enumerate(queues)}
        for p in list_pins(self.store, day):
            a, q = index.get(p["agent"]), qindex.get(p["queue"])
            if a is None or q is None or not agents.skills[a, q]:
                log.info("pin %s ignored: agent or skill no longer in the roster", p.get("id"))
                continue
            pinned[a, (rest >= p["start_ms"]) & (rest < p["end_ms"])] = q
        return pinned

    def past_accuracy(self, day: str, queues: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """WAPE and bias of each queue's imported forecast on the last days (history store)."""
        if self.history is None:
            return {}
        d0 = date.fromisoformat(day)
        days = [(d0 - timedelta(days=n)).isoformat() for n in range(1, ACCURACY_DAYS + 1)]
        actual = self.history.queue_days(days)
        out: dict[str, list[dict[str, Any]]] = {}
        for past in days:
            forecast = read_forecast_day(self.store, past, self.history)
            for queue in queues:
                f, a = forecast.get(queue), actual.get(past, {}).get(queue)
                if not f or not a:
                    continue
                starts = sorted(f)
                fc = np.array([f[s][0] for s in starts])
                ac = np.array([a.get(s, {}).get("offered", 0.0) for s in starts])
                acc = accuracy(fc, ac)
                out.setdefault(queue, []).append({"day": past, "wape": rounded(acc.total_wape, 4),
                                                  "bias": rounded(acc.total_bias, 3), "n": acc.total_n})
        return out


def _minute(tb: Any, ts_ms: int) -> int:
    """Local minute of the day (what maps an interval of one day onto another's)."""
    hh, mm = tb.local_label(ts_ms).split(":")
    return int(hh) * 60 + int(mm)
