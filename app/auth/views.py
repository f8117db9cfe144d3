"""What access control shows: the refusal inside a page, the signed-in bar, the CSRF field.

Dash components, except :func:`plain_page`: the few answers given outside the Dash app (too many
sign-in attempts, a bad kiosk link) as a small HTML page using the same stylesheets.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dash import dcc, html
from markupsafe import escape

from app.auth.policy import Decision, Outcome
from app.auth.principal import Principal


def csrf_field(token: str | None) -> dcc.Input:
    return dcc.Input(type="hidden", name="csrf_token", value=token or "")


def signed_in_bar(who: Principal, csrf: str | None) -> html.Div:
    """"Signed in as …" and a sign-out button (a CSRF-protected form)."""
    if who.kind == "kiosk":
        label: list[Any] = [f"Kiosk link for {'every queue' if who.group == '*' else who.group}"]
    elif who.kind == "user":
        label = ["Signed in as ", html.B(who.name), f" ({who.role})"]
    else:
        return html.Div()
    button = [] if who.via == "proxy" else [html.Form(
        [csrf_field(csrf), html.Button("Sign out", type="submit", className="button ghost small")],
        action="/logout", method="POST", className="inline-form")]
    return html.Div([html.Span(label, className="muted"), *button], className="signed-in-bar")


def refusal(who: Principal, decision: Decision, target: str) -> tuple[Any, str]:
    """The page content shown instead of a page the caller may not open, and its title."""
    if decision.outcome is Outcome.SIGN_IN:
        # Send the browser to the sign-in page, coming back here afterwards.
        href = f"/login?next={quote(target, safe='')}"
        return html.Div([dcc.Location(id="auth-redirect", href=href, refresh=True),
                         html.P(["Please ", html.A("sign in", href=href), "."])], className="page"), "Sign in · floorboard"
    if who.kind == "kiosk":
        detail, whom = "This screen's kiosk link opens its wallboard only.", ""
    else:
        reason = decision.reason
        detail = f"This page is {reason}." if reason.startswith("not for") else reason[:1].upper() + reason[1:] + "."
        whom = f"Signed in as {who.name} ({who.role})." if who.kind == "user" else ""
    body = html.Div(
        [html.Div("⊘", className="empty-icon", **{"aria-hidden": "true"}), html.H2("Not allowed"), html.P(detail),
         html.P(whom, className="caption") if whom else None,
         html.P(html.A("Go to your start page", href=who.home, className="button"), className="refusal-actions")],
        className="empty-state refusal", role="alert",
    )
    return html.Div([body], className="page"), "Not allowed · floorboard"


def plain_page(title: str, message: str, link: tuple[str, str] | None = None, code: str | None = None) -> str:
    """A whole HTML page outside the Dash app, every text escaped; ``code``: a secret shown once."""
    action = f'<p><a class="button" href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    if code is not None:
        action = f'<p><code class="secret">{escape(code)}</code></p>' + action
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · floorboard</title>"
        '<link rel="stylesheet" href="/assets/00-tokens.css"><link rel="stylesheet" href="/assets/10-layout.css">'
        '</head><body><main class="page"><div class="empty-state" role="alert">'
        f"<h2>{escape(title)}</h2><p>{escape(message)}</p>{action}</div></main></body></html>"
    )
