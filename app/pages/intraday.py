"""/intraday — the rest of today per queue: reforecast, plan, gaps, ranked roster actions."""

from typing import Any

import dash
from dash import dcc, html

from app.pages._ids import Intraday
from app.pages._layouts import page_refresh_ms
from app.pages._nav import nav

dash.register_page(__name__, path="/intraday", title="Intraday · floorboard", name="Intraday", order=7)


def _field(label: str, component: Any) -> html.Label:
    return html.Label([html.Span(label, className="field-label"), component], className="field")


def layout(queue: str | None = None, **_: Any) -> html.Div:
    whatif = html.Section([
        html.H2("What if", className="section-title"),
        html.P("Add or remove agents, or change the calls, on this queue for a time range, and see the projected "
               "service level before committing to anything. Nothing is stored.", className="caption"),
        html.Div([
            _field("From", dcc.Input(id=Intraday.whatif_from, type="text", placeholder="14:00", debounce=True)),
            _field("To", dcc.Input(id=Intraday.whatif_to, type="text", placeholder="16:00", debounce=True)),
            _field("± agents", dcc.Input(id=Intraday.whatif_agents, type="number", value=1, step=0.5)),
            _field("Calls ± %", dcc.Input(id=Intraday.whatif_pct, type="number", value=0)),
            html.Button("Project", id=Intraday.whatif_run, className="button"),
        ], className="form-row"),
        html.Div(id=Intraday.whatif_result, role="status", className="whatif-result"),
        dcc.Graph(id=Intraday.whatif_figure, config={"displaylogo": False, "responsive": True},
                  style={"height": "300px"}),
    ], className="card whatif-card")
    overlays = html.Section([
        html.H2("Overlays: known events", className="section-title"),
        html.P("A manual change of the reforecast, e.g. +30 % on Claims 14:00–18:00 for a storm. A new overlay "
               "applies to the queue chosen above.", className="caption"),
        html.Div(id=Intraday.overlays),
        html.Div([
            _field("From", dcc.Input(id=Intraday.overlay_from, type="text", placeholder="14:00")),
            _field("To", dcc.Input(id=Intraday.overlay_to, type="text", placeholder="18:00")),
            _field("Calls ± %", dcc.Input(id=Intraday.overlay_pct, type="number", placeholder="30")),
            _field("Why", dcc.Input(id=Intraday.overlay_label, type="text", placeholder="storm", maxLength=120)),
            html.Button("Add overlay", id=Intraday.overlay_add, className="button"),
        ], className="form-row"),
        html.Div(id=Intraday.overlay_result, role="status", className="action-result"),
    ], className="card overlays-card")
    upload = html.Section([
        html.H2("Import a forecast", className="section-title"),
        dcc.Upload(id=Intraday.upload, children=html.Div(["Drop a forecast CSV here or ", html.B("choose a file")]),
                   className="upload-box", multiple=False, max_size=5_000_000),
        html.P("Columns queue, date, interval_start, calls, aht_s; see docs/imports.md. Bad rows are listed with "
               "their line numbers and nothing is imported.", className="caption"),
        html.Div(id=Intraday.upload_result, role="status"),
    ], className="card")
    return html.Div([
        nav("/intraday"),
        dcc.Interval(id=Intraday.interval, interval=page_refresh_ms()),
        dcc.Store(id=Intraday.shown),
        html.Div([
            html.Div([html.H1("Intraday"), html.P("The rest of today: reforecast, staffing plan and what to change",
                                                  className="caption")], className="page-title"),
            dcc.Dropdown(id=Intraday.queue, value=queue, options=[], clearable=False, placeholder="Queue",
                         className="queue-pick queue-select"),
        ], className="page-head int-head"),
        html.Div(id=Intraday.status, className="int-status"),
        html.Div(id=Intraday.stats),
        html.Div(id=Intraday.action_result, className="action-result", role="status"),
        html.Div([
            html.Div([
                html.Section([dcc.Graph(id=Intraday.figure, config={"displaylogo": False, "responsive": True})],
                             className="card chart-card"),
                html.Section([html.H2("Why this reforecast", className="section-title"),
                              html.Div(id=Intraday.explanation)], className="card explain-card"),
                whatif,
            ], className="int-main"),
            html.Aside([
                html.Section([html.H2("Roster actions", className="section-title"),
                              html.P("Ranked by the calls they bring within the threshold, across all queues.",
                                     className="caption"),
                              html.Div(id=Intraday.actions)], className="card actions-card"),
                html.Section([html.H2("Applied today", className="section-title"), html.Div(id=Intraday.audit)],
                             className="card audit-card"),
            ], className="int-side"),
        ], className="int-grid"),
        html.Div([overlays, upload], className="adh-bottom"),
    ], className="page intraday-page")
