"""Editing one agent's schedule: the segment lists roster actions write."""

from __future__ import annotations

import pytest

from staffing.schedule import Segment
from staffing.schedule_edit import cut, move_activity, normalized, put, replace_range

M = 60_000


def s(activity: str, start_min: int, end_min: int) -> Segment:
    return Segment("ana", activity, start_min * M, end_min * M)


DAY = [s("open", 480, 600), s("break", 600, 615), s("open", 615, 720)]


def test_normalized_sorts_drops_empty_and_merges_neighbours():
    assert normalized([s("open", 60, 90), s("open", 0, 60), s("break", 90, 90)]) == [s("open", 0, 90)]
    assert normalized([s("open", 0, 60), s("break", 60, 75)]) == [s("open", 0, 60), s("break", 60, 75)]


def test_cut_splits_what_crosses_the_range():
    assert cut(DAY, 590 * M, 620 * M) == [s("open", 480, 590), s("open", 620, 720)]
    assert cut(DAY, 0, 60 * M) == DAY


def test_put_replaces_whatever_was_there():
    assert put(DAY, s("lunch", 660, 690)) == [*DAY[:2], s("open", 615, 660), s("lunch", 660, 690), s("open", 690, 720)]


def test_a_break_moved_keeps_its_length_and_gives_its_time_back():
    moved = move_activity(DAY, DAY[1], 645 * M)
    assert moved == [s("open", 480, 645), s("break", 645, 660), s("open", 660, 720)]
    assert move_activity(moved, moved[1], 600 * M) == DAY  # and back: the same list
    assert move_activity(DAY, DAY[1], None) == [s("open", 480, 720)]  # to another day
    with pytest.raises(ValueError):
        move_activity(DAY, s("break", 0, 15), 60 * M)


def test_replace_range_does_not_lengthen_the_shift():
    assert replace_range(DAY, 690 * M, 800 * M, "off") == [*DAY[:2], s("open", 615, 690), s("off", 690, 720)]
    assert replace_range(DAY, 590 * M, 620 * M, "off", only={"open"}) == [
        s("open", 480, 590), s("off", 590, 600), s("break", 600, 615), s("off", 615, 620), s("open", 620, 720)]
