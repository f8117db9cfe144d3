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
