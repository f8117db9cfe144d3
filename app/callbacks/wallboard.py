"""Wallboard refresh: every second, read the snapshot (one GET) and redraw the board.

The server callback returns the board as one escaped HTML string; a clientside callback puts it
in place only when it changed (see app/presenters/markup.py for why not Dash components).
"""

from typing import Any

from dash import Input, Output, State, callback, clientside_callback
from dash.exceptions import PreventUpdate

from app.context import get_settings, get_store, now_ms
from app.pages._ids import Wallboard
from app.presenters import render
from app.presenters.markup import digest
from app.presenters.wallboard import wallboard_model


@callback(
    Output(Wallboard.markup, "data"),
    Output(Wallboard.digest, "data"),
    Input(Wallboard.interval, "n_intervals"),
    State(Wallboard.params, "data"),
    State(Wallboard.digest, "data"),
)
def refresh_wallboard(_n: int | None, params: dict[str, Any] | None, on_screen: str | None) -> tuple[str, str]:
    params = params or {}
    snapshot = get_store().read_snapshot()
    model = wallboard_model(
        snapshot, now_ms=now_ms(), tick_s=get_settings().tick_s, group=params.get("group"), rotate_s=params.get("rotate_s")
    )
    board = render.wallboard(model)
    fingerprint = digest(board)
    if fingerprint == on_screen:
        raise PreventUpdate  # nothing changed since the last refresh: send nothing
    return str(board), fingerprint


# Sets the board's HTML only when it changed; returns no_update so Dash never re-renders it.
_PUT_MARKUP = """
    function (markup) {
        const board = document.getElementById("BOARD_ID");
        if (board && typeof markup === "string" && board._markup !== markup) {
            board.innerHTML = markup;
            board._markup = markup;
        }
        return window.dash_clientside.no_update;
    }
"""

clientside_callback(
    _PUT_MARKUP.replace("BOARD_ID", Wallboard.board),
    Output(Wallboard.board, "title"),
    Input(Wallboard.markup, "data"),
)
