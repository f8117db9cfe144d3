"""Who may see what, request by request: every page, callback and API route, for every kind of
caller, exactly as the table in docs/security.md says — through the real app over a real Redis,
with requests crafted by hand the way a curious user would (another agent's id in the callback's
params store, another queue in the query string, a kiosk asking for another group).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from app.auth.policy import PAGES_ROUTER, callback_id
from app.pages._ids import Agent, Queue, Wallboard
from realtime.engine import Engine
from realtime.schedules import write_roster
from staffing.schedule import RosterAgent
from tests.integration.scenario import at, scenario

pytestmark = pytest.mark.integration

# The callers: anonymous, one user per role (tests/conftest.py TEST_USERS: "agent2" is agent a2,
# "sup" leads team t1 = agent a1 on sales), kiosk links and an API token.
CALLERS = ["anonymous", "agent2", "sup", "boss", "root", "kiosk:front", "kiosk:*", "token:read:queues"]
ALL = set(CALLERS)
STAFF = {"sup", "boss", "root"}
FULL = {"boss", "root"}

# (path, search) → who may open the page; everyone else is refused.
PAGES: dict[tuple[str, str], set[str]] = {
    ("/", ""): STAFF,
    ("/wallboard", ""): STAFF | {"kiosk:*"},
    ("/wallboard", "?group=back"): STAFF | {"kiosk:*"},
    ("/wallboard/front", ""): STAFF | {"kiosk:front", "kiosk:*"},
    ("/wallboard/front", "?kiosk=1"): STAFF | {"kiosk:front", "kiosk:*"},
    ("/wallboard/back", ""): STAFF | {"kiosk:*"},
    ("/wallboard/front", "?group=back"): STAFF | {"kiosk:*"},  # Dash lets the query override the path
    ("/queues/sales", ""): STAFF,
    ("/queues/support", ""): FULL,
    ("/queues/sales", "?queue=support"): FULL,
    ("/agents/a1", ""): STAFF,
    ("/agents/a2", ""): FULL | {"agent2"},
    ("/agents/a2", "?agent=a1"): STAFF,
    ("/me", ""): {"agent2", "sup", "boss", "root"},
    ("/me", "?agent=a1"): {"agent2", "sup", "boss", "root"},  # an agent still gets their own day
    ("/admin", ""): {"root"},
    ("/login", ""): ALL,
}

WALLBOARD = callback_id(f"{Wallboard.markup}.data", f"{Wallboard.digest}.data")
QUEUE = callback_id(f"{Queue.header}.children", f"{Queue.figure}.figure", f"{Queue.agents}.data", f"{Queue.waiting}.children")
AGENT = callback_id(f"{Agent.body}.children", f"{Agent.timeline}.figure")
# (callback, the params store's value) → who may call it. A malformed value is refused: 400 for
# the roles the callback is for, and before that 401/403 for everyone else.
MALFORMED = "malformed"
CALLBACKS: list[tuple[str, tuple[str, str], object, set[str]]] = [
    (WALLBOARD, (Wallboard.params, "data"), {"group": None, "rotate_s": None}, STAFF | {"kiosk:*"}),
    (WALLBOARD, (Wallboard.params, "data"), {"group": "front", "rotate_s": None}, STAFF | {"kiosk:front", "kiosk:*"}),
    (WALLBOARD, (Wallboard.params, "data"), {"group": "back", "rotate_s": None}, STAFF | {"kiosk:*"}),
    (WALLBOARD, (Wallboard.params, "data"), "front", {MALFORMED, *STAFF, "kiosk:front", "kiosk:*"}),
    (QUEUE, (Queue.params, "data"), {"queue": "sales"}, STAFF),
    (QUEUE, (Queue.params, "data"), {"queue": "support"}, FULL),
    (QUEUE, (Queue.params, "data"), {"queue": ["sales", "support"]}, {MALFORMED, *STAFF}),
    (AGENT, (Agent.params, "data"), None, {MALFORMED, *STAFF, "agent2"}),
    (AGENT, (Agent.params, "data"), {"agent": "a1"}, STAFF),
    (AGENT, (Agent.params, "data"), {"agent": "a2"}, FULL | {"agent2"}),
    (AGENT, (Agent.params, "data"), {"agent": None}, FULL),
]

API: dict[str, set[str]] = {
    "/api/v1/queues": STAFF | {"token:read:queues"},
    "/api/v1/queues/sales": STAFF | {"token:read:queues"},
    "/api/v1/queues/support": FULL | {"token:read:queues"},
    "/api/v1/queues/sales/intervals": STAFF | {"token:read:queues"},
    "/api/v1/queues/support/intervals?date=2025-11-24": FULL | {"token:read:queues"},
    "/api/v1/agents/a1": STAFF,
    "/api/v1/agents/a2": FULL | {"agent2"},
    "/api/v1/health": STAFF,
    "/api/v1/deadletters": {"root"},
}


@pytest.fixture
def center(web):
    """The scenario's queue and agents, a snapshot, and a roster: team t1 = a1 (sales), t2 = a2 (support)."""
    web.store.apply_entries([(p, "t") for p in scenario()], at(1000))
    Engine(web.store).tick(at(1000))
    write_roster(web.store, [RosterAgent("a1", "Ann", "t1", "", ("sales",)),
                             RosterAgent("a2", "Bob", "t2", "", ("support",))])
    return web


