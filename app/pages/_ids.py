"""Component ids, one class per page; layouts and callbacks both import them from here."""

from __future__ import annotations


class Wallboard:
    interval = "wb-interval"
    params = "wb-params"
    board = "wb-board"
    markup = "wb-markup"  # the board's HTML, put in place by a clientside callback
    digest = "wb-digest"  # a short hash of the HTML on screen: unchanged boards are not resent


class Queue:
    interval = "q-interval"
    params = "q-params"
    header = "q-header"
    figure = "q-figure"
    agents = "q-agents"
    waiting = "q-waiting"


class Agent:
    interval = "ag-interval"
    params = "ag-params"
    body = "ag-body"
    timeline = "ag-timeline"
    adherence = "ag-adherence"  # own schedule, next activity, adherence today


class Adherence:
    interval = "adh-interval"
    team = "adh-team"
    summary = "adh-summary"
    teams = "adh-teams"
    exceptions = "adh-exceptions"
    selected = "adh-selected"  # the agent whose timeline is shown
    timeline = "adh-timeline"
    timeline_title = "adh-timeline-title"
    upload = "adh-upload"
    upload_result = "adh-upload-result"
    action_result = "adh-action-result"
    # Pattern-matching ids of the buttons in each exception row.
    ack = "adh-ack"
    snooze = "adh-snooze"
    pick = "adh-pick"


class Intraday:
    interval = "int-interval"
    queue = "int-queue"
    shown = "int-shown"  # the digest of what is on screen: unchanged plans are not redrawn
    status = "int-status"
    stats = "int-stats"
    figure = "int-figure"
    explanation = "int-explanation"
    actions = "int-actions"
    audit = "int-audit"
    action_result = "int-action-result"
    overlays = "int-overlays"
    overlay_from = "int-overlay-from"
    overlay_to = "int-overlay-to"
    overlay_pct = "int-overlay-pct"
    overlay_label = "int-overlay-label"
    overlay_add = "int-overlay-add"
    overlay_result = "int-overlay-result"
    upload = "int-upload"
    upload_result = "int-upload-result"
    whatif_from = "int-whatif-from"
    whatif_to = "int-whatif-to"
    whatif_agents = "int-whatif-agents"
    whatif_pct = "int-whatif-pct"
    whatif_run = "int-whatif-run"
    whatif_figure = "int-whatif-figure"
    whatif_result = "int-whatif-result"
    # Pattern-matching ids of the buttons in the lists.
    apply = "int-apply"
    undo = "int-undo"
    remove_overlay = "int-remove-overlay"


class Firefight:
    interval = "ff-interval"
    body = "ff-body"
    action_result = "ff-action-result"
    apply = "ff-apply"  # pattern-matching: one per action shown
