"""Schedule adherence and conformance: what an agent was scheduled to do vs what they did.

Pure: numpy in, numpy out; no I/O, no clock, no settings. Times are epoch milliseconds, end
exclusive. The definitions (docs/adherence.md):

- An agent *adheres* at an instant when their actual state is one the scheduled activity
  accepts (:class:`ActivityRule`: ``states``, and ``aux_reasons`` for ``aux``). Time outside every
  scheduled segment is not evaluated. An agent with no state known counts as ``logged_out``.
- **Call may finish** (``AdherenceRules.call_may_finish``): an agent ``on_call`` or in ``acw``
  whose call began before a non-phone activity started adheres until that call and its ACW end.
- An *episode* is a maximal unbroken run of out-of-adherence time (it may span several actual
  states and adjacent segments). Its grace ``g`` is:

  * at a schedule boundary (the episode starts exactly where a segment starts, or where a call
    allowed to finish ended): ``min(grace(previous activity), grace(activity))``, or the
    activity's own grace when no segment ends there (a shift start);
  * otherwise the grace of the activity scheduled when the episode starts.

- An episode is an *exception* once it has lasted longer than ``g``; severity is ``warning``
  until ``g + critical_after_s``, then ``critical``.
- Over a day up to ``t``::

      scheduled_s          = Σ scheduled seconds
      out_beyond_grace_s   = Σ over episodes of the seconds after (episode start + g)
      adherence            = 1 − out_beyond_grace_s ÷ scheduled_s
      scheduled_on_queue_s = Σ scheduled seconds of ``phone`` activities
      worked_on_queue_s    = Σ seconds in available, on_call or acw (scheduled or not)
      conformance          = worked_on_queue_s ÷ scheduled_on_queue_s   (may exceed 1)

  Each ratio is NaN when its denominator is 0. Teams sum seconds, then divide
  (:func:`team_totals`): never a mean of percentages.
- *Impact* (:func:`impact`), from the worst deficit ``d`` (required − staffed agents, ≥ 0)
  among the agent's queues: not working during scheduled phone time hurts (score ``d``, ×
  ``UNSCHEDULED_AUX_WEIGHT`` for an unscheduled ``aux``); working during a scheduled non-phone
  activity helps (score ``−d``); anything else, or ``d = 0``, is neutral (score 0).

The day is folded incrementally, so that a tick only touches agents whose state changed:
:class:`FoldState` holds each agent's totals up to their last state change ``c_ms`` plus the
episode running there; :func:`apply_changes` folds new state changes in;
:func:`evaluate` adds the running state's time from ``c_ms`` to ``t`` (without committing it)
and gives the live status. Both are vectorised over agents: every (constant-state interval ×
scheduled segment) intersection is one *piece*, and episodes are runs of consecutive
out-of-adherence pieces, found with cumulative operations instead of a loop per agent.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from staffing.schedule import Segment

STATES = ("logged_out", "available", "on_call", "acw", "aux")
LOGGED_OUT, AVAILABLE, ON_CALL, ACW, AUX = range(len(STATES))
_STATE_CODE = {s: i for i, s in enumerate(STATES)}
# Time in these states is on-queue work (conformance's numerator).
WORKING_STATES = ("available", "on_call", "acw")
ANY_REASON = "*"
# call_ms of an agent with no call in progress: later than any segment start, so never "began before".
NO_CALL = np.iinfo(np.int64).max
SEVERITIES = (None, "warning", "critical")
IMPACTS = ("neutral", "hurts", "helps")
# An agent in an aux nobody scheduled, while a queue is short, has chosen not to take calls they
# could take at once: ranked above a late log-in with the same deficit.
UNSCHEDULED_AUX_WEIGHT = 2.0

# Keys for the per-agent segment search: owner * _SPAN + (time − base). 2**43 ms is ~278 years,
# and owners stay below 2**20, so the key never overflows int64.
_SPAN = 2**43
_HALF = 2**42
_MAX_OWNERS = 2**20


@dataclass(frozen=True, slots=True)
class ActivityRule:
    """One scheduled activity: which live states adhere to it, its grace, whether it is phone time.

    ``states`` are non-aux states (``logged_out``, ``available``, ``on_call``, ``acw``);
    ``aux_reasons`` are the aux reasons that adhere (``"*"``: any aux reason).
    """

    name: str
    states: tuple[str, ...] = ()
    aux_reasons: tuple[str, ...] = ()
    grace_s: float = 300.0
    phone: bool = False


DEFAULT_ACTIVITY_RULES: tuple[ActivityRule, ...] = (
    ActivityRule("open", WORKING_STATES, (), 300.0, True),
    ActivityRule("phone", WORKING_STATES, (), 300.0, True),
    ActivityRule("break", ("logged_out",), ("break",), 180.0),
    ActivityRule("lunch", ("logged_out",), ("lunch",), 180.0),
    ActivityRule("meeting", (), ("meeting",), 300.0),
    ActivityRule("training", (), ("training",), 300.0),
    ActivityRule("off", ("logged_out",), (), 300.0),
)


@dataclass(frozen=True, slots=True)
class _Tables:
    index: dict[str, int]
    grace_ms: np.ndarray  # int64 [activities]
    phone: np.ndarray  # bool [activities]
    state_ok: np.ndarray  # bool [activities, states]
    reasons: dict[str, int]  # aux reason → code ≥ 1; 0 is every other reason
    aux_ok: np.ndarray  # bool [activities, reasons + 1]


@dataclass(frozen=True)
class AdherenceRules:
    """The state mapping, grace periods and severity tiers (defaults: docs/adherence.md)."""

    activities: tuple[ActivityRule, ...] = DEFAULT_ACTIVITY_RULES
    call_may_finish: bool = True
    critical_after_s: float = 600.0

    def __post_init__(self) -> None:
        names = [a.name for a in self.activities]
        if len(set(names)) != len(names):
            raise ValueError(f"activity names must be unique, got {names}")
        for a in self.activities:
            bad = [s for s in a.states if s not in _STATE_CODE or s == "aux"]
            if bad:
                raise ValueError(f"activity {a.name!r}: states {bad} are not among {STATES[:-1]} "
                                 "(aux adheres through aux_reasons)")
            if not (np.isfinite(a.grace_s) and a.grace_s >= 0):
                raise ValueError(f"activity {a.name!r}: grace_s must be a non-negative number")
        if not (np.isfinite(self.critical_after_s) and self.critical_after_s >= 0):
            raise ValueError("critical_after_s must be a non-negative number")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.activities)

    def with_overrides(self, activities: Mapping[str, Mapping[str, Any]] | None = None,
                       **settings: Any) -> AdherenceRules:
        """These rules with some activities changed or added, field by field.

        ``activities`` maps a name to the fields it sets (``states``, ``aux_reasons``,
        ``grace_s``, ``phone``); a new name starts from :class:`ActivityRule`'s defaults.
        ``settings`` sets ``call_may_finish`` / ``critical_after_s``.
        """
        table = {a.name: a for a in self.activities}
        for name, values in (activities or {}).items():
            table[name] = replace(table.get(name, ActivityRule(name)), **dict(values))
        return replace(self, activities=tuple(table.values()), **settings)

    @functools.cached_property
    def tables(self) -> _Tables:
        """The rules as lookup arrays (built once per rules object)."""
        acts = self.activities
        reasons: dict[str, int] = {}
        for a in acts:
            for r in a.aux_reasons:
                if r != ANY_REASON:
                    reasons.setdefault(r, len(reasons) + 1)
        state_ok = np.zeros((len(acts), len(STATES)), bool)
        aux_ok = np.zeros((len(acts), len(reasons) + 1), bool)
        for i, a in enumerate(acts):
            state_ok[i, [_STATE_CODE[s] for s in a.states]] = True
            if ANY_REASON in a.aux_reasons:
                aux_ok[i, :] = True
            else:
                aux_ok[i, [reasons[r] for r in a.aux_reasons]] = True
        return _Tables(
            index={a.name: i for i, a in enumerate(acts)},
            grace_ms=np.array([round(a.grace_s * 1000) for a in acts], np.int64),
            phone=np.array([a.phone for a in acts], bool),
            state_ok=state_ok,
            reasons=reasons,
            aux_ok=aux_ok,
        )

    def state_code(self, state: str | None) -> int:
        """0-4 in :data:`STATES` order; no state (never seen) is ``logged_out``."""
        return _STATE_CODE.get(state or "logged_out", LOGGED_OUT)

    def reason_code(self, reason: str | None) -> int:
        return self.tables.reasons.get(reason or "", 0)


# ----------------------------------------------------------------------------- schedules
@dataclass(frozen=True, slots=True)
class ScheduleArrays:
    """Every agent's segments in one flat, sorted array (agent ``i`` owns ``off[i]:off[i+1]``).

    Segments of activities the rules do not know are left out (that time is not evaluated);
    overlapping segments of one agent are cut so that the later one wins from its start.
    """

    off: np.ndarray  # int64 [agents + 1]
    owner: np.ndarray  # int64 [segments]
    start_ms: np.ndarray
    end_ms: np.ndarray
    act: np.ndarray  # activity index in the rules
    grace_ms: np.ndarray  # grace of an episode starting inside the segment
    bgrace_ms: np.ndarray  # grace of an episode starting at the segment's start (a boundary)
    phone: np.ndarray  # bool
    base_ms: int
    key_start: np.ndarray
    key_end: np.ndarray

    @property
    def n_agents(self) -> int:
        return len(self.off) - 1

    def key(self, owner: np.ndarray, t_ms: np.ndarray) -> np.ndarray:
        rel = np.clip(np.asarray(t_ms, np.int64) - self.base_ms, 0, _SPAN - 1)
        return np.asarray(owner, np.int64) * _SPAN + rel

    def at(self, t_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """Per agent: the segment running at ``t_ms`` and the next one to start (−1: none)."""
        owners = np.arange(self.n_agents, dtype=np.int64)
        if len(self.start_ms) == 0:
            return np.full(self.n_agents, -1), np.full(self.n_agents, -1)
        nxt = np.searchsorted(self.key_start, self.key(owners, np.full(self.n_agents, t_ms)), side="right")
        cur = nxt - 1
        ok_cur = (cur >= self.off[:-1]) & (self.end_ms[np.clip(cur, 0, None)] > t_ms)
        ok_nxt = nxt < self.off[1:]
        return np.where(ok_cur, cur, -1), np.where(ok_nxt, nxt, -1)


def schedule_arrays(rules: AdherenceRules, per_agent: Sequence[Sequence[Segment]]) -> ScheduleArrays:
    """Flatten each agent's segments (agent ``i`` = ``per_agent[i]``) for the vectorised fold."""
    if len(per_agent) >= _MAX_OWNERS:
        raise ValueError(f"at most {_MAX_OWNERS - 1} agents")
    tb = rules.tables
    off, owner, start, end, act = [0], [], [], [], []
    for i, segs in enumerate(per_agent):
        known = sorted((s for s in segs if s.activity in tb.index and s.end_ms > s.start_ms),
                       key=lambda s: (s.start_ms, s.end_ms))
        for j, s in enumerate(known):
            stop = min(s.end_ms, known[j + 1].start_ms) if j + 1 < len(known) else s.end_ms
            if stop > s.start_ms:
                owner.append(i)
                start.append(s.start_ms)
                end.append(stop)
                act.append(tb.index[s.activity])
        off.append(len(owner))
    a = np.array(act, np.int64)
    st = np.array(start, np.int64)
    en = np.array(end, np.int64)
    ow = np.array(owner, np.int64)
    grace = tb.grace_ms[a] if len(a) else np.zeros(0, np.int64)
    # A boundary between two adjacent segments takes the smaller grace of the two activities.
    adjacent = np.zeros(len(a), bool)
    if len(a) > 1:
        adjacent[1:] = (ow[1:] == ow[:-1]) & (st[1:] == en[:-1])
    prev_grace = np.concatenate([[0], grace[:-1]]) if len(a) else grace
    bgrace = np.where(adjacent, np.minimum(prev_grace, grace), grace)
    base = int(st.min()) - _HALF if len(st) else 0
    arrays = ScheduleArrays(
        off=np.array(off, np.int64), owner=ow, start_ms=st, end_ms=en, act=a, grace_ms=grace,
        bgrace_ms=bgrace, phone=tb.phone[a] if len(a) else np.zeros(0, bool), base_ms=base,
        key_start=np.zeros(0, np.int64), key_end=np.zeros(0, np.int64),
    )
    return replace(arrays, key_start=arrays.key(ow, st), key_end=arrays.key(ow, en))


