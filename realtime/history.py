"""The history store: closed intervals upserted into SQL so nothing is lost on restart.

A SQLite file by default; any SQLAlchemy URL (PostgreSQL included) via FLOORBOARD_HISTORY_URL.
Rows are keyed by (queue or agent, interval start) and upserted, so re-archiving an interval a
replay changed later simply overwrites it with the newer counters.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from staffing.kpis import COUNTER_FIELDS
from staffing.schedule import RosterAgent, Segment

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

# Imported plans (floorboard import …, docs/imports.md). Kept for good, unlike their live copies
# in Redis: past days' schedules and forecasts feed adherence history and forecast accuracy.
schedule_segments = sa.Table(
    "schedule_segments",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # the local day the shift belongs to
    sa.Column("agent", sa.String(120), primary_key=True),
    sa.Column("start_ms", sa.BigInteger, primary_key=True),
    sa.Column("end_ms", sa.BigInteger, nullable=False),
    sa.Column("activity", sa.String(120), nullable=False),
    sa.Column("imported_ms", sa.BigInteger, nullable=False),
)

roster_agents = sa.Table(
    "roster_agents",
    metadata,
    sa.Column("agent", sa.String(120), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, default=""),
    sa.Column("team", sa.String(120), nullable=False, default=""),
    sa.Column("supervisor", sa.String(120), nullable=False, default=""),
    sa.Column("skills", sa.Text, nullable=False),  # JSON list of queue ids
    sa.Column("imported_ms", sa.BigInteger, nullable=False),
)

forecasts = sa.Table(
    "forecasts",
    metadata,
    sa.Column("queue", sa.String(120), primary_key=True),
    sa.Column("interval_start_ms", sa.BigInteger, primary_key=True),
    sa.Column("day", sa.String(10), nullable=False, index=True),
    sa.Column("calls", sa.Float, nullable=False),
    sa.Column("aht_s", sa.Float, nullable=False),
    sa.Column("imported_ms", sa.BigInteger, nullable=False),
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

    def queue_days(self, days: Sequence[str]) -> dict[str, dict[str, dict[int, dict[str, float]]]]:
        """Archived counters of every queue on several days (one query): day → queue → interval."""
        out: dict[str, dict[str, dict[int, dict[str, float]]]] = {}
        if not days:
            return out
        q = sa.select(queue_intervals).where(queue_intervals.c.day.in_(list(days)))
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                out.setdefault(row.day, {}).setdefault(row.queue, {})[row.interval_start_ms] = {
                    name: float(getattr(row, name)) for name in COUNTER_FIELDS}
        return out

    def agent_day(self, agent: str, day: str) -> dict[int, dict[str, float]]:
        q = sa.select(agent_intervals).where(agent_intervals.c.agent == agent, agent_intervals.c.day == day)
        with self.engine.connect() as conn:
            return {row.interval_start_ms: json.loads(row.counters) for row in conn.execute(q)}

    # ------------------------------------------------------------------ imported plans
    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """One transaction for several writes (committed at the end, rolled back on error)."""
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _tx(self, conn: sa.Connection | None) -> Iterator[sa.Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as own:
                yield own

    def replace_schedule_days(self, days: Mapping[str, Mapping[str, Sequence[Segment]]], imported_ms: int,
                              conn: sa.Connection | None = None) -> int:
        """Each given day's schedule becomes exactly the given segments (delete + insert in one
        transaction: ``conn``'s, or a new one)."""
        rows = [
            {"day": day, "agent": s.agent, "start_ms": s.start_ms, "end_ms": s.end_ms, "activity": s.activity,
             "imported_ms": imported_ms}
            for day, agents in days.items() for segs in agents.values() for s in segs
        ]
        with self._tx(conn) as c:
            if days:
                c.execute(sa.delete(schedule_segments).where(schedule_segments.c.day.in_(list(days))))
            if rows:
                c.execute(sa.insert(schedule_segments), rows)
        return len(rows)

    def schedule_day(self, day: str) -> dict[str, list[Segment]]:
        """agent → segments (sorted by start) of the shifts of one local day, as imported."""
        q = (sa.select(schedule_segments).where(schedule_segments.c.day == day)
             .order_by(schedule_segments.c.agent, schedule_segments.c.start_ms))
        out: dict[str, list[Segment]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                out.setdefault(row.agent, []).append(Segment(row.agent, row.activity, row.start_ms, row.end_ms))
        return out

    def replace_roster(self, agents: Sequence[RosterAgent], imported_ms: int, *, replace: bool = True,
                       conn: sa.Connection | None = None) -> int:
        """The roster becomes ``agents`` (``replace``), or they are added and updated."""
        rows = [
            {"agent": a.agent, "name": a.name, "team": a.team, "supervisor": a.supervisor,
             "skills": json.dumps(list(a.skills)), "imported_ms": imported_ms}
            for a in agents
        ]
        with self._tx(conn) as c:
            if replace:
                c.execute(sa.delete(roster_agents))
            elif rows:
                c.execute(sa.delete(roster_agents).where(roster_agents.c.agent.in_([a.agent for a in agents])))
            if rows:
                c.execute(sa.insert(roster_agents), rows)
        return len(rows)

    def roster(self) -> dict[str, RosterAgent]:
        with self.engine.connect() as conn:
            return {
                row.agent: RosterAgent(row.agent, row.name, row.team, row.supervisor, tuple(json.loads(row.skills)))
                for row in conn.execute(sa.select(roster_agents).order_by(roster_agents.c.agent))
            }

    def replace_forecast_days(self, days: Mapping[str, Mapping[str, Mapping[int, tuple[float, float]]]],
                              imported_ms: int, conn: sa.Connection | None = None) -> int:
        """For each day and queue given, that queue's forecast of the day becomes the given intervals."""
        rows = [
            {"queue": queue, "interval_start_ms": start, "day": day, "calls": calls, "aht_s": aht,
             "imported_ms": imported_ms}
            for day, queues in days.items() for queue, intervals in queues.items()
            for start, (calls, aht) in intervals.items()
        ]
        with self._tx(conn) as c:
            for day, queues in days.items():
                if queues:
                    c.execute(sa.delete(forecasts).where(forecasts.c.day == day, forecasts.c.queue.in_(list(queues))))
            if rows:
                c.execute(sa.insert(forecasts), rows)
        return len(rows)

    def forecast_day(self, day: str) -> dict[str, dict[int, tuple[float, float]]]:
        """queue → interval_start_ms → (calls, aht_s) of one local day, as imported."""
        q = sa.select(forecasts).where(forecasts.c.day == day).order_by(forecasts.c.queue, forecasts.c.interval_start_ms)
        out: dict[str, dict[int, tuple[float, float]]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                out.setdefault(row.queue, {})[row.interval_start_ms] = (float(row.calls), float(row.aht_s))
        return out
