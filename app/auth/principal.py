"""Who is calling, and what they may see (pure: no Flask, no Redis).

A supervisor's reach comes from the roster: their teams are the teams listed on their user
record plus every team whose roster ``supervisor`` is their agent id or user name; their agents
are the roster agents of those teams; their queues are the queues listed on their record plus
the skills of their teams' agents. Managers and admins see everything; an agent sees only
themselves. Wallboards (aggregate figures, nobody named) are open to every supervisor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from staffing.schedule import RosterAgent

FULL_VIEW = ("manager", "admin")
ALL_GROUPS = "*"  # a kiosk link for every queue (/wallboard, rotation)


@dataclass(frozen=True, slots=True)
class Reach:
    """A supervisor's teams, agents and queues."""

    teams: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()


def supervisor_reach(username: str, agent: str | None, teams: Iterable[str], queues: Iterable[str],
                     roster: Mapping[str, RosterAgent]) -> Reach:
    names = {username} | ({agent} if agent else set())
    my_teams = set(teams) | {a.team for a in roster.values() if a.team and a.supervisor in names}
    members = [a for a in roster.values() if a.team in my_teams]
    my_queues = set(queues) | {q for a in members for q in a.skills}
    return Reach(frozenset(my_teams), frozenset(a.agent for a in members), frozenset(my_queues))


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # anonymous | user | kiosk | token
    name: str = ""  # user name, kiosk link id or token id
    role: str | None = None
    agent: str | None = None  # the agent this user is, if any (an agent's only subject)
    reach: Reach = field(default_factory=Reach)
    group: str | None = None  # kiosk: the group it shows (ALL_GROUPS: every queue)
    scopes: frozenset[str] = frozenset()  # token: what it may read or do
    via: str = ""  # session | proxy | kiosk | token
    expires_s: float | None = None  # when the session or kiosk link ends (epoch seconds)

    @property
    def signed_in(self) -> bool:
        return self.kind == "user"

    @property
    def audit_name(self) -> str:
        """How logs and audit records name the caller (never a secret)."""
        return {"user": self.name, "kiosk": f"kiosk:{self.name}", "token": f"token:{self.name}"}.get(
            self.kind, "anonymous")

    @property
    def home(self) -> str:
        if self.kind == "kiosk":
            return "/wallboard?kiosk=1" if self.group == ALL_GROUPS else f"/wallboard/{self.group}?kiosk=1"
        if self.kind != "user":
            return "/login"
        return "/me" if self.role == "agent" else "/"

    def can_see(self, kind: str, value: Any) -> bool:
        """May this caller see data of this agent / queue / team / group (None: all of them)?"""
        if kind == "group":
            if self.kind == "kiosk":
                return self.group == ALL_GROUPS or (isinstance(value, str) and value == self.group)
            return self.kind == "user" and self.role in (*FULL_VIEW, "supervisor")
        if self.kind != "user":
            return False
        if self.role in FULL_VIEW:
            return True
        if not isinstance(value, str) or not value:
            return False  # "all of them", or a malformed value: only full view
        if kind == "agent":
            return value == self.agent or (self.role == "supervisor" and value in self.reach.agents)
        if self.role != "supervisor":
            return False
        if kind == "queue":
            return value in self.reach.queues
        if kind == "team":
            return value in self.reach.teams
        return False


ANONYMOUS = Principal(kind="anonymous")