# ----------------------------------------------------------------------------- the fold
_ARRAY_FIELDS = ("c_ms", "st", "rs", "call_ms", "ep_on", "ep_ms", "ep_grace_ms", "allow_ms",
                 "sched_ms", "out_ms", "phone_ms", "worked_ms")


@dataclass(slots=True)
class FoldState:
    """Per agent, the day folded up to ``c_ms`` (their last state change read).

    ``st``/``rs``/``call_ms``: the state from ``c_ms`` on (state code, aux reason code, start of
    the call in progress or :data:`NO_CALL`). ``ep_*``: the out-of-adherence episode running at
    ``c_ms``, if any. ``allow_ms``: start of the segment in which a call was being allowed to
    finish at ``c_ms`` (−1: none). Totals in ms, counted from the caller's ``count_from_ms``.
    """

    c_ms: np.ndarray
    st: np.ndarray
    rs: np.ndarray
    call_ms: np.ndarray
    ep_on: np.ndarray
    ep_ms: np.ndarray
    ep_grace_ms: np.ndarray
    allow_ms: np.ndarray
    sched_ms: np.ndarray
    out_ms: np.ndarray
    phone_ms: np.ndarray
    worked_ms: np.ndarray

    @classmethod
    def start(cls, from_ms: np.ndarray, st: np.ndarray, rs: np.ndarray, call_ms: np.ndarray) -> FoldState:
        """Nothing folded yet: each agent in state ``st`` from ``from_ms``, no episode running."""
        n = len(from_ms)
        zeros = np.zeros(n, np.int64)
        return cls(
            c_ms=np.asarray(from_ms, np.int64).copy(), st=np.asarray(st, np.int64).copy(),
            rs=np.asarray(rs, np.int64).copy(), call_ms=np.asarray(call_ms, np.int64).copy(),
            ep_on=np.zeros(n, bool), ep_ms=zeros.copy(), ep_grace_ms=zeros.copy(),
            allow_ms=np.full(n, -1, np.int64), sched_ms=zeros.copy(), out_ms=zeros.copy(),
            phone_ms=zeros.copy(), worked_ms=zeros.copy(),
        )

    def take(self, rows: np.ndarray) -> FoldState:
        return FoldState(**{f: getattr(self, f)[rows] for f in _ARRAY_FIELDS})

    def put(self, rows: np.ndarray, other: FoldState) -> None:
        for f in _ARRAY_FIELDS:
            getattr(self, f)[rows] = getattr(other, f)


