"""The history store on PostgreSQL (the development machines run one; SQLite is the default).

PostgreSQL is an optional backend, so without a reachable server this test skips, also in CI.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


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