def _text(response) -> str:
    """The body as text, JSON decoded first (Dash escapes "/" in its JSON)."""
    body = response.get_json(silent=True)
    return json.dumps(body) if body is not None else response.get_data(as_text=True)


def _refused_status(caller: str) -> set[int]:
    return {401} if caller == "anonymous" else {403}


@pytest.mark.parametrize("caller", CALLERS)
def test_pages_opened_by_url(center, caller):
    client = center.client(None if caller == "anonymous" else caller)
    for (path, search), allowed in PAGES.items():
        r = client.get(path + search)
        where = f"{caller} GET {path}{search}"
        if caller in allowed:
            assert r.status_code == 200, where
        elif caller == "anonymous":
            assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login", where
        elif caller == "agent2" and path == "/":
            assert r.status_code == 302 and r.headers["Location"] == "/me", where
        else:
            # The page shell with 403: the browser then shows why (next test).
            assert r.status_code == 403, where


@pytest.mark.parametrize("caller", CALLERS)
def test_pages_opened_in_the_browser(center, caller):
    """Dash builds a page in its router callback: the page's layout only for who may see it."""
    client = center.client(None if caller == "anonymous" else caller)
    for (path, search), allowed in PAGES.items():
        r = center.open_page(client, path, search)
        text = _text(r)
        where = f"{caller} opens {path}{search}"
        assert r.status_code == 200, where
        if caller in allowed:
            assert "Not allowed" not in text and "auth-redirect" not in text, where
        elif caller == "anonymous":
            assert "auth-redirect" in text and "/login?next=" in text, where
        else:
            assert "Not allowed" in text, where
            assert "ag-params" not in text and "q-params" not in text and "wb-params" not in text, where


@pytest.mark.parametrize("caller", CALLERS)
def test_callbacks_crafted_by_hand(center, caller):
    """Posting to /_dash-update-component with any id in the params store: only what the role allows."""
    client = center.client(None if caller == "anonymous" else caller)
    for output, carrier, value, allowed in CALLBACKS:
        r = center.post_callback(client, output, {carrier: value})
        where = f"{caller} posts {output} with {value!r}"
        if MALFORMED in allowed and caller in allowed:
            assert r.status_code == 400, (where, r.status_code)
        elif caller in allowed:
            assert r.status_code in (200, 204), (where, r.status_code, r.get_data(as_text=True)[:200])
        else:
            assert r.status_code in _refused_status(caller), (where, r.status_code)
            assert set(r.get_json()) == {"error"}, where  # the reason, no data


@pytest.mark.parametrize("caller", CALLERS)
def test_api_routes(center, caller):
    client = center.client(None if caller == "anonymous" else caller)
    for url, allowed in API.items():
        r = client.get(url)
        where = f"{caller} GET {url}"
        if caller in allowed:
            assert r.status_code not in (401, 403), (where, r.status_code)
            assert r.status_code in (200, 404, 503), where
        else:
            assert r.status_code in _refused_status(caller), (where, r.status_code)
            assert set(r.get_json()) == {"error"}, where


