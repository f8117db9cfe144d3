"""The pure parts of the live planner (realtime/intraday*.py): agents from schedules, the ranking's
interval grid, the scheduled matrix with pins, schedule edits of actions; the [intraday] settings."""

from __future__ import annotations

import numpy as np
import pytest

from floorboard.config import ConfigError, IntradayConfig, QueuesConfig
from realtime.intraday import build_agents, scheduled_matrix
from realtime.intraday_actions import ranking_phone, schedule_edits
from staffing.actions import make_plan_inputs, rank_actions
from staffing.plan import scheduled_agents_matrix
from staffing.schedule import Segment

H, M = 3_600_000, 60_000
DAY0 = 1_767_225_600_000  # a UTC midnight
IV = 900_000
STARTS = np.arange(DAY0, DAY0 + 86_400_000, IV)
QUEUES = {"claims": 0, "billing": 1}
PHONE = frozenset({"open"})


def seg(agent: str, activity: str, start_h: float, end_h: float) -> Segment:
    return Segment(agent, activity, DAY0 + round(start_h * H), DAY0 + round(end_h * H))


def build(today, yesterday=None, now_h=10.0, skills=None):
    skills = skills or {"ana": ["claims"], "bob": ["billing"], "cat": ["claims", "billing"], "dan": ["nowhere"]}
    return build_agents(today, yesterday or {}, "D", (DAY0, DAY0 + 86_400_000), STARTS, 900.0,
                        DAY0 + round(now_h * H), skills, {}, QUEUES, PHONE, "D-1")


def test_agents_from_today_and_yesterdays_night_shift():
    today = {"ana": [seg("ana", "open", 8, 10), seg("ana", "break", 10, 10.25), seg("ana", "open", 10.25, 12)],
             "dan": [seg("dan", "open", 8, 12)]}
    yesterday = {"bob": [seg("bob", "open", -2, 2)], "cat": [seg("cat", "open", -10, -4)]}
    a = build(today, yesterday, now_h=1)
    assert a.ids == ["ana", "bob"]  # cat's shift ended yesterday; dan has no known queue
    assert a.no_skill == 1
    bob = a.ids.index("bob")
    assert a.shift_day[bob] == "D-1" and a.shift_end_ms[bob] == DAY0 + 2 * H
    np.testing.assert_allclose(a.phone_day[bob, :8], 1.0)
    assert a.phone_day[bob, 8:].sum() == 0
    ana = a.ids.index("ana")
    assert [(s.activity, s.start_ms) for _, s in a.activities] == [("break", DAY0 + 10 * H)]
    assert a.phone_day[ana, 40] == 0.0 and a.phone_day[ana, 41] == 1.0


def test_the_shift_that_matters_is_the_first_not_over():
    today = {"bob": [seg("bob", "open", 0, 2), seg("bob", "off", 2, 14), seg("bob", "open", 14, 18)]}
    assert build(today, now_h=1).shift_end_ms.tolist() == [DAY0 + 2 * H]
    late = build(today, now_h=10)
    assert late.shift_start_ms.tolist() == [DAY0 + 14 * H] and late.shift_end_ms.tolist() == [DAY0 + 18 * H]
    assert build(today, now_h=19).shift_start_ms.tolist() == [DAY0 + 14 * H]  # all over: the last one


def test_an_unaligned_break_is_spread_over_the_intervals_it_touches():
    # A 15-minute break 10:10-10:25: a third of 10:00 and two thirds of 10:15 exactly; on the
    # ranking's grid half of each, and phone time there at most 1 - 1/2.
    today = {"ana": [seg("ana", "open", 8, 10 + 10 / 60), seg("ana", "break", 10 + 10 / 60, 10 + 25 / 60),
                     seg("ana", "open", 10 + 25 / 60, 12)]}
    a = build(today, now_h=9)
    np.testing.assert_allclose(a.phone_day[0, 40:42], [2 / 3, 1 / 3])
    rest = STARTS[36:]
    x, acts = ranking_phone(a, rest, IV)
    assert acts["start_iv"] == [4] and acts["end_iv"] == [6] and acts["share"] == [0.5]
    np.testing.assert_allclose(x[0, 4:6], [0.5, 1 / 3])
    assert x[0, 4:6].sum() + 0.5 * 2 == pytest.approx(2.0 - 1 / 6)  # never more than one interval each


def test_meetings_shared_by_several_agents_are_one_group():
    today = {name: [seg(name, "open", 8, 11), seg(name, "meeting", 11, 11.5), seg(name, "open", 11.5, 16)]
             for name in ("ana", "cat")}
    today["bob"] = [seg("bob", "open", 8, 11), seg("bob", "break", 11, 11.5), seg("bob", "open", 11.5, 16)]
    a = build(today, now_h=9)
    _, acts = ranking_phone(a, STARTS[36:], IV)
    groups = dict(zip([a.ids[i] for i in acts["agent"]], acts["group"], strict=True))
    assert groups["ana"] == groups["cat"] >= 0 and groups["bob"] == -1


