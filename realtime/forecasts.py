"""Imported forecasts in Redis: calls and AHT per queue and interval, for the intraday view.

One hash per local day (queue → JSON intervals). An import replaces each queue's forecast of
each day it covers, as a whole and in one transaction, and bumps the day's version so readers
can cache a parsed day until it moves. Other queues of the day are left as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realtime.history import History
    from realtime.store import Store

# day → queue → interval_start_ms → (calls, aht_s)
ForecastDays = Mapping[str, Mapping[str, Mapping[int, tuple[float, float]]]]

# A forecast is imported ahead of its day and read through it; two weeks after the day ends
# the live copy goes (an import of an older day is kept only in the history store, which keeps
# every day).
FORECAST_KEEP_AFTER_DAY_S = 14 * 86400


def write_forecast_days(store: Store, days: ForecastDays) -> None:
    """Replace, for each day given, the forecast of each queue given (one transaction)."""
    k = store.keys
    pipe = store.r.pipeline(transaction=True)
    for day, queues in days.items():
        key = k.forecast_day(day)
        rows = {
            queue: json.dumps([[start, calls, aht] for start, (calls, aht) in sorted(intervals.items())],
                              separators=(",", ":"))
            for queue, intervals in queues.items()
        }
        if rows:
            pipe.hset(key, mapping=rows)
            _, day_end_ms = store.timebase.day_bounds_ms(day)
            pipe.pexpireat(key, day_end_ms + FORECAST_KEEP_AFTER_DAY_S * 1000)
        pipe.hincrby(k.forecast_versions, day, 1)
    pipe.execute()


def read_forecast_day(store: Store, day: str, history: History | None = None) -> dict[str, dict[int, tuple[float, float]]]:
    """queue → interval_start_ms → (calls, aht_s) of one local day; from the history store when
    Redis no longer (or never) had it and ``history`` is given. Empty: no forecast."""
    raw = store.r.hgetall(store.keys.forecast_day(day))
    if not raw and history is not None:
        return history.forecast_day(day)
    return {
        queue: {int(start): (float(calls), float(aht)) for start, calls, aht in json.loads(value)}
        for queue, value in raw.items()
    }


def forecast_versions(store: Store, days: Iterable[str]) -> tuple[int, ...]:
    """The version of each day's forecast (0 when never written): a cache key for readers."""
    days = list(days)
    values = store.r.hmget(store.keys.forecast_versions, days) if days else []
    return tuple(int(v or 0) for v in values)
