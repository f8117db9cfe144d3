"""The policy table: complete (every page, callback and route has a rule), in step with the docs,
and deciding as it says for every kind of caller."""

from __future__ import annotations

import dash
import pytest

from app.auth import policy
from app.auth.policy import (
    CALLBACKS,
    PAGES,
    ROUTES,
    SUBJECT_CARRIERS,
    Outcome,
    callback_id,
    decide,
    public,
    rule,
)
from app.auth.principal import ANONYMOUS, Principal, Reach, supervisor_reach
from staffing.schedule import RosterAgent
from tests.conftest import REPO

HOW = "add a rule in app/auth/policy.py (see its docstring and docs/security.md)"


def _server_callbacks(app: dash.Dash) -> dict[str, dict]:
    return {k: v for k, v in app.callback_map.items() if "callback" in v}


def test_every_page_has_a_rule(web_app):
    pages = {p.get("path_template") or p["path"] for p in dash.page_registry.values()}
    missing = sorted(pages - set(PAGES))
    assert not missing, f"pages without a rule (refused for everyone until they have one): {missing}; {HOW}"


def test_every_server_callback_has_a_rule(web_app):
    missing = sorted(set(_server_callbacks(web_app)) - set(CALLBACKS))
    assert not missing, f"callbacks without a rule (refused for everyone until they have one): {missing}; {HOW}"


def test_every_route_has_a_rule(web_app):
    missing = sorted({r.endpoint for r in web_app.server.url_map.iter_rules()} - set(ROUTES))
    assert not missing, f"routes without a rule (refused for everyone until they have one): {missing}; {HOW}"


def test_no_rule_for_something_that_is_gone(web_app):
    pages = {p.get("path_template") or p["path"] for p in dash.page_registry.values()}
    assert set(PAGES) <= pages
    assert set(CALLBACKS) <= set(_server_callbacks(web_app))
    assert set(ROUTES) <= {r.endpoint for r in web_app.server.url_map.iter_rules()}


def test_callback_rules_name_the_subject_their_callback_reads(web_app):
    """A callback reading an agent's or a queue's params store is scoped by it: the rule says so."""
    for output, spec in _server_callbacks(web_app).items():
        found = CALLBACKS.get(output)
        if found is None or found.subject == "page":
            continue
        carried = {SUBJECT_CARRIERS[(d["id"], d["property"])][0] for d in spec["inputs"] + spec["state"]
                   if isinstance(d["id"], str) and (d["id"], d["property"]) in SUBJECT_CARRIERS}
        assert carried == ({found.subject} if found.subject else set()), output


def test_page_and_route_subjects_are_path_variables(web_app):
    templates = {p.get("path_template") or p["path"] for p in dash.page_registry.values()}
    for key, found in PAGES.items():
        if found.subject and key in templates and "<" in key:
            assert f"<{found.subject}>" in key or found.subject == "group", key
    rules = {r.endpoint: r for r in web_app.server.url_map.iter_rules()}
    for endpoint, found in ROUTES.items():
        if found.subject and endpoint in rules:
            assert found.subject in rules[endpoint].arguments, endpoint


def test_state_changing_routes_are_never_token_or_public_without_csrf(web_app):
    """Every POST route is either public (and CSRF-checked by the gate) or for signed-in roles."""
    for r in web_app.server.url_map.iter_rules():
        if "POST" in (r.methods or ()) and r.endpoint in ROUTES:
            found = ROUTES[r.endpoint]
            assert found.via or found.public or found.roles or found.scope, r.endpoint


def test_the_docs_show_this_policy():
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    begin, end = "<!-- policy-table:begin -->", "<!-- policy-table:end -->"
    assert begin in text and end in text
    shown = text.split(begin, 1)[1].split(end, 1)[0].strip()
    assert shown == policy.markdown_table(), (
        "docs/security.md's table differs from app/auth/policy.py; paste the output of "
        "python -c 'from app.auth.policy import markdown_table; print(markdown_table())'")


# --------------------------------------------------------------------------------- deciding
def user(role: str, agent: str | None = None, reach: Reach | None = None) -> Principal:
    return Principal(kind="user", name=role, role=role, agent=agent, reach=reach or Reach(), via="session")


SUP = user("supervisor", reach=Reach(frozenset({"t1"}), frozenset({"a1"}), frozenset({"sales"})))
KIOSK_FRONT = Principal(kind="kiosk", name="k1", group="front", via="kiosk")
KIOSK_ALL = Principal(kind="kiosk", name="k2", group="*", via="kiosk")
TOKEN = Principal(kind="token", name="t", scopes=frozenset({"read:queues"}), via="token")


@pytest.mark.parametrize(
    ("caller", "subject", "expected"),
    [
        (ANONYMOUS, ("queue", "sales"), Outcome.SIGN_IN),
        (user("agent", "a2"), ("queue", "sales"), Outcome.FORBIDDEN),
        (SUP, ("queue", "sales"), Outcome.ALLOW),
        (SUP, ("queue", "support"), Outcome.FORBIDDEN),
        (SUP, ("queue", None), Outcome.FORBIDDEN),
        (SUP, ("queue", ["sales"]), Outcome.FORBIDDEN),
        (user("manager"), ("queue", "support"), Outcome.ALLOW),
        (user("admin"), ("queue", None), Outcome.ALLOW),
        (KIOSK_ALL, ("queue", "sales"), Outcome.FORBIDDEN),
        (TOKEN, ("queue", "sales"), Outcome.ALLOW),
    ],
)
def test_a_queue_rule(caller, subject, expected):
    assert decide(caller, rule("supervisor", "manager", "admin", subject="queue", scope="read:queues"), [subject]).outcome is expected


