"""A tiny, escaping HTML builder for the wallboard.

Why not Dash components there: a 40-queue board is ~1,800 components, and the Dash renderer
needs seconds of main-thread time to reconcile that many on every refresh (measured: 15 s per
update in headless Chromium). The board is therefore built as one HTML string here (every text
and attribute escaped) and put in place by a three-line clientside callback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any, TypeAlias

Child: TypeAlias = "Markup | str | int | float | None | Iterable[Child]"


class Markup(str):
    """A string that is already safe HTML (never escaped again)."""


def _flatten(children: Iterable[Any]) -> Iterable[str]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, Markup):
            yield child
        elif isinstance(child, str | int | float):
            yield escape(str(child), quote=False)
        else:
            yield from _flatten(child)


def el(tag: str, attrs: Mapping[str, Any] | None = None, *children: Any) -> Markup:
    """``<tag attrs>children</tag>``; text children and attribute values are escaped."""
    parts = [tag]
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        name = "class" if name == "cls" else name.replace("_", "-")
        parts.append(name if value is True else f'{name}="{escape(str(value), quote=True)}"')
    return Markup(f"<{' '.join(parts)}>{''.join(_flatten(children))}</{tag}>")


def join(children: Iterable[Any]) -> Markup:
    return Markup("".join(_flatten(children)))


def digest(markup: str) -> str:
    """A short fingerprint of some markup, to skip resending a board that did not change."""
    return hashlib.blake2b(markup.encode(), digest_size=8).hexdigest()
