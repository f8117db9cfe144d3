"""The gate every request passes before anything else runs (a Flask ``before_request`` hook).

1. Who is calling: an API token (``Authorization: Bearer``), a user named by a trusted reverse
   proxy, a signed session cookie (a signed-in user or a kiosk link), or nobody.
2. Which rule applies (:mod:`app.auth.policy`): by the Flask endpoint; for a page, by the Dash
   page its path resolves to (exactly as Dash's router resolves it); for a Dash callback, by its
   outputs, with the subject read from the values the browser posted for the components that
   carry it, by the position Dash itself uses to pass them to the callback.
3. CSRF: every state-changing request (POST, PUT, PATCH, DELETE, including Dash's callback
   POSTs) made with a session must carry the session's CSRF token, in the ``X-CSRFToken`` header
   (Dash's renderer sends it from the ``_csrf_token`` cookie) or a ``csrf_token`` form field.
   Requests with an API token carry no cookies and are exempt.
4. Allowed, or refused: 401 (sign in; pages redirect to /login), 403, or for Dash's page router
   a page saying why, so that a refused page reads as one in the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Flask, Response, g, jsonify, redirect, request, session
from flask.sessions import SecureCookieSessionInterface

from app.auth import kiosk
from app.auth.policy import (
    CALLBACKS,
    PAGES,
    ROLES,
    ROUTES,
    SUBJECT_CARRIERS,
    Decision,
    Outcome,
    Rule,
    decide,
)
from app.auth.principal import ANONYMOUS, Principal, Reach, supervisor_reach
from app.auth.users import User, UsersFile
from floorboard.config import Settings
from realtime.schedules import read_roster, roster_version

if TYPE_CHECKING:
    import dash

    from realtime.store import Store

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "floorboard_session"
CSRF_COOKIE = "_csrf_token"  # the cookie Dash's renderer copies into the header below
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
# Sign-in rate limit: per user name, and (looser, offices share addresses) per client address.
MAX_USER_FAILURES = 5
MAX_ADDRESS_FAILURES = 30
FAILURE_WINDOW_S = 15 * 60
SEEN_EVERY_S = 60  # the idle clock is refreshed at most this often (each refresh re-sets the cookie)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
EXTENSION = "floorboard.auth"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_secure(settings: Settings) -> bool:
    """Secure cookies unless switched off, or unset and listening on loopback only."""
    flag = settings.auth.cookie_secure
    return flag if flag is not None else not is_loopback(settings.web_host)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, HMAC-SHA256, expiring with the session or kiosk link it holds."""

    salt = "floorboard-session"
    digest_method = staticmethod(hashlib.sha256)

    def get_expiration_time(self, app: Flask, session: Any) -> datetime | None:
        exp = session.get("exp")
        return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


def _json(status: int, message: str, **headers: str) -> Response:
    resp = jsonify({"error": message})
    resp.status_code = status
    resp.headers.update(headers)
    return resp


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


