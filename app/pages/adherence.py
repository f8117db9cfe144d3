"""/adherence — who is not where the plan puts them, ranked by how much it hurts the queues."""

from typing import Any

import dash
from dash import dcc, html

from app.pages._ids import Adherence
from app.pages._layouts import page_refresh_ms
from app.pages._nav import nav

dash.register_page(__name__, path="/adherence", title="Adherence · floorboard", name="Adherence", order=6)


def layout(team: str | None = None, **_: Any) -> html.Div:
    return html.Div(
        [
            nav("/adherence"),
            dcc.Interval(id=Adherence.interval, interval=page_refresh_ms()),
            dcc.Store(id=Adherence.selected),
            html.Div(
                [
                    html.Div([html.H1("Adherence"), html.P("Exceptions past their grace period, the most harmful first",
                                                           className="caption")], className="page-title"),
                    dcc.Dropdown(id=Adherence.team, value=team or "", clearable=False, searchable=True,
                                 options=[{"label": "All teams", "value": ""}], className="team-filter"),
                ],
                className="page-head adh-head",
            ),
            html.Div(id=Adherence.summary),
            html.Div(id=Adherence.action_result, className="action-result", role="status"),
            html.Section([html.H2("Exceptions now", className="section-title"), html.Div(id=Adherence.exceptions)],
                         className="card exceptions-card"),
            html.Section(
                [html.H2(id=Adherence.timeline_title, className="section-title", children="Agent's day"),
                 html.P("Pick an agent in the list: the schedule above, what actually happened below.", className="caption"),
                 dcc.Graph(id=Adherence.timeline, config={"displaylogo": False, "responsive": True})],
                className="card timeline-card",
            ),
            html.Div(
                [
                    html.Section([html.H2("Teams today", className="section-title"), html.Div(id=Adherence.teams)], className="card"),
                    html.Section(
                        [html.H2("Import a schedule", className="section-title"),
                         dcc.Upload(id=Adherence.upload, children=html.Div(["Drop a schedule CSV here or ", html.B("choose a file")]),
                                    className="upload-box", multiple=False, max_size=5_000_000),
                         html.P(["CSV with the header ", html.Code("agent,date,activity,start,end"),
                                 " in local time (HH:MM); each day in the file replaces that day. ",
                                 "Every column and rejection reason: docs/imports.md."], className="caption"),
                         html.Div(id=Adherence.upload_result, role="status")],
                        className="card",
                    ),
                ],
                className="adh-bottom",
            ),
        ],
        className="page adherence-page",
    )
