"""Reads that join live Redis state with the history store."""

from __future__ import annotations

from typing import Any

from realtime.history import History
from realtime.store import Store
from staffing import kpis


def queue_day_intervals(store: Store, history: History | None, queue: str, day: str) -> dict[str, Any]:
    """Every interval of a local day, live where Redis still has it, else from history.

    Returns ``{"queue", "date", "intervals": [...], "totals": {...}, "sources": {...}}``; the
    totals are summed from the intervals, so they match them exactly whatever their source.
    """
    cfg = store.queue_config(queue)
    live = {row["start_ms"]: row for row in store.read_intervals(queue, day)}
    archived = history.queue_day(queue, day) if history is not None else {}
    intervals = []
    totals: dict[str, float] = dict.fromkeys(kpis.COUNTER_FIELDS, 0.0)
    used = {"live": 0, "history": 0}
    for start, row in live.items():
        counters = {f: row[f] for f in kpis.COUNTER_FIELDS}
        source = "live"
        if not any(counters.values()) and start in archived:
            counters, source = archived[start], "history"
        if any(counters.values()):
            used[source] += 1
        for f in kpis.COUNTER_FIELDS:
            totals[f] += counters.get(f, 0.0)
        out = {"start_ms": start, "label": row["label"], "source": source}
        out.update(kpis.summarize(counters, cfg.sl_formula))
        intervals.append(out)
    return {
        "queue": queue,
        "date": day,
        "config": cfg.as_dict(),
        "intervals": intervals,
        "totals": kpis.summarize(totals, cfg.sl_formula),
        "sources": used,
    }
