"""Traffic-light levels from per-queue thresholds, and how each level is shown.

Colour is never the only signal: every level has an icon and a word too, and the palette is
Okabe–Ito (distinguishable with the common colour-vision deficiencies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OK, WARNING, CRITICAL, NONE = "ok", "warning", "critical", "none"
_RANK = {NONE: 0, OK: 1, WARNING: 2, CRITICAL: 3}

# Icon and word per level (the CSS gives the colour: --ok, --warning, --critical).
LEVELS: dict[str, dict[str, str]] = {
    OK: {"icon": "✓", "word": "OK"},
    WARNING: {"icon": "▲", "word": "Warning"},
    CRITICAL: {"icon": "✖", "word": "Critical"},
    NONE: {"icon": "·", "word": "No calls"},
}


def sl_level(sl: float | None, cfg: Mapping[str, Any]) -> str:
    """SL below ``sl_critical`` → critical, below ``sl_warning`` → warning; no calls → none."""
    if sl is None:
        return NONE
    if sl < cfg.get("sl_critical", 0.70):
        return CRITICAL
    if sl < cfg.get("sl_warning", 0.80):
        return WARNING
    return OK


def wait_level(wait_s: float | None, cfg: Mapping[str, Any]) -> str:
    """Longest wait above ``wait_critical_s`` → critical, above ``wait_warning_s`` → warning."""
    if wait_s is None:
        return NONE
    if wait_s > cfg.get("wait_critical_s", 120.0):
        return CRITICAL
    if wait_s > cfg.get("wait_warning_s", 60.0):
        return WARNING
    return OK


def worst(levels: Iterable[str]) -> str:
    """The most severe level; "ok" when all are ok or undefined but at least one is ok."""
    return max(levels, key=lambda lv: _RANK[lv], default=NONE)


def badge(level: str) -> dict[str, str]:
    """What a status badge shows: level (for the CSS class), icon and word."""
    return {"level": level, **LEVELS[level]}
