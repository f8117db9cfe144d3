"""Access control: who is calling, and what they may see (docs/security.md).

:func:`install` puts the gate (:mod:`app.auth.guard`) in front of every route of the Flask
server; the rules live in one table, :mod:`app.auth.policy`. Pages read the caller with
:func:`current_principal`.
"""

from __future__ import annotations

from app.auth.guard import current_gate, current_principal, install
from app.auth.policy import PAGES, decide
from app.auth.principal import Principal
from app.auth.users import UsersFile


def may_open(path: str) -> bool:
    """May the caller of this request open the page at ``path`` (a registered path)?"""
    return decide(current_principal(), PAGES.get(path)).allowed


__all__ = ["Principal", "UsersFile", "current_gate", "current_principal", "install", "may_open"]
