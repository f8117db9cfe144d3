"""/ — the overview: every wallboard, group, queue and the agent view, one click away."""

from typing import Any

import dash
from dash import dcc, html

from app.context import get_settings, get_store
from app.pages._nav import nav
from app.presenters.index import index_model
from app.presenters.render import level_badge

dash.register_page(__name__, path="/", title="floorboard", name="Overview", order=0)


def _card(title: str, children: list[Any]) -> html.Section:
    return html.Section([html.H2(title, className="section-title"), *children], className="card")


def layout(**_: Any) -> html.Div:
    model = index_model(get_store().read_snapshot(), get_settings().queues.groups())
    boards = [
        dcc.Link([html.B("All queues"), html.Span("/wallboard", className="muted")], href="/wallboard", className="link-row"),
        *[dcc.Link([html.B(g["name"]), html.Span(g["queues"], className="muted")], href=g["href"], className="link-row")
          for g in model["groups"]],
    ]
    kiosk = html.P(["For a TV: add ", html.Code("?kiosk=1"), " (no navigation) and ", html.Code("?rotate=30"),
                    " (cycle through the groups every 30 s)."], className="caption")
    queues = [
        dcc.Link([level_badge(q["level"], word=False), html.B(q["name"]),
                  html.Span(f"{q['waiting']} waiting · SL {q['sl']}", className="muted")],
                 href=q["href"], className="link-row")
        for q in model["queues"]
    ] or [html.P("No queues yet: they appear with the first events.", className="muted")]
    agent_form = html.Form(
        [dcc.Input(name="agent", placeholder="agent id", className="text-input", debounce=True),
         html.Button("Open my day", type="submit", className="button")],
        action="/me", method="GET", className="agent-form",
    )
    return html.Div(
        [
            nav("/"),
            html.Div([html.H1("Overview"), html.P("Live contact-center monitoring", className="caption")], className="page-title"),
            html.Div(
                [_card("Wallboards", [*boards, kiosk]), _card("Queues", queues), _card("Agent view", [agent_form])],
                className="index-grid",
            ),
        ],
        className="page index-page",
    )
