"""Who may call what: the one table every page, Dash callback and HTTP route is checked against.

Default deny. Every request is matched to a rule here by :mod:`app.auth.guard` before anything
else runs; a page, callback or route without a rule is refused for everyone (and logged as an
error), and ``tests/unit/test_auth_policy.py`` fails while anything registered lacks one. The
human-readable version of these tables is docs/security.md ("Who may see what"); a test keeps
the two in step.

Adding a rule (one line each):

- a page registered with ``dash.register_page(path=...)`` or ``path_template=...``: add
  ``"/your/<path>": rule(...)`` to :data:`PAGES`, keyed by that path or template;
- a Dash callback: add ``callback_id("out-id.prop", ...)`` (its outputs, in order) to
  :data:`CALLBACKS`. If it reads whose data to show from a component (a page's params store),
  that component must be in :data:`SUBJECT_CARRIERS` (add it once) and the rule names the same
  ``subject``: the guard checks every carrier a callback reads against the caller, and a test
  checks each rule's subject against the carriers its callback really reads;
- a Flask route (API or other): add its endpoint name (``"blueprint.function"``) to :data:`ROUTES`,
  with the token ``scope`` that grants it and the URL variable naming its ``subject``.

``rule(*roles, subject=..., scope=..., kiosk=...)``: the signed-in roles allowed; ``subject`` the
kind of data it returns for one entity (``agent``, ``queue``, ``team``, ``group``), checked
against what the caller may see; ``scope`` the API-token scope granting it; ``kiosk`` whether a
kiosk link may call it (its group only). ``public(note)``: anyone, signed in or not — only for
what carries no data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from app.pages._ids import Adherence, Agent, Firefight, Intraday, Queue, Wallboard

ROLES = ("agent", "supervisor", "manager", "admin")
# What an API token may be granted. write:alerts is for the alert routes (POST), not yet served.
SCOPES = ("read:queues", "read:agents", "read:health", "read:deadletters", "read:alerts", "write:alerts", "read:intraday",
          "write:intraday")
SUBJECT_KINDS = ("agent", "queue", "team", "group")

EVERYONE = ROLES
SUPERVISORS = ("supervisor", "manager", "admin")
MANAGERS = ("manager", "admin")
ADMINS = ("admin",)


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[str] = frozenset()
    subject: str | None = None  # agent | queue | team | group | page (the router: the page's own rule)
    scope: str | None = None  # the API-token scope that grants it; None: tokens are refused
    kiosk: bool = False  # a kiosk link may call it, within its group
    public: bool = False  # anyone, signed in or not: nothing behind it names a queue or a person
    via: str | None = None  # "page" | "callback": the route dispatches to PAGES or CALLBACKS
    note: str = ""


def rule(*roles: str | Sequence[str], subject: str | None = None, scope: str | None = None,
         kiosk: bool = False, note: str = "") -> Rule:
    flat = frozenset(r for item in roles for r in ((item,) if isinstance(item, str) else item))
    unknown = flat - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    if subject not in (None, "page", *SUBJECT_KINDS):
        raise ValueError(f"unknown subject {subject!r}")
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return Rule(roles=flat, subject=subject, scope=scope, kiosk=kiosk, note=note)


def public(note: str) -> Rule:
    return Rule(public=True, note=note)


def callback_id(*outputs: str) -> str:
    """The key Dash files a callback under: ``"id.prop"``, or ``"..a.p...b.q.."`` for several."""
    return outputs[0] if len(outputs) == 1 else ".." + "...".join(outputs) + ".."


# ------------------------------------------------------------------------------------ pages
# Keyed by the path or path_template given to dash.register_page. A page's subject is read
# from its path variables and query string, merged the way Dash passes them to the layout.
PAGES: dict[str, Rule] = {
    "/": rule(SUPERVISORS, note="overview: every queue's waiting and SL; agents go to /me"),
    "/wallboard": rule(SUPERVISORS, subject="group", kiosk=True, note="all queues (group None) or ?group="),
    "/wallboard/<group>": rule(SUPERVISORS, subject="group", kiosk=True, note="one group of queues"),
    "/queues/<queue>": rule(SUPERVISORS, subject="queue", note="callers waiting and staffed agents by name"),
    "/agents/<agent>": rule(EVERYONE, subject="agent", note="one agent's day: self, their supervisor, managers"),
    "/me": rule(EVERYONE, note="the signed-in user's own agent, never one named in the URL"),
    "/login": public("the sign-in form"),
    "/admin": rule(ADMINS, note="users, API tokens, kiosk links"),
    "/adherence": rule(SUPERVISORS, note="exceptions and alerts of the teams in reach (managers: all)"),
    "/intraday": rule(MANAGERS, note="every queue's plan, roster actions naming agents, apply/undo"),
    "/firefight": rule(MANAGERS, note="peak-hour screen: queues at risk, top actions, exceptions"),
}

# ------------------------------------------------------------------------------- callbacks
# A component whose value names whose data a callback returns: (component id, property) →
# (subject kind, key in the value, or None for the whole value). The guard finds these among a
# callback's registered inputs and state and checks the values the browser posted for them.
SUBJECT_CARRIERS: dict[tuple[str, str], tuple[str, str | None]] = {
    (Agent.params, "data"): ("agent", "agent"),
    (Queue.params, "data"): ("queue", "queue"),
    (Wallboard.params, "data"): ("group", "group"),
}

PAGES_ROUTER = callback_id("_pages_content.children", "_pages_store.data")
CALLBACKS: dict[str, Rule] = {
    PAGES_ROUTER: Rule(public=True, subject="page",
                       note="Dash's page router: the opened page's own rule decides"),
    callback_id(f"{Wallboard.markup}.data", f"{Wallboard.digest}.data"): rule(
        SUPERVISORS, subject="group", kiosk=True, note="wallboard refresh"),
    callback_id(f"{Queue.header}.children", f"{Queue.figure}.figure", f"{Queue.agents}.data",
                f"{Queue.waiting}.children"): rule(SUPERVISORS, subject="queue", note="queue page refresh"),
    callback_id(f"{Agent.body}.children", f"{Agent.timeline}.figure"): rule(
        EVERYONE, subject="agent", note="agent page refresh"),
    callback_id(*(f"{c}.{p}" for c, p in (
        (Intraday.status, "children"), (Intraday.stats, "children"), (Intraday.queue, "options"),
        (Intraday.queue, "value"), (Intraday.figure, "figure"),
        (Intraday.explanation, "children"), (Intraday.actions, "children"), (Intraday.audit, "children"),
        (Intraday.overlays, "children"), (Intraday.shown, "data")))): rule(MANAGERS, note="intraday page refresh"),
    f"{Intraday.action_result}.children": rule(MANAGERS, note="apply or undo a roster action (changes schedules)"),
    f"{Intraday.overlay_result}.children": rule(MANAGERS, note="add or remove an overlay"),
    f"{Intraday.upload_result}.children": rule(MANAGERS, note="import a forecast file"),
    callback_id(f"{Intraday.whatif_figure}.figure", f"{Intraday.whatif_result}.children"): rule(
        MANAGERS, note="what-if projection (nothing stored)"),
    callback_id(f"{Agent.adherence}.children"): rule(EVERYONE, subject="agent", note="agent's own schedule and adherence"),
    callback_id(f"{Adherence.summary}.children", f"{Adherence.exceptions}.children", f"{Adherence.teams}.children",
                f"{Adherence.team}.options"): rule(
        SUPERVISORS, note="adherence refresh: rows filtered to the caller's teams on the server"),
    f"{Adherence.action_result}.children": rule(
        SUPERVISORS, note="acknowledge or snooze an alert (refused outside the caller's reach)"),
    f"{Adherence.selected}.data": rule(SUPERVISORS, note="pick an agent row (no data returned)"),
    callback_id(f"{Adherence.timeline}.figure", f"{Adherence.timeline_title}.children"): rule(
        SUPERVISORS, note="one agent's scheduled vs actual day; an agent outside reach is refused in the callback"),
    f"{Adherence.upload_result}.children": rule(MANAGERS, note="import a schedule file (replaces its days)"),
    f"{Firefight.body}.children": rule(MANAGERS, note="firefighting refresh: precomputed views only"),
    f"{Firefight.action_result}.children": rule(MANAGERS, note="apply a roster action"),
}

# ---------------------------------------------------------------------------------- routes
# Flask endpoints (``server.url_map``). Dash names its endpoints by their path.
ROUTES: dict[str, Rule] = {
    "/": Rule(via="page", note="a page: PAGES decides"),
    "/<path:path>": Rule(via="page", note="a page: PAGES decides"),
    "/_dash-update-component": Rule(via="callback", note="a callback: CALLBACKS decides"),
    "/_dash-layout": public("the empty page container; content comes through the router callback"),
    "/_dash-dependencies": public("callback wiring, no data"),
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": public("JavaScript bundles"),
    "/_reload-hash": public("hot-reload hash (debug mode only)"),
    "/_favicon.ico": public("icon"),
    "_dash_assets.static": public("CSS and scripts from assets/"),
    "static": Rule(note="no static folder: refused for everyone"),
    "api_v1.queues": rule(SUPERVISORS, scope="read:queues", note="the snapshot: the wallboard's figures"),
    "api_v1.queue": rule(SUPERVISORS, subject="queue", scope="read:queues"),
    "api_v1.intervals": rule(SUPERVISORS, subject="queue", scope="read:queues"),
    "api_v1.agent": rule(EVERYONE, subject="agent", scope="read:agents"),
    "api_v1.health": rule(SUPERVISORS, scope="read:health"),
    "api_v1.deadletters": rule(ADMINS, scope="read:deadletters", note="raw rejected payloads"),
    "api_v1_intraday.view": rule(MANAGERS, scope="read:intraday", note="every queue's risk and the ranked actions"),
    "api_v1_intraday.queue": rule(MANAGERS, subject="queue", scope="read:intraday"),
    "api_v1_intraday.overlays": rule(MANAGERS, scope="read:intraday"),
    "api_v1_intraday.audit": rule(MANAGERS, scope="read:intraday", note="who applied what, today"),
    "api_v1_intraday.add_overlay": rule(MANAGERS, scope="write:intraday"),
    "api_v1_intraday.remove_overlay": rule(MANAGERS, scope="write:intraday"),
    "api_v1_intraday.apply": rule(MANAGERS, scope="write:intraday", note="changes agents' schedules"),
    "api_v1_intraday.undo": rule(MANAGERS, scope="write:intraday", note="changes agents' schedules back"),
    "api_v1_intraday.what_if": rule(MANAGERS, scope="read:intraday", note="a projection; nothing is stored"),
    "api_v1_alerts.feed": rule(SUPERVISORS, scope="read:alerts", note="filtered to the caller's reach"),
    "api_v1_alerts.one": rule(SUPERVISORS, scope="read:alerts", note="404 outside the caller's reach"),
    "api_v1_alerts.ack": rule(SUPERVISORS, scope="write:alerts", note="recorded with the caller's name"),
    "api_v1_alerts.snooze": rule(SUPERVISORS, scope="write:alerts", note="recorded with the caller's name"),
    "auth.login": public("sign-in form post: CSRF-checked, rate-limited"),
    "auth.logout": public("sign-out form post: CSRF-checked"),
    "auth.kiosk": public("a signed kiosk link, exchanged for a kiosk session"),
    "auth.admin_users": rule(ADMINS),
    "auth.admin_tokens": rule(ADMINS),
    "auth.admin_kiosk": rule(ADMINS),
}


# -------------------------------------------------------------------------------- deciding
class Outcome(Enum):
    ALLOW = "allow"
    SIGN_IN = "sign in"  # nobody is signed in (or the credentials are no longer valid): 401
    FORBIDDEN = "forbidden"  # signed in, not allowed: 403
    UNLISTED = "unlisted"  # no rule at all: 403 for everyone, logged as an error
    NOT_FOUND = "not found"


class Caller(Protocol):
    kind: str  # anonymous | user | kiosk | token
    role: str | None
    scopes: frozenset[str]

    def can_see(self, kind: str, value: Any) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


ALLOW = Decision(Outcome.ALLOW)


def decide(caller: Caller, found: Rule | None, subjects: Iterable[tuple[str, Any]] = ()) -> Decision:
    """Pure: may ``caller`` use what ``found`` guards, for these (kind, value) subjects?"""
    if found is None:
        return Decision(Outcome.UNLISTED, "no rule in app/auth/policy.py")
    if found.public:
        return ALLOW
    if caller.kind == "anonymous":
        return Decision(Outcome.SIGN_IN, "sign in first")
    if caller.kind == "token":
        if found.scope and found.scope in caller.scopes:
            return ALLOW
        return Decision(Outcome.FORBIDDEN, f"the token lacks scope {found.scope}" if found.scope
                        else "not available to API tokens")
    if caller.kind == "kiosk":
        if not found.kiosk:
            return Decision(Outcome.FORBIDDEN, "a kiosk link opens its wallboard only")
    elif caller.role not in found.roles:
        return Decision(Outcome.FORBIDDEN, f"not for the {caller.role} role")
    for kind, value in subjects:
        if not caller.can_see(kind, value):
            return Decision(Outcome.FORBIDDEN, f"{kind} {value!r} is outside what you may see")
    return ALLOW


# --------------------------------------------------------------------------- the docs table
_SCOPED = {
    ("agent", "agent"): "self",
    ("supervisor", "agent"): "their teams' agents",
    ("supervisor", "queue"): "their queues",
    ("supervisor", "team"): "their teams",
}


def _cell(found: Rule, role: str) -> str:
    if found.public:
        return "✓"
    if role not in found.roles:
        return "—"
    return _SCOPED.get((role, found.subject or ""), "✓")


def _row(what: str, found: Rule) -> str:
    if found.via:
        return f"| `{what}` | {' | '.join(['by ' + ('page' if found.via == 'page' else 'callback')] * 7)} |"
    kiosk = "✓" if found.public else ("its group" if found.kiosk and found.subject == "group" else
                                      "✓" if found.kiosk else "—")
    token = "✓" if found.public else (f"`{found.scope}`" if found.scope else "—")
    out = "✓" if found.public else "—"
    return f"| `{what}` | {' | '.join(_cell(found, r) for r in ROLES)} | {kiosk} | {token} | {out} |"


def markdown_table() -> str:
    """The policy as docs/security.md shows it; print it with
    ``python -c 'from app.auth.policy import markdown_table; print(markdown_table())'``."""
    head = "| {} | agent | supervisor | manager | admin | kiosk link | API token | signed out |\n" \
           "| --- | --- | --- | --- | --- | --- | --- | --- |"
    parts = []
    for title, table in (("page", PAGES), ("Dash callback (outputs)", CALLBACKS), ("route (Flask endpoint)", ROUTES)):
        parts.append("\n".join([head.format(title), *(_row(k, v) for k, v in table.items())]))
    return "\n\n".join(parts)

