"""The history store: closed intervals upserted into SQL so nothing is lost on restart.

A SQLite file by default; any SQLAlchemy URL (PostgreSQL included) via FLOORBOARD_HISTORY_URL.
Rows are keyed by (queue or agent, interval start) and upserted, so re-archiving an interval a
replay changed later simply overwrites it with the newer counters.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from staffing.kpis import COUNTER_FIELDS

log = logging.getLogger(__name__)

metadata = sa.MetaData()

queue_intervals = sa.Table(
    "queue_intervals",
    metadata,
    sa.Column("queue", sa.String(120), primary_key=True),
    sa.Column("interval_start_ms", sa.BigInteger, primary_key=True),
    sa.Column("day", sa.String(10), nullable=False, index=True),
    *[sa.Column(name, sa.BigInteger, nullable=False, default=0) for name in COUNTER_FIELDS],
    sa.Column("archived_ms", sa.BigInteger, nullable=False),
)

agent_intervals = sa.Table(
    "agent_intervals",
    metadata,
    sa.Column("agent", sa.String(120), primary_key=True),
    sa.Column("interval_start_ms", sa.BigInteger, primary_key=True),
    sa.Column("day", sa.String(10), nullable=False, index=True),
    # Seconds in each state and reason are open-ended (aux reasons are configurable), so the
    # agent's counters are kept as one JSON object of integers.
    sa.Column("counters", sa.Text, nullable=False),
    sa.Column("archived_ms", sa.BigInteger, nullable=False),
)


class History:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    def _insert(self, table: sa.Table) -> Any:
        name = self.engine.dialect.name
        if name == "postgresql":
            return postgresql.insert(table)
        if name == "sqlite":
            return sqlite.insert(table)
        raise ValueError(f"FLOORBOARD_HISTORY_URL: unsupported database {name!r} (use SQLite or PostgreSQL)")

    def upsert_queue_intervals(self, rows: Iterable[Mapping[str, Any]], archived_ms: int) -> int:
        rows = [dict(r, archived_ms=archived_ms) for r in rows]
        if not rows:
            return 0
        stmt = self._insert(queue_intervals)
        update = {c: stmt.excluded[c] for c in [*COUNTER_FIELDS, "day", "archived_ms"]}
        stmt = stmt.on_conflict_do_update(index_elements=["queue", "interval_start_ms"], set_=update)
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def upsert_agent_intervals(self, rows: Iterable[Mapping[str, Any]], archived_ms: int) -> int:
        rows = [dict(r, counters=json.dumps(r["counters"], sort_keys=True), archived_ms=archived_ms) for r in rows]
        if not rows:
            return 0
        stmt = self._insert(agent_intervals)
        update = {c: stmt.excluded[c] for c in ("counters", "day", "archived_ms")}
        stmt = stmt.on_conflict_do_update(index_elements=["agent", "interval_start_ms"], set_=update)
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def queue_day(self, queue: str, day: str) -> dict[int, dict[str, float]]:
        """Archived counters of one queue's day, by interval start."""
        q = sa.select(queue_intervals).where(queue_intervals.c.queue == queue, queue_intervals.c.day == day)
        with self.engine.connect() as conn:
            return {
                row.interval_start_ms: {name: float(getattr(row, name)) for name in COUNTER_FIELDS}
                for row in conn.execute(q)
            }

    def agent_day(self, agent: str, day: str) -> dict[int, dict[str, float]]:
        q = sa.select(agent_intervals).where(agent_intervals.c.agent == agent, agent_intervals.c.day == day)
        with self.engine.connect() as conn:
            return {row.interval_start_ms: json.loads(row.counters) for row in conn.execute(q)}
