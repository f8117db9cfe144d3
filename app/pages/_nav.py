"""The navigation bar as the caller sees it: only the pages their role may open."""

from __future__ import annotations

from dash import html

from app.auth import may_open
from app.presenters.render import navbar


def nav(active: str) -> html.Nav:
    return navbar(active, may_open)
