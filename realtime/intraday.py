"""The live intraday plan: forecast → reforecast → staffing plan → ranked roster actions.

:class:`IntradayPlanner` runs in the engine process (an APScheduler job every tick, coalesced).
``run_once(now_ms)`` builds today's inputs from what is stored:

- the **forecast** of each queue (``realtime.forecasts``), or, for a queue without one, a
  **baseline** from the history store: the median of the same weekday over the last weeks
  (``staffing.reforecast.baseline_from_history``), labelled as such;
- the **actual** calls, AHT and handled calls of each closed interval (live counters; the
  history store where Redis has nothing);
- the **overlays** and the **pins** (agents moved to one queue) of today;
- the **schedules** of today and yesterday (midnight-crossing shifts) and the roster's skills →
  each agent's phone time per interval, shift, breaks and meetings;
- per queue: model, T, target, SL formula and S from the queues file; the patience the engine
  learned (its snapshot's projection);

then runs the pure core (``staffing.reforecast`` → ``staffing.plan`` → ``staffing.actions``)
and writes a view for the pages and the API (keys in ``realtime/keys.py``).

Steady state is cheap: the whole computation is redone only when one of its inputs moved (an
interval closed, a version of the forecast, the schedules, the roster, the overlays or the
applied actions changed, the learned patience moved by a step) or every ``FULL_EVERY_MS`` to
catch late events in the intervals just closed; otherwise a run refreshes only the live part
(agents present and adhering now). Parsed schedules, the closed intervals' actuals, the
baseline and past days' accuracy are cached. See docs/intraday.md, "The live plan".

The parts: :mod:`realtime.intraday_inputs` reads and caches the inputs,
:mod:`realtime.intraday_agents` turns the schedules into the agents' arrays,
:mod:`realtime.intraday_actions` ranks the actions and builds their schedule edits,
:mod:`realtime.intraday_view` builds the JSON the pages read. This module runs them and writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from realtime.adherence import read_adherence_view
from realtime.intraday_actions import (
    PER_KIND,
    TOP_ACTIONS,
    action_record,
    ranked_actions,
)
from realtime.intraday_agents import (
    OFF,
    PHONE,
    PHONE_ACTIVITIES,
    FlatSchedules,
    ScheduledAgents,
    build_agents,
    flatten_schedules,
    phone_activities,
    scheduled_matrix,
)
from realtime.intraday_inputs import (
    ACCURACY_DAYS,
    PATIENCE_STEP_S,
    SETTLE_INTERVALS,
    IntradayInputs,
)
from realtime.intraday_store import inputs_versions, list_pins
from realtime.intraday_view import RISK_WINDOW_MS, build_views, dumps, live_view
from staffing.actions import ActionOptions
from staffing.plan import staffing_plan
from staffing.reforecast import ReforecastParams, reforecast

if TYPE_CHECKING:
    from floorboard.config import IntradayConfig
    from realtime.history import History
    from realtime.store import Store

__all__ = [
    "ACCURACY_DAYS", "FULL_EVERY_MS", "OFF", "PATIENCE_STEP_S", "PER_KIND", "PHONE", "PHONE_ACTIVITIES",
    "RISK_WINDOW_MS", "SETTLE_INTERVALS", "TOP_ACTIONS", "FlatSchedules", "IntradayPlanner", "ScheduledAgents",
    "build_agents", "dumps", "flatten_schedules", "phone_activities", "scheduled_matrix",
]

FULL_EVERY_MS = 30_000  # recompute at least this often: late events land in closed intervals


@dataclass
class _Result:
    """A full computation, kept to refresh the live part between full runs."""

    key: tuple[Any, ...]
    computed_ms: int
    view: dict[str, Any]
    queue_json: dict[str, str]
    actions: dict[str, str]


class IntradayPlanner:
    """Recomputes today's plan and writes the view; one per engine process (it keeps caches)."""

    def __init__(self, store: Store, history: History | None = None, *, full_every_ms: int = FULL_EVERY_MS,
                 options: ActionOptions | None = None) -> None:
        self.store = store
        self.history = history
        self.settings = store.settings
        self.cfg: IntradayConfig = store.settings.queues.intraday
        self.full_every_ms = full_every_ms
        self.options = options or ActionOptions()
        self.inputs = IntradayInputs(store, history)
        self._last: _Result | None = None
        self._written: dict[str, str] = {}
        self._queue_json: dict[str, tuple[bytes, str]] = {}
        self.last_timings_ms: dict[str, float] = {}

    # -------------------------------------------------------------------------- the job
    def run_once(self, now_ms: int) -> dict[str, Any]:
        """Recompute (when an input moved) and write the view; returns it."""
        t0 = time.perf_counter()
        tb = self.store.timebase
        day = tb.day(now_ms)
        if self.inputs.start_day(day):
            self._written = {}
        d = self.inputs.day
        assert d is not None
        versions = inputs_versions(self.store, day)
        snapshot = self.store.read_snapshot() or {}
        blocks = {b["id"]: b for b in snapshot.get("queues", [])}
        queues = self.inputs.queue_ids(day)
        patience = [self.inputs.patience(blocks.get(q), q) for q in queues]
        iv_start = tb.interval_start_ms(now_ms)
        key = (day, iv_start, json.dumps(versions, sort_keys=True), tuple(queues), tuple(patience))
        last = self._last
        full = last is None or last.key != key or now_ms - last.computed_ms >= self.full_every_ms
        if full:
            self._last = last = self._compute(now_ms, day, versions, queues, patience, key)
        elif d.accuracy is None:
            d.accuracy = self.inputs.past_accuracy(day, queues)  # deferred to a light run
        view = self._live(last, blocks, now_ms)
        self._write(view, last, full)
        self.last_timings_ms["run"] = (time.perf_counter() - t0) * 1000
        self.last_timings_ms["full"] = float(full)
        return view

    # -------------------------------------------------------------------------- full computation
    def _compute(self, now_ms: int, day: str, versions: dict[str, Any], queues: list[str], patience: list[float],
                 key: tuple[Any, ...]) -> _Result:
        timings: dict[str, float] = {}
        tick = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal tick
            t = time.perf_counter()
            timings[name] = round((t - tick) * 1000, 2)
            tick = t

        d = self.inputs.day
        assert d is not None
        tb, iv_s = self.store.timebase, float(self.settings.interval_s)
        iv_start = tb.interval_start_ms(now_ms)
        now_iv = int(np.searchsorted(d.starts, iv_start))
        cfgs = [self.store.queue_config(q) for q in queues]
        f_calls, f_aht, sources, base_info = self.inputs.forecast(day, queues, versions["forecast"])
        a_calls, a_aht, handled = self.inputs.actuals(queues, now_iv)
        overlays, overlay_rows = self.inputs.overlays(day, queues)
        agents_in = self.inputs.scheduled_agents(day, versions, queues, iv_start, now_ms)
        lap("inputs")
        params = ReforecastParams(self.cfg.half_life_intervals, self.cfg.min_closed, self.cfg.volume_cap, self.cfg.aht_cap)
        rf = reforecast(f_calls, f_aht, np.where(np.arange(d.starts.size) < now_iv, a_calls, np.nan), a_aht, now_iv,
                        params=params, overlays=overlays, handled_calls=handled)
        lap("reforecast")
        calls, aht = rf.calls[:, now_iv:], rf.aht_s[:, now_iv:]
        rest = d.starts[now_iv:]
        pins = self.inputs.pins(day, agents_in, queues, rest)
        load = np.where(np.isfinite(calls * aht), calls * aht / iv_s, 0.0)
        x = agents_in.phone_day  # the rest of the day, from the running interval
        sched = scheduled_matrix(x, agents_in.skills, pins, load)
        lap("scheduled")
        qcfg = {
            "threshold_s": np.array([c.sl_threshold_s for c in cfgs]), "target_sl": np.array([c.sl_target for c in cfgs]),
            "model": [c.model for c in cfgs], "sl_formula": [c.sl_formula for c in cfgs],
            "short_abandon_s": np.array([c.short_abandon_s for c in cfgs]), "patience_s": np.array(patience),
        }
        plan = staffing_plan(calls, aht, sched, interval_s=iv_s, fractional=True, **qcfg)
        lap("plan")
        actions, problem = ranked_actions(rest, queues, calls, aht, sched, plan.required, load, pins, agents_in, qcfg,
                                          iv_ms=tb.interval_ms, cfg=self.cfg, options=self.options, tz=self.settings.tz)
        lap("actions")
        records = [action_record(a, agents_in, queues, rest, versions, iv_start, now_ms, tb) for a in actions]
        records = [r for r in records if r is not None]
        view, queue_json = build_views(tb, self.settings, d.starts, d.accuracy, day, now_iv, queues, cfgs, patience,
                                       sources, base_info, f_calls, f_aht, rf, a_calls, a_aht, sched, plan,
                                       overlay_rows, self._queue_json)
        view.update(computed_ms=now_ms, inputs=versions, interval_start_ms=iv_start, actions_problem=problem,
                    actions=[{k: v for k, v in r.items() if k not in ("edits", "plan")} for r in records],
                    pins=len(list_pins(self.store, day)), agents=len(agents_in.ids), agents_without_skill=agents_in.no_skill)
        lap("view")
        view["timings_ms"] = timings
        self.last_timings_ms.update(timings)
        actions_json = {r["id"]: dumps(r) for r in records}
        return _Result(key, now_ms, view, queue_json, actions_json)

    def _live(self, last: _Result, blocks: Mapping[str, Mapping[str, Any]], now_ms: int) -> dict[str, Any]:
        """The view with what changes every tick: agents present and adhering now, per queue."""
        return live_view(last.view, blocks, read_adherence_view(self.store) or {}, now_ms)

    def _write(self, view: dict[str, Any], last: _Result, full: bool) -> None:
        k = self.store.keys
        pipe = self.store.r.pipeline(transaction=True)
        pipe.set(k.intraday_view, dumps(view))
        if full:
            changed = {q: v for q, v in last.queue_json.items() if self._written.get(q) != v}
            gone = [q for q in self._written if q not in last.queue_json]
            if changed:
                pipe.hset(k.intraday_queues, mapping=changed)
            if gone:
                pipe.hdel(k.intraday_queues, *gone)
            pipe.delete(k.intraday_actions)
            if last.actions:
                pipe.hset(k.intraday_actions, mapping=last.actions)
            self._written = dict(last.queue_json)
        pipe.execute()
