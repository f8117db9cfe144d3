"""Replay a JSON-lines file of v1 events.

One JSON object per line; blank lines are skipped. Every other line is forwarded exactly as it
is written (without its line ending), valid or not: a bad line reaches the pipeline, which
dead-letters it with the line kept and the reason. The adapter counts bad lines too, so a
replay can report them without reading the dead-letter stream.

Pacing follows the events' own ``ts``:

- ``speed=1``: real time (an event 30 s after the first is sent 30 s after the start);
- ``speed=60``: a minute of the file per second;
- ``speed=None`` (or 0): as fast as possible, in batches of ``batch_size`` lines.

Lines without a usable ``ts`` (bad lines) are sent with their neighbours, never delayed; an
event whose ``ts`` is earlier than the one before it is sent at once (the file order is kept).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.base import EventSink
from floorboard.events import Event, InvalidEvent, event_fields, load_json

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500


@dataclass(frozen=True, slots=True)
class ReplayLine:
    """One non-blank line of a replay file."""

    lineno: int
    raw: str | bytes  # str when the line is UTF-8, else the original bytes
    ts_ms: int | None  # the event's time, when the line is a valid event
    error: str | None  # why the line is not a valid v1 event, else None


@dataclass
class ReplayStats:
    lines: int = 0  # non-blank lines read
    sent: int = 0  # lines handed to the sink
    bad: int = 0  # lines that are not valid v1 events (forwarded anyway)


def parse_line(lineno: int, data: bytes) -> ReplayLine | None:
    """Classify one line (pure). Returns None for a blank line."""
    data = data.rstrip(b"\r\n")
    if not data.strip():
        return None
    try:
        raw: str | bytes = data.decode("utf-8")
    except UnicodeDecodeError:
        return ReplayLine(lineno, data, None, "line is not UTF-8")
    try:
        ts_ms = event_fields(load_json(raw))[1]
    except InvalidEvent as exc:
        return ReplayLine(lineno, raw, None, exc.reason)
    return ReplayLine(lineno, raw, ts_ms, None)


def read_jsonl(lines: Iterable[bytes]) -> Iterator[ReplayLine]:
    """The non-blank lines of a JSONL source, classified (pure apart from iterating)."""
    for lineno, data in enumerate(lines, start=1):
        line = parse_line(lineno, data)
        if line is not None:
            yield line


def write_jsonl(events: Iterable[Event | dict[str, Any] | str], path: str | Path) -> int:
    """Write events one per line (canonical JSON); returns the number written."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for event in events:
            if isinstance(event, Event):
                text = event.to_json()
            elif isinstance(event, dict):
                text = json.dumps(event, separators=(",", ":"))
            else:
                text = event
            fh.write(text.rstrip("\r\n") + "\n")
            count += 1
    return count


class ReplayAdapter:
    """Replays a JSONL file into a sink, then returns (the source is finite)."""

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float | None = 1.0,
        source: str | None = None,
        batch_size: int = DEFAULT_BATCH,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if speed is not None and speed < 0:
            raise ValueError(f"speed must be positive, 0 or None, got {speed!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        self.path = Path(path)
        self.speed = speed or None
        self.source = source or f"replay:{self.path.name}"
        self.name = self.source
        self.batch_size = batch_size
        self.stats = ReplayStats()
        self._clock = clock
        self._sleep = sleep

    async def run(self, sink: EventSink) -> None:
        with open(self.path, "rb") as fh:
            lines = read_jsonl(fh)
            if self.speed is None:
                await self._run_fast(lines, sink)
            else:
                await self._run_paced(lines, sink, self.speed)
        log.info(
            "replay %s done: %d lines, %d sent, %d bad",
            self.path.name, self.stats.lines, self.stats.sent, self.stats.bad,
        )

    def _count(self, line: ReplayLine) -> None:
        self.stats.lines += 1
        if line.error is not None:
            self.stats.bad += 1
            log.debug("replay %s line %d is bad: %s", self.path.name, line.lineno, line.error)

    async def _flush(self, batch: list[str | bytes], sink: EventSink) -> None:
        if batch:
            await sink.send(list(batch), self.source)
            self.stats.sent += len(batch)
            batch.clear()

    async def _run_fast(self, lines: Iterable[ReplayLine], sink: EventSink) -> None:
        batch: list[str | bytes] = []
        for line in lines:
            self._count(line)
            batch.append(line.raw)
            if len(batch) >= self.batch_size:
                await self._flush(batch, sink)
        await self._flush(batch, sink)

    async def _run_paced(self, lines: Iterable[ReplayLine], sink: EventSink, speed: float) -> None:
        batch: list[str | bytes] = []
        first_ts_ms: int | None = None
        start = self._clock()
        for line in lines:
            self._count(line)
            if line.ts_ms is not None:
                if first_ts_ms is None:
                    first_ts_ms = line.ts_ms
                due = start + (line.ts_ms - first_ts_ms) / 1000 / speed
                wait_s = due - self._clock()
                if wait_s > 0:
                    # Send what is already due before waiting for this line's time.
                    await self._flush(batch, sink)
                    await self._sleep(wait_s)
            batch.append(line.raw)
            if len(batch) >= self.batch_size:
                await self._flush(batch, sink)
        await self._flush(batch, sink)