@dataclass(frozen=True, slots=True)
class _Advanced:
    """What :func:`_advance` found for the agents it advanced (``u``)."""

    sched_ms: np.ndarray
    out_ms: np.ndarray
    phone_ms: np.ndarray
    worked_ms: np.ndarray
    ep_on: np.ndarray
    ep_ms: np.ndarray
    ep_grace_ms: np.ndarray
    allow_ms: np.ndarray


def _advance(rules: AdherenceRules, sched: ScheduleArrays, fold: FoldState, u: np.ndarray,
             t_end: np.ndarray, iv_pos: np.ndarray, a: np.ndarray, b: np.ndarray, st: np.ndarray,
             rs: np.ndarray, call: np.ndarray, count_from_ms: int) -> _Advanced:
    """Fold constant-state intervals [a, b) into the agents ``u`` (sorted, unique).

    The intervals of agent ``u[p]`` (``iv_pos == p``) are consecutive, in time order, and cover
    ``[fold.c_ms[u[p]], t_end[p])`` exactly. Returns their totals and the episode at ``t_end``.
    """
    tb = rules.tables
    n_u = len(u)
    c_u = fold.c_ms[u]
    keep = b > a
    iv_pos, a, b, st, rs, call = iv_pos[keep], a[keep], b[keep], st[keep], rs[keep], call[keep]
    owner = u[iv_pos]

    working = (st == AVAILABLE) | (st == ON_CALL) | (st == ACW)
    worked = np.where(working, np.maximum(0, b - np.maximum(a, count_from_ms)), 0)
    worked_u = np.bincount(iv_pos, worked, minlength=n_u)

    # Pieces: each interval cut by the agent's segments (searchsorted on owner-major keys).
    lo = np.searchsorted(sched.key_end, sched.key(owner, a), side="right")
    hi = np.searchsorted(sched.key_start, sched.key(owner, b), side="left")
    n = np.maximum(hi - lo, 0)
    n_p = int(n.sum())
    iv = np.repeat(np.arange(len(a)), n)
    seg = lo[iv] + (np.arange(n_p) - np.repeat(np.cumsum(n) - n, n))
    seg_start = sched.start_ms[seg]
    pa = np.maximum(a[iv], seg_start)
    pb = np.minimum(b[iv], sched.end_ms[seg])
    pp = iv_pos[iv]
    act, pst, prs, pcall = sched.act[seg], st[iv], rs[iv], call[iv]

    adheres = tb.state_ok[act, pst] | ((pst == AUX) & tb.aux_ok[act, prs])
    handling = (pst == ON_CALL) | (pst == ACW)
    allowed = ~adheres & handling & ~sched.phone[seg] & (pcall < seg_start) & rules.call_may_finish
    out = ~(adheres | allowed)

    # The piece before each piece: the previous one of the same agent if it ends where this
    # one starts, or for an agent's first piece the episode carried in at c_ms.
    first = np.ones(n_p, bool)
    first[1:] = pp[1:] != pp[:-1]
    contig = np.zeros(n_p, bool)
    contig[1:] = ~first[1:] & (pa[1:] == pb[:-1])
    prev_out = np.zeros(n_p, bool)
    prev_out[1:] = contig[1:] & out[:-1]
    prev_allowed = np.zeros(n_p, bool)
    prev_allowed[1:] = contig[1:] & allowed[:-1] & (seg[1:] == seg[:-1])
    carried = first & (pa == c_u[pp])
    carried_ep = carried & fold.ep_on[u][pp]
    prev_out |= carried_ep
    prev_allowed |= carried & (fold.allow_ms[u][pp] == seg_start)

    new_ep = out & ~prev_out
    at_boundary = (pa == seg_start) | prev_allowed
    head = new_ep | (out & carried_ep)
    head_ms = np.where(new_ep, pa, fold.ep_ms[u][pp])
    head_grace = np.where(new_ep, np.where(at_boundary, sched.bgrace_ms[seg], sched.grace_ms[seg]),
                          fold.ep_grace_ms[u][pp])
    # Every out piece belongs to the run that began at the latest head at or before it.
    src = np.where(head, np.arange(n_p), 0)
    np.maximum.accumulate(src, out=src)
    ep_ms, ep_grace = head_ms[src], head_grace[src]

    counted_from = np.maximum(pa, count_from_ms)
    sched_p = np.maximum(0, pb - counted_from)
    beyond = np.where(out, np.maximum(0, pb - np.maximum(counted_from, ep_ms + ep_grace)), 0)
    sched_u = np.bincount(pp, sched_p, minlength=n_u)
    phone_u = np.bincount(pp, np.where(sched.phone[seg], sched_p, 0), minlength=n_u)
    out_u = np.bincount(pp, beyond, minlength=n_u)

    # The episode at t_end: the agent's last piece, if it reaches t_end; with no time passed,
    # whatever ran at c_ms still runs.
    count_p = np.bincount(pp, minlength=n_u)
    last = np.where(count_p > 0, np.cumsum(count_p) - 1, 0)
    zeros = np.zeros(n_u, np.int64)
    if n_p:
        at_end = (count_p > 0) & (pb[last] == t_end)
        last_out, last_ms, last_grace = out[last], ep_ms[last], ep_grace[last]
        last_allow = np.where(allowed[last], seg_start[last], -1)
    else:
        at_end, last_out, last_ms, last_grace, last_allow = np.zeros(n_u, bool), zeros, zeros, zeros, zeros
    still = ~at_end & (t_end == c_u)
    ep_on = np.where(at_end, last_out, still & fold.ep_on[u])
    return _Advanced(
        sched_ms=sched_u.astype(np.int64), out_ms=out_u.astype(np.int64),
        phone_ms=phone_u.astype(np.int64), worked_ms=worked_u.astype(np.int64),
        ep_on=ep_on,
        ep_ms=np.where(ep_on, np.where(at_end, last_ms, fold.ep_ms[u]), 0),
        ep_grace_ms=np.where(ep_on, np.where(at_end, last_grace, fold.ep_grace_ms[u]), 0),
        allow_ms=np.where(at_end, last_allow, np.where(still, fold.allow_ms[u], -1)),
    )