def test_the_scheduled_matrix_with_pins_is_the_actions_model():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (6, 5))
    skills = np.array([[1, 0], [0, 1], [1, 1], [1, 1], [1, 0], [1, 1]], dtype=bool)
    load = rng.uniform(0.5, 3, (2, 5))
    pins = np.full((6, 5), -1, dtype=np.int32)
    pins[2, 1:3], pins[3, 4] = 0, 1
    got = scheduled_matrix(x, skills, pins, load)
    ref = make_plan_inputs(["claims", "billing"], STARTS[:5], 900.0, np.full((2, 5), 10.0), 180.0,
                           agent_ids=[f"a{i}" for i in range(6)], skills=skills, on_phone=x, shift_start_iv=0,
                           shift_end_iv=5, pinned=pins, split_weight=load)
    np.testing.assert_allclose(got, ref.agents)
    none = np.full((6, 5), -1, dtype=np.int32)
    segs = {}  # without pins: the plan's own matrix from segments
    for a in range(6):
        segs[f"a{a}"] = [Segment(f"a{a}", "open", int(STARTS[i]), int(STARTS[i] + x[a, i] * IV)) for i in range(5)]
    direct = scheduled_agents_matrix(segs, {f"a{a}": [q for q, k in QUEUES.items() if skills[a, k]] for a in range(6)},
                                     STARTS[:5], 900.0, QUEUES, {"open"}, load)
    np.testing.assert_allclose(scheduled_matrix(x, skills, none, load), direct, atol=1e-5)  # whole ms


def test_a_moved_break_keeps_its_minutes():
    # Claims is short at 10:00-10:30 and over at 11:00: ana's unaligned break moves by whole intervals.
    b0, b1 = 10 + 5 / 60, 10 + 20 / 60
    today = {"ana": [seg("ana", "open", 8, b0), seg("ana", "break", b0, b1), seg("ana", "open", b1, 16)]}
    for n in range(9):
        today[f"c{n}"] = [seg(f"c{n}", "open", 8, 16)]
    skills = {name: ["claims"] for name in today}
    a = build(today, now_h=9.9, skills=skills)
    rest = STARTS[39:64]
    x, acts = ranking_phone(a, rest, IV)
    calls = np.where(np.arange(rest.size) < 5, 40.0, 10.0)[None, :]
    inputs = make_plan_inputs(["claims"], rest, 900.0, calls, 180.0, agent_ids=a.ids, skills=[["claims"]] * len(a.ids),
                              on_phone=x, shift_start_iv=-10, shift_end_iv=rest.size, activities=acts,
                              agents=scheduled_matrix(a.phone_day[:, 39:64], a.skills, np.full(x.shape, -1, np.int32),
                                                      np.ones((2, rest.size)))[:1])
    move = next(act for act in rank_actions(inputs) if act.kind == "move_break")
    edits, pins = schedule_edits(move, a, ["claims"], int(rest[0]), rest.size, IV)
    assert pins == [] and [e["agent"] for e in edits] == ["ana"]
    shift = move.segments_after[0].start_ms - move.segments_before[0].start_ms
    assert shift % IV == 0 and shift > 0
    after = [tuple(r) for r in edits[0]["after"]]
    assert ("break", DAY0 + round(b0 * H) + shift, DAY0 + round(b1 * H) + shift) in after
    assert sum(e - s for act, s, e in after if act == "open") == sum(e - s for act, s, e in edits[0]["before"] if act == "open")


def test_intraday_settings():
    cfg = QueuesConfig.from_toml('[intraday]\nfirefight_window = "09:30-11:30, 22:00-02:00"\nmin_closed = 3\n'
                                 'volume_cap = [0.7, 1.5]\nvto = false\n').intraday
    assert cfg.firefight_window == ((570, 690), (1320, 120))
    assert (cfg.min_closed, cfg.volume_cap, cfg.vto) == (3, (0.7, 1.5), False)
    assert QueuesConfig().intraday == IntradayConfig()
    for bad in ('firefight_window = "9"', "min_closed = 0", "aht_cap = [1.2, 2]", "vto = 1", "nope = 1",
                "half_life_intervals = 0"):
        with pytest.raises(ConfigError, match=r"\[intraday\]"):
            QueuesConfig.from_toml(f"[intraday]\n{bad}\n")


def test_the_demo_files_commented_intraday_block_is_the_defaults():
    from pathlib import Path

    from floorboard import config

    lines = (Path(config.__file__).parent / "demo_queues.toml").read_text(encoding="utf-8").splitlines()
    first = lines.index("# [intraday]")
    block = []
    for line in lines[first:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    assert QueuesConfig.from_toml("\n".join(block)).intraday == IntradayConfig()
