"""Roster actions (staffing.actions) on small centres whose best action is known by hand."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

import staffing
from staffing import actions as ac
from staffing.actions.candidates import _DROP
from staffing.actions.context import _busy
from staffing.erlang_c import SL_FORMULAS

IV_S = 900.0
T0_MS = 1_767_261_600_000  # 10:00 UTC on a day


def sl_c(calls: float, agents: float, aht: float = 180.0, t: float = 20.0) -> float:
    """Erlang C SL straight from the engine, interpolated for fractional agents."""
    def whole(n: float) -> float:
        return float(staffing.erlang_c(calls / IV_S, aht, n, t).service_level)

    n = np.floor(round(agents, 9))
    f = round(agents, 9) - n
    return whole(n) if f == 0 else (1 - f) * whole(n) + f * whole(n + 1)


def centre(calls, agents_skills, *, n_iv=None, on_phone=None, shift=None, pinned=None,
           **kw) -> ac.PlanInputs:
    """Queues A, B (, C) at 15 minutes from 10:00, Erlang C, AHT 180 s, 80 % in 20 s."""
    calls = np.asarray(calls, dtype=float)
    n_q, n_iv = calls.shape
    queues = ["A", "B", "C"][:n_q]
    n_a = len(agents_skills)
    shift = shift or (0, n_iv)
    return ac.make_plan_inputs(
        queues, T0_MS + np.arange(n_iv) * int(IV_S * 1000), IV_S, calls, 180.0,
        agent_ids=[f"a{k}" for k in range(n_a)], skills=agents_skills,
        on_phone=np.ones((n_a, n_iv)) if on_phone is None else on_phone,
        shift_start_iv=shift[0], shift_end_iv=shift[1], pinned=pinned, **kw)


def inputs_equal(a: ac.PlanInputs, b: ac.PlanInputs) -> bool:
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def roster_agents(inp: ac.PlanInputs) -> np.ndarray:
    """The plan recomputed from the roster: phone time split over skills by load, or all on
    the pinned queue (written out with a dense (agents, queues, intervals) array)."""
    sk = inp.skills[:, :, None].astype(float)
    w = sk * inp.split_weight[None]
    den = w.sum(axis=1, keepdims=True)
    share = np.where(den > 0, w / np.where(den > 0, den, 1), sk / sk.sum(axis=1, keepdims=True))
    pin = inp.pinned[:, None, :]
    share = np.where(pin >= 0, (pin == np.arange(len(inp.queues))[None, :, None]), share)
    return (share * inp.on_phone[:, None, :]).sum(axis=0)


def two_queue_centre(n_iv: int = 2) -> ac.PlanInputs:
    """Claims (A): 50 calls, 11 agents (short 2.05). Billing (B): 25 calls, 11 agents (over
    3.57), 4 of whom also have the Claims skill but are assigned to Billing (pinned)."""
    skills = [["A"]] * 11 + [["B"]] * 7 + [["A", "B"]] * 4
    pinned = np.full((22, n_iv), -1)
    pinned[18:] = 1
    return centre([[50.0] * n_iv, [25.0] * n_iv], skills, pinned=pinned)


# --- (a) a move between queues with shared skills --------------------------------------------


def test_move_from_surplus_to_deficit_ranks_first_and_equals_the_engine():
    inp = two_queue_centre()
    np.testing.assert_allclose(inp.required[:, 0], [13.0475, 7.4263], atol=1e-4)
    top = ac.rank_actions(inp)[0]
    assert (top.kind, top.from_queue, top.to_queue) == ("move", "B", "A")
    k = len(top.agents)
    assert k == 3  # by hand: 3 agents gain 22.1 calls per interval, 2 gain 19.2, 4 gain 21.3
    assert set(top.agents) <= {"a18", "a19", "a20", "a21"}
    assert (top.start_iv, top.end_iv) == (0, 2)
    for e in top.effects:
        if e.queue == "A":
            assert (e.agents_before, e.agents_after) == (11.0, 11.0 + k)
            assert e.sl_before == sl_c(50, 11)
            assert e.sl_after == sl_c(50, 11 + k)
        else:
            assert (e.agents_before, e.agents_after) == (11.0, 11.0 - k)
            assert e.sl_after == sl_c(25, 11 - k)
    by_hand = 2 * (50 * (sl_c(50, 14) - sl_c(50, 11)) + 25 * (sl_c(25, 8) - sl_c(25, 11)))
    assert top.score == pytest.approx(by_hand, rel=1e-12)
    assert top.score == pytest.approx(44.27, abs=0.01)
    assert top.text.startswith("Move 3 agents (a18, a19, a20) from B to A 10:00–10:30: "
                               "A SL 39 % → 89 %, B 99 % → 88 %")
    assert top.segments_before == top.segments_after == ()


def test_a_split_agent_moved_gives_its_other_share_and_matches_the_interpolated_engine():
    # Ann has both skills and no pin: at loads 10 : 5 she counts 2/3 on A and 1/3 on B.
    skills = [["A"]] * 11 + [["B"]] * 10 + [["A", "B"]]
    inp = centre([[50.0], [25.0]], skills)
    np.testing.assert_allclose(inp.agents[:, 0], [11 + 2 / 3, 10 + 1 / 3])
    moves = [a for a in ac.rank_actions(inp) if a.kind == "move"]
    assert moves and moves[0].agents == ("a21",) and moves[0].to_queue == "A"
    eff = {e.queue: e for e in moves[0].effects}
    assert eff["A"].agents_after == pytest.approx(12.0)
    assert eff["A"].sl_after == pytest.approx(sl_c(50, 12), abs=1e-15)
    assert eff["A"].sl_before == pytest.approx(sl_c(50, 11 + 2 / 3), abs=1e-15)
    assert eff["B"].sl_after == pytest.approx(sl_c(25, 10), abs=1e-15)


# --- (b) a break moved out of a deficit -----------------------------------------------------


def break_centre(earliest=None, latest=None) -> ac.PlanInputs:
    """One queue, 8 intervals, 14 agents; 50 calls in 0-3 (short), 25 after (over).
    a0's break at interval 2, in the deficit."""
    on = np.ones((14, 8))
    on[0, 2] = 0.0
    acts = {"agent": ["a0"], "activity": ["break"], "start_iv": [2], "end_iv": [3]}
    if earliest is not None:
        acts |= {"earliest_iv": [earliest], "latest_iv": [latest]}
    return centre([[50.0] * 4 + [25.0] * 4], [["A"]] * 14, on_phone=on, activities=acts)


