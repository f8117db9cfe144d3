"""Today's scheduled agents as arrays, for the live plan (:mod:`realtime.intraday`).

From the schedules of today and yesterday (midnight-crossing shifts) and the roster's skills:
each agent's phone time per interval, the shift that matters for the rest of today, and its
off-phone activities not over yet (breaks, meetings: what the ranked actions move). Then the
scheduled matrix per queue: phone time split over skills by the load, or on the queue an agent
is pinned to. Pure, apart from :func:`phone_activities` reading the settings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from staffing.plan import allocate_to_queues, phone_fractions
from staffing.schedule import Segment

if TYPE_CHECKING:
    from realtime.store import Store

PHONE = "open"  # the activity an action writes for phone time (overtime; a moved break's old place)
OFF = "off"
PHONE_ACTIVITIES = frozenset({"open", "phone"})  # plus [adherence.activities.X] phone = true


def phone_activities(store: Store) -> frozenset[str]:
    """Activities that count as phone time: open, phone and those configured with phone = true."""
    extra = {name for name, a in store.settings.queues.adherence.activities.items() if a.get("phone") is True}
    off = {name for name, a in store.settings.queues.adherence.activities.items() if a.get("phone") is False}
    return frozenset((PHONE_ACTIVITIES | extra) - off)


# ------------------------------------------------------------------------------ agents
@dataclass
class ScheduledAgents:
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
                 phone: frozenset[str], yesterday_day: str, flat: FlatSchedules | None = None) -> ScheduledAgents:
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
    return ScheduledAgents(ids, names, skills, frac, shift_day, r_start[run_arr] if runs else np.zeros(0, np.int64),
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
