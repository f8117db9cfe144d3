"""/me — the signed-in agent's own day. Whose day comes from the sign-in, never from the URL.

A supervisor or manager who types an agent id (``/me?agent=<id>``, the overview's form) is sent
to ``/agents/<id>``, where the access rules for that agent apply.
"""

from typing import Any
from urllib.parse import quote

import dash
from dash import dcc, html

from app.auth import current_principal
from app.auth.views import signed_in_bar
from app.pages._layouts import agent_layout, is_kiosk
from app.pages._nav import nav
from app.presenters.render import empty_state

dash.register_page(__name__, path="/me", title="My day · floorboard", name="My day", order=5)


def layout(agent: Any = None, kiosk: Any = None, **_: Any) -> Any:
    from flask import session

    who = current_principal()
    if isinstance(agent, str) and agent and agent != who.agent and who.role in ("supervisor", "manager", "admin"):
        return dcc.Location(id="me-redirect", href=f"/agents/{quote(agent, safe='')}")
    if not who.agent:
        return html.Div([nav(""), empty_state("No agent is linked to your account",
                                                 "Ask an administrator to set your agent id.")], className="page")
    page = agent_layout(agent=who.agent, kiosk=kiosk)
    if is_kiosk(kiosk):  # a side panel without the top bar still needs its sign-out button
        page.children.append(signed_in_bar(who, session.get("csrf")))
    return page
