"""Page shells shared by the page modules (a page registered at two paths uses one shell).

Layouts only place components; the refresh callbacks in ``app/callbacks`` fill them. Query
parameters arrive as keyword arguments (Dash pages).
"""

from __future__ import annotations

from typing import Any

from dash import dash_table, dcc, html

from app.context import get_settings
from app.pages._ids import Agent, Queue, Wallboard
from app.pages._nav import nav
from app.presenters.queue import AGENT_COLUMNS

WALLBOARD_REFRESH_MS = 1000  # one Redis GET per refresh; keeps event → screen within 3 s
MIN_ROTATE_S = 5.0
_TRUE = ("1", "true", "yes", "on")


def is_kiosk(kiosk: Any) -> bool:
    return str(kiosk or "").lower() in _TRUE


def rotate_seconds(rotate: Any) -> float | None:
    """``?rotate=30`` → 30.0; missing, malformed or 0 → None (no rotation); at least 5 s."""
    try:
        value = float(rotate)
    except (TypeError, ValueError):
        return None
    return max(MIN_ROTATE_S, value) if value > 0 else None


def page_refresh_ms() -> int:
    return int(get_settings().tick_s * 1000)


def _shell(active: str, kiosk: Any, cls: str, children: list[Any]) -> html.Div:
    kiosk_on = is_kiosk(kiosk)
    return html.Div(
        [None if kiosk_on else nav(active), *children],
        className=f"page {cls}" + (" kiosk" if kiosk_on else ""),
    )


def wallboard_layout(group: str | None = None, kiosk: Any = None, rotate: Any = None, **_: Any) -> html.Div:
    return _shell(
        "/wallboard",
        kiosk,
        "wallboard-page",
        [
            dcc.Store(id=Wallboard.params, data={"group": group, "rotate_s": None if group else rotate_seconds(rotate)}),
            dcc.Interval(id=Wallboard.interval, interval=WALLBOARD_REFRESH_MS),
            dcc.Store(id=Wallboard.markup),
            dcc.Store(id=Wallboard.digest),
            html.Div(id=Wallboard.board, className="wb-board", role="main", **{"aria-live": "off"}),
        ],
    )


def queue_layout(queue: str | None = None, kiosk: Any = None, **_: Any) -> html.Div:
    table = dash_table.DataTable(
        id=Queue.agents,
        columns=[dict(c) for c in AGENT_COLUMNS],
        data=[],
        sort_action="custom",
        sort_mode="single",
        sort_by=[],
        page_action="none",
        style_as_list_view=True,
        fixed_rows={"headers": True},
        style_table={"maxHeight": "560px", "overflowY": "auto"},
        style_cell={"backgroundColor": "transparent", "color": "var(--ink)", "border": "none",
                    "borderBottom": "1px solid var(--line)", "fontFamily": "var(--font)", "fontSize": "var(--fs-1)",
                    "padding": "8px 10px", "textAlign": "left"},
        style_header={"backgroundColor": "var(--surface-2)", "color": "var(--muted)", "fontWeight": "600",
                      "textTransform": "uppercase", "letterSpacing": "0.06em", "fontSize": "var(--fs-0)"},
        style_data_conditional=[
            {"if": {"filter_query": f'{{state_key}} = "{state}"', "column_id": "state"},
             "color": f"var(--state-{state})", "fontWeight": "700"}
            for state in ("available", "on_call", "acw", "aux")
        ],
    )
    return _shell(
        "",
        kiosk,
        "queue-page",
        [
            dcc.Store(id=Queue.params, data={"queue": queue}),
            dcc.Interval(id=Queue.interval, interval=page_refresh_ms()),
            html.Div(id=Queue.header, className="page-head"),
            html.Div(
                [
                    html.Section([dcc.Graph(id=Queue.figure, config={"displaylogo": False, "responsive": True})], className="card chart-card"),
                    html.Div(
                        [
                            html.Section([html.H2("Callers waiting", className="section-title"), html.Div(id=Queue.waiting)], className="card waiting-card"),
                            html.Section(
                                [html.H2("Agents", className="section-title"), html.P("Longest in aux first; click a column to sort.", className="caption"), table],
                                className="card agents-card",
                            ),
                        ],
                        className="queue-side",
                    ),
                ],
                className="queue-grid",
            ),
        ],
    )


def agent_layout(agent: str | None = None, kiosk: Any = None, **_: Any) -> html.Div:
    return _shell(
        "",
        kiosk,
        "agent-page",
        [
            dcc.Store(id=Agent.params, data={"agent": agent}),
            dcc.Interval(id=Agent.interval, interval=page_refresh_ms()),
            html.Div(id=Agent.body, className="agent-body"),
            html.Section(id=Agent.adherence, className="card adherence-card"),
            html.Section(
                [html.H2("Today's states", className="section-title"),
                 dcc.Graph(id=Agent.timeline, config={"displaylogo": False, "responsive": True})],
                className="card timeline-card",
            ),
        ],
    )