@pytest.mark.parametrize(
    ("caller", "agent", "expected"),
    [
        (user("agent", "a2"), "a2", Outcome.ALLOW),
        (user("agent", "a2"), "a1", Outcome.FORBIDDEN),
        (user("agent", None), None, Outcome.FORBIDDEN),
        (SUP, "a1", Outcome.ALLOW),
        (SUP, "a2", Outcome.FORBIDDEN),
        (user("manager"), "a2", Outcome.ALLOW),
        (KIOSK_ALL, "a1", Outcome.FORBIDDEN),
        (TOKEN, "a1", Outcome.FORBIDDEN),  # lacks read:agents
    ],
)
def test_an_agent_rule(caller, agent, expected):
    found = rule(policy.EVERYONE, subject="agent", scope="read:agents")
    assert decide(caller, found, [("agent", agent)]).outcome is expected


@pytest.mark.parametrize(
    ("caller", "group", "expected"),
    [
        (KIOSK_FRONT, "front", Outcome.ALLOW),
        (KIOSK_FRONT, "back", Outcome.FORBIDDEN),
        (KIOSK_FRONT, None, Outcome.FORBIDDEN),  # every queue is more than its group
        (KIOSK_ALL, None, Outcome.ALLOW),
        (KIOSK_ALL, "back", Outcome.ALLOW),
        (SUP, None, Outcome.ALLOW),  # wallboards show aggregates, nobody by name
        (user("agent", "a2"), "front", Outcome.FORBIDDEN),
        (TOKEN, "front", Outcome.FORBIDDEN),
    ],
)
def test_a_wallboard_rule(caller, group, expected):
    assert decide(caller, PAGES["/wallboard/<group>"], [("group", group)]).outcome is expected


def test_unlisted_is_refused_for_everyone_even_admins():
    for caller in (ANONYMOUS, user("admin"), KIOSK_ALL, TOKEN):
        assert decide(caller, None).outcome is Outcome.UNLISTED


def test_public_and_empty_rules():
    assert decide(ANONYMOUS, public("x")).allowed
    assert not decide(user("admin"), ROUTES["static"]).allowed


def test_rules_refuse_unknown_roles_subjects_and_scopes():
    with pytest.raises(ValueError):
        rule("superuser")
    with pytest.raises(ValueError):
        rule("admin", subject="caller")
    with pytest.raises(ValueError):
        rule("admin", scope="read:everything")


def test_callback_id_matches_dash():
    assert callback_id("a.children") == "a.children"
    assert callback_id("a.children", "b.data") == "..a.children...b.data.."


def test_team_subject():
    assert SUP.can_see("team", "t1") and not SUP.can_see("team", "t2") and not SUP.can_see("team", None)
    assert user("manager").can_see("team", None)
    assert not user("agent", "a1").can_see("team", "t1")


def test_supervisor_reach_from_record_and_roster():
    roster = {
        "a1": RosterAgent("a1", team="t1", supervisor="", skills=("sales",)),
        "a2": RosterAgent("a2", team="t2", supervisor="s2", skills=("support", "billing")),
        "a3": RosterAgent("a3", team="t3", supervisor="pat", skills=("claims",)),
    }
    reach = supervisor_reach("pat", "s2", ["t1"], ["extra"], roster)
    assert reach.teams == {"t1", "t2", "t3"}
    assert reach.agents == {"a1", "a2", "a3"}
    assert reach.queues == {"sales", "support", "billing", "claims", "extra"}
    assert supervisor_reach("nobody", None, [], [], roster) == Reach()


def test_homes():
    assert user("agent", "a1").home == "/me" and SUP.home == "/" and ANONYMOUS.home == "/login"
    assert KIOSK_FRONT.home == "/wallboard/front?kiosk=1" and KIOSK_ALL.home == "/wallboard?kiosk=1"


def test_a_route_without_a_rule_is_refused_even_to_an_admin_token_and_logged(tmp_path, caplog):
    from flask import Flask

    from app.auth import UsersFile, install
    from floorboard.config import load_settings
    from tests.conftest import TEST_SECRET_KEY

    server = Flask(__name__)
    users = UsersFile(tmp_path / "users.json")
    install(server, load_settings({"FLOORBOARD_SECRET_KEY": TEST_SECRET_KEY}), users, lambda: None)

    @server.get("/forgotten")
    def forgotten() -> str:
        return "data nobody checked"

    _, secret = users.create_token("all", policy.SCOPES)
    with caplog.at_level("ERROR", logger="app.auth.guard"):
        r = server.test_client().get("/forgotten", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and b"data nobody checked" not in r.data
    assert "'forgotten' has no rule in app/auth/policy.py" in caplog.text


def test_the_api_is_never_served_without_the_gate():
    from flask import Flask

    from app.api import register_api

    with pytest.raises(RuntimeError, match="access control"):
        register_api(Flask(__name__), None)  # type: ignore[arg-type]
