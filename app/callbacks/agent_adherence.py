"""The agent view's schedule and adherence section, refreshed with the rest of the page."""

from typing import Any

from dash import Input, Output, State, callback

from app.context import get_settings, get_store, now_ms
from app.pages._ids import Agent
from app.presenters import render
from app.presenters.agent_adherence import agent_adherence_model
from realtime.adherence import read_agent_adherence


@callback(
    Output(Agent.adherence, "children"),
    Input(Agent.interval, "n_intervals"),
    State(Agent.params, "data"),
)
def refresh_agent_adherence(_n: int | None, params: dict[str, Any] | None) -> list[Any]:
    agent = (params or {}).get("agent")
    own = read_agent_adherence(get_store(), agent) if agent else None
    return render.agent_adherence(agent_adherence_model(own, now_ms=now_ms(), tz=get_settings().timezone))
