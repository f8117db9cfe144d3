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
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from realtime.adherence import read_adherence_view
from realtime.forecasts import read_forecast_day
from realtime.intraday_store import inputs_versions, list_overlays, list_pins
from realtime.projection import DEFAULT_AHT_S, DEFAULT_PATIENCE_S
from realtime.schedules import read_roster, read_schedule_day
from staffing import kpis
from staffing.actions import POSTPONABLE, Action, ActionOptions, make_plan_inputs, rank_actions
from staffing.plan import allocate_to_queues, phone_fractions, staffing_plan
from staffing.reforecast import (
    Overlay,
    Reforecast,
    ReforecastParams,
    accuracy,
    baseline_from_history,
    reforecast,
)
from staffing.schedule import Segment
from staffing.schedule_edit import move_activity, normalized, put, replace_range

if TYPE_CHECKING:
    from floorboard.config import IntradayConfig
    from realtime.history import History
    from realtime.store import Store

log = logging.getLogger(__name__)

PHONE = "open"  # the activity an action writes for phone time (overtime; a moved break's old place)
OFF = "off"
PHONE_ACTIVITIES = frozenset({"open", "phone"})  # plus [adherence.activities.X] phone = true
FULL_EVERY_MS = 30_000  # recompute at least this often: late events land in closed intervals
SETTLE_INTERVALS = 2  # closed intervals re-read at every full run (ACW and late events still arrive)
PATIENCE_STEP_S = 5.0  # learned patience is rounded to this: a new abandon does not replan
RISK_WINDOW_MS = 2 * 3_600_000  # "the next two hours" of the firefighting page
TOP_ACTIONS = 30  # actions kept (for the lists and for apply)
PER_KIND = 8  # at most this many of one kind, so every kind can show
ACCURACY_DAYS = 7  # past days whose forecast accuracy is shown
_COUNTER_FIELDS = ("offered", "handled", "talk_ms", "hold_ms", "acw_ms")