def apply_changes(rules: AdherenceRules, sched: ScheduleArrays, fold: FoldState, owner: np.ndarray,
                  ts_ms: np.ndarray, st: np.ndarray, rs: np.ndarray, count_from_ms: int) -> None:
    """Fold state changes into ``fold`` (in place).

    ``owner`` (agent rows), ``ts_ms``, ``st`` (state codes), ``rs`` (reason codes) are sorted by
    owner then time, and no change is older than its agent's ``fold.c_ms`` (ValueError).
    Afterwards each agent's ``c_ms`` is their last change and their state is its state.
    """
    owner = np.asarray(owner, np.int64)
    if len(owner) == 0:
        return
    ts_ms, st, rs = (np.asarray(x, np.int64) for x in (ts_ms, st, rs))
    if np.any(ts_ms < fold.c_ms[owner]):
        raise ValueError("a state change is older than the agent's folded time")
    if np.any(np.diff(owner) < 0) or np.any((np.diff(owner) == 0) & (np.diff(ts_ms) < 0)):
        raise ValueError("changes must be sorted by owner, then time")
    u, counts = np.unique(owner, return_counts=True)
    # Positions: one for the state carried in at c_ms, then one per change, per agent.
    npos = counts + 1
    total = int(npos.sum())
    block = np.cumsum(npos) - npos
    virtual = np.zeros(total, bool)
    virtual[block] = True
    pos_p = np.repeat(np.arange(len(u)), npos)
    pos_ts = np.empty(total, np.int64)
    pos_st = np.empty(total, np.int64)
    pos_rs = np.empty(total, np.int64)
    pos_ts[virtual], pos_st[virtual], pos_rs[virtual] = fold.c_ms[u], fold.st[u], fold.rs[u]
    pos_ts[~virtual], pos_st[~virtual], pos_rs[~virtual] = ts_ms, st, rs
    # The call in progress: an on_call starts one; an acw keeps the call of the on_call right
    # before it (through repeated acw changes); an acw after anything else counts as a call that
    # began when that acw did; any other state has no call.
    prev_st = np.empty(total, np.int64)
    prev_st[1:] = pos_st[:-1]
    head = virtual | (pos_st != ACW) | ((prev_st != ON_CALL) & (prev_st != ACW))
    call_val = np.where((pos_st == ON_CALL) | (pos_st == ACW), pos_ts, NO_CALL)
    call_val[virtual] = fold.call_ms[u]
    src = np.where(head, np.arange(total), 0)
    np.maximum.accumulate(src, out=src)
    pos_call = np.where(head, call_val, call_val[src])

    is_last = np.zeros(total, bool)
    is_last[block + npos - 1] = True
    iv = ~is_last
    nxt = np.flatnonzero(iv) + 1
    t_end = pos_ts[block + npos - 1]
    adv = _advance(rules, sched, fold, u, t_end, pos_p[iv], pos_ts[iv], pos_ts[nxt], pos_st[iv],
                   pos_rs[iv], pos_call[iv], count_from_ms)
    _commit(fold, u, adv)
    fold.c_ms[u] = t_end
    fold.st[u], fold.rs[u], fold.call_ms[u] = pos_st[is_last], pos_rs[is_last], pos_call[is_last]