def test_break_moves_out_of_the_deficit_within_its_window():
    inp = break_centre()  # default window: 60 min either side = intervals -2..6
    assert (inp.activity_earliest_iv[0], inp.activity_latest_iv[0]) == (-2, 6)
    moves = [a for a in ac.rank_actions(inp) if a.kind == "move_break"]
    assert len(moves) == 1  # one suggestion per break: its best slot
    best = moves[0]
    assert best.score > 0 and 4 <= best.start_iv <= 6
    gain = 50 * (sl_c(50, 14) - sl_c(50, 13)) + 25 * (sl_c(25, 13) - sl_c(25, 14))
    assert best.score == pytest.approx(gain, rel=1e-12)
    assert best.segments_before[0].start_ms == T0_MS + 2 * 900_000
    assert best.segments_after[0].start_ms == T0_MS + best.start_iv * 900_000
    assert best.text.startswith("Move a0's break 10:30–10:45 to ")


def test_a_break_never_leaves_its_window():
    inp = break_centre(earliest=1, latest=3)
    cands = ac.generate_candidates(inp)
    mb = cands.kind == ac.KINDS.index("move_break")
    assert mb.any()
    assert set(cands.start_iv[mb].tolist()) <= {1, 3}
    for a in ac.rank_actions(inp, limit=100):
        if a.kind == "move_break":
            assert 1 <= a.start_iv <= 3


