"""Queue page refresh: read the queue view, present it, redraw header, chart, table, list."""

from typing import Any

from dash import Input, Output, State, callback

from app.context import get_store, now_ms
from app.figures import interval_figure
from app.pages._ids import Queue
from app.presenters import render
from app.presenters.queue import queue_model


@callback(
    Output(Queue.header, "children"),
    Output(Queue.figure, "figure"),
    Output(Queue.agents, "data"),
    Output(Queue.waiting, "children"),
    Input(Queue.interval, "n_intervals"),
    Input(Queue.agents, "sort_by"),
    State(Queue.params, "data"),
)
def refresh_queue(_n: int | None, sort_by: list[dict[str, str]] | None, params: dict[str, Any] | None) -> tuple[Any, ...]:
    queue = (params or {}).get("queue") or ""
    t = now_ms()
    model = queue_model(get_store().read_queue_view(queue, t), now_ms=t, sort_by=sort_by)
    figure = interval_figure(model.get("intervals", []), sl_target=model.get("sl_target"), uirevision=f"queue:{queue}")
    return render.queue_header(model), figure, model.get("agents", []), render.waiting_list(model)
