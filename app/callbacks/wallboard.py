"""Wallboard refresh: every second, read the snapshot (one GET) and redraw the board."""

from typing import Any

from dash import Input, Output, State, callback

from app.context import get_settings, get_store, now_ms
from app.pages._ids import Wallboard
from app.presenters import render
from app.presenters.wallboard import wallboard_model


@callback(
    Output(Wallboard.board, "children"),
    Input(Wallboard.interval, "n_intervals"),
    State(Wallboard.params, "data"),
)
def refresh_wallboard(_n: int | None, params: dict[str, Any] | None) -> list[Any]:
    params = params or {}
    snapshot = get_store().read_snapshot()
    model = wallboard_model(
        snapshot, now_ms=now_ms(), tick_s=get_settings().tick_s, group=params.get("group"), rotate_s=params.get("rotate_s")
    )
    return render.wallboard(model)
