"""Sign-in, sessions, CSRF, the sign-in rate limit, the trusted proxy header, kiosk links, API
tokens and the admin actions, over the real app and a real Redis."""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from app.auth import kiosk
from app.auth.guard import MAX_USER_FAILURES, SESSION_COOKIE
from app.auth.policy import callback_id
from app.pages._ids import Agent, Wallboard
from tests.conftest import TEST_PASSWORD, TEST_SECRET_KEY, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _agents(web):
    """Agents a1 and a2 exist (tests/integration/scenario.py)."""
    from tests.integration.scenario import at, scenario

    web.store.apply_entries([(p, "t") for p in scenario()], at(1000))

AGENT = callback_id(f"{Agent.body}.children", f"{Agent.timeline}.figure")
WALLBOARD = callback_id(f"{Wallboard.markup}.data", f"{Wallboard.digest}.data")
OWN = {(Agent.params, "data"): {"agent": "a2"}}


def _login(client, username, password, csrf=None, **extra):
    if csrf is None:
        client.get("/login")
        csrf = client.get_cookie("_csrf_token").value
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf, **extra})


# ------------------------------------------------------------------------------- sign-in
def test_sign_in_sets_a_hardened_session_cookie_and_goes_home(web):
    client = web.app.server.test_client()
    r = _login(client, "agent2", TEST_PASSWORD)
    assert r.status_code == 303 and r.headers["Location"] == "/me"
    cookies = {c.split("=", 1)[0]: c for c in r.headers.getlist("Set-Cookie")}
    session_cookie = cookies[SESSION_COOKIE]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Expires=" in session_cookie
    assert "HttpOnly" not in cookies["_csrf_token"]  # Dash's renderer reads it to send the header
    assert TEST_PASSWORD not in session_cookie
    # The expiry is the absolute session lifetime (12 h by default).
    expires = re.search(r"Expires=([^;]+)", session_cookie).group(1)
    assert abs(time.mktime(time.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
               - (time.time() + 12 * 3600)) < 120
    assert client.get("/api/v1/agents/a2").status_code != 401


def test_a_wrong_password_or_user_goes_back_to_the_form(web):
    for user, password in (("agent2", "wrong password!"), ("nobody", TEST_PASSWORD), ("", "")):
        client = web.app.server.test_client()
        r = _login(client, user, password, next="/me")
        assert r.status_code == 303 and r.headers["Location"] == "/login?error=invalid&next=%2Fme"
        assert client.get("/api/v1/agents/a2").status_code == 401


def test_next_only_goes_to_a_local_page(web):
    for target, expected in (("/agents/a2", "/agents/a2"), ("//evil.example/x", "/me"),
                             ("https://evil.example", "/me"), ("/\\evil.example", "/me")):
        client = web.app.server.test_client()
        assert _login(client, "agent2", TEST_PASSWORD, next=target).headers["Location"] == expected, target


def test_anonymous_pages_redirect_to_sign_in_and_back(web):
    r = web.app.server.test_client().get("/queues/sales?kiosk=1")
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query)["next"] == ["/queues/sales?kiosk=1"]


def test_failed_sign_ins_are_rate_limited_per_user_name(web):
    client = web.app.server.test_client()
    for _ in range(MAX_USER_FAILURES):
        assert _login(client, "boss", "not the password").status_code == 303
    r = _login(client, "boss", TEST_PASSWORD)  # even the right password, for the window
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert "Too many" in r.get_data(as_text=True)
    other = web.app.server.test_client()
    assert _login(other, "root", TEST_PASSWORD).status_code == 303  # other names are not locked
    web.store.r.delete(web.store.keys.signin_failures_user("boss"))
    assert _login(client, "boss", TEST_PASSWORD).status_code == 303


def test_failed_sign_ins_are_rate_limited_per_address(web):
    from app.auth.guard import MAX_ADDRESS_FAILURES

    web.store.r.set(web.store.keys.signin_failures_ip("127.0.0.1"), MAX_ADDRESS_FAILURES, ex=60)
    r = _login(web.app.server.test_client(), "root", TEST_PASSWORD)
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60