def _commit(fold: FoldState, u: np.ndarray, adv: _Advanced) -> None:
    fold.sched_ms[u] += adv.sched_ms
    fold.out_ms[u] += adv.out_ms
    fold.phone_ms[u] += adv.phone_ms
    fold.worked_ms[u] += adv.worked_ms
    fold.ep_on[u], fold.ep_ms[u], fold.ep_grace_ms[u] = adv.ep_on, adv.ep_ms, adv.ep_grace_ms
    fold.allow_ms[u] = adv.allow_ms


class _Ratios:
    """Adherence and conformance of a class's summed milliseconds (``sched_ms``,
    ``out_beyond_grace_ms``, ``phone_ms``, ``worked_ms``), per agent or per team."""

    __slots__ = ()
    sched_ms: np.ndarray
    out_beyond_grace_ms: np.ndarray
    phone_ms: np.ndarray
    worked_ms: np.ndarray

    @property
    def adherence(self) -> np.ndarray:
        return adherence_ratio(self.sched_ms, self.out_beyond_grace_ms)

    @property
    def conformance(self) -> np.ndarray:
        return conformance_ratio(self.worked_ms, self.phone_ms)


@dataclass(frozen=True, slots=True)
class LiveEval(_Ratios):
    """Every agent at ``t_ms``: the day's totals so far and their adherence right now."""

    t_ms: int
    seg: np.ndarray  # segment running now (index into the ScheduleArrays), −1: none
    next_seg: np.ndarray  # next segment to start, −1: none
    st: np.ndarray  # actual state code
    rs: np.ndarray  # aux reason code
    adhering: np.ndarray  # bool; meaningful only where seg ≥ 0
    out_since_ms: np.ndarray  # start of the running episode (valid where out)
    out_ms: np.ndarray  # how long it has run (0 when adhering or unscheduled)
    grace_ms: np.ndarray
    severity: np.ndarray  # 0 none, 1 warning, 2 critical (index into SEVERITIES)
    sched_ms: np.ndarray
    out_beyond_grace_ms: np.ndarray
    phone_ms: np.ndarray
    worked_ms: np.ndarray

    @property
    def out(self) -> np.ndarray:
        """Out of adherence now (within its grace or not)."""
        return (self.seg >= 0) & ~self.adhering

    @property
    def exception(self) -> np.ndarray:
        return self.severity > 0


