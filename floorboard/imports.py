"""Schedule, roster and forecast files: CSV text in, validated plain data or every reason why not.

Pure (text in, values out; no Redis, no files, no clock), so the command line, the pages and the
simulator share one definition of what a good file is. The formats, every rejection reason and
the time-zone rules are documented in docs/imports.md; in short:

- A file is UTF-8 (a byte-order mark is accepted) CSV with a header row. Columns may come in any
  order; an unknown column is an error (a misspelt optional column would otherwise be dropped
  silently). Fields are stripped of surrounding spaces; blank lines are skipped.
- Dates are ``YYYY-MM-DD`` and times ``HH:MM`` local in the center's zone. A local time that
  does not exist (clocks go forward) is rejected; one that happens twice (clocks go back) is
  rejected unless it carries its UTC offset (``01:30+02:00``): nothing is guessed.
- Every bad row gives a :class:`RowError` with its 1-based line, column and reason; one bad row
  rejects the whole file (:class:`Rejected`), so nothing is ever half-imported.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from staffing.schedule import DEFAULT_ACTIVITIES, RosterAgent, Segment

MAX_ERRORS = 100  # reported in full; beyond that only counted
MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 1_000_000  # 10,000 agents x 7 days x ~10 segments, or 500 queues x 96 intervals x 14 days
MAX_NAME_LEN = 120  # as agent and queue ids in events
SKILL_SEPARATORS = re.compile(r"[;|]")

SCHEDULE_COLUMNS = ("agent", "date", "activity", "start", "end")
AGENTS_COLUMNS = ("agent", "skills")
AGENTS_OPTIONAL = ("name", "team", "supervisor")
FORECAST_COLUMNS = ("queue", "date", "interval_start", "calls", "aht_s")

_DAY_MIN = 24 * 60
_MIN_MS = 60_000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:([+-])(\d{2}):(\d{2}))?")
# Braces would break the Redis Cluster hash tags of keys; control characters are noise.
_BAD_IDENT = re.compile(r"[{}\x00-\x1f\x7f]")


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row (or the file) is refused. ``line`` is 1-based; 0 means the file as a whole."""

    line: int
    column: str  # "" when the reason is about the whole row
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.column}: {self.reason}" if self.column else f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refused file: the first :data:`MAX_ERRORS` errors by line, and how many there were."""

    errors: tuple[RowError, ...]
    total: int
    ok: ClassVar[bool] = False

    def messages(self) -> list[str]:
        """One line per error ("line N: column: reason"), plus a count of those left out."""
        out = [str(e) for e in self.errors]
        if self.total > len(self.errors):
            out.append(f"… and {self.total - len(self.errors)} more errors (the first {len(self.errors)} are shown)")
        return out


@dataclass(frozen=True, slots=True)
class ScheduleImport:
    """day (the shift's local start date) → agent → that agent's segments, sorted by start."""

    days: dict[str, dict[str, list[Segment]]]
    ok: ClassVar[bool] = True

    @property
    def n_agents(self) -> int:
        return len({agent for agents in self.days.values() for agent in agents})

    @property
    def n_segments(self) -> int:
        return sum(len(segs) for agents in self.days.values() for segs in agents.values())

    def summary(self) -> str:
        return (f"{_plural(len(self.days), 'day')} ({_span(self.days)}), {_plural(self.n_agents, 'agent')}, "
                f"{_plural(self.n_segments, 'segment')}")


@dataclass(frozen=True, slots=True)
class AgentsImport:
    """The roster, in file order."""

    agents: tuple[RosterAgent, ...]
    ok: ClassVar[bool] = True

    def summary(self) -> str:
        teams = {a.team for a in self.agents if a.team}
        return _plural(len(self.agents), "agent") + (f" in {_plural(len(teams), 'team')}" if teams else "")


