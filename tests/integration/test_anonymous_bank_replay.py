"""One real day of the Technion Anonymous Bank log, replayed through the whole live path.

raw records → v1 events → JSON-lines file → replay adapter → Redis stream → aggregator →
JSON API, compared with totals computed directly from the raw records (adapters.anonymous_bank
.day_stats reads the raw columns, not the events). The file is read from the shared real-data
fixtures (see their PROVENANCE.md); it is never copied into this repository.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from adapters.anonymous_bank import day_events, day_stats, day_stats_by_queue, read_records
from adapters.replay import ReplayAdapter, write_jsonl
from floorboard.config import load_settings
from realtime.aggregator import Aggregator
from realtime.ingest import StreamSink
from realtime.store import Store
from tests.conftest import api_client, real_fixture

pytestmark = pytest.mark.integration
DAY = date(1999, 2, 1)
ON = date(2021, 2, 1)  # a Monday too; v1 timestamps start in 2000 and may not be in the future


@pytest.fixture(scope="module")
def records():
    return read_records(real_fixture("anonymous_bank_1999_02.txt"))


def test_day_replayed_matches_raw_totals(records, redis_url, redis_client, key_prefix, tmp_path, users_file):
    settings = load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix, "FLOORBOARD_TIMEZONE": "Asia/Jerusalem"})
    events = day_events(records, DAY, on_date=ON)
    path = tmp_path / "bank-1999-02-01.jsonl"
    write_jsonl(events, path)

    store = Store(redis_client, settings)
    sink = StreamSink.from_url(redis_url, store.keys)

    async def replay() -> None:
        await ReplayAdapter(path, speed=None).run(sink)
        await sink.aclose()

    asyncio.run(replay())
    # The replay is last February's data: "now" is far later, so none of it is in the future,
    # and a replay is a backfill, never late.
    agg = Aggregator(store)
    agg.ensure_group()
    total = agg.drain(timeout_s=60)
    assert total.rejected == [] and total.applied == len(events)

    client = api_client(store, users_file)
    expected_by_queue = day_stats_by_queue(records, DAY)
    assert expected_by_queue, "no records for the day"
    offered = 0
    for queue, exp in expected_by_queue.items():
        if exp.offered == 0:
            continue
        body = client.get(f"/api/v1/queues/{queue}/intervals?date={ON.isoformat()}").get_json()
        got = body["totals"]
        assert (got["offered"], got["answered"], got["abandoned"]) == (exp.offered, exp.answered, exp.abandoned), queue
        assert got["answered_within_t"] == exp.answered_within_t, queue
        assert got["abandoned_short"] == exp.abandoned_short, queue
        assert got["asa_s"] == pytest.approx(exp.asa_s, abs=1e-9), queue
        offered += got["offered"]

    whole = day_stats(records, DAY)
    assert offered == whole.offered
    # The figures of the day, for the record (and a guard against a silent change of rules).
    assert (whole.offered, whole.answered, whole.abandoned) == (
        whole.answered + whole.abandoned, whole.answered, whole.abandoned)
    assert whole.answered > 900 and whole.abandoned > 100