def evaluate(rules: AdherenceRules, sched: ScheduleArrays, fold: FoldState, t_ms: int,
             count_from_ms: int) -> LiveEval:
    """Every agent at ``t_ms``: the state running since ``c_ms`` added (not committed)."""
    n = sched.n_agents
    u = np.arange(n, dtype=np.int64)
    t_end = np.maximum(fold.c_ms, t_ms)
    adv = _advance(rules, sched, fold, u, t_end, u, fold.c_ms, t_end, fold.st, fold.rs,
                   fold.call_ms, count_from_ms)
    seg, next_seg = sched.at(t_ms)
    scheduled = seg >= 0
    out = scheduled & adv.ep_on
    out_ms = np.where(out, np.maximum(0, t_ms - adv.ep_ms), 0)
    grace = np.where(out, adv.ep_grace_ms, 0)
    critical_ms = round(rules.critical_after_s * 1000)
    severity = np.where(out & (out_ms > grace + critical_ms), 2, np.where(out & (out_ms > grace), 1, 0))
    return LiveEval(
        t_ms=t_ms, seg=seg, next_seg=next_seg, st=fold.st.copy(), rs=fold.rs.copy(),
        adhering=~out, out_since_ms=np.where(out, adv.ep_ms, 0), out_ms=out_ms, grace_ms=grace,
        severity=severity, sched_ms=fold.sched_ms + adv.sched_ms,
        out_beyond_grace_ms=fold.out_ms + adv.out_ms, phone_ms=fold.phone_ms + adv.phone_ms,
        worked_ms=fold.worked_ms + adv.worked_ms,
    )


