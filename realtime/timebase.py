"""Interval and day bucketing in the center's time zone.

Intervals are aligned to local wall-clock time (10:00, 10:15, …) and identified by their start
in UTC epoch milliseconds; a day is the local date. The agent Lua script uses the same formula
(``floor((t + offset) / len) * len − offset``) with the offset passed in, so both agree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Offsets change, and days begin, only on quarter-hour boundaries (every zone's offset is a whole
# number of quarter-hours), so both are cached per UTC quarter-hour: they are asked for every
# event, and a zone lookup costs more than the rest of validating one.
_BUCKET_MS = 900_000


@functools.lru_cache(maxsize=4096)
def _offset_ms(tz: ZoneInfo, bucket: int) -> int:
    offset = datetime.fromtimestamp(bucket * _BUCKET_MS / 1000, tz=tz).utcoffset() or timedelta(0)
    return int(offset.total_seconds() * 1000)


@functools.lru_cache(maxsize=4096)
def _day(tz: ZoneInfo, bucket: int) -> str:
    return datetime.fromtimestamp(bucket * _BUCKET_MS / 1000, tz=tz).date().isoformat()


@dataclass(frozen=True, slots=True)
class Timebase:
    tz: ZoneInfo
    interval_s: int

    @property
    def interval_ms(self) -> int:
        return self.interval_s * 1000

    def offset_ms(self, ts_ms: int) -> int:
        """The zone's UTC offset at ``ts_ms``, in milliseconds."""
        return _offset_ms(self.tz, ts_ms // _BUCKET_MS)

    def interval_start_ms(self, ts_ms: int) -> int:
        off = self.offset_ms(ts_ms)
        return (ts_ms + off) // self.interval_ms * self.interval_ms - off

    def day(self, ts_ms: int) -> str:
        return _day(self.tz, ts_ms // _BUCKET_MS)

    def day_bounds_ms(self, day: str | date) -> tuple[int, int]:
        """UTC epoch-ms [start, end) of a local day (23 or 25 h long on DST change days)."""
        d = date.fromisoformat(day) if isinstance(day, str) else day
        start = datetime.combine(d, time(0), tzinfo=self.tz)
        end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=self.tz)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)

    def day_intervals_ms(self, day: str | date) -> list[int]:
        """Every interval start of a local day, in order."""
        start, end = self.day_bounds_ms(day)
        return list(range(self.interval_start_ms(start), end, self.interval_ms))

    def local_label(self, ts_ms: int) -> str:
        """HH:MM local, for screens."""
        return datetime.fromtimestamp(ts_ms / 1000, tz=self.tz).strftime("%H:%M")

    @staticmethod
    def iso_utc(ts_ms: int) -> str:
        return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
