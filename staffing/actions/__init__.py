"""Roster actions: schedule changes for the rest of the day, ranked by the service they add.

Five kinds of action (``KINDS``), each generated only where its constraints hold:

* ``move``: skilled agents work only one (deficit) queue for a time range;
* ``move_break``: a break or lunch moves within its allowed window;
* ``postpone``: a meeting or training (all its attendees) moves later in the shift, or to
  another day;
* ``overtime``: an agent works whole intervals just before or after the shift, where their
  queues are short, within their overtime limit;
* ``vto``: an agent leaves early or starts late (voluntary time off) where every queue they
  serve stays staffed at or above its requirement.

Model (``staffing.actions.model``). An action changes the phone time and/or the pins of a
few agents, hence the (fractional) agents on a few (queue, interval) cells through the
multi-skill split; the projected service level interpolates the queue's model (Erlang C or
Erlang A) between whole agents, as in ``staffing.plan.projected``. The score of an action is

    score = sum over affected cells of calls[q, i] * (SL_after[q, i] - SL_before[q, i]),

the change in calls answered within the threshold (in each queue's own SL definition).
Every action is scored alone against the current plan; after applying one, rank again.

Speed. Candidates are generated with array operations, pruned by a first-order estimate (the
value of one agent-interval, ``marginal``), capped per kind, then all evaluated at once:
their cell deltas are one sparse (candidate, cell) list, and the models are evaluated once
per distinct (cell, whole agents) pair. See docs/intraday.md, section "Roster actions".

Modules, in the order of a ranking:

* ``inputs``: ``PlanInputs`` and ``make_plan_inputs`` (checks, defaults);
* ``model``: the multi-skill split and the SL at agent counts (the SL table);
* ``context``: what generation and evaluation share, computed once per ranking;
* ``candidates``: ``KINDS``, ``ActionOptions``, ``Candidates`` and what every kind shares;
* ``generate``: one generator per kind, ``generate_candidates``;
* ``evaluate``: ``Evaluation``, ``evaluate_candidates`` (exact effects and scores);
* ``records``: ``Action``, ``CellEffect``, ``Change`` and their sentences;
* ``rank``: ``rank_actions``;
* ``apply``: ``apply_action``, ``invert_action``, ``undo_action``;
* ``arrays``: small array tools.
"""

from __future__ import annotations

from staffing.actions.apply import apply_action, invert_action, undo_action
from staffing.actions.candidates import KINDS, ActionOptions, Candidates
from staffing.actions.evaluate import Evaluation, evaluate_candidates
from staffing.actions.generate import generate_candidates
from staffing.actions.inputs import BREAK_WINDOW_MIN, POSTPONABLE, PlanInputs, make_plan_inputs
from staffing.actions.rank import rank_actions
from staffing.actions.records import Action, CellEffect, Change

__all__ = [
    "BREAK_WINDOW_MIN",
    "KINDS",
    "POSTPONABLE",
    "Action",
    "ActionOptions",
    "Candidates",
    "CellEffect",
    "Change",
    "Evaluation",
    "PlanInputs",
    "apply_action",
    "evaluate_candidates",
    "generate_candidates",
    "invert_action",
    "make_plan_inputs",
    "rank_actions",
    "undo_action",
]