# ----------------------------------------------------------------------------- ratios, impact
def adherence_ratio(sched_ms: np.ndarray, out_beyond_grace_ms: np.ndarray) -> np.ndarray:
    """1 − out_beyond_grace ÷ scheduled; NaN where nothing was scheduled."""
    sched = np.asarray(sched_ms, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sched > 0, 1.0 - np.asarray(out_beyond_grace_ms, np.float64) / sched, np.nan)


def conformance_ratio(worked_ms: np.ndarray, phone_ms: np.ndarray) -> np.ndarray:
    """worked on-queue ÷ scheduled on-queue (may exceed 1); NaN where no phone time was scheduled."""
    phone = np.asarray(phone_ms, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(phone > 0, np.asarray(worked_ms, np.float64) / phone, np.nan)


@dataclass(frozen=True, slots=True)
class TeamTotals(_Ratios):
    agents: np.ndarray
    sched_ms: np.ndarray
    out_beyond_grace_ms: np.ndarray
    phone_ms: np.ndarray
    worked_ms: np.ndarray
    out_now: np.ndarray


def team_totals(team: np.ndarray, n_teams: int, ev: LiveEval) -> TeamTotals:
    """Per team (``team[i]`` = agent i's team index): summed seconds, then the ratios."""
    team = np.asarray(team, np.int64)

    def total(x: np.ndarray) -> np.ndarray:
        return np.bincount(team, x, minlength=n_teams).astype(np.int64)

    return TeamTotals(
        agents=np.bincount(team, minlength=n_teams), sched_ms=total(ev.sched_ms),
        out_beyond_grace_ms=total(ev.out_beyond_grace_ms), phone_ms=total(ev.phone_ms),
        worked_ms=total(ev.worked_ms), out_now=total(ev.exception.astype(np.int64)),
    )


def impact(sched: ScheduleArrays, ev: LiveEval, deficit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Impact code (index into :data:`IMPACTS`) and score of each agent out of adherence now.

    ``deficit``: per agent, the worst (required − staffed agents) among their queues, ≥ 0
    (0 when no queue is short or the requirement is unknown). Hurts: not working during a
    scheduled phone activity, score = deficit (× UNSCHEDULED_AUX_WEIGHT in aux). Helps:
    working during a scheduled non-phone activity, score = −deficit. Otherwise neutral, 0.
    """
    deficit = np.maximum(np.asarray(deficit, np.float64), 0.0)
    out = ev.out
    phone_now = (ev.seg >= 0) & (sched.phone[np.clip(ev.seg, 0, None)] if len(sched.phone) else False)
    working = (ev.st == AVAILABLE) | (ev.st == ON_CALL) | (ev.st == ACW)
    short = deficit > 0
    hurts = out & short & phone_now & ~working
    helps = out & short & ~phone_now & working
    weight = np.where(ev.st == AUX, UNSCHEDULED_AUX_WEIGHT, 1.0)
    score = np.where(hurts, deficit * weight, np.where(helps, -deficit, 0.0))
    code = np.where(hurts, 1, np.where(helps, 2, 0))
    return code, score


# ----------------------------------------------------------------------------- one agent
@dataclass(frozen=True, slots=True)
class AgentDay:
    """One agent's day up to ``t_ms`` and their status at ``t_ms`` (seconds, ratios as fractions)."""

    scheduled_s: float
    out_beyond_grace_s: float
    adherence: float
    scheduled_on_queue_s: float
    worked_on_queue_s: float
    conformance: float
    scheduled: str | None
    adhering: bool | None
    out_since_ms: int | None
    out_s: float
    grace_s: float
    severity: str | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def agent_day(rules: AdherenceRules, segments: Sequence[Segment],
              changes: Sequence[tuple[int, str, str | None]], t_ms: int, *, count_from_ms: int,
              initial: tuple[str | None, str | None, int | None] = ("logged_out", None, None),
              from_ms: int | None = None) -> AgentDay:
    """One agent, the straightforward way in: their segments and state changes (ts_ms, state,
    reason), the state before the first change (state, reason, since_ms), up to ``t_ms``.

    Totals count from ``count_from_ms`` (the day's start); episodes are followed from
    ``from_ms`` (default: the earliest of count_from_ms, the first segment and the first change).
    """
    sched = schedule_arrays(rules, [segments])
    changes = [c for c in sorted(changes, key=lambda c: c[0]) if c[0] <= t_ms]
    starts = [count_from_ms, *(s.start_ms for s in segments), *(c[0] for c in changes[:1])]
    begin = min(starts) if from_ms is None else from_ms
    state, reason, since = initial
    st0 = rules.state_code(state)
    call0 = (since if since is not None else begin) if st0 in (ON_CALL, ACW) else NO_CALL
    fold = FoldState.start(np.array([begin]), np.array([st0]), np.array([rules.reason_code(reason)]),
                           np.array([call0]))
    later = [c for c in changes if c[0] >= begin]
    apply_changes(rules, sched, fold, np.zeros(len(later), np.int64), [c[0] for c in later],
                  [rules.state_code(c[1]) for c in later], [rules.reason_code(c[2]) for c in later],
                  count_from_ms)
    ev = evaluate(rules, sched, fold, t_ms, count_from_ms)
    seg = int(ev.seg[0])
    out = bool(ev.out[0])
    return AgentDay(
        scheduled_s=float(ev.sched_ms[0]) / 1000, out_beyond_grace_s=float(ev.out_beyond_grace_ms[0]) / 1000,
        adherence=float(ev.adherence[0]), scheduled_on_queue_s=float(ev.phone_ms[0]) / 1000,
        worked_on_queue_s=float(ev.worked_ms[0]) / 1000, conformance=float(ev.conformance[0]),
        scheduled=rules.activities[int(sched.act[seg])].name if seg >= 0 else None,
        adhering=None if seg < 0 else not out,
        out_since_ms=int(ev.out_since_ms[0]) if out else None,
        out_s=float(ev.out_ms[0]) / 1000, grace_s=float(ev.grace_ms[0]) / 1000,
        severity=SEVERITIES[int(ev.severity[0])],
    )
