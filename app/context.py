"""The settings, store and clock that page callbacks use.

Dash page callbacks are module level, so they cannot take arguments from ``create_app``; this
small accessor is set once by ``create_app`` and read by callbacks. Tests set their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from floorboard.config import Settings
from realtime.history import History
from realtime.store import Store


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    store: Store
    clock_ms: Callable[[], int] = wall_clock_ms


_context: Context | None = None


def set_context(settings: Settings, store: Store, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
    global _context
    _context = Context(settings, store, clock_ms)


def _get() -> Context:
    if _context is None:
        raise RuntimeError("app context is not set: build the app with app.server.create_app()")
    return _context


def get_settings() -> Settings:
    return _get().settings


def get_store() -> Store:
    return _get().store


def now_ms() -> int:
    return _get().clock_ms()


def current_user() -> str:
    """Who is acting, for audit records (acknowledgements, imports, roster actions)."""
    from flask import g, has_request_context

    if has_request_context():
        return getattr(g, "floorboard_user", None) or "anonymous"
    return "system"


def get_history() -> History | None:
    """The history store the app was built with (None when it has none)."""
    from flask import current_app, has_app_context

    return current_app.extensions.get("floorboard.history") if has_app_context() else None


def can_see(kind: str, value: str | None) -> bool:
    """May the caller of this request see data of this agent / queue / team (None: all)?

    The access gate (app.auth) has already refused what the caller may not call at all; this
    narrows what a permitted callback returns, e.g. a supervisor's rows to their own teams.
    Outside a request (tools, tests of pure callbacks) there is no caller to narrow for."""
    from flask import has_request_context

    from app.auth import current_principal

    return current_principal().can_see(kind, value) if has_request_context() else True
