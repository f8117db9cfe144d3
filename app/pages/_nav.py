"""The navigation bar as the caller sees it: only the pages their role may open, and who is
signed in with a sign-out button on every page (a kiosk screen shows no bar at all)."""

from __future__ import annotations

from dash import html
from flask import has_request_context, session

from app.auth import current_principal, may_open
from app.auth.views import signed_in_bar
from app.presenters.render import navbar


def nav(active: str) -> html.Nav:
    bar = navbar(active, may_open)
    if has_request_context():
        bar.children = [*bar.children, signed_in_bar(current_principal(), session.get("csrf"))]
    return bar