def test_a_break_does_not_land_on_another_activity_or_outside_the_shift():
    on = np.ones((14, 8))
    on[0, 2] = on[0, 5] = 0.0
    on[0, 7] = 0.0  # the shift ends at 7
    acts = {"agent": ["a0", "a0"], "activity": ["break", "meeting"], "start_iv": [2, 5],
            "end_iv": [3, 6], "can_drop": [False, False], "latest_iv": [6, 5]}
    inp = centre([[50.0] * 4 + [25.0] * 4], [["A"]] * 14, on_phone=on, activities=acts,
                 shift=(0, 7))
    cands = ac.generate_candidates(inp, ac.ActionOptions(kinds=("move_break",)))
    # Window -2..6 inside the shift [0, 7): every free start but 5 (the meeting); not 7.
    assert sorted(cands.start_iv.tolist()) == [0, 1, 3, 4, 6]


# --- (c) training postponed -------------------------------------------------------------------


def test_training_postponed_out_of_a_deficit_moves_all_attendees():
    on = np.ones((16, 10))
    on[:2, 1:3] = 0.0
    on[1, 6] = 0.0  # a1 has a break at 6: the training cannot go to 5-7 or 6-8
    acts = {"agent": ["a0", "a1", "a1"], "activity": ["training", "training", "break"],
            "start_iv": [1, 1, 6], "end_iv": [3, 3, 7], "group": [4, 4, -1],
            "can_drop": [False, False, False]}
    inp = centre([[50.0] * 4 + [25.0] * 6], [["A"]] * 16, on_phone=on, activities=acts)
    post = [a for a in ac.rank_actions(inp) if a.kind == "postpone"]
    assert len(post) == 1
    p = post[0]
    assert set(p.agents) == {"a0", "a1"} and p.score > 0
    assert p.start_iv >= 4 and p.end_iv <= 10 and not p.start_iv <= 6 < p.end_iv
    assert len(p.segments_after) == 2
    gain = 2 * 50 * (sl_c(50, 16) - sl_c(50, 14)) + 2 * 25 * (sl_c(25, 14) - sl_c(25, 16))
    assert p.score == pytest.approx(gain, rel=1e-12)
    cands = ac.generate_candidates(inp, ac.ActionOptions(kinds=("postpone",)))
    assert 5 not in cands.start_iv.tolist() and 6 not in cands.start_iv.tolist()
    assert _DROP not in cands.start_iv.tolist()  # not allowed to another day here


def test_training_can_go_to_another_day():
    on = np.ones((14, 4))
    on[0, 1:3] = 0.0
    acts = {"agent": ["a0"], "activity": ["training"], "start_iv": [1], "end_iv": [3]}
    inp = centre([[50.0] * 4], [["A"]] * 14, on_phone=on, activities=acts)
    (p,) = [a for a in ac.rank_actions(inp) if a.kind == "postpone"]
    assert p.segments_after == () and "to another day" in p.text
    assert p.score == pytest.approx(2 * 50 * (sl_c(50, 14) - sl_c(50, 13)), rel=1e-12)


# --- (d) overtime ------------------------------------------------------------------------------