class Gate:
    """Identifies callers and applies the policy; one per Flask app (``server.extensions``)."""

    def __init__(self, settings: Settings, users: UsersFile, store: Callable[[], Store],
                 dash_app: dash.Dash | None = None, clock_s: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.users = users
        self.store = store
        self.dash_app = dash_app
        self.clock_s = clock_s
        self.secure = cookie_secure(settings)
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in settings.auth.trusted_proxies]
        self._reach: dict[tuple[Any, ...], Reach] = {}
        self._roster: tuple[str, int, dict[str, Any]] | None = None

    # ============================================================================ identity
    def identify(self) -> Principal | Response:
        header = request.headers.get("Authorization")
        if header is not None:
            return self._from_token(header)
        if self.settings.auth.proxy_header and self._peer_trusted():
            name = request.headers.get(self.settings.auth.proxy_header)
            if name:
                return self._from_proxy(name.strip())
        return self._from_session()

    def _from_token(self, header: str) -> Principal | Response:
        scheme, _, secret = header.partition(" ")
        token = self.users.token_for(secret.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return _json(401, "invalid API token", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return Principal(kind="token", name=token.id, scopes=frozenset(token.scopes), via="token")

    def _peer_trusted(self) -> bool:
        try:
            peer = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        return any(peer in net for net in self.proxies)

    def _from_proxy(self, name: str) -> Principal | Response:
        user = self.users.user(name)
        if user is None:
            role_header = self.settings.auth.proxy_role_header
            role = (request.headers.get(role_header) or "").strip().lower() if role_header else ""
            if role not in ROLES:
                log.warning("refused proxy user %r: not in the users file and no valid role header", name)
                return _json(403, "user not known here")
            user = User(name, role, agent=name if role == "agent" else None)
        return self.principal_for(user, via="proxy")

    def _from_session(self) -> Principal:
        if "k" in session:
            return self._from_kiosk_session()
        username = session.get("u")
        if not isinstance(username, str):
            return ANONYMOUS
        now = self.clock_s()
        user = self.users.user(username)
        auth = self.settings.auth
        reason = ("user removed" if user is None
                  else "password changed or sessions ended" if session.get("sv") != user.session_version
                  else "session expired" if now >= float(session.get("exp", 0))
                  else "idle too long" if now - float(session.get("seen", 0)) > auth.session_idle_min * 60
                  else "")
        if reason or user is None:
            log.info("session of %r ended: %s", username, reason)
            self.end_session()
            return ANONYMOUS
        if now - float(session.get("seen", 0)) >= SEEN_EVERY_S:
            session["seen"] = int(now)
        return self.principal_for(user, via="session", expires_s=float(session["exp"]))

    def _from_kiosk_session(self) -> Principal:
        try:
            link = kiosk.verify(self.store(), self._secret, str(session["k"]), self.clock_s())
        except kiosk.KioskError as exc:
            log.info("kiosk session ended: %s", exc)
            self.end_session()
            return ANONYMOUS
        return Principal(kind="kiosk", name=link.id, group=link.group, via="kiosk", expires_s=link.expires_s)

    def principal_for(self, user: User, via: str, expires_s: float | None = None) -> Principal:
        reach = self._supervisor_reach(user) if user.role == "supervisor" else Reach()
        return Principal(kind="user", name=user.username, role=user.role, agent=user.agent, reach=reach,
                         via=via, expires_s=expires_s)

    def _supervisor_reach(self, user: User) -> Reach:
        store = self.store()
        prefix, version = store.keys.prefix, roster_version(store)
        if self._roster is None or self._roster[:2] != (prefix, version):
            self._roster = (prefix, version, read_roster(store))
            self._reach.clear()
        key = (prefix, version, user)
        reach = self._reach.get(key)
        if reach is None:
            reach = self._reach[key] = supervisor_reach(user.username, user.agent, user.teams, user.queues,
                                                        self._roster[2])
        return reach

    def client_address(self) -> str:
        """The client's address; behind a trusted proxy, the last untrusted X-Forwarded-For hop."""
        peer = request.remote_addr or "unknown"
        if not self._peer_trusted():
            return peer
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        for hop in reversed(hops):
            try:
                if not any(ipaddress.ip_address(hop) in net for net in self.proxies):
                    return hop
            except ValueError:
                return peer
        return peer

    # ============================================================================ sessions
    @property
    def _secret(self) -> str:
        secret = self.settings.auth.secret_key
        assert secret is not None  # install() refuses to start without one
        return secret

    def start_user_session(self, user: User) -> None:
        now = int(self.clock_s())
        session.clear()  # nothing from before sign-in survives it, the CSRF token included
        session.update(u=user.username, sv=user.session_version, iat=now, seen=now,
                       exp=now + int(self.settings.auth.session_max_h * 3600), csrf=new_csrf())

    def start_kiosk_session(self, link: kiosk.KioskLink, token: str) -> None:
        session.clear()
        session.update(k=token, exp=link.expires_s, csrf=new_csrf())

    def end_session(self) -> None:
        """Forget who signed in, keeping the CSRF token so the open page can still ask to sign in."""
        csrf = session.get("csrf")
        session.clear()
        if csrf:
            session["csrf"] = csrf

    def _csrf_ok(self) -> bool:
        expected = session.get("csrf")
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
        return isinstance(expected, str) and hmac.compare_digest(expected.encode(), sent.encode())

    # ============================================================================ the gate
    def before(self) -> Response | None:
        rule = request.url_rule
        if rule is None or request.method == "OPTIONS":
            return None  # Flask answers 404/405 or the allowed methods: nothing served
        who = self.identify()
        if isinstance(who, Response):
            return who
        g.floorboard_principal = who
        g.floorboard_user = who.audit_name  # app.context.current_user() for audit records
        found = ROUTES.get(rule.endpoint)
        if found is None:
            return self._refuse(who, Decision(Outcome.UNLISTED, "no rule in app/auth/policy.py"), rule.endpoint)
        if request.method not in SAFE_METHODS and who.via != "token" and not self._csrf_ok():
            if "csrf" not in session:
                return _json(401, "no session: sign in again")
            log.info("refused %s %s for %s: CSRF token missing or wrong", request.method, request.path, who.audit_name)
            return _json(403, "CSRF token missing or wrong: reload the page")
        if found.via == "page":
            return self._page_gate(who)
        if found.via == "callback":
            return self._callback_gate(who)
        subjects = [(found.subject, (request.view_args or {}).get(found.subject))] if found.subject else []
        return self._refuse_unless(who, decide(who, found, subjects), rule.endpoint)

    def after(self, response: Response) -> Response:
        csrf = session.get("csrf") if request.url_rule is not None else None
        if csrf and request.cookies.get(CSRF_COOKIE) != csrf:
            exp = session.get("exp")
            response.set_cookie(CSRF_COOKIE, csrf, secure=self.secure, samesite="Lax", httponly=False,
                                expires=exp if isinstance(exp, int | float) else None)
        elif not csrf and CSRF_COOKIE in request.cookies and request.url_rule is not None:
            response.delete_cookie(CSRF_COOKIE, secure=self.secure, samesite="Lax")
        status = g.pop("floorboard_page_status", None)
        if status:
            response.status_code = status
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        found = ROUTES.get(request.url_rule.endpoint) if request.url_rule is not None else None
        if found is None or not found.public:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _refuse_unless(self, who: Principal, decision: Decision, what: str) -> Response | None:
        return None if decision.allowed else self._refuse(who, decision, what)

    def _refuse(self, who: Principal, decision: Decision, what: str) -> Response:
        if decision.outcome is Outcome.UNLISTED:
            log.error("refused %s %s for %s: %r has no rule in app/auth/policy.py (refused for everyone "
                      "until it has one)", request.method, request.path, who.audit_name, what)
        else:
            log.info("refused %s %s for %s: %s", request.method, request.path, who.audit_name, decision.reason)
        if decision.outcome is Outcome.SIGN_IN:
            return _json(401, decision.reason, **{"WWW-Authenticate": 'Bearer realm="floorboard"'})
        return _json(403, decision.reason)

    # ---------------------------------------------------------------------------- pages
    def page_decision(self, who: Principal, pathname: Any, search: Any) -> Decision:
        """The decision for a page, resolved from its path exactly as Dash's router does."""
        from dash._pages import _parse_query_string, _path_to_page

        if not isinstance(pathname, str) or (search is not None and not isinstance(search, str)):
            return Decision(Outcome.FORBIDDEN, "malformed page request")
        assert self.dash_app is not None
        page, variables = _path_to_page(self.dash_app.strip_relative_path(pathname))
        if not page:
            return Decision(Outcome.NOT_FOUND, "no such page")
        found = PAGES.get(page.get("path_template") or page["path"])
        params = {**(variables or {}), **_parse_query_string(search)}
        subjects = [(found.subject, params.get(found.subject))] if found and found.subject else []
        return decide(who, found, subjects)

    def _page_gate(self, who: Principal) -> Response | None:
        query = request.query_string.decode("latin-1")
        decision = self.page_decision(who, request.path, f"?{query}" if query else "")
        if "csrf" not in session:
            session["csrf"] = new_csrf()
        if decision.allowed or decision.outcome is Outcome.NOT_FOUND:
            return None  # Dash serves the page shell (its router shows "not found" itself)
        if decision.outcome is Outcome.SIGN_IN:
            target = request.full_path if query else request.path
            return redirect(f"/login?next={quote(target, safe='')}", 302)
        if who.kind == "user" and request.path == "/" and who.home != "/":
            return redirect(who.home, 302)
        self._refuse(who, decision, request.path)  # logs
        # The page shell with status 403; the router callback then shows why, in the page.
        g.floorboard_page_status = 403
        return None

    # ---------------------------------------------------------------------------- callbacks
    def _callback_gate(self, who: Principal) -> Response | None:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("output"), str):
            return _json(400, "not a Dash callback request")
        assert self.dash_app is not None
        output = body["output"]
        spec = self.dash_app.callback_map.get(output)
        if spec is None or "callback" not in spec:
            return _json(404, "no such server callback")
        found = CALLBACKS.get(output)
        if found is None:
            return self._refuse(who, Decision(Outcome.UNLISTED, ""), f"callback {output}")
        if found.subject != "page":
            first = decide(who, found)  # the role first: nothing about the request is read before it
            if not first.allowed:
                return self._refuse(who, first, f"callback {output}")
        values = _posted_values(spec, body)
        if values is None:
            return _json(400, "the callback's inputs do not match its registration")
        try:
            subjects = list(carried_subjects(values))
        except ValueError as exc:
            return _json(400, str(exc))
        if found.subject == "page":
            pathname = values.get(("_pages_location", "pathname"))
            search = values.get(("_pages_location", "search"))
            decision = self.page_decision(who, pathname, search)
            if decision.allowed or decision.outcome is Outcome.NOT_FOUND:
                return None
            self._refuse(who, decision, f"page {pathname}")  # logs
            return self._router_refusal(who, decision, f"{pathname}{search or ''}")
        return self._refuse_unless(who, decide(who, found, subjects), f"callback {output}")

    def _router_refusal(self, who: Principal, decision: Decision, target: str) -> Response:
        from plotly.io.json import to_json_plotly

        from app.auth.views import refusal

        content, title = refusal(who, decision, target)
        body = {"multi": True, "response": {"_pages_content": {"children": content},
                                            "_pages_store": {"data": {"title": title}}}}
        return Response(to_json_plotly(body), 200, mimetype="application/json")


def _posted_values(spec: dict[str, Any], body: dict[str, Any]) -> dict[tuple[str, str], Any] | None:
    """(component id, property) → the value posted for it, matched by position like Dash does."""
    registered = list(spec.get("inputs", [])) + list(spec.get("state", []))
    posted = list(body.get("inputs") or []) + list(body.get("state") or [])
    if len(posted) != len(registered):
        return None
    values: dict[tuple[str, str], Any] = {}
    for dep, item in zip(registered, posted, strict=True):
        if not isinstance(dep.get("id"), str) or dep["id"].startswith("{"):
            # Pattern-matching inputs (their ids are registered as JSON text): lists of values,
            # never subject carriers.
            continue
        if not isinstance(item, dict) or item.get("id") != dep["id"] or item.get("property") != dep["property"]:
            return None
        values[(dep["id"], dep["property"])] = item.get("value")
    return values


def carried_subjects(values: dict[tuple[str, str], Any]) -> Iterable[tuple[str, str | None]]:
    """(kind, id) for each subject carrier among the posted values; ValueError when malformed
    (a callback is never handed a subject that is not an id: it could not read it anyway)."""
    for key, value in values.items():
        carrier = SUBJECT_CARRIERS.get(key)
        if carrier is None:
            continue
        kind, field = carrier
        if field is not None:
            if not isinstance(value, dict):
                raise ValueError(f"malformed {key[0]}.{key[1]}")
            value = value.get(field)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"malformed {kind} in {key[0]}.{key[1]}")
        yield kind, value