def dumps(value: Any) -> str:
    """Compact JSON; a NaN left anywhere is an error (browsers cannot read it)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _r(x: Any, digits: int = 3) -> float | None:
    """A JSON-safe rounded number (None for NaN/inf)."""
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None


def _col2(a: np.ndarray, digits: int = 3) -> np.ndarray:
    """Rounded numbers as an object array, None where not finite: rows ``.tolist()`` straight
    into JSON (vectorised: a large plan has ~10^6 of them)."""
    a = np.round(np.asarray(a, dtype=float), digits)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out


def phone_activities(store: Store) -> frozenset[str]:
    """Activities that count as phone time: open, phone and those configured with phone = true."""
    extra = {name for name, a in store.settings.queues.adherence.activities.items() if a.get("phone") is True}
    off = {name for name, a in store.settings.queues.adherence.activities.items() if a.get("phone") is False}
    return frozenset((PHONE_ACTIVITIES | extra) - off)


# ------------------------------------------------------------------------------ agents
@dataclass
class _Agents:
    """Today's scheduled agents as arrays (built once per interval and input versions)."""

    ids: list[str]
    names: list[str]
    skills: np.ndarray  # (A, Q) bool
    phone_day: np.ndarray  # (A, I) exact fraction of each interval (from first_ms on) in a phone activity
    shift_day: list[str]  # the schedule day of each agent's shift that matters for the rest of today
    shift_start_ms: np.ndarray
    shift_end_ms: np.ndarray
    # off-phone activities of that shift not over yet: (agent, Segment), and the agents' full
    # segment lists of the day their shift belongs to (the before/after of an edit)
    activities: list[tuple[int, Segment]]
    day_segments: list[list[Segment]]
    first_ms: int = 0  # the start of phone_day's first interval
    no_skill: int = 0  # scheduled agents without a known queue among their skills
    _lookups: dict[str, Any] = field(default_factory=dict)

    def index(self) -> dict[str, int]:
        """Agent id → row (built once, on first use)."""
        if "index" not in self._lookups:
            self._lookups["index"] = {a: i for i, a in enumerate(self.ids)}
        return self._lookups["index"]

    def slots(self, first_ms: int, iv_ms: int) -> dict[tuple[str, str, int], Segment]:
        """(agent, activity, interval of its start on a grid) → the activity's exact segment."""
        key = ("slots", first_ms, iv_ms)
        if key not in self._lookups:
            self._lookups[key] = {(self.ids[a], s.activity, (s.start_ms - first_ms) // iv_ms): s
                                  for a, s in self.activities}
        return self._lookups[key]


@dataclass(frozen=True)
class FlatSchedules:
    """Today's and yesterday's segments as arrays, sorted by agent and start (parsed once per
    schedule version; everything that depends on the time is vectorised over these)."""

    agents: list[str]
    agent: np.ndarray  # index into ``agents``
    start_ms: np.ndarray
    end_ms: np.ndarray
    activity: list[str]  # per segment
    yesterday: np.ndarray  # bool: from yesterday's schedule
    segments: list[Segment]
    names: list[str]  # the activities seen
    code: np.ndarray  # per segment: index into ``names``

    def has(self, activities: Collection[str]) -> np.ndarray:
        """Per segment: is its activity one of these?"""
        return np.isin(self.code, [i for i, n in enumerate(self.names) if n in activities])


def flatten_schedules(today: Mapping[str, Sequence[Segment]], yesterday: Mapping[str, Sequence[Segment]]
                      ) -> FlatSchedules:
    agents = sorted(set(today) | set(yesterday))
    rows = [(i, s, d) for i, a in enumerate(agents) for d, src in ((False, today), (True, yesterday))
            for s in src.get(a, ()) if s.end_ms > s.start_ms]
    rows.sort(key=lambda r: (r[0], r[1].start_ms))
    segs = [s for _, s, _ in rows]
    activity = [s.activity for s in segs]
    names = sorted(set(activity))
    index = {n: i for i, n in enumerate(names)}
    return FlatSchedules(agents, np.array([r[0] for r in rows], dtype=np.int64),
                         np.array([s.start_ms for s in segs], dtype=np.int64), np.array([s.end_ms for s in segs], dtype=np.int64),
                         activity, np.array([r[2] for r in rows], dtype=bool), segs, names,
                         np.array([index[a] for a in activity], dtype=np.int64))


def build_agents(today: Mapping[str, list[Segment]], yesterday: Mapping[str, list[Segment]], day: str,
                 day_bounds: tuple[int, int], interval_starts_ms: np.ndarray, interval_s: float, now_ms: int,
                 skills_of: Mapping[str, Sequence[str]], names_of: Mapping[str, str], queue_index: Mapping[str, int],
                 phone: frozenset[str], yesterday_day: str, flat: FlatSchedules | None = None) -> _Agents:
    """Arrays of the agents scheduled today (also by a shift from yesterday running into today).

    A shift is a run of adjacent segments other than ``off``; the one that matters for the rest of
    today is the first not over at ``now_ms`` (else the last). Agents without a known queue among
    their skills are left out (counted in ``no_skill``)."""
    f = flat if flat is not None else flatten_schedules(today, yesterday)
    day_start, day_end = day_bounds
    work = ~f.has({OFF})
    k = np.flatnonzero(work)
    ag, st, en = f.agent[k], f.start_ms[k], f.end_ms[k]
    # Runs: a new agent, or a start after the run so far has ended (running max per agent).
    big = np.int64(1) << np.int64(42)  # more than any epoch ms: keeps the running max per agent
    reach = np.maximum.accumulate(en + ag * big) - ag * big if k.size else en
    new = np.ones(k.size, dtype=bool)
    new[1:] = (ag[1:] != ag[:-1]) | (st[1:] > reach[:-1]) | (f.yesterday[k][1:] != f.yesterday[k][:-1])
    run = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    r_agent, r_start = ag[first], st[first]
    r_end = np.maximum.reduceat(en, first) if k.size else en
    r_yday = f.yesterday[k][first]
    keep = (r_start < day_end) & (r_end > day_start)
    # The run that matters: the first not over yet, else the last one.
    bound = np.int64(1) << np.int64(44)
    key = np.where(r_end > now_ms, r_start, bound - r_start)
    order = np.lexsort((key, r_agent))
    order = order[keep[order]]
    chosen = order[np.r_[True, r_agent[order][1:] != r_agent[order][:-1]]] if order.size else order
    ids, names, skill_rows, runs = [], [], [], []
    no_skill = 0
    for r in chosen.tolist():
        agent = f.agents[int(r_agent[r])]
        known = [queue_index[q] for q in skills_of.get(agent, ()) if q in queue_index]
        if not known:
            no_skill += 1
            continue
        ids.append(agent)
        names.append(names_of.get(agent) or agent)
        skill_rows.append(known)
        runs.append(r)
    row_of = np.full(len(f.agents), -1, dtype=np.int64)
    row_of[r_agent[runs]] = np.arange(len(runs))
    skills = np.zeros((len(ids), len(queue_index)), dtype=bool)
    for a, row in enumerate(skill_rows):
        skills[a, row] = True
    # Phone time: every phone segment of a kept run, of the agents kept.
    is_phone = f.has(phone)[k]
    grid_start = int(interval_starts_ms[0]) if len(interval_starts_ms) else 0
    p = np.flatnonzero(is_phone & keep[run] & (row_of[ag] >= 0) & (en > grid_start))
    frac = phone_fractions(row_of[ag[p]], st[p], en[p], interval_starts_ms, interval_s, len(ids))
    # Activities: the chosen run's off-phone segments not over yet.
    run_arr = np.array(runs, dtype=np.int64)
    chosen_run = np.zeros(run.max() + 1 if run.size else 0, dtype=bool)
    chosen_run[run_arr] = True
    act_rows = np.flatnonzero(chosen_run[run] & ~is_phone & (en > now_ms)) if k.size else k
    acts = list(zip(row_of[ag[act_rows]].tolist(), [f.segments[j] for j in k[act_rows].tolist()], strict=True))
    from_yday = r_yday[run_arr].tolist() if runs else []
    shift_day = [yesterday_day if y else day for y in from_yday]
    day_segs = [list((yesterday if y else today).get(a, ())) for y, a in zip(from_yday, ids, strict=True)]
    return _Agents(ids, names, skills, frac, shift_day, r_start[run_arr] if runs else np.zeros(0, np.int64),
                   r_end[run_arr] if runs else np.zeros(0, np.int64), acts, day_segs,
                   int(interval_starts_ms[0]) if len(interval_starts_ms) else 0, no_skill)


def scheduled_matrix(on_phone: np.ndarray, skills: np.ndarray, pinned: np.ndarray, load: np.ndarray) -> np.ndarray:
    """(Q, I) scheduled agents: each agent's phone time split over their skills in proportion to
    the load (``staffing.plan.allocate_to_queues``), except where pinned to one queue."""
    pin = pinned >= 0
    agents = allocate_to_queues(np.where(pin, 0.0, on_phone), sparse.csr_matrix(skills), load)
    a, i = np.nonzero(pin)
    np.add.at(agents, (pinned[a, i], i), on_phone[a, i])
    return agents


# ------------------------------------------------------------------------------ the computation
@dataclass
class _Day:
    """Per-day caches."""

    day: str
    starts: np.ndarray  # every interval start of the day
    counters: np.ndarray | None = None  # (Q, I_day, fields) of _COUNTER_FIELDS, NaN = not read yet
    counter_queues: tuple[str, ...] = ()
    settled: int = 0  # intervals before this one are read and settled
    archived: dict[str, dict[int, dict[str, float]]] | None = None  # history's copy of today
    baseline: tuple[tuple[str, ...], dict[str, Any]] | None = None
    accuracy: dict[str, list[dict[str, Any]]] | None = None


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
        self._day: _Day | None = None
        self._schedules: dict[tuple[str, int], dict[str, list[Segment]]] = {}
        self._roster: tuple[int, dict[str, Any]] | None = None
        self._agents: tuple[tuple[Any, ...], _Agents] | None = None
        self._flat: tuple[tuple[Any, ...], FlatSchedules] | None = None
        self._last: _Result | None = None
        self._imported: tuple[tuple[Any, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._forecast_version = 0
        self._written: dict[str, str] = {}
        self._queue_json: dict[str, tuple[bytes, str]] = {}
        self.last_timings_ms: dict[str, float] = {}

    # -------------------------------------------------------------------------- the job
    def run_once(self, now_ms: int) -> dict[str, Any]:
        """Recompute (when an input moved) and write the view; returns it."""
        t0 = time.perf_counter()
        tb = self.store.timebase
        day = tb.day(now_ms)
        if self._day is None or self._day.day != day:
            self._day = _Day(day, np.array(tb.day_intervals_ms(day), dtype=np.int64))
            self._written = {}
        versions = inputs_versions(self.store, day)
        snapshot = self.store.read_snapshot() or {}
        blocks = {b["id"]: b for b in snapshot.get("queues", [])}
        queues = self._queue_ids(day)
        patience = [self._patience(blocks.get(q), q) for q in queues]
        iv_start = tb.interval_start_ms(now_ms)
        key = (day, iv_start, json.dumps(versions, sort_keys=True), tuple(queues), tuple(patience))
        last = self._last
        full = last is None or last.key != key or now_ms - last.computed_ms >= self.full_every_ms
        if full:
            self._last = last = self._compute(now_ms, day, versions, queues, patience, key)
        elif self._day.accuracy is None:
            self._day.accuracy = self._past_accuracy(day, queues)  # deferred to a light run
        view = self._live(last, blocks, now_ms)
        self._write(view, last, full)
        self.last_timings_ms["run"] = (time.perf_counter() - t0) * 1000
        self.last_timings_ms["full"] = float(full)
        return view

    # -------------------------------------------------------------------------- inputs
    def _queue_ids(self, day: str) -> list[str]:
        configured = list(self.settings.queues.queues)
        seen = set(self.store.queue_ids()) | set(self.store.r.hkeys(self.store.keys.forecast_day(day)))
        return configured + sorted(seen - set(configured))

    def _patience(self, block: Mapping[str, Any] | None, queue: str) -> float:
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

    def _agents_for(self, day: str, versions: Mapping[str, Any], queues: Sequence[str], iv_start: int,
                    now_ms: int) -> _Agents:
        key = (day, tuple(versions["schedule"]), versions["roster"], tuple(queues), iv_start)
        if self._agents is not None and self._agents[0] == key:
            return self._agents[1]
        yday = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
        today = self._schedule(day, versions["schedule"][0])
        yesterday = self._schedule(yday, versions["schedule"][1])
        roster = self._roster_of(versions["roster"])
        d = self._day
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

    def _forecast(self, day: str, queues: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
        """(Q, I_day) forecast calls and AHT, each queue's source, and the baseline's details."""
        d = self._day
        assert d is not None
        key = (day, self._forecast_version, tuple(queues))
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
        d = self._day
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
        assert self.history is not None and self._day is not None
        tb = self.store.timebase
        d0 = date.fromisoformat(day)
        days = [(d0 - timedelta(weeks=w)).isoformat() for w in range(1, self.cfg.baseline_weeks + 1)]
        archived = self.history.queue_days(days)
        minute = {_minute(tb, int(s)): i for i, s in enumerate(self._day.starts)}
        n_iv = self._day.starts.size
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

    def _actuals(self, queues: Sequence[str], upto: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Q, I_day) offered calls, AHT and handled calls of the intervals up to ``upto`` (the
        running one so far). Settled intervals are read once; the last ``SETTLE_INTERVALS``
        closed ones and the running one are read again at every full run."""
        d = self._day
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

    def _overlays(self, day: str, queues: Sequence[str]) -> tuple[list[Overlay], list[dict[str, Any]]]:
        d = self._day
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

        d = self._day
        assert d is not None
        tb, iv_s = self.store.timebase, float(self.settings.interval_s)
        iv_start = tb.interval_start_ms(now_ms)
        now_iv = int(np.searchsorted(d.starts, iv_start))
        cfgs = [self.store.queue_config(q) for q in queues]
        self._forecast_version = versions["forecast"]
        f_calls, f_aht, sources, base_info = self._forecast(day, queues)
        a_calls, a_aht, handled = self._actuals(queues, now_iv)
        overlays, overlay_rows = self._overlays(day, queues)
        agents_in = self._agents_for(day, versions, queues, iv_start, now_ms)
        lap("inputs")
        params = ReforecastParams(self.cfg.half_life_intervals, self.cfg.min_closed, self.cfg.volume_cap, self.cfg.aht_cap)
        rf = reforecast(f_calls, f_aht, np.where(np.arange(d.starts.size) < now_iv, a_calls, np.nan), a_aht, now_iv,
                        params=params, overlays=overlays, handled_calls=handled)
        lap("reforecast")
        calls, aht = rf.calls[:, now_iv:], rf.aht_s[:, now_iv:]
        rest = d.starts[now_iv:]
        pins = self._pins(day, agents_in, queues, rest)
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
        actions, problem = self._rank(now_ms, rest, queues, calls, aht, sched, plan.required, load, pins, agents_in, qcfg)
        lap("actions")
        records = [self._record(a, agents_in, queues, rest, versions, iv_start, now_ms) for a in actions]
        records = [r for r in records if r is not None]
        view, queue_json = self._views(now_ms, day, now_iv, queues, cfgs, patience, sources, base_info, f_calls, f_aht,
                                       rf, a_calls, a_aht, sched, plan, overlay_rows)
        view.update(computed_ms=now_ms, inputs=versions, interval_start_ms=iv_start, actions_problem=problem,
                    actions=[{k: v for k, v in r.items() if k not in ("edits", "plan")} for r in records],
                    pins=len(list_pins(self.store, day)), agents=len(agents_in.ids), agents_without_skill=agents_in.no_skill)
        lap("view")
        view["timings_ms"] = timings
        self.last_timings_ms.update(timings)
        actions_json = {r["id"]: dumps(r) for r in records}
        return _Result(key, now_ms, view, queue_json, actions_json)

    def _pins(self, day: str, agents: _Agents, queues: Sequence[str], rest: np.ndarray) -> np.ndarray:
        pinned = np.full((len(agents.ids), rest.size), -1, dtype=np.int32)
        index, qindex = {a: i for i, a in enumerate(agents.ids)}, {q: i for i, q in enumerate(queues)}
        for p in list_pins(self.store, day):
            a, q = index.get(p["agent"]), qindex.get(p["queue"])
            if a is None or q is None or not agents.skills[a, q]:
                log.info("pin %s ignored: agent or skill no longer in the roster", p.get("id"))
                continue
            pinned[a, (rest >= p["start_ms"]) & (rest < p["end_ms"])] = q
        return pinned

    def _rank(self, now_ms: int, rest: np.ndarray, queues: Sequence[str], calls: np.ndarray, aht: np.ndarray,
              sched: np.ndarray, required: np.ndarray, load: np.ndarray, pins: np.ndarray, agents: _Agents,
              qcfg: Mapping[str, Any]) -> tuple[list[Action], str | None]:
        """The ranked actions over the rest of the day (interval 0 = the running one)."""
        if not rest.size or not agents.ids:
            return [], None
        iv_ms = self.store.timebase.interval_ms
        known = np.isfinite(calls) & ((calls == 0) | (np.isfinite(aht) & (aht > 0)))
        on_phone, acts = _ranking_phone(agents, rest, iv_ms)
        first = int(rest[0])

        def iv(ms: np.ndarray) -> np.ndarray:
            return np.floor_divide(np.asarray(ms, dtype=np.int64) - first, iv_ms)

        def iv_up(ms: np.ndarray) -> np.ndarray:
            return -np.floor_divide(first - np.asarray(ms, dtype=np.int64), iv_ms)

        try:
            inputs = make_plan_inputs(
                list(queues), rest, iv_ms / 1000, np.where(known, calls, 0.0), np.where(known & (aht > 0), aht, 1.0),
                agent_ids=agents.ids, agent_names=agents.names, skills=agents.skills, on_phone=on_phone,
                shift_start_iv=iv(agents.shift_start_ms), shift_end_iv=iv_up(agents.shift_end_ms), now_iv=0,
                agents=sched, required=np.where(known, required, np.nan), split_weight=load, pinned=pins,
                overtime_before_min=self.cfg.overtime_before_min, overtime_after_min=self.cfg.overtime_after_min,
                vto_allowed=self.cfg.vto, activities=acts, **qcfg)
            return rank_actions(inputs, self.options, limit=TOP_ACTIONS, per_kind=PER_KIND, tz=self.settings.tz), None
        except ValueError as exc:  # inconsistent stored data: the plan is still shown, without actions
            log.error("intraday actions not ranked: %s", exc)
            return [], str(exc)

    # -------------------------------------------------------------------------- records
    def _record(self, action: Action, agents: _Agents, queues: Sequence[str], rest: np.ndarray,
                versions: Mapping[str, Any], iv_start: int, now_ms: int) -> dict[str, Any] | None:
        try:
            edits, pins = _edits(action, agents, queues, int(rest[0]), rest.size, self.store.timebase.interval_ms)
        except ValueError as exc:  # the schedule does not hold what the action was built on
            log.warning("action dropped (%s): %s", exc, action.text)
            return None
        tb = self.store.timebase
        effects = [{"queue": e.queue, "start_ms": e.start_ms, "label": tb.local_label(e.start_ms), "calls": _r(e.calls, 2),
                    "agents_before": _r(e.agents_before), "agents_after": _r(e.agents_after),
                    "sl_before": _r(e.sl_before, 4), "sl_after": _r(e.sl_after, 4)} for e in action.effects]
        ident = hashlib.sha1(json.dumps([action.kind, list(action.agents), action.to_queue, action.start_ms,
                                         action.end_ms, edits, pins], sort_keys=True).encode()).hexdigest()[:12]
        return {
            "id": ident, "kind": action.kind, "text": action.text, "score": _r(action.score, 3),
            "paid_hours": _r(action.paid_hours, 3), "agents": list(action.agents),
            "alternatives": list(action.alternatives), "from_queue": action.from_queue, "to_queue": action.to_queue,
            "start_ms": action.start_ms, "end_ms": action.end_ms, "effects": effects,
            "queues": sorted({e.queue for e in action.effects}), "edits": edits, "pins": pins,
            "plan": {"inputs": dict(versions), "interval_start_ms": iv_start, "computed_ms": now_ms},
        }

    # -------------------------------------------------------------------------- the view
    def _views(self, now_ms: int, day: str, now_iv: int, queues: Sequence[str], cfgs: Sequence[Any],
               patience: Sequence[float], sources: Sequence[str], base_info: Mapping[str, Any], f_calls: np.ndarray,
               f_aht: np.ndarray, rf: Reforecast, a_calls: np.ndarray, a_aht: np.ndarray, sched: np.ndarray, plan: Any,
               overlay_rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
        """Each queue's day (rows trimmed to where something happens) and the summary view: risk
        over the next two hours, the plan now. Columns are built for every queue at once."""
        d = self._day
        assert d is not None
        tb = self.store.timebase
        n_iv, n_q = d.starts.size, len(queues)
        labels = [tb.local_label(int(s)) for s in d.starts]
        closed = np.arange(n_iv) < now_iv

        def full(rest: np.ndarray, fill: float = np.nan) -> np.ndarray:
            return np.hstack([np.full((n_q, now_iv), fill), rest])

        # A cell without calls has no service level to speak of (the model says 1): shown as none.
        sl = np.where(np.nan_to_num(rf.calls) > 0, full(plan.service_level), np.nan)
        table = {
            "forecast": _col2(f_calls, 2), "forecast_aht": _col2(f_aht, 1), "reforecast": _col2(rf.calls, 2),
            "reforecast_aht": _col2(rf.aht_s, 1), "overlay": _col2(rf.volume_overlay, 3),
            "actual": _col2(np.where(closed, a_calls, np.nan), 0), "actual_aht": _col2(np.where(closed, a_aht, np.nan), 1),
            "required": _col2(full(plan.required), 2), "scheduled": _col2(full(sched), 2), "gap": _col2(full(plan.gap), 2),
            "projected_sl": _col2(sl, 4),
        }
        numbers = np.stack([f_calls, f_aht, rf.calls, rf.aht_s, rf.volume_overlay, a_calls, a_aht, full(plan.required),
                            full(sched), full(plan.gap), sl], axis=1)  # (Q, columns, I): what the JSON holds
        interesting = (np.nan_to_num(f_calls) > 0) | (np.nan_to_num(a_calls) > 0) | (full(sched, 0.0) > 0)
        acc = accuracy(f_calls, a_calls, np.broadcast_to(closed, f_calls.shape))
        win = slice(now_iv, min(now_iv + max(1, RISK_WINDOW_MS // tb.interval_ms), n_iv))
        target = np.array([c.sl_target for c in cfgs])[:, None]
        miss = np.nan_to_num(rf.calls[:, win]) * np.maximum(target - np.nan_to_num(sl[:, win], nan=1.0), 0.0)
        risk = miss.sum(axis=1)
        nxt = {"sl": _col2(sl[:, win], 4), "calls": _col2(rf.calls[:, win], 1), "gap": _col2(full(plan.gap)[:, win], 2)}
        now_cols = {"required": _col2(full(plan.required)[:, now_iv:now_iv + 1], 2),
                    "scheduled": _col2(full(sched)[:, now_iv:now_iv + 1], 2), "projected_sl": _col2(sl[:, now_iv:now_iv + 1], 4)}
        starts = d.starts.tolist()
        summaries, queue_json = [], {}
        past = d.accuracy or {}
        for q, queue in enumerate(queues):
            cfg = cfgs[q]
            idx = np.flatnonzero(interesting[q])
            lo = int(min(idx[0], now_iv)) if idx.size else now_iv
            hi = int(max(idx[-1] + 1, min(now_iv + 1, n_iv))) if idx.size else min(now_iv + 1, n_iv)
            cols = {"start_ms": starts[lo:hi], "label": labels[lo:hi]}
            cols.update({name: values[q, lo:hi].tolist() for name, values in table.items()})
            explain = self._explain(rf, q, queue, sources[q], base_info, overlay_rows, labels)
            body = {
                "queue": queue, "name": cfg.label, "day": day, "source": sources[q],
                "config": {"sl_threshold_s": cfg.sl_threshold_s, "sl_target": cfg.sl_target, "model": cfg.model,
                           "sl_formula": cfg.sl_formula, "short_abandon_s": cfg.short_abandon_s,
                           "patience_s": None if not math.isfinite(patience[q]) else patience[q]},
                "now_index": now_iv - lo, "rest_from": now_iv - lo, "columns": cols, "explain": explain,
                "accuracy": {"today": {"wape": _r(acc.wape[q], 4), "bias": _r(acc.bias[q], 3), "n": int(acc.n[q])},
                             "days": past.get(queue, [])},
            }
            # Most queues' days do not change when one queue's inputs do: their JSON (the costly
            # part: ~10^5 numbers at 500 queues) is reused when the numbers are the same.
            rows = np.ascontiguousarray(numbers[q, :, lo:hi])
            scalars = {k: v for k, v in body.items() if k != "columns"}
            mark = hashlib.blake2b(rows.tobytes() + repr((lo, hi, scalars)).encode(), digest_size=16).digest()
            cached = self._queue_json.get(queue)
            if cached is None or cached[0] != mark:
                cached = self._queue_json[queue] = (mark, dumps(body))
            queue_json[queue] = cached[1]
            sl_n, calls_n, gap_n = (nxt[k][q].tolist() for k in ("sl", "calls", "gap"))
            summaries.append({
                "id": queue, "name": cfg.label, "source": sources[q], "target": cfg.sl_target,
                "risk": _r(risk[q], 2), "calls_next": _r(np.nansum(rf.calls[q, win]), 1),
                "next": [{"start_ms": starts[i], "label": labels[i], "sl": sl_n[j], "calls": calls_n[j], "gap": gap_n[j]}
                         for j, i in enumerate(range(win.start, win.stop))],
                "now": {"required": now_cols["required"][q, 0], "scheduled": now_cols["scheduled"][q, 0],
                        "projected_sl": now_cols["projected_sl"][q, 0],
                        "volume_ratio": explain["volume"]["ratio"], "aht_ratio": explain["aht"]["ratio"]},
            })
        summaries.sort(key=lambda s: (-(s["risk"] or 0.0), s["id"]))
        view = {"day": day, "interval_min": self.settings.interval_min, "timezone": self.settings.timezone,
                "queues": summaries, "sources": dict(zip(queues, sources, strict=True))}
        return view, queue_json

    @staticmethod
    def _explain(rf: Reforecast, q: int, queue: str, source: str, base_info: Mapping[str, Any],
                 overlay_rows: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
        """The reforecast's own explanation, with the forecast's source, the overlays as stored
        and each interval's weight keyed by its local time."""
        explain = rf.explain(q)
        explain["source"] = source
        if source == "baseline":
            got = base_info["queues"][queue]
            explain["baseline"] = {"method": "baseline_median_same_weekday", "days": base_info["days"],
                                   "days_known": got["n_days"], "min_days": base_info["min_days"]}
        explain["overlays"] = [o for o in overlay_rows if o["queue"] == queue]
        # Each used interval's weight is 2^(-age / half-life): the first and the last are kept
        # (the full list costs more to store every run than it tells).
        for part in ("volume", "aht"):
            w = explain[part]["weights"]
            used = sorted(w)
            explain[part]["weights"] = {labels[i]: w[i] for i in (used[:1] + used[-1:])} if used else {}
        return explain

    def _live(self, last: _Result, blocks: Mapping[str, Mapping[str, Any]], now_ms: int) -> dict[str, Any]:
        """The view with what changes every tick: agents present and adhering now, per queue."""
        adherence = read_adherence_view(self.store) or {}
        out_present: dict[str, int] = {}
        out_any: dict[str, int] = {}
        for e in adherence.get("exceptions", []):
            for q in e.get("queues", []):
                out_any[q] = out_any.get(q, 0) + 1
                if e.get("actual_state") in ("available", "on_call", "acw"):
                    out_present[q] = out_present.get(q, 0) + 1
        queues = []
        for s in last.view["queues"]:
            agents = ((blocks.get(s["id"]) or {}).get("now") or {}).get("agents") or {}
            present = agents.get("available", 0) + agents.get("on_call", 0) + agents.get("acw", 0)
            live = {"present": present, "logged_in": agents.get("logged_in", 0),
                    "out_of_adherence": out_any.get(s["id"], 0),
                    "adhering": max(0, present - out_present.get(s["id"], 0))}
            queues.append({**s, "now": {**s["now"], **live}})
        return {**last.view, "queues": queues, "generated_ms": now_ms,
                "adherence_generated_ms": adherence.get("generated_ms")}

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

    # -------------------------------------------------------------------------- past accuracy
    def _past_accuracy(self, day: str, queues: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
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
                out.setdefault(queue, []).append({"day": past, "wape": _r(acc.total_wape, 4),
                                                  "bias": _r(acc.total_bias, 3), "n": acc.total_n})
        return out


def _minute(tb: Any, ts_ms: int) -> int:
    """Local minute of the day (what maps an interval of one day onto another's)."""
    hh, mm = tb.local_label(ts_ms).split(":")
    return int(hh) * 60 + int(mm)


def _ranking_phone(agents: _Agents, rest: np.ndarray, iv_ms: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Phone time and activities on the ranking's interval grid.

    An activity is whole intervals there: one that does not start and end on interval boundaries
    is spread evenly over the intervals it touches (``share`` = its length ÷ theirs), and the
    agent's phone time there is lowered to ``1 - share`` where it was more, so the two add up
    to at most one interval. The plan itself keeps the exact phone time.
    """
    first = int(rest[0])
    offset = (first - agents.first_ms) // iv_ms
    x = np.array(agents.phone_day[:, offset:offset + rest.size])
    n = len(agents.activities)
    a = np.fromiter((i for i, _ in agents.activities), dtype=np.int64, count=n)
    s0 = np.fromiter((seg.start_ms for _, seg in agents.activities), dtype=np.int64, count=n)
    s1 = np.fromiter((seg.end_ms for _, seg in agents.activities), dtype=np.int64, count=n)
    names = [seg.activity for _, seg in agents.activities]
    s, e = (s0 - first) // iv_ms, -((first - s1) // iv_ms)
    share = np.minimum(1.0, (s1 - s0) / ((e - s) * iv_ms)) if n else np.zeros(0)
    lo, hi = np.clip(s, 0, rest.size), np.clip(e, 0, rest.size)
    own = np.repeat(np.arange(n), hi - lo)
    col = lo[own] + np.arange(own.size) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
    np.minimum.at(x, (a[own], col), 1.0 - share[own])
    # A meeting or training several agents share at the same time is one: it moves as a whole.
    group = np.full(n, -1, dtype=np.int64)
    seen: dict[tuple[str, int, int], list[int]] = {}
    for i, name in enumerate(names):
        if name in POSTPONABLE:
            seen.setdefault((name, int(s0[i]), int(s1[i])), []).append(i)
    for g, members in enumerate(m for m in seen.values() if len(m) > 1):
        group[members] = g
    acts = {"agent": a, "activity": names, "start_iv": s, "end_iv": e, "share": share, "group": group}
    return np.clip(x, 0.0, 1.0), acts


def _edits(action: Action, agents: _Agents, queues: Sequence[str], first_ms: int, n_iv: int, iv_ms: int
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The exact schedule edit of an action: per agent, the day's segments before and after
    (a moved break keeps its minutes: it moves by whole intervals); and the pins of a move."""
    index = agents.index()
    lists: dict[int, list[Segment]] = {}

    def current(a: int) -> list[Segment]:
        return lists.setdefault(a, list(agents.day_segments[a]))

    if action.kind in ("move_break", "postpone"):
        by_slot = agents.slots(first_ms, iv_ms)
        shift = (action.segments_after[0].start_ms - action.segments_before[0].start_ms
                 if action.segments_after else None)
        for b in action.segments_before:
            a = index[b.agent]
            seg = by_slot.get((b.agent, b.activity, (b.start_ms - first_ms) // iv_ms))
            if seg is None:
                raise ValueError(f"no {b.activity} of {b.agent} at that time")
            lists[a] = move_activity(current(a), seg, None if shift is None else seg.start_ms + shift, PHONE)
    elif action.kind == "overtime":
        for seg in action.segments_after:
            a = index[seg.agent]
            s0, s1 = int(agents.shift_start_ms[a]), int(agents.shift_end_ms[a])
            # Right after (before) the shift, from its exact end (to its exact start).
            start, end = (min(seg.start_ms, s1), seg.end_ms) if seg.start_ms >= s0 else (seg.start_ms, max(seg.end_ms, s0))
            lists[a] = put(current(a), Segment(seg.agent, PHONE, start, end))
    elif action.kind == "vto":
        for seg in action.segments_before:
            a = index[seg.agent]
            lo, hi = max(seg.start_ms, int(agents.shift_start_ms[a])), min(seg.end_ms, int(agents.shift_end_ms[a]))
            lists[a] = replace_range(current(a), lo, hi, OFF)
    edits = []
    for a, segs in sorted(lists.items()):
        before = [[s.activity, s.start_ms, s.end_ms] for s in agents.day_segments[a]]
        after = [[s.activity, s.start_ms, s.end_ms] for s in normalized(segs)]
        if before != after:
            edits.append({"agent": agents.ids[a], "day": agents.shift_day[a], "before": before, "after": after})
    if action.kind != "move" and not edits:
        raise ValueError("the action changes nobody's schedule")
    return edits, _move_pins(action, agents, queues, first_ms, n_iv, iv_ms)


def _move_pins(action: Action, agents: _Agents, queues: Sequence[str], first_ms: int, n_iv: int, iv_ms: int
               ) -> list[dict[str, Any]]:
    """The pins of a move (its ``pinned`` change), as runs of (agent, queue, [start, end))."""
    ch = next((c for c in action.changes if c.field == "pinned"), None)
    if ch is None:
        return []
    cells = sorted((int(f) // n_iv, int(q), int(f) % n_iv) for f, q in zip(ch.index.tolist(), ch.after.tolist(), strict=True))
    pins: list[dict[str, Any]] = []
    for a, q, i in cells:
        last = pins[-1] if pins else None
        if last and last["_a"] == a and last["_q"] == q and last["_e"] == i:
            last["_e"] = i + 1
        else:
            pins.append({"_a": a, "_q": q, "_s": i, "_e": i + 1})
    return [{"agent": agents.ids[p["_a"]], "queue": queues[p["_q"]], "start_ms": first_ms + p["_s"] * iv_ms,
             "end_ms": first_ms + p["_e"] * iv_ms} for p in pins]