def test_overtime_only_next_to_a_deficit_and_within_the_limit():
    # 8 intervals; A is short from 4 on, B is over everywhere.
    n_iv = 8
    skills = [["A"]] * 12 + [["B"]] * 8 + [["A"], ["A"], ["B"], ["A"]]
    start = np.r_[np.zeros(20, int), 0, 0, 0, 0]
    end = np.r_[np.full(20, n_iv), 4, 4, 4, 2]
    iv = np.arange(n_iv)
    on = ((iv >= start[:, None]) & (iv < end[:, None])).astype(float)
    calls = [[25.0] * 4 + [50.0] * 4, [25.0] * n_iv]
    inp = centre(calls, skills, on_phone=on, shift=(start, end), overtime_after_min=30)
    assert (inp.overtime_after_iv == 2).all()
    ot = [a for a in ac.rank_actions(inp, limit=100) if a.kind == "overtime"]
    assert len(ot) == 1  # a20 and a21 are the same offer: one action, one alternative
    (o,) = ot
    assert {o.agents[0], *o.alternatives} == {"a20", "a21"}
    assert (o.start_iv, o.end_iv) == (4, 6)  # 30 minutes, no more
    assert o.paid_hours == 0.5 and "30 min overtime 11:00–11:30" in o.text
    n_a = inp.agents[0, 4]
    assert o.score == pytest.approx(2 * 50 * (sl_c(50, n_a + 1) - sl_c(50, n_a)), rel=1e-12)
    # a22 (B, over) and a23 (ends at 2, no deficit at 2-3) get nothing.
    cands = ac.generate_candidates(inp, ac.ActionOptions(kinds=("overtime",)))
    assert set(cands.agent.tolist()) | set(cands.alt_agent.tolist()) == {20, 21}


def test_overtime_before_the_shift():
    skills = [["A"]] * 14
    start = np.r_[np.zeros(13, int), 4]
    iv = np.arange(8)
    on = (iv >= start[:, None]).astype(float)
    inp = centre([[50.0] * 8], skills, on_phone=on, shift=(start, 8), overtime_before_min=60,
                 now_iv=1)
    (o,) = [a for a in ac.rank_actions(inp) if a.kind == "overtime"]
    assert o.agents == ("a13",) and (o.start_iv, o.end_iv) == (1, 4)  # not before now
    ch = {c.field: c for c in o.changes}
    assert ch["shift_start_iv"].after.tolist() == [1]
    assert ch["overtime_before_iv"].after.tolist() == [1]


# --- (e) VTO ------------------------------------------------------------------------------------


def test_vto_only_in_surplus():
    # A: short in 0-3, far over in 4-7. B: just enough everywhere.
    n_iv = 8
    skills = [["A"]] * 20 + [["B"]] * 8
    calls = [[80.0] * 4 + [10.0] * 4, [25.0] * n_iv]
    inp = centre(calls, skills, vto_allowed=True)
    vto = [a for a in ac.rank_actions(inp, limit=200) if a.kind == "vto"]
    assert vto
    for v in vto:
        assert v.start_iv >= 4 and v.paid_hours < 0 and v.score <= 0
        assert set(v.agents) <= {f"a{k}" for k in range(20)}  # never the B agents
        for e in v.effects:
            assert e.queue == "A"
            assert e.agents_after >= inp.required[0, e.interval] - 1e-9
            assert e.sl_after >= 0.8 and e.sl_before - e.sl_after <= 0.01
    # VTO never adds service: it ranks after everything that does.
    ranked = ac.rank_actions(inp, limit=200)
    first_vto = next(k for k, a in enumerate(ranked) if a.kind == "vto")
    assert all(a.kind == "vto" for a in ranked[first_vto:])


def test_no_vto_without_the_flag_or_where_it_would_open_a_deficit():
    inp = centre([[80.0] * 4 + [10.0] * 4, [25.0] * 8], [["A"]] * 20 + [["B"]] * 8)
    assert not [a for a in ac.rank_actions(inp, limit=200) if a.kind == "vto"]
    tight = centre([[50.0] * 8], [["A"]] * 14, vto_allowed=True)  # required 13.05 of 14
    assert not [a for a in ac.rank_actions(tight, limit=200) if a.kind == "vto"]


# --- (f) skills ---------------------------------------------------------------------------------


def test_an_agent_without_the_skill_is_never_moved():
    # C is far over and its agents do not have A: only the dual-skilled B agents may help A.
    skills = [["A"]] * 11 + [["B"]] * 7 + [["A", "B"]] * 4 + [["C"]] * 30
    pinned = np.full((52, 2), -1)
    pinned[18:22] = 1
    inp = centre([[50.0] * 2, [25.0] * 2, [5.0] * 2], skills, pinned=pinned)
    moves = [a for a in ac.rank_actions(inp, limit=100) if a.kind == "move"]
    assert moves
    for m in moves:
        for aid in m.agents:
            assert inp.skills[inp.agent_ids.index(aid), inp.queues.index(m.to_queue)]
        assert "C" not in {e.queue for e in m.effects}