def install(server: Flask, settings: Settings, users: UsersFile, store: Callable[[], Store],
            dash_app: dash.Dash | None = None) -> Gate:
    """Put the gate in front of every route of ``server`` (after Dash's own setup hooks)."""
    from app.auth.routes import bp

    if not settings.auth.secret_key:
        from floorboard.config import ConfigError

        raise ConfigError("FLOORBOARD_SECRET_KEY is required: it signs session cookies and kiosk links "
                          "(see docs/security.md)")
    gate = Gate(settings, users, store, dash_app)
    server.secret_key = settings.auth.secret_key
    server.session_interface = SessionInterface()
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=gate.secure,
        # Flask checks a cookie's signature age against this; our own expiry checks are tighter.
        PERMANENT_SESSION_LIFETIME=timedelta(days=kiosk.MAX_DAYS),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    server.extensions[EXTENSION] = gate
    server.before_request(gate.before)
    server.after_request(gate.after)
    server.register_blueprint(bp)
    return gate


def current_gate() -> Gate:
    from flask import current_app

    return current_app.extensions[EXTENSION]


def current_principal() -> Principal:
    """The caller of the current request (anonymous outside one)."""
    from flask import has_request_context

    return g.get("floorboard_principal", ANONYMOUS) if has_request_context() else ANONYMOUS


__all__ = ["Gate", "Rule", "current_gate", "current_principal", "install"]
