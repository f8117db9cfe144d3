"""Number formatting for screens. Undefined values (None, NaN) always show as an em dash."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DASH = "—"
NNBSP = "\u202f"  # narrow no-break space: "83 %" never wraps between number and sign


def _undefined(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def pct(value: float | None, digits: int = 0) -> str:
    """A fraction as a percentage: 0.834 → "83 %"; None → "—"."""
    if _undefined(value):
        return DASH
    return f"{value * 100:.{digits}f}{NNBSP}%"


def clock(seconds: float | None) -> str:
    """A duration as m:ss or h:mm:ss: 42 → "0:42", 151 → "2:31", 3723 → "1:02:03"."""
    if _undefined(seconds):
        return DASH
    total = max(0, int(seconds))
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def secs(seconds: float | None) -> str:
    """A short duration in whole seconds (ASA): 12.3 → "12 s"; from 100 s on as m:ss."""
    if _undefined(seconds):
        return DASH
    if seconds < 100:
        return f"{round(seconds)}{NNBSP}s"
    return clock(seconds)


def age(seconds: float) -> str:
    """How old something is, in the largest sensible unit: "42 s", "5 min", "3 h"."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{int(seconds)}{NNBSP}s"
    if seconds < 7200:
        return f"{int(seconds // 60)}{NNBSP}min"
    return f"{int(seconds // 3600)}{NNBSP}h"


def count(value: float | None) -> str:
    """A count: 3.0 → "3"; None → "—"."""
    if _undefined(value):
        return DASH
    return f"{round(value):d}"


def decimal(value: float | None, digits: int = 1) -> str:
    if _undefined(value):
        return DASH
    return f"{value:.{digits}f}"


def local_time(ts_ms: int | None, tz: str, fmt: str = "%H:%M:%S") -> str:
    """An epoch-ms instant as local wall-clock time in the center's zone."""
    if ts_ms is None:
        return DASH
    return datetime.fromtimestamp(ts_ms / 1000, tz=ZoneInfo(tz)).strftime(fmt)


def local_iso(ts_ms: int, tz: str) -> str:
    """Local wall-clock time as a naive ISO string (what a plotly date axis shows as is)."""
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(ZoneInfo(tz))
    return dt.replace(tzinfo=None).isoformat(timespec="seconds")


def humanize(name: str) -> str:
    """"on_call" → "On call", "aux:break" → "Break"."""
    name = name.split(":", 1)[-1]
    return name.replace("_", " ").capitalize() if name != "acw" else "ACW"