# --- (g) apply and undo, on a random centre with every kind ---------------------------------


def random_centre(seed: int, n_q: int = 5, n_iv: int = 16, n_a: int = 60) -> ac.PlanInputs:
    rng = np.random.default_rng(seed)
    skills = np.zeros((n_a, n_q), dtype=bool)
    skills[np.arange(n_a), np.arange(n_a) % n_q] = True
    extra = rng.random(n_a) < 0.5
    skills[np.flatnonzero(extra), rng.integers(0, n_q, extra.sum())] = True
    start = rng.integers(-4, 8, n_a)
    end = start + rng.integers(8, 14, n_a)
    iv = np.arange(n_iv)
    on = ((iv >= start[:, None]) & (iv < end[:, None])).astype(float)
    acts: dict[str, list] = {"agent": [], "activity": [], "start_iv": [], "end_iv": [],
                             "group": []}

    def add(a, name, s, e, g=-1):
        acts["agent"].append(a)
        acts["activity"].append(name)
        acts["start_iv"].append(s)
        acts["end_iv"].append(e)
        acts["group"].append(g)
        on[a, s:e] = 0.0

    for a in range(n_a):
        b, lunch = start[a] + 3, start[a] + 6
        if 0 <= b < n_iv and on[a, b]:
            add(a, "break", b, b + 1)
        if 0 <= lunch < n_iv - 1 and on[a, lunch:lunch + 2].all():
            add(a, "lunch", lunch, lunch + 2)
    for a in [a for a in range(n_a) if on[a, 5:7].all()][:4]:
        add(a, "meeting", 5, 7, g=7)
    return ac.make_plan_inputs(
        [f"q{k}" for k in range(n_q)], T0_MS + iv * 900_000, IV_S,
        rng.uniform(5, 60, (n_q, n_iv)).round(), rng.uniform(150, 400, (n_q, 1)) * np.ones(n_iv),
        agent_ids=[f"ag{a}" for a in range(n_a)], agent_names=[f"N{a}" for a in range(n_a)],
        skills=skills, on_phone=on, shift_start_iv=start, shift_end_iv=end, now_iv=2,
        model=["erlang_a" if q % 2 else "erlang_c" for q in range(n_q)],
        sl_formula=[SL_FORMULAS[q % len(SL_FORMULAS)] for q in range(n_q)],
        patience_s=rng.uniform(60, 300, n_q), short_abandon_s=5.0, overtime_after_min=60,
        overtime_before_min=30, vto_allowed=rng.random(n_a) < 0.7, activities=acts)


def engine_sl(inp: ac.PlanInputs, q: int, i: int, agents: float) -> float:
    """Projected SL from the public engine functions, one cell at a time."""
    lam, formula = inp.calls[q, i] / IV_S, SL_FORMULAS[int(inp.formula[q, i])]

    def whole(n: float) -> float:
        if inp.erlang_a[q, i]:
            r = staffing.erlang_a(lam, inp.aht_s[q, i], n, inp.threshold_s[q, i],
                                  inp.patience_s[q, i], inp.short_abandon_s[q, i])
            return float(np.nan_to_num(r.service_level(formula)))  # 0 agents: 0/0 -> 0
        return float(staffing.erlang_c(lam, inp.aht_s[q, i], n, inp.threshold_s[q, i]).sl(formula))

    x = round(agents, 9)
    n = np.floor(x)
    return whole(n) if x == n else (1 - (x - n)) * whole(n) + (x - n) * whole(n + 1)


