"""Observed KPIs from raw per-interval counters (the definitions in docs/metrics.md).

Pure functions: a mapping of counters in, a float (or None where the ratio is undefined,
e.g. SL with no calls) out. The live pipeline keeps only raw counters, so every variant is
derived here and nowhere else.

Counter names (all integers; ``*_ms`` in milliseconds):
offered, answered, answered_within_t, abandoned, abandoned_short, abandoned_within_t,
wait_answered_ms, wait_abandoned_ms, handled, talk_ms, hold_ms, acw_ms, transfers, missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Counters = Mapping[str, float]

COUNTER_FIELDS = (
    "offered",
    "answered",
    "answered_within_t",
    "abandoned",
    "abandoned_short",
    "abandoned_within_t",
    "wait_answered_ms",
    "wait_abandoned_ms",
    "handled",
    "talk_ms",
    "hold_ms",
    "acw_ms",
    "transfers",
    "missed",
)


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def service_level(c: Counters, formula: str = "excl_short", waiting_over_t: int = 0) -> float | None:
    """Service level under one of the named formulas.

    ``waiting_over_t`` callers are still waiting and have already waited longer than T: the
    live SL counts each as a miss at once (in the denominator, never in the numerator), because
    whatever happens next they cannot be answered within T.
    """
    awt = c.get("answered_within_t", 0)
    ans = c.get("answered", 0)
    ab = c.get("abandoned", 0)
    miss = waiting_over_t
    if formula == "excl_short":
        return _ratio(awt, ans + ab - c.get("abandoned_short", 0) + miss)
    if formula == "of_answered":
        return _ratio(awt, ans + miss)
    if formula == "abandon_within_t_good":
        return _ratio(awt + c.get("abandoned_within_t", 0), ans + ab + miss)
    if formula == "excl_abandon_after_t":
        return _ratio(awt, ans + ab - c.get("abandoned_within_t", 0) + miss)
    if formula == "of_offered":
        return _ratio(awt, ans + ab + miss)
    raise ValueError(f"formula: unknown service-level formula {formula!r}")


def asa_s(c: Counters) -> float | None:
    """Average speed of answer: wait of answered calls ÷ answered, from queue entry."""
    return _ratio(c.get("wait_answered_ms", 0) / 1000.0, c.get("answered", 0))


def abandon_rate(c: Counters) -> float | None:
    """(abandoned − short) ÷ (answered + abandoned − short)."""
    real = c.get("abandoned", 0) - c.get("abandoned_short", 0)
    return _ratio(real, c.get("answered", 0) + real)


def aht_s(c: Counters) -> float | None:
    """Average handle time: (talk + hold + ACW) ÷ handled."""
    handling_ms = c.get("talk_ms", 0) + c.get("hold_ms", 0) + c.get("acw_ms", 0)
    return _ratio(handling_ms / 1000.0, c.get("handled", 0))


def occupancy(handling_ms: float, available_ms: float) -> float | None:
    """Handling time ÷ (handling + available idle) of staffed agents."""
    return _ratio(handling_ms, handling_ms + available_ms)


def summarize(c: Counters, formula: str, waiting_over_t: int = 0) -> dict[str, float | None]:
    """The standard KPI block shown for an interval or a day."""
    out: dict[str, float | None] = {k: float(c.get(k, 0)) for k in COUNTER_FIELDS}
    out["service_level"] = service_level(c, formula, waiting_over_t)
    out["asa_s"] = asa_s(c)
    out["abandon_rate"] = abandon_rate(c)
    out["aht_s"] = aht_s(c)
    return out


def agent_aht_s(c: Counters) -> float | None:
    """An agent's AHT: (talk + hold + time in ACW) ÷ handled (agent counters: ``s:acw`` in ms)."""
    return aht_s({"handled": c.get("handled", 0), "talk_ms": c.get("talk_ms", 0),
                  "hold_ms": c.get("hold_ms", 0), "acw_ms": c.get("s:acw", 0)})


def agent_kpis(c: Counters, handling_ms: float, available_ms: float) -> dict[str, float | None]:
    """An agent's KPIs for the day (docs/metrics.md, "Agent KPIs"): their definition; the team
    median takes them for many agents at once from :func:`agent_kpi_columns`."""
    handled = c.get("handled", 0.0)
    return {
        "handled": handled,
        "aht_s": agent_aht_s(c),
        "occupancy": occupancy(handling_ms, available_ms),
        "acw_s_per_call": _ratio(c.get("s:acw", 0.0) / 1000, handled),
        "hold_s_per_call": _ratio(c.get("hold_ms", 0.0) / 1000, handled),
        "missed": c.get("missed", 0.0),
        "transfers": c.get("transfers", 0.0),
    }


AGENT_KPI_KEYS = tuple(agent_kpis({}, 0.0, 0.0))  # their names, in agent_kpis's order


def agent_kpi_columns(
    handled: np.ndarray, talk_ms: np.ndarray, hold_ms: np.ndarray, acw_ms: np.ndarray, missed: np.ndarray,
    transfers: np.ndarray, handling_ms: np.ndarray, available_ms: np.ndarray,
) -> np.ndarray:
    """:func:`agent_kpis` for many agents at once: one row per agent, one column per
    ``AGENT_KPI_KEYS``, NaN where :func:`agent_kpis` gives None (the same operations in the same
    order, so the values are identical; a test compares them). ``acw_ms`` is the agent's
    ``s:acw``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_call = handled > 0
        staffed = handling_ms + available_ms
        return np.column_stack([
            handled,
            np.where(per_call, (talk_ms + hold_ms + acw_ms) / 1000.0 / handled, np.nan),
            np.where(staffed > 0, handling_ms / staffed, np.nan),
            np.where(per_call, acw_ms / 1000 / handled, np.nan),
            np.where(per_call, hold_ms / 1000 / handled, np.nan),
            missed,
            transfers,
        ]).astype(float)


def median_by_key(rows: Sequence[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Median of each KPI over the rows that have a value (None where none has)."""
    if not rows:
        return {}
    out: dict[str, float | None] = {}
    for key in rows[0]:
        values = [r[key] for r in rows if r.get(key) is not None]
        out[key] = float(np.median(values)) if values else None
    return out
