"""Intraday page: refresh the plan, apply and undo actions, edit overlays, import, what-if."""

from __future__ import annotations

import logging
from typing import Any

from dash import ALL, Input, Output, State, callback, no_update

from app.callbacks.clicks import clicked_id
from app.context import current_user, get_history, get_settings, get_store, now_ms
from app.figures import intraday_figure, what_if_figure
from app.pages._ids import Intraday
from app.presenters import render_intraday as view
from app.presenters.intraday import intraday_model, parse_percent, parse_range, what_if_summary
from realtime import intraday_store as plan_ops
from realtime.imports import decode_upload, import_forecast

log = logging.getLogger(__name__)
_REFRESH_OUTPUTS = 10


@callback(
    Output(Intraday.status, "children"),
    Output(Intraday.stats, "children"),
    Output(Intraday.queue, "options"),
    Output(Intraday.queue, "value"),
    Output(Intraday.figure, "figure"),
    Output(Intraday.explanation, "children"),
    Output(Intraday.actions, "children"),
    Output(Intraday.audit, "children"),
    Output(Intraday.overlays, "children"),
    Output(Intraday.shown, "data"),
    Input(Intraday.interval, "n_intervals"),
    Input(Intraday.queue, "value"),
    Input(Intraday.action_result, "children"),
    Input(Intraday.overlay_result, "children"),
    Input(Intraday.upload_result, "children"),
    State(Intraday.shown, "data"),
)
def refresh_intraday(_n: int | None, queue: str | None, _acted: Any, _overlaid: Any, _imported: Any,
                     shown: str | None) -> tuple[Any, ...]:
    settings, t = get_settings(), now_ms()
    model = intraday_model(plan_ops.read_page(get_store(), queue, t), queue=queue, now_ms=t,
                           tz=settings.timezone, tick_s=settings.tick_s)
    if model["kind"] == "empty":
        return (view.status_line(model), [], [], None, intraday_figure([], target=None, uirevision="intraday"),
                [], [], [], [], model["digest"])
    if model["digest"] == shown:  # the same plan on screen: only the freshness line changes
        return (view.status_line(model), *[no_update] * (_REFRESH_OUTPUTS - 1))
    return (view.status_line(model), view.stats(model), model["options"], model["queue"],
            intraday_figure(model["rows"], target=model["target"], uirevision=f"intraday:{model['queue']}"),
            view.explanation_panel(model), view.actions_list(model["actions"], Intraday.apply, problem=model["actions_problem"]),
            view.audit_list(model["audit"], Intraday.undo), view.overlays_list(model["overlays"], Intraday.remove_overlay),
            model["digest"])


@callback(
    Output(Intraday.action_result, "children"),
    Input({"type": Intraday.apply, "index": ALL}, "n_clicks"),
    Input({"type": Intraday.undo, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def apply_or_undo(_applies: list[int | None], _undos: list[int | None]) -> Any:
    clicked = clicked_id()
    if clicked is None:
        return no_update
    target, kind = clicked["index"], clicked["type"]
    try:
        if kind == Intraday.apply:
            entry = plan_ops.apply_action(get_store(), target, current_user(), now_ms())
            return view.result(f"Applied by {entry['who']}: {entry['text']}. The plan updates within a tick.", True)
        entry = plan_ops.undo_action(get_store(), target, current_user(), now_ms())
        return view.result(f"Undone by {entry['undone_by']}: {entry['text']}.", True)
    except plan_ops.IntradayError as exc:
        return view.result(str(exc), False)


@callback(
    Output(Intraday.overlay_result, "children"),
    Input(Intraday.overlay_add, "n_clicks"),
    Input({"type": Intraday.remove_overlay, "index": ALL}, "n_clicks"),
    State(Intraday.queue, "value"),
    State(Intraday.overlay_from, "value"),
    State(Intraday.overlay_to, "value"),
    State(Intraday.overlay_pct, "value"),
    State(Intraday.overlay_label, "value"),
    prevent_initial_call=True,
)
def edit_overlays(_add: int | None, _removes: list[int | None], queue: str | None, start: str | None,
                  end: str | None, pct: Any, label: str | None) -> Any:
    clicked = clicked_id()
    if clicked is None:
        return no_update
    store, t, tz = get_store(), now_ms(), get_settings().timezone
    try:
        if clicked != Intraday.overlay_add:
            gone = plan_ops.remove_overlay(store, clicked["index"], user=current_user(), now_ms=t)
            return view.result(f"Overlay on {gone['queue']} removed.", True)
        span, factor = parse_range(store.timebase.day(t), start, end, tz), parse_percent(pct)
        problem = next((p for p in (span, factor) if isinstance(p, str)), None) or ("" if queue else "choose a queue")
        if problem:
            return view.result(f"Not added: {problem}.", False)
        added = plan_ops.add_overlay(store, queue, span[0], span[1], factor, label=label or "", user=current_user(), now_ms=t)
        return view.result(f"Overlay added on {added['queue']}; the reforecast follows within a tick.", True)
    except plan_ops.IntradayError as exc:
        return view.result(f"Not done: {exc}.", False)


@callback(
    Output(Intraday.upload_result, "children"),
    Input(Intraday.upload, "contents"),
    State(Intraday.upload, "filename"),
    prevent_initial_call=True,
)
def upload_forecast(contents: str | None, filename: str | None) -> Any:
    if not contents:
        return no_update
    data = decode_upload(contents)
    result = data if not isinstance(data, bytes) else import_forecast(get_store(), get_history(), data, now_ms=now_ms())
    log.info("forecast %s uploaded by %s: %s", filename, current_user(), result.summary() if result.ok else
             f"rejected, {result.total} errors")
    return view.forecast_import_message(result, filename or "forecast.csv")


@callback(
    Output(Intraday.whatif_figure, "figure"),
    Output(Intraday.whatif_result, "children"),
    Input(Intraday.whatif_run, "n_clicks"),
    State(Intraday.queue, "value"),
    State(Intraday.whatif_from, "value"),
    State(Intraday.whatif_to, "value"),
    State(Intraday.whatif_agents, "value"),
    State(Intraday.whatif_pct, "value"),
)
def run_what_if(clicks: int | None, queue: str | None, start: str | None, end: str | None, agents: Any,
                pct: Any) -> tuple[Any, Any]:
    empty = what_if_figure([], target=None, uirevision="whatif")
    if not clicks or not queue:
        return empty, ""
    store, t, tz = get_store(), now_ms(), get_settings().timezone
    span, factor = parse_range(store.timebase.day(t), start, end, tz), parse_percent(pct or 0)
    problem = next((p for p in (span, factor) if isinstance(p, str)), None)
    if problem:
        return empty, view.result(f"Cannot project: {problem}.", False)
    try:
        res = plan_ops.what_if(store, queue, span[0], span[1], agents_delta=float(agents or 0), volume_multiplier=factor)
    except plan_ops.IntradayError as exc:
        return empty, view.result(f"Cannot project: {exc}.", False)
    return (what_if_figure(res["rows"], target=res["target"], uirevision=f"whatif:{queue}"),
            view.result(what_if_summary(res, tz), True))
