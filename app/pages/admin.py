"""/admin — users, API tokens and kiosk links (admins only; the forms post to /admin/…).

Every form carries the session's CSRF token; the server checks the admin role on each post
(app/auth/policy.py), whatever this page shows.
"""

from datetime import UTC, datetime
from typing import Any

import dash
from dash import dcc, html

from app.auth import current_gate
from app.auth import kiosk as kiosk_links
from app.auth.policy import ROLES, SCOPES
from app.auth.views import csrf_field
from app.pages._nav import nav

dash.register_page(__name__, path="/admin", title="Administration · floorboard", name="Administration", order=91)


def _date(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _form(action: str, fields: list[Any], button: str, csrf: str | None, cls: str = "") -> html.Form:
    return html.Form([csrf_field(csrf), *fields, html.Button(button, type="submit", className=f"button small {cls}")],
                     action=action, method="POST", className="admin-form")


def _hidden(name: str, value: str) -> dcc.Input:
    return dcc.Input(type="hidden", name=name, value=value)


def _text(name: str, placeholder: str, kind: str = "text", required: bool = False) -> dcc.Input:
    return dcc.Input(name=name, placeholder=placeholder, type=kind, className="text-input", required=required)


def _table(head: list[str], rows: list[list[Any]], empty: str) -> Any:
    if not rows:
        return html.P(empty, className="muted")
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                       html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])], className="data-table admin-table")


def _users(csrf: str | None) -> html.Section:
    directory = current_gate().users.directory()
    rows = [
        [u.username, u.role, u.agent or "—", ", ".join(u.teams) or "—", ", ".join(u.queues) or "—",
         html.Div([
             _form("/admin/users", [_hidden("action", "passwd"), _hidden("username", u.username),
                                    _text("password", "new password", "password", True)], "Set password", csrf),
             _form("/admin/users", [_hidden("action", "end_sessions"), _hidden("username", u.username)],
                   "End sessions", csrf, "ghost"),
             _form("/admin/users", [_hidden("action", "remove"), _hidden("username", u.username)], "Remove", csrf, "danger"),
         ], className="admin-actions")]
        for u in sorted(directory.users.values(), key=lambda u: u.username)
    ]
    add = _form("/admin/users", [
        _hidden("action", "add"), _text("username", "user name", required=True),
        html.Select([html.Option(r, value=r) for r in ROLES], name="role", className="text-input"),
        _text("password", "password (10+ characters)", "password", True), _text("agent", "agent id (agents)"),
        _text("teams", "teams, comma-separated (supervisors)"), _text("queues", "queues, comma-separated (supervisors)"),
    ], "Add user", csrf)
    return html.Section([html.H2("Users", className="section-title"),
                         _table(["User", "Role", "Agent", "Teams", "Queues", ""], rows, "No users yet."), add],
                        className="card admin-card", id="admin-users")


def _tokens(csrf: str | None) -> html.Section:
    tokens = current_gate().users.directory().tokens.values()
    rows = [[t.id, t.name or "—", ", ".join(t.scopes), _date(t.created_ms / 1000),
             _form("/admin/tokens", [_hidden("action", "revoke"), _hidden("id", t.id)], "Revoke", csrf, "danger")]
            for t in sorted(tokens, key=lambda t: -t.created_ms)]
    create = _form("/admin/tokens", [
        _hidden("action", "create"), _text("name", "what uses it (e.g. reporting)", required=True),
        html.Select([html.Option(s, value=s) for s in SCOPES], name="scopes", multiple=True, className="text-input"),
    ], "Create token", csrf)
    return html.Section([html.H2("API tokens", className="section-title"),
                         _table(["Id", "Name", "Scopes", "Created", ""], rows, "No API tokens."), create],
                        className="card admin-card", id="admin-tokens")


def _kiosks(csrf: str | None) -> html.Section:
    gate = current_gate()
    links = kiosk_links.listing(gate.store(), gate.clock_s())
    rows = [[k.id, k.group, k.note or "—", _date(k.expires_s),
             _form("/admin/kiosk", [_hidden("action", "revoke"), _hidden("id", k.id)], "Revoke", csrf, "danger")]
            for k in links]
    groups = ["*", *sorted(gate.settings.queues.groups())]
    create = _form("/admin/kiosk", [
        _hidden("action", "create"),
        html.Select([html.Option("every queue" if g == "*" else g, value=g) for g in groups], name="group",
                    className="text-input"),
        _text("days", "days (default 30)"), _text("note", "where the screen is"),
    ], "Create kiosk link", csrf)
    return html.Section([html.H2("Kiosk links", className="section-title"),
                         _table(["Id", "Group", "Note", "Expires", ""], rows, "No kiosk links."), create],
                        className="card admin-card", id="admin-kiosk")


def layout(**_: Any) -> html.Div:
    from flask import session

    csrf = session.get("csrf")
    flash = session.pop("flash", None)
    notice = (html.P(flash.get("text"), className=f"flash flash-{flash.get('kind')}", role="status")
              if isinstance(flash, dict) else None)
    return html.Div(
        [
            nav(""),
            html.Div([html.H1("Administration")], className="page-title"),
            notice,
            html.Div([_users(csrf), _tokens(csrf), _kiosks(csrf)], className="admin-grid"),
        ],
        className="page admin-page",
    )
