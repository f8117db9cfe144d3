"""/login — sign in with a user name and password (the form posts to /login, app/auth/routes.py)."""

from typing import Any

import dash
from dash import dcc, html

from app.auth import current_principal
from app.auth.routes import safe_next
from app.auth.views import csrf_field, signed_in_bar

dash.register_page(__name__, path="/login", title="Sign in · floorboard", name="Sign in", order=90)

ERRORS = {
    "invalid": "Wrong user name or password.",
}


def layout(error: Any = None, next: Any = None, **_: Any) -> html.Div:  # noqa: A002 - the query parameter's name
    from flask import session

    who = current_principal()
    csrf = session.get("csrf")
    back = safe_next(next if isinstance(next, str) else None)
    if who.kind in ("user", "kiosk"):
        body: list[Any] = [
            html.H1("Signed in"),
            signed_in_bar(who, csrf),
            html.P(html.A("Continue", href=back or who.home, className="button")),
        ]
    else:
        message = ERRORS.get(error) if isinstance(error, str) else None
        body = [
            html.H1("Sign in"),
            html.P(message, className="form-error", role="alert") if message else None,
            html.Form(
                [
                    csrf_field(csrf),
                    dcc.Input(type="hidden", name="next", value=back or ""),
                    html.Label(["User name", dcc.Input(name="username", id="login-username", type="text",
                                                       autoComplete="username", className="text-input", required=True)]),
                    html.Label(["Password", dcc.Input(name="password", id="login-password", type="password",
                                                      autoComplete="current-password", className="text-input",
                                                      required=True)]),
                    html.Button("Sign in", type="submit", id="login-submit", className="button"),
                ],
                action="/login", method="POST", className="login-form",
            ),
            html.P("Wallboard screens use a kiosk link instead; an administrator creates one.", className="caption"),
        ]
    return html.Div(html.Section(body, className="card login-card"), className="page login-page")