def test_allowed_requests_return_the_data(center):
    """The other side of the coin: what is allowed really answers with the caller's data."""
    agent = center.client("agent2")
    assert agent.get("/api/v1/agents/a2").get_json()["agent"] == "a2"
    r = center.post_callback(agent, AGENT, {(Agent.params, "data"): {"agent": "a2"}})
    assert r.status_code == 200 and "a2" in _text(r)
    sup = center.client("sup")
    assert sup.get("/api/v1/queues/sales").get_json()["id"] == "sales"
    assert sup.get("/api/v1/agents/a1").get_json()["agent"] == "a1"
    kiosk = center.client("kiosk:front")
    r = center.post_callback(kiosk, WALLBOARD, {(Wallboard.params, "data"): {"group": "front", "rotate_s": None}})
    assert r.status_code == 200 and "Sales" in _text(r)


def test_me_shows_the_signed_in_agent_whatever_the_url_says(center):
    agent = center.client("agent2")
    for search in ("", "?agent=a1", "?agent=a2&agent=a1"):
        text = _text(center.open_page(agent, "/me", search)).replace(" ", "")
        assert '"agent":"a2"' in text and '"agent":"a1"' not in text, search
    # A manager asking /me for an agent is sent to that agent's page, where the rules apply.
    boss = center.client("boss")
    text = _text(center.open_page(boss, "/me", "?agent=a1"))
    assert "me-redirect" in text and "/agents/a1" in text


def test_a_supervisor_leads_the_teams_the_roster_gives_them(center, password_hash):
    """No teams on the user record: the roster's supervisor column says whose teams are theirs."""
    center.users.add_user("sup2", "supervisor", "long enough password", agent="s2")
    write_roster(center.store, [RosterAgent("a1", "Ann", "t1", "", ("sales",)),
                                RosterAgent("a2", "Bob", "t2", "s2", ("support",))])
    sup2 = center.client()
    from tests.conftest import sign_in

    sign_in(sup2, "sup2", "long enough password")
    assert sup2.get("/api/v1/agents/a2").status_code == 200
    assert sup2.get("/api/v1/queues/support/intervals?date=2025-11-24").status_code == 200
    assert sup2.get("/api/v1/agents/a1").status_code == 403
    assert sup2.get("/api/v1/queues/sales").status_code == 403
    # The roster changes: the reach follows on the next request.
    write_roster(center.store, [RosterAgent("a1", "Ann", "t2", "", ("sales",))])
    assert sup2.get("/api/v1/agents/a1").status_code == 200


def test_tokens_get_what_their_scopes_say_and_nothing_else(center):
    for scopes, allowed in (
        ("read:agents", {"/api/v1/agents/a1", "/api/v1/agents/a2"}),
        ("read:health", {"/api/v1/health"}),
        ("read:deadletters", {"/api/v1/deadletters"}),
        ("write:alerts", set()),
    ):
        client = center.client(f"token:{scopes}")
        for url in API:
            assert (client.get(url).status_code not in (401, 403)) == (url in allowed), (scopes, url)
        assert client.get("/queues/sales").status_code == 403  # tokens are for the API only
        assert center.post_callback(client, QUEUE, {(Queue.params, "data"): {"queue": "sales"}}, csrf=None).status_code == 403


def test_unknown_callbacks_and_malformed_bodies_are_refused(center):
    boss = center.client("boss")
    csrf = boss.get_cookie("_csrf_token").value
    for body in ({"output": "nope.children", "inputs": [], "state": []}, {"inputs": []}, [1, 2]):
        r = boss.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf})
        assert r.status_code in (400, 404), body
    # The registered callback, but its inputs shifted: Dash would pass them by position.
    body = center.callback_body(AGENT, {(Agent.params, "data"): {"agent": "a1"}})
    agent = center.client("agent2")
    body["state"][0]["id"] = "something-else"
    r = agent.post("/_dash-update-component", json=body, headers={"X-CSRFToken": agent.get_cookie("_csrf_token").value})
    assert r.status_code == 400
    # A clientside callback has no server side to call.
    assert center.post_callback(boss, f"{Wallboard.board}.title").status_code == 404


def test_router_refusal_is_a_page_saying_why(center):
    agent = center.client("agent2")
    body = center.open_page(agent, "/queues/sales").get_json()
    content = body["response"]["_pages_content"]["children"]
    assert "Not allowed" in str(content) and "agent" in str(content)
    assert body["response"]["_pages_store"]["data"]["title"].startswith("Not allowed")
    assert PAGES_ROUTER in center.app.callback_map
