"""Applying a ranked action to ``PlanInputs``, and undoing it (its exact edits, reversed).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from staffing.actions.arrays import _frozen
from staffing.actions.inputs import PlanInputs
from staffing.actions.records import Action, Change


def apply_action(inputs: PlanInputs, action: Action) -> PlanInputs:
    """A new ``PlanInputs`` with the action's edits: agents, phone time, pins, shifts, activities.

    The plan (``agents``) moves by the action's cell deltas, so re-ranking sees the new plan.
    ``required`` and the forecast do not change. Raises ``ValueError`` if the inputs no
    longer hold the values the action was computed on (rank again instead).
    """
    updates: dict[str, np.ndarray] = {}
    for ch in action.changes:
        arr = updates.get(ch.field)
        if arr is None:
            arr = np.array(getattr(inputs, ch.field))
            updates[ch.field] = arr
        flat = arr.reshape(-1)
        if not np.array_equal(flat[ch.index], ch.before):
            raise ValueError(f"the action no longer matches the plan ({ch.field} changed); "
                             "rank the actions again")
        flat[ch.index] = ch.after
    return replace(inputs, **{k: _frozen(v) for k, v in updates.items()})


def invert_action(action: Action) -> Action:
    """The action that undoes ``action`` (its edits reversed, before and after swapped)."""
    changes = tuple(Change(ch.field, ch.index, ch.after, ch.before)
                    for ch in reversed(action.changes))
    return replace(action, changes=changes, segments_before=action.segments_after,
                   segments_after=action.segments_before, score=-action.score,
                   paid_hours=-action.paid_hours, text="Undo: " + action.text)


def undo_action(inputs: PlanInputs, action: Action) -> PlanInputs:
    """``inputs`` as they were before ``action`` was applied (exactly: stored values)."""
    return apply_action(inputs, invert_action(action))