@dataclass(frozen=True, slots=True)
class ForecastImport:
    """day → queue → interval_start_ms → (calls, aht_s)."""

    days: dict[str, dict[str, dict[int, tuple[float, float]]]]
    ok: ClassVar[bool] = True

    @property
    def n_queues(self) -> int:
        return len({q for queues in self.days.values() for q in queues})

    @property
    def n_intervals(self) -> int:
        return sum(len(iv) for queues in self.days.values() for iv in queues.values())

    def summary(self) -> str:
        return (f"{_plural(len(self.days), 'day')} ({_span(self.days)}), {_plural(self.n_queues, 'queue')}, "
                f"{_plural(self.n_intervals, 'interval')}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _span(days: Collection[str]) -> str:
    ordered = sorted(days)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


# --- reading the CSV ------------------------------------------------------------------------


class _Errors:
    """Collects errors; keeps the first MAX_ERRORS by line (overlaps are found after the rows)."""

    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.total = 0

    def add(self, line: int, column: str, reason: str) -> None:
        self.total += 1
        self.items.append(RowError(line, column, reason))
        if len(self.items) > 4 * MAX_ERRORS:
            self._trim()

    def _trim(self) -> None:
        self.items.sort(key=lambda e: e.line)  # stable: a row's errors stay in column order
        del self.items[MAX_ERRORS:]

    def rejected(self) -> Rejected:
        self._trim()
        return Rejected(tuple(self.items), self.total)


def _decode(data: str | bytes, errors: _Errors, max_bytes: int) -> str | None:
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        errors.add(0, "", f"the file is larger than the limit of {max_bytes:,} bytes; split it "
                          "(e.g. one file per week)")
        return None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            errors.add(line, "", "not valid UTF-8 text; save the file as UTF-8 (CSV UTF-8)")
            return None
    return data.removeprefix("\ufeff")


def _table(
    data: str | bytes, required: tuple[str, ...], optional: tuple[str, ...], errors: _Errors,
    *, max_bytes: int, max_rows: int,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: stripped value}) per data row; header and shape problems go to ``errors``."""
    text = _decode(data, errors, max_bytes)
    if text is None:
        return
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header: list[str] | None = None
    rows = 0
    line = 1
    try:
        for raw in reader:
            row_line, line = line, reader.line_num + 1  # a quoted field may span lines
            fields = [f.strip() for f in raw]
            if not any(fields):
                continue
            if header is None:
                header = _header(fields, required, optional, row_line, errors)
                if header is None:
                    return
                continue
            rows += 1
            if rows > max_rows:
                errors.add(row_line, "", f"more than {max_rows:,} rows; split the file (e.g. one file per week)")
                return
            if len(fields) != len(header):
                errors.add(row_line, "", f"{len(fields)} fields where the header has {len(header)} "
                                         "(a comma too many or too few?)")
                continue
            yield row_line, dict(zip(header, fields, strict=True))
    except csv.Error as exc:
        errors.add(reader.line_num, "", f"not readable as CSV: {exc}")
        return
    if header is None:
        errors.add(0, "", f"the file is empty; it needs a header row: {','.join(required)}")
    elif rows == 0:
        errors.add(0, "", "the file has a header but no rows")


def _header(fields: list[str], required: tuple[str, ...], optional: tuple[str, ...], line: int,
            errors: _Errors) -> list[str] | None:
    names = [f.lower() for f in fields]
    before = errors.total
    known = (*required, *optional)
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        errors.add(line, "", "the columns must be separated by commas")
        return None
    if not set(names) & set(known):
        errors.add(line, "", f"the first line must be the header ({','.join(required)}), found {','.join(fields)!r}")
        return None
    for i, name in enumerate(names):
        if name not in known:
            errors.add(line, name or f"column {i + 1}",
                       f"unknown column (expected {', '.join(required)}"
                       + (f"; optional {', '.join(optional)}" if optional else "") + ")")
        elif name in names[:i]:
            errors.add(line, name, "column appears twice in the header")
    for name in required:
        if name not in names:
            errors.add(line, name, "missing column in the header")
    return names if errors.total == before else None


# --- fields ---------------------------------------------------------------------------------


def _ident(row: dict[str, str], line: int, column: str, errors: _Errors) -> str | None:
    value = row[column]
    if not value:
        errors.add(line, column, "empty")
        return None
    return value if _ident_ok(value, line, column, errors) else None


def _ident_ok(value: str, line: int, column: str, errors: _Errors) -> bool:
    if len(value) > MAX_NAME_LEN:
        errors.add(line, column, f"longer than {MAX_NAME_LEN} characters")
        return False
    if _BAD_IDENT.search(value):
        errors.add(line, column, f"{value!r} contains braces or control characters")
        return False
    return True


def _text(row: dict[str, str], line: int, column: str, errors: _Errors) -> str:
    value = row.get(column, "")
    if len(value) > MAX_NAME_LEN:
        errors.add(line, column, f"longer than {MAX_NAME_LEN} characters")
        return ""
    return value


def _date(row: dict[str, str], line: int, errors: _Errors) -> date | None:
    value = row["date"]
    if not value:
        errors.add(line, "date", "empty")
        return None
    parsed = _parse_date(value)
    if parsed is None:
        errors.add(line, "date", f"{value!r} is not a date YYYY-MM-DD")
    return parsed


@functools.lru_cache(maxsize=4096)  # a file repeats a few dates many times
def _parse_date(value: str) -> date | None:
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return None


@dataclass(frozen=True, slots=True)
class _Clock:
    minutes: int  # minutes after local midnight of the row's date (may pass 24:00)
    offset_min: int | None  # an explicit UTC offset, for times that happen twice


def _clock(row: dict[str, str], line: int, column: str, max_minutes: int, errors: _Errors) -> _Clock | None:
    value = row[column]
    if not value:
        errors.add(line, column, "empty")
        return None
    parsed = _parse_clock(value)
    if isinstance(parsed, str):
        errors.add(line, column, parsed)
        return None
    if parsed.minutes > max_minutes:
        errors.add(line, column, f"{value!r} is after {max_minutes // 60:02d}:{max_minutes % 60:02d}")
        return None
    return parsed


@functools.lru_cache(maxsize=4096)  # a file repeats a few hundred times of day many times
def _parse_clock(value: str) -> _Clock | str:
    m = _CLOCK.fullmatch(value)
    if m is None:
        return f"{value!r} is not a time HH:MM"
    hh, mm, ss, sign, oh, om = m.groups()
    if int(mm) > 59 or (sign is not None and int(om) > 59):
        return f"{value!r} is not a time HH:MM"
    if ss is not None and ss != "00":
        return f"{value!r} is not a time HH:MM (whole minutes)"
    offset = None
    if sign is not None:
        offset = (1 if sign == "+" else -1) * (int(oh) * 60 + int(om))
    return _Clock(int(hh) * 60 + int(mm), offset)


def _number(row: dict[str, str], line: int, column: str, errors: _Errors) -> float | None:
    value = row[column]
    if not value:
        errors.add(line, column, "empty")
        return None
    try:
        number = float(value)
    except ValueError:
        errors.add(line, column, f"{value!r} is not a number (use a dot for decimals)")
        return None
    if not math.isfinite(number):
        errors.add(line, column, f"{value!r} is not a finite number")
        return None
    if number < 0:
        errors.add(line, column, f"{value!r} is negative")
        return None
    return number


# --- local time -----------------------------------------------------------------------------


def _fmt_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@functools.lru_cache(maxsize=65_536)
def local_instant_ms(tz: ZoneInfo, day: date, minutes: int, offset_min: int | None = None) -> int | str:
    """Epoch ms of local ``day`` + ``minutes`` in ``tz``, or the reason it has no single answer.

    A wall-clock time skipped when clocks go forward does not exist; one repeated when they go
    back is ambiguous unless ``offset_min`` (its UTC offset) says which of the two is meant.
    """
    d = day + timedelta(days=minutes // _DAY_MIN)
    m = minutes % _DAY_MIN
    naive = datetime(d.year, d.month, d.day, m // 60, m % 60)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    off_first = int(first.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
    off_second = int(second.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
    label = f"{m // 60:02d}:{m % 60:02d} on {d.isoformat()}"
    if off_first != off_second:
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            return f"{label} does not exist in {tz.key} (the clocks go forward then)"
        if offset_min is None:
            return (f"{label} happens twice in {tz.key} (the clocks go back then); add its UTC offset: "
                    f"{m // 60:02d}:{m % 60:02d}{_fmt_offset(off_first)} or "
                    f"{m // 60:02d}:{m % 60:02d}{_fmt_offset(off_second)}")
    if offset_min is not None and offset_min not in (off_first, off_second):
        return f"UTC offset {_fmt_offset(offset_min)} is not {tz.key}'s at {label} ({_fmt_offset(off_first)})"
    chosen = second if offset_min is not None and offset_min == off_second else first
    return int(chosen.timestamp() * 1000)


def _tz(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _hhmm(tz: ZoneInfo, t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, tz).strftime("%H:%M")


# --- schedules ------------------------------------------------------------------------------


def parse_schedule_csv(
    data: str | bytes,
    tz: ZoneInfo | str,
    known_activities: Collection[str] = DEFAULT_ACTIVITIES,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> ScheduleImport | Rejected:
    """A schedule file (header ``agent,date,activity,start,end``) → segments per day and agent.

    ``date`` is the day the shift belongs to. ``start``/``end`` are local times on that date; a
    time from 24:00 to 47:59 is on the next day (for segments after midnight of a night shift),
    and an end earlier on the clock than its start (``22:00`` → ``06:00``) is on the next day;
    an end equal to its start is refused (a whole day is ``00:00`` → ``24:00``)."""
    zone = _tz(tz)
    activities = {a.strip().lower() for a in known_activities}
    errors = _Errors()
    parsed: list[tuple[int, str, Segment]] = []
    first_line: dict[Segment, int] = {}
    for line, row in _table(data, SCHEDULE_COLUMNS, (), errors, max_bytes=max_bytes, max_rows=max_rows):
        got = _schedule_row(row, line, zone, activities, errors)
        if got is None:
            continue
        seg = got[1]
        if seg in first_line:
            errors.add(line, "", f"duplicate of line {first_line[seg]}")
            continue
        first_line[seg] = line
        parsed.append((line, got[0], seg))
    _check_overlaps(parsed, zone, errors)
    _check_day_spans(parsed, zone, errors)
    if errors.total:
        return errors.rejected()
    days: dict[str, dict[str, list[Segment]]] = {}
    for _, day, seg in parsed:
        days.setdefault(day, {}).setdefault(seg.agent, []).append(seg)
    for agents in days.values():
        for segs in agents.values():
            segs.sort(key=lambda s: (s.start_ms, s.end_ms))
    return ScheduleImport(days)


def _schedule_row(row: dict[str, str], line: int, tz: ZoneInfo, activities: set[str],
                  errors: _Errors) -> tuple[str, Segment] | None:
    agent = _ident(row, line, "agent", errors)
    day = _date(row, line, errors)
    activity = row["activity"].lower()
    if not activity:
        errors.add(line, "activity", "empty")
    elif activity not in activities:
        errors.add(line, "activity", f"unknown activity {row['activity']!r} (known: {', '.join(sorted(activities))})")
    start = _clock(row, line, "start", 2 * _DAY_MIN - 1, errors)
    end = _clock(row, line, "end", 2 * _DAY_MIN, errors)
    if agent is None or day is None or activity not in activities or start is None or end is None:
        return None
    span = _span_ms(day, start, end, tz, line, errors)
    if span is None:
        return None
    return day.isoformat(), Segment(agent, activity, *span)


def _span_ms(day: date, start: _Clock, end: _Clock, tz: ZoneInfo, line: int, errors: _Errors) -> tuple[int, int] | None:
    """[start_ms, end_ms) of a segment. An end earlier on the clock than the start is on the next
    day; when both times carry a UTC offset they are compared as instants instead (so a segment
    inside the repeated hour of a night the clocks go back can be written)."""
    if end.minutes == start.minutes and end.offset_min == start.offset_min:
        errors.add(line, "end", "equals start (a whole day is 00:00 to 24:00)")
        return None
    start_ms = local_instant_ms(tz, day, start.minutes, start.offset_min)
    if isinstance(start_ms, str):
        errors.add(line, "start", start_ms)
        return None
    end_minutes = end.minutes
    if start.offset_min is not None and end.offset_min is not None:
        same_day = local_instant_ms(tz, day, end_minutes, end.offset_min)
        next_day = isinstance(same_day, int) and same_day <= start_ms
    else:
        next_day = end_minutes < start.minutes
    if next_day:
        end_minutes += _DAY_MIN
    if end_minutes - start.minutes > _DAY_MIN:
        errors.add(line, "end", "the segment would last more than 24 hours")
        return None
    end_ms = local_instant_ms(tz, day, end_minutes, end.offset_min)
    if isinstance(end_ms, str):
        errors.add(line, "end", end_ms)
        return None
    if end_ms <= start_ms:
        errors.add(line, "end", "not after start")
        return None
    return start_ms, end_ms


def _check_overlaps(parsed: list[tuple[int, str, Segment]], tz: ZoneInfo, errors: _Errors) -> None:
    """One agent's segments must not overlap (across all days of the file)."""
    per_agent: dict[str, list[tuple[int, Segment]]] = {}
    for line, _, seg in parsed:
        per_agent.setdefault(seg.agent, []).append((line, seg))
    for rows in per_agent.values():
        rows.sort(key=lambda r: (r[1].start_ms, r[1].end_ms, r[0]))
        reach_line, reach = rows[0]  # the segment reaching furthest so far
        for line, seg in rows[1:]:
            if seg.start_ms < reach.end_ms:
                a, b = sorted([(reach_line, reach), (line, seg)], key=lambda r: r[0])
                other = a[1]
                errors.add(b[0], "start",
                           f"overlaps line {a[0]} ({other.activity} {_hhmm(tz, other.start_ms)}–"
                           f"{_hhmm(tz, other.end_ms)}) for agent {seg.agent!r}")
            if seg.end_ms > reach.end_ms:
                reach_line, reach = line, seg


