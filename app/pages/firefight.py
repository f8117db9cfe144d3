"""/firefight — the manager's peak-hour screen: queues at risk, top actions, worst exceptions."""

from typing import Any

import dash
from dash import dcc, html

from app.pages._ids import Firefight
from app.pages._layouts import is_kiosk, page_refresh_ms
from app.pages._nav import nav

dash.register_page(__name__, path="/firefight", title="Firefighting · floorboard", name="Firefight", order=8)


def layout(kiosk: Any = None, **_: Any) -> html.Div:
    return html.Div([
        None if is_kiosk(kiosk) else nav("/firefight"),
        dcc.Interval(id=Firefight.interval, interval=page_refresh_ms()),
        html.Div(id=Firefight.action_result, className="action-result ff-result", role="status"),
        html.Div(id=Firefight.body, className="ff-body"),
    ], className="page firefight-page" + (" kiosk" if is_kiosk(kiosk) else ""))
