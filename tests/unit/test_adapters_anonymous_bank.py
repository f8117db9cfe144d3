"""The Technion "Anonymous Bank" log (February 1999) as v1 events and day totals."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from adapters.anonymous_bank import (
    BankRecord,
    day_calls,
    day_events,
    day_stats,
    day_stats_by_queue,
    parse_record,
    read_records,
)
from floorboard.events import parse_event
from tests.conftest import real_fixture

FEB_1 = date(1999, 2, 1)
ON = date(2026, 2, 2)  # a Monday, like 1999-02-01; Israel is at UTC+2 in February


@pytest.fixture(scope="module")
def records() -> list[BankRecord]:
    return read_records(real_fixture("anonymous_bank_1999_02.txt"))


@pytest.fixture(scope="module")
def feb1_events(records: list[BankRecord]):  # type: ignore[no-untyped-def]
    return day_events(records, FEB_1, on_date=ON)


def utc_ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_parse_record_reads_the_columns() -> None:
    line = ("AA0101\t34551\t56346398\t1\tPS\t990201\t10:03:42\t10:03:48\t6\t10:03:48\t"
            "10:06:10\t142\tAGENT\t10:06:09\t10:08:20\t131\tMICHAL\r\n")
    rec = parse_record(line)
    assert (rec.call_id, rec.type, rec.date, rec.server) == ("34551", "PS", FEB_1, "MICHAL")
    assert rec.q_start_s == 10 * 3600 + 3 * 60 + 48 and rec.q_time_s == 142
    assert rec.ser_time_s == 131 and rec.outcome == "AGENT" and rec.queued
    with pytest.raises(ValueError):
        parse_record("too\tfew\tcolumns")


def test_month_totals(records: list[BankRecord]) -> None:
    assert len(records) == 33_344
    assert Counter(r.outcome for r in records) == {"AGENT": 27_162, "HANG": 5_904, "PHANTOM": 278}
    assert len({r.server for r in records} - {"NO_SERVER"}) == 24  # 25 names incl. NO_SERVER
    assert {r.date for r in records} == {date(1999, 2, d) for d in range(1, 29)}


def test_the_call_checkable_by_hand(records: list[BankRecord], feb1_events) -> None:  # type: ignore[no-untyped-def]
    # real-data.md: the first queued call of the 10:00 hour (in file order) on 1999-02-01.
    first = next(r for r in records if r.date == FEB_1 and r.queued and r.q_start_s // 3600 == 10)
    assert first.call_id == "34551"
    call = [e for e in feb1_events if e.call == "990201-AA0101-34551"]
    assert [e.type for e in call] == ["call.queued", "call.answered", "call.ended"]
    queued, answered, ended = call
    # 10:03:48 local (UTC+2) on the replay date.
    assert queued.ts_ms == utc_ms(2026, 2, 2, 8, 3, 48)
    assert (answered.ts_ms - queued.ts_ms) / 1000 == 142
    assert answered.agent == ended.agent == "MICHAL"
    assert (ended.ts_ms - answered.ts_ms) / 1000 == 131
    assert queued.queue == "PS" and queued.caller is None  # customer ids are not copied


def test_day_counts_feb_1(records: list[BankRecord]) -> None:
    day = [r for r in records if r.date == FEB_1]
    assert Counter(r.outcome for r in day) == {"AGENT": 1354, "HANG": 197, "PHANTOM": 16}
    assert sum(r.outcome == "HANG" and not r.queued for r in day) == 52  # VRU hang-ups
    assert sum(r.outcome == "AGENT" and r.server == "NO_SERVER" for r in day) == 21
    stats = day_stats(records, FEB_1)
    assert (stats.offered, stats.answered, stats.abandoned) == (1499, 1354, 145)
    assert stats.answered_within_t == 842
    assert stats.asa_s == pytest.approx(47_080 / 1354)
    only_queued = day_stats(records, FEB_1, include_unqueued=False)
    assert (only_queued.offered, only_queued.answered) == (837, 692)
    assert only_queued.wait_answered_s == stats.wait_answered_s
    by_queue = day_stats_by_queue(records, FEB_1)
    assert set(by_queue) == {"PS", "PE", "IN", "NE", "NW", "TT"}
    assert sum(s.offered for s in by_queue.values()) == stats.offered
    assert by_queue["PS"] == day_stats(records, FEB_1, queue="PS")


def test_events_agree_with_the_raw_totals(records: list[BankRecord], feb1_events) -> None:  # type: ignore[no-untyped-def]
    for ev in feb1_events:
        assert parse_event(json.loads(ev.to_json())) == ev
    assert len({e.id for e in feb1_events}) == len(feb1_events)
    ts = [e.ts_ms for e in feb1_events]
    assert ts == sorted(ts)
    counts = Counter(e.type for e in feb1_events)
    stats = day_stats(records, FEB_1)
    assert counts["call.queued"] == stats.offered
    assert counts["call.answered"] == counts["call.ended"] == stats.answered
    assert counts["call.abandoned"] == stats.abandoned
    queued = {e.call: e.ts_ms for e in feb1_events if e.type == "call.queued"}
    waits = [(e.ts_ms - queued[e.call]) / 1000 for e in feb1_events if e.type == "call.answered"]
    assert sum(waits) == stats.wait_answered_s
    assert sum(w <= 20 for w in waits) == stats.answered_within_t
    abandon_waits = [
        (e.ts_ms - queued[e.call]) / 1000 for e in feb1_events if e.type == "call.abandoned"
    ]
    assert sum(abandon_waits) == stats.wait_abandoned_s
    assert sum(w <= 5 for w in abandon_waits) == stats.abandoned_short


def test_agent_states_follow_served_calls(feb1_events) -> None:  # type: ignore[no-untyped-def]
    states = [e for e in feb1_events if e.type == "agent.state"]
    assert states and all(e.agent != "NO_SERVER" for e in states)
    last: dict[str, str] = {}
    for e in states:
        assert last.get(e.agent) != e.state
        last[e.agent] = e.state
    assert set(last.values()) == {"logged_out"}
    without = day_events([], FEB_1, on_date=ON)
    assert without == []


def test_midnight_crossing_and_options(records: list[BankRecord]) -> None:
    late = next(r for r in records if r.outcome == "AGENT" and r.ser_exit_s < r.ser_start_s)
    calls = {c.record.key: c for c in day_calls(records, late.date)}
    call = calls[late.key]
    assert call.ended_s is not None and call.ended_s > 24 * 3600
    events = day_events(records, late.date, on_date=ON, agent_states=False, tz="UTC")
    assert not any(e.type == "agent.state" for e in events)
    ended = next(e for e in events if e.call == late.key and e.type == "call.ended")
    assert ended.ts_ms >= utc_ms(2026, 2, 3)


def test_every_day_of_the_month_keeps_each_call_in_lifecycle_order(
    records: list[BankRecord],
) -> None:
    # Zero-wait abandons, zero-talk answers and midnight crossings all occur in February.
    nxt = {"call.queued": {None}, "call.answered": {"call.queued"},
           "call.abandoned": {"call.queued"}, "call.ended": {"call.answered"}}
    for day in sorted({r.date for r in records}):
        events = day_events(records, day, on_date=ON)
        assert [e.ts_ms for e in events] == sorted(e.ts_ms for e in events)
        last: dict[str, str | None] = {}
        for e in events:
            if e.type != "agent.state":
                assert last.get(e.call) in nxt[e.type], (day, e)
                last[e.call] = e.type
        stats = day_stats(records, day)
        counts = Counter(e.type for e in events)
        assert (counts["call.queued"], counts["call.answered"], counts["call.abandoned"]) == (
            stats.offered, stats.answered, stats.abandoned), day


def test_agent_record_without_queue_or_service_is_answered_at_vru_exit(
    records: list[BankRecord],
) -> None:
    rec = next(r for r in records if r.call_id == "35183" and r.vru_line == "AA0101")
    assert (rec.outcome, rec.q_start_s, rec.ser_start_s, rec.ser_time_s) == ("AGENT", 0, 0, 0)
    events = [e for e in day_events(records, rec.date, on_date=ON, tz="UTC") if e.call == rec.key]
    assert [e.type for e in events] == ["call.queued", "call.answered", "call.ended"]
    assert {e.ts_ms for e in events} == {utc_ms(2026, 2, 2, 15, 15, 9)}