# --- roster -------------------------------------------------------------------------------


def parse_agents_csv(
    data: str | bytes,
    known_queues: Collection[str] | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> AgentsImport | Rejected:
    """A roster file (header ``agent,name,team,supervisor,skills``; name, team and supervisor
    optional) → one :class:`RosterAgent` per line. Skills are queue ids separated by ``;`` or
    ``|``; with ``known_queues`` a skill outside it is an error."""
    errors = _Errors()
    agents: list[RosterAgent] = []
    first_line: dict[str, int] = {}
    for line, row in _table(data, AGENTS_COLUMNS, AGENTS_OPTIONAL, errors, max_bytes=max_bytes, max_rows=max_rows):
        agent = _ident(row, line, "agent", errors)
        skills = _skills(row["skills"], line, known_queues, errors)
        name, team, supervisor = (_text(row, line, c, errors) for c in AGENTS_OPTIONAL)
        if agent is None or skills is None:
            continue
        if agent in first_line:
            errors.add(line, "agent", f"{agent!r} is already on line {first_line[agent]}")
            continue
        first_line[agent] = line
        agents.append(RosterAgent(agent, name, team, supervisor, skills))
    if errors.total:
        return errors.rejected()
    return AgentsImport(tuple(agents))


def _skills(value: str, line: int, known_queues: Collection[str] | None, errors: _Errors) -> tuple[str, ...] | None:
    skills = [s.strip() for s in SKILL_SEPARATORS.split(value)]
    if not any(skills):
        errors.add(line, "skills", "empty (at least one queue, several separated by ';' or '|')")
        return None
    ok = True
    for i, skill in enumerate(skills):
        if not skill:
            errors.add(line, "skills", "an empty skill between separators")
            ok = False
        elif skill in skills[:i]:
            errors.add(line, "skills", f"{skill!r} is listed twice")
            ok = False
        elif not _ident_ok(skill, line, "skills", errors):
            ok = False
        elif known_queues is not None and skill not in known_queues:
            errors.add(line, "skills", f"unknown queue {skill!r}")
            ok = False
    return tuple(skills) if ok else None


# --- forecasts ------------------------------------------------------------------------------


def parse_forecast_csv(
    data: str | bytes,
    tz: ZoneInfo | str,
    interval_min: int,
    known_queues: Collection[str] | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> ForecastImport | Rejected:
    """A forecast file (header ``queue,date,interval_start,calls,aht_s``) → per day, queue and
    interval (its start in epoch ms): (calls, aht_s). ``interval_start`` is local ``HH:MM`` on
    the interval grid (a multiple of ``interval_min`` after the hour)."""
    zone = _tz(tz)
    errors = _Errors()
    days: dict[str, dict[str, dict[int, tuple[float, float]]]] = {}
    first_line: dict[tuple[str, int], int] = {}
    for line, row in _table(data, FORECAST_COLUMNS, (), errors, max_bytes=max_bytes, max_rows=max_rows):
        got = _forecast_row(row, line, zone, interval_min, known_queues, errors)
        if got is None:
            continue
        day, queue, start_ms, value = got
        if (queue, start_ms) in first_line:
            errors.add(line, "interval_start", f"queue {queue!r} already has this interval on line "
                                               f"{first_line[queue, start_ms]}")
            continue
        first_line[queue, start_ms] = line
        days.setdefault(day, {}).setdefault(queue, {})[start_ms] = value
    if errors.total:
        return errors.rejected()
    for queues in days.values():
        for queue, intervals in queues.items():
            queues[queue] = dict(sorted(intervals.items()))
    return ForecastImport(days)


def _forecast_row(
    row: dict[str, str], line: int, tz: ZoneInfo, interval_min: int, known_queues: Collection[str] | None,
    errors: _Errors,
) -> tuple[str, str, int, tuple[float, float]] | None:
    queue = _ident(row, line, "queue", errors)
    if queue is not None and known_queues is not None and queue not in known_queues:
        errors.add(line, "queue", f"unknown queue {queue!r}")
        queue = None
    day = _date(row, line, errors)
    start = _clock(row, line, "interval_start", _DAY_MIN - 1, errors)
    if start is not None and start.minutes % interval_min:
        errors.add(line, "interval_start", f"{row['interval_start']!r} is not on the {interval_min}-minute "
                                           "interval grid")
        start = None
    calls = _number(row, line, "calls", errors)
    aht_s = _number(row, line, "aht_s", errors)
    if aht_s is not None and aht_s > 86_400:
        errors.add(line, "aht_s", f"{row['aht_s']!r} seconds is more than a day")
        aht_s = None
    elif calls is not None and aht_s == 0 and calls > 0:
        errors.add(line, "aht_s", "0 while calls are expected (AHT must be positive)")
        aht_s = None
    if queue is None or day is None or start is None or calls is None or aht_s is None:
        return None
    start_ms = local_instant_ms(tz, day, start.minutes, start.offset_min)
    if isinstance(start_ms, str):
        errors.add(line, "interval_start", start_ms)
        return None
    return day.isoformat(), queue, start_ms, (calls, aht_s)


def _check_day_spans(parsed: list[tuple[int, str, Segment]], tz: ZoneInfo, errors: _Errors) -> None:
    """One agent's segments of one day lie within 24 hours. This catches the easy mistake of a
    night shift's after-midnight segment written ``01:00`` (the morning of that date) instead of
    ``25:00`` (the next morning)."""
    extremes: dict[tuple[str, str], tuple[tuple[int, Segment], tuple[int, Segment]]] = {}
    for line, day, seg in parsed:
        first, last = extremes.get((seg.agent, day), ((line, seg), (line, seg)))
        if seg.start_ms < first[1].start_ms:
            first = (line, seg)
        if seg.end_ms > last[1].end_ms:
            last = (line, seg)
        extremes[seg.agent, day] = (first, last)
    for (agent, day), ((l1, s1), (l2, s2)) in extremes.items():
        # On the clock, so that 00:00 to 24:00 is one day also when the clocks change.
        span = _wall(tz, s2.end_ms) - _wall(tz, s1.start_ms)
        if span > timedelta(days=1):
            errors.add(max(l1, l2), "start" if l1 > l2 else "end",
                       f"agent {agent!r}'s segments of {day} would span {span.total_seconds() / 3600:g} hours "
                       f"(lines {min(l1, l2)} and {max(l1, l2)}); a time after midnight of a night shift is "
                       "written from 24:00, e.g. 25:00 for 01:00 the next morning")


def _wall(tz: ZoneInfo, t_ms: int) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, tz).replace(tzinfo=None)
