"""The settings, store and clock that page callbacks use.

Dash page callbacks are module level, so they cannot take arguments from ``create_app``; this
small accessor is set once by ``create_app`` and read by callbacks. Tests set their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from floorboard.config import Settings
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
