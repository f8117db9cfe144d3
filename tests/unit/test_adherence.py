"""Adherence and conformance (staffing.adherence) on hand-computed timelines.

Every expected number is worked out in the comments. Day D = 2025-11-24 (UTC); ``h(9, 30)`` is
09:30 on D, negative hours reach into the day before. Defaults: open/phone grace 5 min, break
and lunch 3 min, so a break's start and end (a boundary with open) get 3 min; critical 10 min
after the grace. A brute-force second-by-second oracle, written independently of the
vectorised fold, checks random days at the end.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from floorboard import config
from floorboard.config import ConfigError, QueuesConfig
from realtime.adherence import rules_from_config
from staffing.adherence import (
    DEFAULT_ACTIVITY_RULES,
    NO_CALL,
    STATES,
    AdherenceRules,
    FoldState,
    agent_day,
    apply_changes,
    evaluate,
    impact,
    schedule_arrays,
    team_totals,
)
from staffing.schedule import Segment

DAY0 = 1_763_942_400_000  # 2025-11-24T00:00:00Z
S, M = 1000, 60_000
RULES = AdherenceRules()


def h(hour: float, minute: float = 0, second: float = 0) -> int:
    return DAY0 + round(hour * 3_600_000 + minute * M + second * S)


def seg(activity: str, start: int, end: int, agent: str = "a") -> Segment:
    return Segment(agent, activity, start, end)


# 09:00-10:00 open, 10:00-10:15 break, 10:15-12:00 open.
SHIFT = [seg("open", h(9), h(10)), seg("break", h(10), h(10, 15)), seg("open", h(10, 15), h(12))]


def day(changes, t, segments=SHIFT, rules=RULES, **kw):
    return agent_day(rules, segments, changes, t, count_from_ms=DAY0, **kw)


# ------------------------------------------------------------------------------ rules
def test_default_table_matches_the_issue():
    r = {a.name: a for a in DEFAULT_ACTIVITY_RULES}
    assert set(r["open"].states) == set(r["phone"].states) == {"available", "on_call", "acw"}
    assert r["open"].phone and r["phone"].phone and not r["break"].phone
    assert r["break"].aux_reasons == ("break",) and "logged_out" in r["break"].states
    assert r["lunch"].aux_reasons == ("lunch",) and "logged_out" in r["lunch"].states
    assert r["meeting"].aux_reasons == ("meeting",) and r["meeting"].states == ()
    assert r["training"].aux_reasons == ("training",)
    assert r["off"].states == ("logged_out",)
    assert (r["break"].grace_s, r["lunch"].grace_s, r["open"].grace_s, r["meeting"].grace_s) == (180, 180, 300, 300)
    assert RULES.call_may_finish and RULES.critical_after_s == 600


def test_boundary_grace_is_the_smaller_of_the_two_activities():
    sched = schedule_arrays(RULES, [SHIFT + [seg("meeting", h(13), h(14)), seg("open", h(14), h(15))]])
    # open (shift start: no segment ends there) 300; break start min(300, 180); open after the
    # break min(180, 300); meeting after a gap 300; open after the meeting min(300, 300).
    assert sched.bgrace_ms.tolist() == [300 * S, 180 * S, 180 * S, 300 * S, 300 * S]
    assert sched.grace_ms.tolist() == [300 * S, 180 * S, 300 * S, 300 * S, 300 * S]


def test_bad_rules_are_refused_with_the_activity_named():
    with pytest.raises(ValueError, match="'open'.*busy"):
        AdherenceRules().with_overrides({"open": {"states": ("busy",)}})
    with pytest.raises(ValueError, match="aux_reasons"):
        AdherenceRules().with_overrides({"open": {"states": ("aux",)}})
    with pytest.raises(ValueError, match="grace_s"):
        AdherenceRules().with_overrides({"break": {"grace_s": -1}})
    with pytest.raises(ValueError, match="critical_after_s"):
        AdherenceRules(critical_after_s=float("nan"))


# ------------------------------------------------------------------------------ grace, severity
def test_break_start_and_late_return_get_the_three_minute_grace():
    changes = [(h(8, 58), "available", None), (h(10, 2, 30), "aux", "break"), (h(10, 20), "available", None)]
    # Still available at the break's start: out 10:00-10:02:30 = 150 s, inside the 180 s grace.
    d = day(changes, h(10, 2))
    assert d.scheduled == "break" and d.adhering is False and d.severity is None
    assert d.out_since_ms == h(10) and d.out_s == 120 and d.grace_s == 180
    assert d.out_beyond_grace_s == 0
    # Back late from the break: out since 10:15; at 10:17 (120 s) not yet an exception ...
    d = day(changes, h(10, 17))
    assert (d.out_since_ms, d.out_s, d.grace_s, d.severity) == (h(10, 15), 120, 180, None)
    # ... at 10:19 (240 s > 180 s) a warning.
    d = day(changes, h(10, 19))
    assert d.severity == "warning" and d.out_beyond_grace_s == 60
    # The day at 12:00: scheduled 3 h = 10,800 s; beyond grace 300 − 180 = 120 s;
    # phone 2 h 45 = 9,900 s; worked 08:58-10:02:30 (3,870 s) + 10:20-12:00 (6,000 s) = 9,870 s,
    # the two minutes before the shift included.
    d = day(changes, h(12))
    assert d.scheduled is None and d.adhering is None
    assert (d.scheduled_s, d.out_beyond_grace_s) == (10_800, 120)
    assert d.adherence == pytest.approx(1 - 120 / 10_800)
    assert (d.scheduled_on_queue_s, d.worked_on_queue_s) == (9_900, 9_870)
    assert d.conformance == pytest.approx(9_870 / 9_900)


def test_an_episode_inside_a_segment_gets_that_activitys_grace_and_turns_critical():
    open_all_morning = [seg("open", h(9), h(12))]
    changes = [(h(9), "available", None), (h(11), "aux", "personal")]

    def at(t, rules=RULES):
        return day(changes, t, segments=open_all_morning, rules=rules)

    assert at(h(11, 4)).severity is None  # 240 s < 300 s
    assert at(h(11, 6)).severity == "warning"  # 360 s
    assert at(h(11, 15)).severity == "warning"  # 900 s = grace + 600 s: not yet after it
    d = at(h(11, 16))  # 960 s > 900 s; beyond the grace 960 − 300 = 660 s
    assert d.severity == "critical" and d.grace_s == 300 and d.out_beyond_grace_s == 660
    stricter = RULES.with_overrides(critical_after_s=120)
    assert at(h(11, 8), rules=stricter).severity == "critical"  # 480 s > 300 + 120


def test_one_episode_across_several_states_is_graced_once():
    # aux 11:00, logged out 11:03, available 11:10: one episode of 10 min, 5 min beyond the
    # grace (two episodes of 3 and 7 min would give 0 + 2 min).
    changes = [(h(9), "available", None), (h(11), "aux", "personal"), (h(11, 3), "logged_out", None),
               (h(11, 10), "available", None)]
    assert day(changes, h(12), segments=[seg("open", h(9), h(12))]).out_beyond_grace_s == 300


def test_an_episode_carries_across_a_schedule_boundary():
    # In aux from 11:58 to 12:10 while open turns into a meeting at 12:00: one episode started
    # mid-open (grace 300 s), 12 min long → 420 s beyond. Scheduled 09:00-13:00 = 14,400 s.
    segments = [seg("open", h(9), h(12)), seg("meeting", h(12), h(13))]
    changes = [(h(9), "available", None), (h(11, 58), "aux", "personal"), (h(12, 10), "aux", "meeting")]
    d = day(changes, h(13), segments=segments)
    assert (d.scheduled_s, d.out_beyond_grace_s) == (14_400, 420)


def test_unscheduled_time_and_unknown_activities_are_not_evaluated():
    segments = [seg("open", h(9), h(10)), seg("lab", h(10), h(11))]  # "lab" is not in the rules
    changes = [(h(9), "available", None), (h(9, 30), "aux", "personal")]
    d = day(changes, h(10, 30), segments=segments)
    assert d.scheduled is None and d.adhering is None and d.severity is None
    # Only 09:00-10:00 is scheduled; out 09:30-10:00 = 30 min, 25 min beyond the 5 min grace.
    assert (d.scheduled_s, d.out_beyond_grace_s) == (3_600, 1_500)
    assert np.isnan(day([], h(12), segments=[]).adherence)


def test_no_state_known_counts_as_logged_out():
    d = day([], h(9, 10))
    assert d.adhering is False and d.out_since_ms == h(9) and d.severity == "warning"


# ------------------------------------------------------------------------------ call may finish
ON_A_CALL_AT_BREAK = [(h(9), "available", None), (h(9, 55), "on_call", None), (h(10, 4), "acw", None),
                      (h(10, 6), "available", None), (h(10, 10), "aux", "break")]


def test_a_call_running_at_the_break_may_finish_then_the_grace_starts():
    # Adheres until the call's ACW ends at 10:06, then out with the boundary grace (180 s):
    # 10:06-10:10 = 240 s, 60 s beyond.
    assert day(ON_A_CALL_AT_BREAK, h(10, 5)).adhering is True
    d = day(ON_A_CALL_AT_BREAK, h(10, 9, 30))
    assert (d.out_since_ms, d.grace_s, d.severity) == (h(10, 6), 180, "warning")
    assert day(ON_A_CALL_AT_BREAK, h(10, 15)).out_beyond_grace_s == 60


def test_without_call_may_finish_the_break_starts_on_time():
    strict = RULES.with_overrides(call_may_finish=False)
    # Out from 10:00 to 10:10 with the 180 s grace: 420 s beyond.
    d = day(ON_A_CALL_AT_BREAK, h(10, 15), rules=strict)
    assert d.out_beyond_grace_s == 420


def test_a_call_taken_after_the_break_started_is_not_allowed():
    # The 09:55 call's ACW ends 10:04 straight into a new call: out from 10:04 (boundary grace
    # 180 s) until 10:12 on break = 480 s, 300 s beyond.
    changes = [(h(9), "available", None), (h(9, 55), "on_call", None), (h(10, 2), "acw", None),
               (h(10, 4), "on_call", None), (h(10, 9), "acw", None), (h(10, 12), "aux", "break")]
    d = day(changes, h(10, 5))
    assert (d.out_since_ms, d.grace_s) == (h(10, 4), 180)
    assert day(changes, h(10, 15)).out_beyond_grace_s == 300


# ------------------------------------------------------------------------------ percentages
def test_midnight_crossing_shift_counts_today_from_midnight():
    # Shift from D−1 22:00 to D 06:00: open, lunch 02:00-02:30, open. Available since 21:55,
    # aux 23:57-00:04 (one episode from 23:57, grace 300 s: 00:02-00:04 = 120 s beyond today),
    # lunch 02:00-02:40 (10 min late back: 420 s beyond). Today up to 05:00: scheduled 5 h =
    # 18,000 s, phone 4 h 30 = 16,200 s; worked 00:04-02:00 + 02:40-05:00 = 256 min = 15,360 s.
    segments = [seg("open", h(-2), h(2)), seg("lunch", h(2), h(2, 30)), seg("open", h(2, 30), h(6))]
    changes = [(h(-2, -5), "available", None), (h(0, -3), "aux", "personal"), (h(0, 4), "available", None),
               (h(2), "aux", "lunch"), (h(2, 40), "available", None)]
    d = day(changes, h(5), segments=segments)
    assert (d.scheduled_s, d.out_beyond_grace_s) == (18_000, 540)
    assert d.adherence == pytest.approx(1 - 540 / 18_000)
    assert (d.scheduled_on_queue_s, d.worked_on_queue_s) == (16_200, 15_360)
    assert d.conformance == pytest.approx(15_360 / 16_200)
    # Live at 00:03: the episode began before midnight and is already past its grace.
    d = day(changes, h(0, 3), segments=segments)
    assert d.out_since_ms == h(0, -3) and d.severity == "warning" and d.out_s == 360


def test_schedule_changed_mid_day_uses_the_schedule_as_it_is_now():
    # The 10:00 break moved to 11:00 at 10:30; the agent took it at 11:00. The day's figures
    # use the new schedule: perfect adherence. With the old one, 10:00-10:15 would have been out
    # 15 min (12 min beyond the 3 min grace of a break's start) and 11:00-11:15, in the middle of
    # open time, 15 min (10 min beyond open's 5 min): 1,320 s.
    changes = [(h(9), "available", None), (h(11), "aux", "break"), (h(11, 15), "available", None)]
    moved = [seg("open", h(9), h(11)), seg("break", h(11), h(11, 15)), seg("open", h(11, 15), h(12))]
    assert day(changes, h(12), segments=moved).adherence == 1.0
    assert day(changes, h(12), segments=SHIFT).out_beyond_grace_s == 720 + 600


def test_conformance_can_exceed_one_and_teams_sum_seconds():
    # Agent 0: open 09:00-10:00, out (aux) 09:00-09:35: 30 min beyond, adherence 50 %; worked
    # 09:35-11:00 (then logged out) = 85 min over 60 min scheduled on-queue: conformance 85/60.
    # Agent 1: open 09:00-18:00, available all day: 100 %. Team: 1 − 1,800 / 36,000 = 95 %,
    # not the mean of percentages (75 %).
    sched = schedule_arrays(RULES, [[seg("open", h(9), h(10))], [seg("open", h(9), h(18))]])
    fold = FoldState.start(np.array([h(9), h(9)]), np.array([STATES.index("aux"), 1]), np.zeros(2, int),
                           np.full(2, NO_CALL))
    apply_changes(RULES, sched, fold, [0, 0], [h(9, 35), h(11)], [1, 0], [0, 0], DAY0)
    ev = evaluate(RULES, sched, fold, h(18), DAY0)
    assert ev.adherence.tolist() == [0.5, 1.0]
    assert ev.conformance[0] == pytest.approx(85 / 60)
    teams = team_totals(np.array([0, 0]), 1, ev)
    assert teams.adherence[0] == pytest.approx(0.95)
    assert teams.agents.tolist() == [2] and teams.out_now.tolist() == [0]


# ------------------------------------------------------------------------------ impact
def test_impact_from_the_queue_gap():
    segments = [[seg("open", h(9), h(17))]] * 4 + [[seg("break", h(9), h(17))]] * 2 + [[seg("open", h(9), h(17))]]
    sched = schedule_arrays(RULES, segments)
    code = {s: i for i, s in enumerate(STATES)}
    # 0 aux personal, 1 logged out, 2 aux personal (queue not short), 3 available (adheres),
    # 4 on a call in a scheduled break, 5 logged out in the break (adheres), 6 aux, deficit 3.
    st = np.array([code["aux"], code["logged_out"], code["aux"], code["available"], code["on_call"],
                   code["logged_out"], code["aux"]])
    fold = FoldState.start(np.full(7, h(9)), st, np.zeros(7, int), np.where(st == code["on_call"], h(9, 30), NO_CALL))
    ev = evaluate(RULES, sched, fold, h(10), DAY0)
    codes, score = impact(sched, ev, np.array([2.0, 2.0, 0.0, 2.0, 1.5, 2.0, 3.0]))
    # Unscheduled aux on a short queue hurts most (2 × deficit), a missing agent hurts by the
    # deficit, taking calls in a scheduled break while short helps (−deficit).
    assert codes.tolist() == [1, 1, 0, 0, 2, 0, 1]
    assert score.tolist() == [4.0, 2.0, 0.0, 0.0, -1.5, 0.0, 6.0]


# ------------------------------------------------------------------------------ custom names
def test_custom_activity_names_and_mappings():
    rules = RULES.with_overrides({"coaching": {"aux_reasons": ("coaching",), "grace_s": 120},
                                  "chat": {"states": ("available", "on_call", "acw"), "phone": True}})
    segments = [seg("chat", h(9), h(10)), seg("coaching", h(10), h(11))]
    changes = [(h(9), "available", None), (h(10), "aux", "coaching"), (h(10, 30), "aux", "break")]
    d = day(changes, h(10, 33), rules=rules, segments=segments)
    # On coaching at 10:00 on time; a personal break mid-coaching gets coaching's 120 s grace.
    assert (d.out_since_ms, d.grace_s, d.severity) == (h(10, 30), 120, "warning")
    assert d.scheduled_on_queue_s == 3_600 and d.worked_on_queue_s == 3_600
    anything = rules.with_overrides({"coaching": {"aux_reasons": ("*",)}})
    assert day(changes, h(10, 33), rules=anything, segments=segments).adhering is True


# ------------------------------------------------------------------------------ against a brute force
def _cut(rules, segments):
    """Known segments, sorted, each cut where the next one starts: (start, end, activity)."""
    known = sorted((s for s in segments if s.activity in rules.names), key=lambda s: s.start_ms)
    cut = []
    for i, s in enumerate(known):
        end = min(s.end_ms, known[i + 1].start_ms) if i + 1 < len(known) else s.end_ms
        if end > s.start_ms:
            cut.append((s.start_ms, end, s.activity))
    return cut


def _next_call(call, state, new, ts):
    if new == "on_call":
        return ts
    if new == "acw":
        return call if state in ("on_call", "acw") and call is not None else ts
    return None


def brute(rules, segments, changes, initial, t, count_from, begin):
    """Second by second, the definitions applied literally (whole seconds only)."""
    acts = {a.name: a for a in rules.activities}
    cut = _cut(rules, segments)

    def seg_at(x):
        return next((c for c in cut if c[0] <= x < c[1]), None)

    def bgrace(c):
        before = next((p for p in cut if p[1] == c[0]), None)
        g = acts[c[2]].grace_s
        return min(g, acts[before[2]].grace_s) if before else g

    state, reason, since = initial
    state = state or "logged_out"
    call = (since if since is not None else begin) if state in ("on_call", "acw") else None
    pending = sorted(changes, key=lambda c: c[0])
    totals = dict(sched=0, out=0, phone=0, worked=0)
    ep = prev = None  # the running episode (start, grace); (segment, allowed) a second ago
    for x in range(begin, t, S):
        while pending and pending[0][0] <= x:
            ts, new, why = pending.pop(0)
            call = _next_call(call, state, new, ts)
            state, reason = new, why
        counted = x >= count_from
        totals["worked"] += counted and state in ("available", "on_call", "acw")
        c = seg_at(x)
        if c is None:
            ep = prev = None
            continue
        rule = acts[c[2]]
        ok = state in rule.states or (state == "aux" and ("*" in rule.aux_reasons or reason in rule.aux_reasons))
        allowed = (not ok and rules.call_may_finish and not rule.phone and state in ("on_call", "acw")
                   and call is not None and call < c[0])
        totals["sched"] += counted
        totals["phone"] += counted and rule.phone
        if ok or allowed:
            ep = None
        elif ep is None:
            boundary = x == c[0] or (prev is not None and prev[0] == c and prev[1])
            ep = (x, bgrace(c) if boundary else rule.grace_s)
        totals["out"] += ep is not None and counted and x >= ep[0] + ep[1] * 1000
        prev = (c, allowed)
    live = None
    if seg_at(t) is not None and ep is not None and prev is not None:
        live = (ep[0], ep[1], (t - ep[0]) / 1000)
    return totals, live


def _random_case(rng: random.Random):
    names = ["open", "break", "lunch", "meeting", "off", "lab"]
    segments, x = [], h(8) + rng.randrange(0, 120) * M
    for _ in range(rng.randrange(0, 8)):
        x += rng.choice([0, 0, 0, 5, 20]) * M  # mostly adjacent, some gaps
        length = rng.choice([3, 10, 15, 30, 60]) * M
        segments.append(seg(rng.choice(names), x, x + length))
        x += length - (rng.choice([0, 0, 0, 2]) * M)  # the odd overlap
    states = [("available", None), ("on_call", None), ("acw", None), ("logged_out", None),
              ("aux", "break"), ("aux", "lunch"), ("aux", "meeting"), ("aux", "personal")]
    changes, y = [], h(8)
    for _ in range(rng.randrange(0, 40)):
        y += rng.choice([0, 1, 30, 90, 200, 400, 900]) * S
        changes.append((y, *rng.choice(states)))
    return segments, changes


@pytest.mark.parametrize("seed", range(60))
def test_matches_the_brute_force_in_one_go_and_in_pieces(seed):
    rng = random.Random(seed)
    rules = RULES.with_overrides(call_may_finish=rng.random() < 0.7, critical_after_s=rng.choice([60, 600]))
    segments, changes = _random_case(rng)
    count_from = h(8) + rng.randrange(0, 120) * M
    begin = h(8)
    t = h(8) + rng.randrange(1, 8 * 60) * M
    changes = [c for c in changes if c[0] <= t]
    initial = rng.choice([("logged_out", None, None), ("on_call", None, h(7, 50)), ("aux", "break", None)])
    want, live = brute(rules, segments, changes, initial, t, count_from, begin)

    d = agent_day(rules, segments, changes, t, count_from_ms=count_from, initial=initial, from_ms=begin)
    got = dict(sched=d.scheduled_s, out=d.out_beyond_grace_s, phone=d.scheduled_on_queue_s, worked=d.worked_on_queue_s)
    assert got == want
    if live is None:
        assert d.out_since_ms is None
    else:
        assert (d.out_since_ms, d.grace_s, d.out_s) == live
        grace_end = live[1] + rules.critical_after_s
        assert d.severity == (None if live[2] <= live[1] else "warning" if live[2] <= grace_end else "critical")

    # The same changes folded a few at a time, with evaluations in between, agree.
    sched = schedule_arrays(rules, [segments])
    st0, rs0 = rules.state_code(initial[0]), rules.reason_code(initial[1])
    call0 = initial[2] if initial[0] == "on_call" else NO_CALL
    fold = FoldState.start(np.array([begin]), np.array([st0]), np.array([rs0]), np.array([call0]))
    i = 0
    while i < len(changes):
        k = rng.randrange(1, 5)
        batch = changes[i : i + k]
        evaluate(rules, sched, fold, batch[-1][0], count_from)
        apply_changes(rules, sched, fold, np.zeros(len(batch), int), [c[0] for c in batch],
                      [rules.state_code(c[1]) for c in batch], [rules.reason_code(c[2]) for c in batch], count_from)
        i += k
    ev = evaluate(rules, sched, fold, t, count_from)
    assert ev.sched_ms[0] / 1000 == want["sched"] and ev.out_beyond_grace_ms[0] / 1000 == want["out"]
    assert ev.worked_ms[0] / 1000 == want["worked"] and ev.phone_ms[0] / 1000 == want["phone"]


def test_many_agents_at_once_equal_each_agent_alone():
    rng = random.Random(7)
    cases = [_random_case(rng) for _ in range(40)]
    t = h(14)
    sched = schedule_arrays(RULES, [c[0] for c in cases])
    fold = FoldState.start(np.full(40, h(8)), np.zeros(40, int), np.zeros(40, int), np.full(40, NO_CALL))
    rows = [(i, *c) for i, (_, changes) in enumerate(cases) for c in changes if c[0] <= t]
    apply_changes(RULES, sched, fold, [r[0] for r in rows], [r[1] for r in rows],
                  [RULES.state_code(r[2]) for r in rows], [RULES.reason_code(r[3]) for r in rows], DAY0)
    ev = evaluate(RULES, sched, fold, t, DAY0)
    for i, (segments, changes) in enumerate(cases):
        d = agent_day(RULES, segments, changes, t, count_from_ms=DAY0, from_ms=h(8))
        assert ev.sched_ms[i] / 1000 == d.scheduled_s and ev.out_beyond_grace_ms[i] / 1000 == d.out_beyond_grace_s
        assert ev.worked_ms[i] / 1000 == d.worked_on_queue_s
        assert bool(ev.out[i]) == (d.adhering is False) and ev.severity[i] == [None, "warning", "critical"].index(d.severity)


def test_changes_older_than_the_fold_are_refused():
    sched = schedule_arrays(RULES, [SHIFT])
    fold = FoldState.start(np.array([h(10)]), np.zeros(1, int), np.zeros(1, int), np.full(1, NO_CALL))
    with pytest.raises(ValueError, match="older"):
        apply_changes(RULES, sched, fold, [0], [h(9)], [1], [0], DAY0)


# ------------------------------------------------------------------------------ configuration
def test_settings_defaults_equal_the_rules_defaults():
    assert RULES.names == config.ADHERENCE_DEFAULT_ACTIVITIES
    assert config.AdherenceConfig().call_may_finish == RULES.call_may_finish
    assert config.AdherenceConfig().critical_after_s == RULES.critical_after_s
    assert set(config.ADHERENCE_STATES) == set(STATES) - {"aux"}
    assert rules_from_config(config.AdherenceConfig()) == RULES


def test_the_demo_files_commented_adherence_block_is_the_defaults_plus_its_example():
    text = (Path(config.__file__).parent / "demo_queues.toml").read_text(encoding="utf-8")
    assert QueuesConfig.from_toml(text).adherence == config.AdherenceConfig()
    lines = text.splitlines()
    first = lines.index("# [adherence]")
    uncommented = lines[:first] + [line[2:] if line.startswith("# ") else "" for line in lines[first:]]
    cfg = QueuesConfig.from_toml("\n".join(uncommented)).adherence
    assert rules_from_config(cfg) == RULES.with_overrides({"coaching": {"aux_reasons": ("coaching",), "grace_s": 120.0}})
    assert cfg.activity_names() == (*RULES.names, "coaching")


def test_adherence_section_sets_the_rules():
    cfg = QueuesConfig.from_toml(
        "[adherence]\ncall_may_finish = false\ncritical_after_s = 900\n"
        "[adherence.activities.lunch]\ngrace_s = 240\n"
        "[adherence.activities.coaching]\naux_reasons = [\"coaching\"]\n"
    ).adherence
    rules = rules_from_config(cfg)
    lunch = next(a for a in rules.activities if a.name == "lunch")
    assert not rules.call_may_finish and rules.critical_after_s == 900
    assert lunch.grace_s == 240 and lunch.aux_reasons == ("lunch",)  # the other fields kept
    assert rules.names[-1] == "coaching"


@pytest.mark.parametrize(("toml", "named"), [
    ("[adherence]\nsnooze = 1", "unknown setting"),
    ("[adherence]\ncall_may_finish = 1", "call_may_finish"),
    ("[adherence]\ncritical_after_s = -5", "critical_after_s"),
    ("[adherence.activities.open]\nstates = [\"busy\"]", "activities.open.states"),
    ("[adherence.activities.open]\nstates = [\"aux\"]", "aux_reasons"),
    ("[adherence.activities.break]\ngrace_s = \"3 min\"", "activities.break.grace_s"),
    ("[adherence.activities.break]\nphone = \"no\"", "activities.break.phone"),
    ("[adherence.activities.break]\nlate = 1", "activities.break: unknown setting"),
    ("[adherence.activities.coaching]\ngrace_s = 60", "activities.coaching: a new activity needs"),
    ("[adherence.activities.Coaching]\naux_reasons = [\"c\"]", "lower-case"),
    ("[adherence]\nactivities = 3", "activities must be a table"),
])
def test_bad_adherence_settings_stop_at_start_naming_the_key(toml, named):
    with pytest.raises(ConfigError, match=named):
        QueuesConfig.from_toml(toml)
