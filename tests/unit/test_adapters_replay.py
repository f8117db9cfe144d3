"""Replaying a JSON-lines file: parsing, bad lines, pacing, as fast as possible."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from adapters.base import ListSink
from adapters.replay import ReplayAdapter, parse_line, read_jsonl, write_jsonl
from floorboard.events import Event, parse_event

T0 = 1_773_136_800_000  # 2026-03-10 10:00:00 UTC


def ev(n: int, offset_ms: int) -> Event:
    return Event(f"r-{n}", T0 + offset_ms, "call.queued", queue="sales", call=f"c{n}")


class SpySink(ListSink):
    """Remembers each batch and when it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[float, int]] = []

    async def send(self, payloads, source):  # type: ignore[no-untyped-def]
        self.batches.append((time.monotonic(), len(payloads)))
        await super().send(payloads, source)


def test_parse_line_classifies_lines() -> None:
    good = parse_line(1, ev(1, 0).to_json().encode() + b"\r\n")
    assert good is not None and good.error is None and good.ts_ms == T0
    assert good.raw == ev(1, 0).to_json()  # line end stripped, text kept as is
    assert parse_line(2, b"   \n") is None
    bad_json = parse_line(3, b'{"v":1,')
    assert bad_json is not None and bad_json.error.startswith("malformed JSON")
    invalid = parse_line(4, b'{"v":1,"id":"x","ts":1,"type":"call.queued"}')
    assert invalid is not None and invalid.ts_ms is None and "ts" in invalid.error
    binary = parse_line(5, b"\xff\xfe{}")
    assert binary is not None and binary.raw == b"\xff\xfe{}" and binary.error


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    events = [ev(i, i * 1000) for i in range(5)]
    assert write_jsonl(events + [ev(9, 9).to_dict()], path) == 6
    lines = list(read_jsonl(path.read_bytes().splitlines(keepends=True)))
    assert [parse_event(json.loads(x.raw)) for x in lines[:5]] == events
    assert [x.lineno for x in lines] == [1, 2, 3, 4, 5, 6]


def _mixed_file(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.jsonl"
    rows = [
        ev(1, 0).to_json().encode(),
        b"",
        b"not json at all",
        ev(2, 10).to_json().encode(),
        b"   ",
        b'{"v":1,"id":"x","type":"call.queued","queue":"q","call":"c"}',  # no ts
        b"\xc3\x28 broken utf-8",
        ev(3, 20).to_json().encode(),
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")
    return path


async def test_bad_lines_are_forwarded_raw_and_counted(tmp_path: Path) -> None:
    path = _mixed_file(tmp_path)
    adapter = ReplayAdapter(path, speed=None)
    sink = ListSink()
    await adapter.run(sink)
    sent = [p for _, p in sink.items]
    assert {src for src, _ in sink.items} == {"replay:mixed.jsonl"}
    assert len(sent) == 6  # blank lines skipped, nothing else dropped
    assert sent[1] == "not json at all"
    assert sent[4] == b"\xc3\x28 broken utf-8"
    assert (adapter.stats.lines, adapter.stats.sent, adapter.stats.bad) == (6, 6, 3)


async def test_as_fast_as_possible_sends_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    write_jsonl((ev(i, i * 60_000) for i in range(1234)), path)  # 20 hours of events
    sink = SpySink()
    started = time.monotonic()
    await ReplayAdapter(path, speed=0, source="backfill").run(sink)
    assert time.monotonic() - started < 2
    assert [n for _, n in sink.batches] == [500, 500, 234]
    assert len(sink.items) == 1234 and sink.items[0][0] == "backfill"


async def test_speed_factor_paces_by_event_time(tmp_path: Path) -> None:
    path = tmp_path / "paced.jsonl"
    # Events at 0, 0, 1 s, 2 s of event time; at 10x that is 0, 0, 0.1 s, 0.2 s.
    write_jsonl([ev(1, 0), ev(2, 0), ev(3, 1000), ev(4, 2000)], path)
    sink = SpySink()
    started = time.monotonic()
    await ReplayAdapter(path, speed=10).run(sink)
    offsets = [t - started for t, _ in sink.batches]
    assert [n for _, n in sink.batches] == [2, 1, 1]
    assert offsets[0] < 0.05
    assert offsets[1] == pytest.approx(0.1, abs=0.05)
    assert offsets[2] == pytest.approx(0.2, abs=0.05)


async def test_real_speed_uses_injected_clock(tmp_path: Path) -> None:
    path = tmp_path / "real.jsonl"
    write_jsonl([ev(1, 0), ev(2, 90_000), ev(3, 30_000), ev(4, 120_000)], path)
    fake = [100.0]
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        fake[0] += s

    sink = ListSink()
    await ReplayAdapter(path, speed=1, clock=lambda: fake[0], sleep=sleep).run(sink)
    # Out-of-order event (30 s after the 90 s one) is sent at once, file order kept.
    assert slept == [pytest.approx(90.0), pytest.approx(30.0)]
    assert [json.loads(p)["id"] for _, p in sink.items] == ["r-1", "r-2", "r-3", "r-4"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ReplayAdapter("x.jsonl", speed=-1)
    with pytest.raises(ValueError):
        ReplayAdapter("x.jsonl", batch_size=0)
