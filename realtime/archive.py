"""Archiving closed intervals from live Redis state to the history store.

An interval is archived once it closed more than the late-event tolerance ago (no live event
can change it any more). Every change marks the interval "touched"; the archiver upserts the
touched, closed intervals and then unmarks them, so a backfill that changes an old interval
simply archives it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from realtime.history import History
from realtime.store import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Archiver:
    store: Store
    history: History

    def run_once(self, now_ms: int) -> tuple[int, int]:
        """Archive what has closed; returns (queue rows, agent rows) written."""
        grace_ms = int(self.store.settings.late_tolerance_s * 1000) + self.store.timebase.interval_ms
        before_ms = now_ms - grace_ms
        queue_rows, agent_rows, marks = self.store.closed_intervals(before_ms)
        nq = self.history.upsert_queue_intervals(queue_rows, now_ms)
        na = self.history.upsert_agent_intervals(agent_rows, now_ms)
        # Unmark only after the rows are safely in SQL: a crash in between re-archives them.
        self.store.unmark_touched(marks)
        if nq or na:
            log.info("archived %d queue and %d agent intervals", nq, na)
        return nq, na