@pytest.mark.parametrize("seed", range(4))
def test_every_action_matches_the_engine_and_applies_and_undoes_exactly(seed):
    inp = random_centre(seed)
    np.testing.assert_allclose(roster_agents(inp), inp.agents, atol=1e-12)
    ranked = ac.rank_actions(inp, limit=500, per_kind=25)
    assert {a.kind for a in ranked} >= {"move", "move_break", "overtime", "postpone"}
    assert [a.score for a in ranked if a.kind != "vto"] == sorted(
        (a.score for a in ranked if a.kind != "vto"), reverse=True)
    for act in ranked:
        assert act.score == pytest.approx(sum(e.calls * (e.sl_after - e.sl_before)
                                              for e in act.effects), abs=1e-9)
        for e in act.effects:
            assert e.interval >= inp.now_iv
            assert e.sl_before == pytest.approx(engine_sl(inp, e.queue_index, e.interval,
                                                          e.agents_before), abs=1e-12)
            assert e.sl_after == pytest.approx(engine_sl(inp, e.queue_index, e.interval,
                                                         e.agents_after), abs=1e-12)
        after = ac.apply_action(inp, act)
        # The plan moved by exactly the action's effect, as a recomputation from the roster.
        np.testing.assert_allclose(roster_agents(after), after.agents, atol=1e-9)
        assert (after.on_phone >= 0).all() and (after.on_phone <= 1).all()
        assert _busy(after).max() <= 1  # no double booking
        assert inputs_equal(ac.undo_action(after, act), inp)
        with pytest.raises(ValueError, match="rank the actions again"):
            ac.apply_action(after, act)


def test_apply_updates_the_plan_so_the_same_move_is_not_suggested_again():
    inp = two_queue_centre()
    top = ac.rank_actions(inp)[0]
    after = ac.apply_action(inp, top)
    np.testing.assert_array_equal(after.agents, [[14.0, 14.0], [8.0, 8.0]])
    assert after.pinned[inp.agent_ids.index(top.agents[0])].tolist() == [0, 0]
    assert not [a for a in ac.rank_actions(after) if a.kind == "move" and a.to_queue == "A"]
    assert inputs_equal(ac.undo_action(after, top), inp)
    assert not inp.agents.flags.writeable  # inputs are never modified in place


def test_per_kind_limit_and_kinds_option():
    inp = random_centre(1)
    ranked = ac.rank_actions(inp, limit=500, per_kind=2)
    kinds = [a.kind for a in ranked]
    assert all(kinds.count(k) <= 2 for k in ac.KINDS)
    only = ac.rank_actions(inp, ac.ActionOptions(kinds=("overtime",)))
    assert only and {a.kind for a in only} == {"overtime"}
    with pytest.raises(ValueError, match="kinds"):
        ac.rank_actions(inp, ac.ActionOptions(kinds=("teleport",)))


def test_no_deficit_no_action():
    inp = centre([[10.0] * 4], [["A"]] * 10)
    assert ac.rank_actions(inp) == []


@pytest.mark.parametrize("bad, match", [
    ({"calls": [[-1.0, 1.0]]}, "calls"),
    ({"model": "erlang_b"}, "model"),
    ({"target_sl": 1.5}, "target_sl"),
    ({"on_phone": np.full((1, 2), 2.0)}, "on_phone"),
    ({"pinned": np.full((1, 2), 1)}, "pinned"),
    ({"activities": {"agent": ["a0"], "activity": ["break"], "start_iv": [0], "end_iv": [1]}},
     "on_phone must exclude"),
])
def test_bad_inputs_are_refused(bad, match):
    kw = {"calls": [[10.0, 10.0]], "on_phone": np.ones((1, 2))} | bad
    calls = kw.pop("calls")
    with pytest.raises(ValueError, match=match):
        ac.make_plan_inputs(["A"], [T0_MS, T0_MS + 900_000], IV_S, calls, 180.0,
                            agent_ids=["a0"], skills=[["A"]], shift_start_iv=0, shift_end_iv=2,
                            **kw)
