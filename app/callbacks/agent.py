"""Agent page refresh: read the agent's own view, present it, redraw KPIs and timeline."""

from typing import Any

from dash import Input, Output, State, callback

from app.context import get_settings, get_store, now_ms
from app.figures import timeline_figure
from app.pages._ids import Agent
from app.presenters import render
from app.presenters.agent import agent_model


@callback(
    Output(Agent.body, "children"),
    Output(Agent.timeline, "figure"),
    Input(Agent.interval, "n_intervals"),
    State(Agent.params, "data"),
)
def refresh_agent(_n: int | None, params: dict[str, Any] | None) -> tuple[Any, ...]:
    agent = (params or {}).get("agent")
    view = get_store().read_agent_view(agent, now_ms()) if agent else None
    model = agent_model(view, agent=agent)
    figure = timeline_figure(model.get("timeline", []), tz=get_settings().timezone, uirevision=f"agent:{agent}")
    return render.agent_body(model), figure
