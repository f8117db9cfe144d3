"""Adherence page: refresh the exceptions, act on their alerts, show one agent's day, import."""

from __future__ import annotations

from typing import Any

from dash import ALL, Input, Output, State, callback, html, no_update

from app.callbacks.clicks import clicked_id
from app.context import can_see, current_user, get_history, get_settings, get_store, now_ms
from app.figures import adherence_timeline_figure
from app.pages._ids import Adherence
from app.presenters import render
from app.presenters.adherence import adherence_model, timeline_segments
from app.presenters.imports import import_message
from realtime import alerts as alert_ops
from realtime.adherence import read_adherence_view, read_agent_adherence
from realtime.imports import import_schedule_upload

SNOOZE_MIN = 15


@callback(
    Output(Adherence.summary, "children"),
    Output(Adherence.exceptions, "children"),
    Output(Adherence.teams, "children"),
    Output(Adherence.team, "options"),
    Input(Adherence.interval, "n_intervals"),
    Input(Adherence.team, "value"),
    Input(Adherence.action_result, "children"),
)
def refresh_adherence(_n: int | None, team: str | None, _acted: Any) -> tuple[Any, ...]:
    store, t = get_store(), now_ms()
    alerts = alert_ops.list_alerts(store, state="active", kind="agent", limit=1000,
                                   where=lambda a: can_see(a["kind"], a["subject"]))
    model = adherence_model(read_adherence_view(store), alerts, team=team, now_ms=t, tz=get_settings().timezone,
                            can_see=can_see)
    if model["kind"] == "empty":
        return [render.empty_state(model["message"], model["detail"])], [], [], no_update
    return render.stat_strip(model["stats"]), render.exceptions_table(model), render.team_table(model), model["team_options"]


@callback(
    Output(Adherence.action_result, "children"),
    Input({"type": Adherence.ack, "index": ALL}, "n_clicks"),
    Input({"type": Adherence.snooze, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def act_on_alert(_acks: list[int | None], _snoozes: list[int | None]) -> Any:
    clicked = clicked_id()
    if clicked is None:
        return no_update
    alert_id, kind = clicked["index"], clicked["type"]
    store, user = get_store(), current_user()
    try:
        alert = alert_ops.get_alert(store, alert_id)
        if alert is None or not can_see(alert["kind"], alert["subject"]):
            raise alert_ops.UnknownAlert(f"unknown alert {alert_id!r}")
        if kind == Adherence.ack:
            alert_ops.acknowledge(store, alert_id, user, now_ms())
            return html.Span(f"Acknowledged by {user}.", className="ok")
        alert_ops.snooze(store, alert_id, user, SNOOZE_MIN, now_ms())
        return html.Span(f"Snoozed for {SNOOZE_MIN} minutes by {user}.", className="ok")
    except alert_ops.AlertError as exc:
        return html.Span(str(exc), className="error")


@callback(
    Output(Adherence.selected, "data"),
    Input({"type": Adherence.pick, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def pick_agent(_clicks: list[int | None]) -> Any:
    clicked = clicked_id()
    return no_update if clicked is None else clicked["index"]


@callback(
    Output(Adherence.timeline, "figure"),
    Output(Adherence.timeline_title, "children"),
    Input(Adherence.selected, "data"),
    Input(Adherence.interval, "n_intervals"),
)
def agent_day(agent: str | None, _n: int | None) -> tuple[Any, str]:
    store, t, tz = get_store(), now_ms(), get_settings().timezone
    if agent and not can_see("agent", agent):
        agent = None  # a crafted request for someone outside the caller's teams shows nobody
    if not agent:
        view = read_adherence_view(store) or {}
        agent = next((e["agent"] for e in view.get("exceptions", []) if can_see("agent", e["agent"])), None)
    if not agent:
        return adherence_timeline_figure([], [], tz=tz, now_ms=t, uirevision="adh:none"), "Agent's day"
    own = read_agent_adherence(store, agent) or {}
    live = store.read_agent_view(agent, t) or {}
    planned, actual = timeline_segments(own.get("segments", []), live.get("timeline", []))
    title = f"{own.get('name') or agent}'s day"
    return adherence_timeline_figure(planned, actual, tz=tz, now_ms=t, uirevision=f"adh:{agent}"), title


@callback(
    Output(Adherence.upload_result, "children"),
    Input(Adherence.upload, "contents"),
    State(Adherence.upload, "filename"),
    prevent_initial_call=True,
)
def upload_schedule(contents: str | None, filename: str | None) -> Any:
    if not contents:
        return no_update
    result = import_schedule_upload(get_store(), get_settings(), contents, filename or "schedule.csv", current_user(), now_ms(),
                                    history=get_history())
    return import_message(result)
