"""Sign-in, sign-out, kiosk links and the admin page's form posts (blueprint ``auth``).

Every route here has its rule in :data:`app.auth.policy.ROUTES`; the gate has already checked it
and the CSRF token of every POST before these functions run.
"""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, request, session

from app.auth import kiosk
from app.auth.guard import (
    FAILURE_WINDOW_S,
    MAX_ADDRESS_FAILURES,
    MAX_USER_FAILURES,
    current_gate,
    current_principal,
)
from app.auth.users import USERNAME, UsersError
from app.auth.views import plain_page
from realtime import access

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


def safe_next(raw: str | None) -> str | None:
    """A local path to go back to after sign-in; anything else (another site) is dropped."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or any(c in raw for c in "\\\r\n\t"):
        return None
    return raw


def _html(body: str, status: int = 200, **headers: str) -> Response:
    return Response(body, status, headers=headers, mimetype="text/html")


@bp.post("/login")
def login() -> Any:
    gate = current_gate()
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    back = safe_next(request.form.get("next"))
    address = gate.client_address()
    name_key = username if USERNAME.match(username) else "-"
    store = gate.store()
    failures = access.signin_failures(store, name_key, address)
    if failures.user >= MAX_USER_FAILURES or failures.address >= MAX_ADDRESS_FAILURES:
        retry_s = max(1, failures.retry_after_s)
        log.warning("sign-in refused for %r from %s: too many failures", name_key, address)
        return _html(plain_page("Too many attempts", f"Too many failed sign-ins. Try again in "
                                f"{math.ceil(retry_s / 60)} minute(s).", ("/login", "Back to sign-in")),
                     429, **{"Retry-After": str(retry_s)})
    user = gate.users.verify(username, password)
    if user is None:
        access.record_signin_failure(store, name_key, address, FAILURE_WINDOW_S)
        log.info("failed sign-in for %r from %s", name_key, address)
        return redirect("/login?error=invalid" + (f"&next={quote(back, safe='')}" if back else ""), 303)
    access.clear_signin_failures(store, name_key)
    gate.start_user_session(user)
    log.info("%s signed in (%s) from %s", user.username, user.role, address)
    return redirect(back or gate.principal_for(user, "session").home, 303)


@bp.post("/logout")
def logout() -> Any:
    log.info("%s signed out", current_principal().audit_name)
    session.clear()
    return redirect("/login", 303)


@bp.get("/kiosk/<token>", endpoint="kiosk")
def kiosk_signin(token: str) -> Any:
    gate = current_gate()
    try:
        link = kiosk.verify(gate.store(), gate.settings.auth.secret_key or "", token, gate.clock_s())
    except kiosk.KioskError as exc:
        log.info("kiosk link refused from %s: %s", gate.client_address(), exc)
        return _html(plain_page("Kiosk link not valid", f"{exc}. Ask an administrator for a new link."),
                     403, **{"Referrer-Policy": "no-referrer"})
    gate.start_kiosk_session(link, token)
    log.info("kiosk link %s (%s) opened from %s", link.id, link.group, gate.client_address())
    resp = redirect(link.path, 303)
    resp.headers["Referrer-Policy"] = "no-referrer"  # the link is a credential
    return resp


# ------------------------------------------------------------------------------------ admin
def _ids(raw: str | None) -> list[str]:
    return [v.strip() for v in (raw or "").replace(";", ",").split(",") if v.strip()]


def _back(kind: str, text: str) -> Any:
    session["flash"] = {"kind": kind, "text": text}
    return redirect("/admin", 303)


def _shown_once(title: str, message: str, secret: str) -> Response:
    return _html(plain_page(title, message, ("/admin", "Back to administration"), code=secret))


@bp.post("/admin/users")
def admin_users() -> Any:
    users, form, me = current_gate().users, request.form, current_principal()
    action, username = form.get("action"), (form.get("username") or "").strip()
    try:
        if action == "add":
            users.add_user(username, form.get("role", ""), form.get("password", ""), agent=form.get("agent") or None,
                           teams=_ids(form.get("teams")), queues=_ids(form.get("queues")), name=form.get("name", ""))
            done = f"User {username} added."
        elif action == "passwd":
            users.set_password(username, form.get("password", ""))
            done = f"Password of {username} changed; their other sessions have ended."
        elif action == "end_sessions":
            users.end_sessions(username)
            done = f"Every session of {username} has ended."
        elif action == "remove":
            if username == me.name:
                raise UsersError("you cannot remove your own account")
            users.remove_user(username)
            done = f"User {username} removed."
        else:
            raise UsersError(f"unknown action {action!r}")
    except UsersError as exc:
        return _back("error", str(exc))
    log.info("admin %s: users %s %s", me.audit_name, action, username)
    return _back("ok", done)


@bp.post("/admin/tokens")
def admin_tokens() -> Any:
    users, form, me = current_gate().users, request.form, current_principal()
    try:
        if form.get("action") == "create":
            token, secret = users.create_token((form.get("name") or "").strip()[:100], form.getlist("scopes"))
            log.info("admin %s: token %s created (%s)", me.audit_name, token.id, ",".join(token.scopes))
            return _shown_once("API token created", f"Token {token.id} ({', '.join(token.scopes)}). Copy it now: "
                               "it is not shown again. Send it as: Authorization: Bearer <token>", secret)
        if form.get("action") == "revoke":
            users.revoke_token(form.get("id", ""))
            log.info("admin %s: token %s revoked", me.audit_name, form.get("id"))
            return _back("ok", f"Token {form.get('id')} revoked.")
        raise UsersError("unknown action")
    except UsersError as exc:
        return _back("error", str(exc))


@bp.post("/admin/kiosk")
def admin_kiosk() -> Any:
    gate, form, me = current_gate(), request.form, current_principal()
    try:
        if form.get("action") == "create":
            try:
                days = float(form.get("days") or 30)
            except ValueError:
                raise kiosk.KioskError("days must be a number") from None
            link, token = kiosk.create(gate.store(), gate.settings.auth.secret_key or "", (form.get("group") or "").strip(),
                                       days, gate.clock_s(), note=form.get("note", ""),
                                       known_groups=set(gate.settings.queues.groups()))
            log.info("admin %s: kiosk link %s created for %s", me.audit_name, link.id, link.group)
            return _shown_once("Kiosk link created", f"Kiosk link {link.id} for {link.group}, valid {days:g} days. "
                               "Open it on the screen; copy it now: it is not shown again.",
                               f"{request.host_url.rstrip('/')}/kiosk/{token}")
        if form.get("action") == "revoke":
            kiosk.revoke(gate.store(), form.get("id", ""))
            log.info("admin %s: kiosk link %s revoked", me.audit_name, form.get("id"))
            return _back("ok", f"Kiosk link {form.get('id')} revoked.")
        raise kiosk.KioskError("unknown action")
    except kiosk.KioskError as exc:
        return _back("error", str(exc))
