"""The history store on PostgreSQL (the development machines run one; SQLite is the default).

PostgreSQL is an optional backend, so without a reachable server this test skips, also in CI.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from realtime.history import History

pytestmark = pytest.mark.integration
PG_URL = os.environ.get("FLOORBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_history():
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
    except (sa.exc.OperationalError, sa.exc.NoSuchModuleError, ImportError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}")
    schema = f"fbtest_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    yield History(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_upsert_overwrites_and_reads_back(pg_history):
    row = {"queue": "sales", "interval_start_ms": 1_764_000_000_000, "day": "2025-11-24", "offered": 5, "answered": 3}
    full = {f: 0 for f in ("answered_within_t", "abandoned", "abandoned_short", "abandoned_within_t",
                            "wait_answered_ms", "wait_abandoned_ms", "handled", "talk_ms", "hold_ms",
                            "acw_ms", "transfers", "missed")} | row
    assert pg_history.upsert_queue_intervals([full], 1) == 1
    assert pg_history.upsert_queue_intervals([full | {"offered": 6}], 2) == 1
    got = pg_history.queue_day("sales", "2025-11-24")
    assert got[1_764_000_000_000]["offered"] == 6.0 and got[1_764_000_000_000]["answered"] == 3.0
    pg_history.upsert_agent_intervals([{"agent": "a1", "interval_start_ms": 1, "day": "2025-11-24",
                                        "counters": {"handled": 2, "s:aux:break": 900000}}], 3)
    assert pg_history.agent_day("a1", "2025-11-24") == {1: {"handled": 2, "s:aux:break": 900000}}
