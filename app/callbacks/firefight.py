"""Firefighting page: one refresh of precomputed views (no computation on request), and Apply."""

from __future__ import annotations

from typing import Any

from dash import ALL, Input, Output, callback, no_update

from app.callbacks.clicks import clicked_id
from app.context import current_user, get_settings, get_store, now_ms
from app.pages._ids import Firefight
from app.presenters import render_intraday as view
from app.presenters.intraday import firefight_model
from realtime import intraday_store as plan_ops
from realtime.adherence import read_adherence_view


@callback(
    Output(Firefight.body, "children"),
    Input(Firefight.interval, "n_intervals"),
    Input(Firefight.action_result, "children"),
)
def refresh_firefight(_n: int | None, _acted: Any) -> list[Any]:
    settings, store, t = get_settings(), get_store(), now_ms()
    model = firefight_model(plan_ops.read_view(store), read_adherence_view(store),
                            window=settings.queues.intraday.firefight_window, now_ms=t, tz=settings.timezone,
                            tick_s=settings.tick_s)
    return view.firefight_body(model, Firefight.apply)


@callback(
    Output(Firefight.action_result, "children"),
    Input({"type": Firefight.apply, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def apply_from_firefight(_clicks: list[int | None]) -> Any:
    clicked = clicked_id()
    if clicked is None:
        return no_update
    try:
        entry = plan_ops.apply_action(get_store(), clicked["index"], current_user(), now_ms())
    except plan_ops.IntradayError as exc:
        return view.result(str(exc), False)
    return view.result(f"Applied by {entry['who']}: {entry['text']}. The plan updates within a tick.", True)
