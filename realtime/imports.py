"""Applying imported schedules, rosters and forecasts: the live copy in Redis and the history store.

Files are parsed and validated first (:mod:`floorboard.imports`, pure), so nothing is written
unless the whole file is good. Then both stores are written in one go: the SQL transaction is
opened, rows are replaced, the Redis transaction runs, and only then is SQL committed. If Redis
fails, SQL rolls back; a failure of the commit itself after Redis succeeded is the one window
left (re-importing the same file repairs it, since every import replaces what it covers).

``history`` may be ``None`` (tests, tools that only feed the live view).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from floorboard.imports import (
    MAX_BYTES,
    AgentsImport,
    ForecastImport,
    Rejected,
    RowError,
    ScheduleImport,
    parse_agents_csv,
    parse_forecast_csv,
    parse_schedule_csv,
)
from realtime.forecasts import ForecastDays, write_forecast_days
from realtime.schedules import write_roster, write_schedule_days
from staffing.schedule import RosterAgent, Segment

if TYPE_CHECKING:
    import sqlalchemy as sa

    from floorboard.config import Settings
    from realtime.history import History
    from realtime.store import Store

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@contextlib.contextmanager
def _sql(history: History | None) -> Iterator[sa.Connection | None]:
    if history is None:
        yield None
    else:
        with history.begin() as conn:
            yield conn


def apply_schedule(store: Store, history: History | None,
                   days: Mapping[str, Mapping[str, Sequence[Segment]]], *, now_ms: int | None = None) -> None:
    """Each day in ``days`` is replaced entirely (agents not given have no schedule that day)."""
    with _sql(history) as conn:
        if history is not None:
            history.replace_schedule_days(days, now_ms or _now_ms(), conn=conn)
        write_schedule_days(store, days)


def apply_roster(store: Store, history: History | None, agents: Sequence[RosterAgent], *,
                 replace: bool = True, now_ms: int | None = None) -> None:
    """The roster becomes ``agents``; with ``replace=False`` they are added or updated instead."""
    with _sql(history) as conn:
        if history is not None:
            history.replace_roster(agents, now_ms or _now_ms(), replace=replace, conn=conn)
        write_roster(store, agents, replace=replace)


def apply_forecast(store: Store, history: History | None, days: ForecastDays, *,
                   now_ms: int | None = None) -> None:
    """Each (day, queue) in ``days`` is replaced entirely; other queues of the day stay."""
    with _sql(history) as conn:
        if history is not None:
            history.replace_forecast_days(days, now_ms or _now_ms(), conn=conn)
        write_forecast_days(store, days)


# --- parse and apply in one call (the upload on the pages, the command line) -----------------


def import_schedule(store: Store, history: History | None, data: str | bytes, *,
                    activities: Collection[str] | None = None, dry_run: bool = False,
                    now_ms: int | None = None) -> ScheduleImport | Rejected:
    """Parse a schedule file in the center's time zone; if it is good (and not ``dry_run``),
    apply it. The result says what was (or would be) imported, or every reason it was not.
    ``activities`` defaults to the configured ones (the settings file's [adherence] table)."""
    if activities is None:
        activities = store.settings.queues.adherence.activity_names()
    result = parse_schedule_csv(data, store.settings.tz, activities)
    if isinstance(result, ScheduleImport) and not dry_run:
        apply_schedule(store, history, result.days, now_ms=now_ms)
    return result


def import_agents(store: Store, history: History | None, data: str | bytes, *, replace: bool = True,
                  known_queues: Collection[str] | None = None, dry_run: bool = False,
                  now_ms: int | None = None) -> AgentsImport | Rejected:
    """Parse a roster file; if it is good (and not ``dry_run``), it becomes the roster
    (``replace=False``: its agents are added or updated)."""
    result = parse_agents_csv(data, known_queues)
    if isinstance(result, AgentsImport) and not dry_run:
        apply_roster(store, history, result.agents, replace=replace, now_ms=now_ms)
    return result


def import_forecast(store: Store, history: History | None, data: str | bytes, *,
                    known_queues: Collection[str] | None = None, dry_run: bool = False,
                    now_ms: int | None = None) -> ForecastImport | Rejected:
    """Parse a forecast file on the center's interval grid; if it is good (and not ``dry_run``),
    apply it."""
    settings = store.settings
    result = parse_forecast_csv(data, settings.tz, settings.interval_min, known_queues)
    if isinstance(result, ForecastImport) and not dry_run:
        apply_forecast(store, history, result.days, now_ms=now_ms)
    return result


def decode_upload(contents: str) -> bytes | Rejected:
    """The bytes of a browser upload (a ``data:…;base64,…`` URL, as Dash's Upload gives it)."""
    _, sep, payload = contents.partition(";base64,")
    if not sep:
        return Rejected((RowError(0, "", "the upload is not a file's contents (no base64 data)"),), 1)
    if len(payload) > (MAX_BYTES + 2) // 3 * 4 + 4:
        return Rejected((RowError(0, "", f"the file is larger than the limit of {MAX_BYTES:,} bytes"),), 1)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return Rejected((RowError(0, "", "the upload could not be decoded (broken base64 data)"),), 1)


def import_schedule_upload(store: Store, settings: Settings, contents: str, filename: str, user: str,
                           now_ms: int, *, history: History | None = None) -> ScheduleImport | Rejected:
    """The adherence page's upload: decode, check and (when good) apply a schedule file.

    ``settings`` is the store's own; the center's zone comes from it. Pass ``history`` so the
    schedule also lands in the history store (without it only the live copy is written)."""
    data = decode_upload(contents)
    if isinstance(data, Rejected):
        return data
    result = parse_schedule_csv(data, settings.tz, settings.queues.adherence.activity_names())
    if isinstance(result, ScheduleImport):
        apply_schedule(store, history, result.days, now_ms=now_ms)
        log.info("schedule %s imported by %s: %s", filename, user, result.summary())
    else:
        log.info("schedule %s from %s rejected: %d errors", filename, user, result.total)
    return result