# ------------------------------------------------------------------------------- sessions
def test_a_tampered_cookie_is_nobody(web):
    client = web.app.server.test_client()
    sign_in(client, "agent2")
    value = client.get_cookie(SESSION_COOKIE).value
    now = int(time.time())
    claims = {"u": "root", "sv": 1, "iat": now, "seen": now, "exp": now + 3600, "csrf": "x"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    client.set_cookie(SESSION_COOKIE, forged + value[value.index(".", 1):])  # the agent's signature
    assert client.get("/api/v1/deadletters").status_code == 401
    assert client.get("/admin").status_code == 302
    client.set_cookie(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/api/v1/agents/a2").status_code == 401


def test_a_cookie_signed_with_another_key_is_nobody(web):
    from flask import Flask

    from app.auth.guard import SessionInterface

    other = Flask("other")
    other.secret_key = "another-secret-key-another-secret-key!!"
    interface = SessionInterface()
    serializer = interface.get_signing_serializer(other)
    forged = serializer.dumps({"u": "root", "sv": 1, "iat": int(time.time()), "seen": int(time.time()),
                               "exp": int(time.time()) + 3600, "csrf": "x"})
    client = web.app.server.test_client()
    client.set_cookie(SESSION_COOKIE, forged)
    assert client.get("/api/v1/deadletters").status_code == 401


def test_sessions_expire_absolutely_and_when_idle(web):
    gate = web.gate
    client = web.app.server.test_client()
    sign_in(client, "agent2")
    assert client.get("/api/v1/agents/a2").status_code == 200
    real = gate.clock_s
    try:
        gate.clock_s = lambda: real() + 61 * 60  # idle for more than the 60 min default
        assert client.get("/api/v1/agents/a2").status_code == 401
        gate.clock_s = real
        sign_in(client, "agent2")
        start = real()
        for minutes in range(50, 12 * 60, 50):  # active every 50 min: never idle ...
            gate.clock_s = lambda m=minutes: start + m * 60
            assert client.get("/api/v1/agents/a2").status_code == 200, minutes
        gate.clock_s = lambda: start + 12 * 3600 + 1  # ... but 12 h is the end all the same
        assert client.get("/api/v1/agents/a2").status_code == 401
    finally:
        gate.clock_s = real


def test_a_password_change_ends_other_sessions(web):
    web.users.add_user("pat", "agent", "the first password", agent="a2")
    laptop, phone = web.app.server.test_client(), web.app.server.test_client()
    sign_in(laptop, "pat", "the first password")
    sign_in(phone, "pat", "the first password")
    web.users.set_password("pat", "the second password")
    assert laptop.get("/api/v1/agents/a2").status_code == 401
    assert phone.get("/api/v1/agents/a2").status_code == 401
    sign_in(phone, "pat", "the second password")
    assert phone.get("/api/v1/agents/a2").status_code == 200
    web.users.remove_user("pat")
    assert phone.get("/api/v1/agents/a2").status_code == 401


def test_sign_out(web):
    client = web.app.server.test_client()
    csrf = sign_in(client, "agent2")
    assert client.post("/logout", data={}).status_code == 403  # without the CSRF token
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert client.get("/api/v1/agents/a2").status_code == 401


def test_callbacks_need_the_csrf_header(web):
    client = web.app.server.test_client()
    csrf = sign_in(client, "agent2")
    assert web.post_callback(client, AGENT, OWN, csrf=None).status_code == 403
    assert web.post_callback(client, AGENT, OWN, csrf="forged").status_code == 403
    assert web.post_callback(client, AGENT, OWN, csrf=csrf).status_code == 200
    # Without any session at all (a cross-site page cannot read our cookies): sign in again.
    assert web.post_callback(web.app.server.test_client(), AGENT, OWN, csrf="x").status_code == 401


def test_sign_in_itself_needs_the_csrf_token(web):
    client = web.app.server.test_client()
    client.get("/login")
    r = client.post("/login", data={"username": "agent2", "password": TEST_PASSWORD})
    assert r.status_code == 403
    assert _login(client, "agent2", TEST_PASSWORD, csrf="forged").status_code == 403


def test_security_headers_and_no_caching_of_data(web):
    client = web.app.server.test_client()
    sign_in(client, "boss")
    r = client.get("/api/v1/queues")
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"


# --------------------------------------------------------------------------- proxy header
@pytest.fixture
def proxied(web):
    from dataclasses import replace

    gate = web.gate
    saved = (gate.settings, gate.proxies)
    auth = replace(gate.settings.auth, proxy_header="X-Remote-User", proxy_role_header="X-Remote-Role",
                   trusted_proxies=("10.1.2.3",))
    gate.settings = replace(gate.settings, auth=auth)
    import ipaddress

    gate.proxies = [ipaddress.ip_network("10.1.2.3")]
    yield web
    gate.settings, gate.proxies = saved


def test_the_proxy_header_counts_only_from_a_trusted_proxy(proxied):
    client = proxied.app.server.test_client()
    untrusted = {"REMOTE_ADDR": "10.9.9.9"}
    trusted = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/api/v1/deadletters", headers={"X-Remote-User": "root"}, environ_base=untrusted).status_code == 401
    assert client.get("/api/v1/deadletters", headers={"X-Remote-User": "root"}, environ_base=trusted).status_code == 200
    assert client.get("/api/v1/deadletters", headers={"X-Remote-User": "agent2"}, environ_base=trusted).status_code == 403
    # Not in the users file: the role header decides, and an agent is the agent of their name.
    r = client.get("/api/v1/agents/a2", headers={"X-Remote-User": "a2", "X-Remote-Role": "agent"}, environ_base=trusted)
    assert r.status_code == 200
    r = client.get("/api/v1/agents/a1", headers={"X-Remote-User": "a2", "X-Remote-Role": "agent"}, environ_base=trusted)
    assert r.status_code == 403
    r = client.get("/api/v1/agents/a1", headers={"X-Remote-User": "x", "X-Remote-Role": "superuser"}, environ_base=trusted)
    assert r.status_code == 403


def test_behind_a_trusted_proxy_the_rate_limit_counts_the_real_client(proxied):
    client2 = proxied.app.server.test_client()
    client2.get("/login", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    csrf = client2.get_cookie("_csrf_token").value
    client2.post("/login", data={"username": "boss", "password": "nope nope nope", "csrf_token": csrf},
                 headers={"X-Forwarded-For": "203.0.113.7, 10.1.2.3"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert proxied.store.r.get(proxied.store.keys.signin_failures_ip("203.0.113.7")) == "1"


# ------------------------------------------------------------------------------- kiosks
def test_a_kiosk_link_opens_its_wallboard_and_nothing_else(web):
    _, token = kiosk.create(web.store, TEST_SECRET_KEY, "front", 1, time.time(), note="lobby")
    client = web.app.server.test_client()
    r = client.get(f"/kiosk/{token}")
    assert r.status_code == 303 and r.headers["Location"] == "/wallboard/front?kiosk=1"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/wallboard/front?kiosk=1").status_code == 200
    ok = web.post_callback(client, WALLBOARD, {(Wallboard.params, "data"): {"group": "front", "rotate_s": None}})
    assert ok.status_code in (200, 204)
    assert client.get("/wallboard/back").status_code == 403
    assert client.get("/api/v1/queues").status_code == 403
    assert client.get("/me").status_code == 403
    assert web.post_callback(client, AGENT, OWN).status_code == 403
    assert client.post("/admin/kiosk", data={"action": "create", "group": "*",
                                             "csrf_token": client.get_cookie("_csrf_token").value}).status_code == 403


def test_tampered_expired_and_revoked_kiosk_links_are_refused(web):
    link, token = kiosk.create(web.store, TEST_SECRET_KEY, "front", 1, time.time())
    payload, signature = token.split(".")
    other_group = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b'"front"', b'"*"')).decode().rstrip("=")
    client = web.app.server.test_client()
    assert client.get(f"/kiosk/{other_group}.{signature}").status_code == 403
    # The signature's first character (its last one may only carry padding bits, which decode the
    # same: changing it did not always change the signature).
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert client.get(f"/kiosk/{payload}.{flipped}").status_code == 403
    _, old = kiosk.create(web.store, TEST_SECRET_KEY, "front", 1, time.time() - 2 * 86400)
    assert client.get(f"/kiosk/{old}").status_code == 403
    # Revoked while a screen shows it: the screen is refused on its next refresh.
    screen = web.app.server.test_client()
    assert screen.get(f"/kiosk/{token}").status_code == 303
    params = {(Wallboard.params, "data"): {"group": "front", "rotate_s": None}}
    assert web.post_callback(screen, WALLBOARD, params).status_code in (200, 204)
    kiosk.revoke(web.store, link.id)
    assert web.post_callback(screen, WALLBOARD, params).status_code == 401
    assert screen.get("/wallboard/front").status_code == 302
    assert client.get(f"/kiosk/{token}").status_code == 403
    # A link signed with another key (another deployment, or a rotated key) is refused too.
    _, foreign = kiosk.create(web.store, "x" * 40, "front", 1, time.time())
    assert client.get(f"/kiosk/{foreign}").status_code == 403


def test_a_kiosk_link_for_every_queue(web):
    _, token = kiosk.create(web.store, TEST_SECRET_KEY, "*", 1, time.time())
    client = web.app.server.test_client()
    assert client.get(f"/kiosk/{token}").headers["Location"] == "/wallboard?kiosk=1&rotate=30"
    for path in ("/wallboard", "/wallboard/front", "/wallboard/back"):
        assert client.get(path).status_code == 200, path
    assert client.get("/queues/sales").status_code == 403


# ------------------------------------------------------------------------------- tokens
def test_api_tokens(web):
    _, secret = web.users.create_token("reporting", ["read:queues"])
    client = web.app.server.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/queues", headers=auth).status_code == 200
    assert client.get("/api/v1/agents/a2", headers=auth).status_code == 403
    r = client.get("/api/v1/queues", headers={"Authorization": f"Bearer {secret}x"})
    assert r.status_code == 401 and "invalid_token" in r.headers["WWW-Authenticate"]
    assert client.get("/api/v1/queues", headers={"Authorization": f"Basic {secret}"}).status_code == 401
    # A bad token is not rescued by a session cookie on the same request.
    sign_in(client, "boss")
    assert client.get("/api/v1/queues", headers={"Authorization": "Bearer nope"}).status_code == 401
    token_id = secret.split("_")[1]
    web.users.revoke_token(token_id)
    assert web.app.server.test_client().get("/api/v1/queues", headers=auth).status_code == 401


# ------------------------------------------------------------------------------- admin
def test_an_agent_cannot_do_admin_actions(web):
    for who in ("agent2", "sup", "boss"):
        client = web.app.server.test_client()
        csrf = sign_in(client, who)
        for url, data in (("/admin/users", {"action": "add", "username": "mallory", "role": "admin",
                                            "password": "mallory's password"}),
                          ("/admin/users", {"action": "passwd", "username": "root", "password": "taken over!!"}),
                          ("/admin/tokens", {"action": "create", "name": "x", "scopes": "read:agents"}),
                          ("/admin/kiosk", {"action": "create", "group": "*"})):
            r = client.post(url, data={**data, "csrf_token": csrf})
            assert r.status_code == 403, (who, url)
        assert client.get("/admin").status_code == 403
    assert web.users.user("mallory") is None
    assert _login(web.app.server.test_client(), "root", TEST_PASSWORD).status_code == 303


def test_admin_actions(web):
    client = web.app.server.test_client()
    csrf = sign_in(client, "root")
    assert client.post("/admin/users", data={"action": "add", "username": "newbie", "role": "agent",
                                             "password": "newbie password", "agent": "a1"}).status_code == 403
    r = client.post("/admin/users", data={"action": "add", "username": "newbie", "role": "agent",
                                          "password": "newbie password", "agent": "a1", "csrf_token": csrf})
    assert r.status_code == 303 and web.users.user("newbie").agent == "a1"
    r = client.post("/admin/tokens", data={"action": "create", "name": "bi", "scopes": ["read:queues", "read:health"],
                                           "csrf_token": csrf})
    secret = re.search(r"fbt_[0-9a-f]+_[A-Za-z0-9_-]+", r.get_data(as_text=True)).group(0)
    assert web.app.server.test_client().get("/api/v1/health", headers={"Authorization": f"Bearer {secret}"}).status_code != 401
    r = client.post("/admin/kiosk", data={"action": "create", "group": "back", "days": "2", "csrf_token": csrf})
    url = re.search(r"/kiosk/[A-Za-z0-9_.-]+", r.get_data(as_text=True)).group(0)
    assert web.app.server.test_client().get(url).headers["Location"] == "/wallboard/back?kiosk=1"
    r = client.post("/admin/kiosk", data={"action": "create", "group": "nowhere", "csrf_token": csrf})
    assert r.status_code == 303
    page = web.open_page(client, "/admin")
    assert "unknown group" in page.get_data(as_text=True) and "newbie" in page.get_data(as_text=True)
    r = client.post("/admin/users", data={"action": "remove", "username": "root", "csrf_token": csrf})
    assert r.status_code == 303 and web.users.user("root") is not None
    assert client.post("/admin/users", data={"action": "remove", "username": "newbie", "csrf_token": csrf}).status_code == 303
    assert web.users.user("newbie") is None
