"""The Technion "Anonymous Bank" call log (1999) as v1 events, and its day totals.

The log has one tab-separated record per call (CRLF line ends, a header row) with 17 columns::

    vru+line call_id customer_id priority type date vru_entry vru_exit vru_time
    q_start q_exit q_time outcome ser_start ser_exit ser_time server

``date`` is ``YYMMDD``; times are local wall-clock ``H:MM:SS`` without a time zone, and
``0:00:00`` means "did not happen"; ``*_time`` columns are durations in seconds.

Conversion rules (the same in :func:`day_events` and :func:`day_stats`, so the two can check
each other):

- ``PHANTOM`` records are ignored (the data's own documentation says so).
- ``HANG`` with ``q_start = 0:00:00`` hung up in the voice menu (VRU) before queueing: not
  offered, no events.
- ``HANG`` with a queue start is an abandon: ``call.queued`` at ``q_start``,
  ``call.abandoned`` at ``q_start + q_time``. Its service columns (97 records in February carry
  a short ``ser_time`` with ``NO_SERVER``) are ignored.
- ``AGENT`` with a queue start: ``call.queued`` at ``q_start``, ``call.answered`` at
  ``q_start + q_time`` (= ``q_exit``), ``call.ended`` ``ser_time`` seconds after the answer.
  ``ser_start`` is often 1–2 s *before* ``q_exit`` (clocks of two systems); we keep both
  recorded durations (wait = ``q_time``, talk = ``ser_time``) rather than the clock readings, so
  the ended time may be a second or two after ``ser_exit``.
- ``AGENT`` without a queue start (``q_start = 0:00:00``, about half the calls: an agent was
  free when the caller left the VRU) is offered and answered with zero wait: ``call.queued`` and
  ``call.answered`` both at ``ser_start``. ``include_unqueued=False`` drops these calls from
  both functions instead.
- ``AGENT`` without any service columns (``ser_start = 0:00:00``, ``ser_time = 0``; 85 in
  February) is answered with zero talk: ``call.ended`` at the answer instant, right after
  ``call.answered``. If it did not queue either, it is answered at ``vru_exit``.
- ``AGENT`` with ``server = NO_SERVER`` (21 on 1999-02-01) is still answered; the agent is the
  literal name ``NO_SERVER`` and it gets no ``agent.state`` events.
- Times that are earlier than ``vru_entry`` by more than 12 hours crossed midnight (+1 day).
- Queue = service type (``PS`` regular, ``PE`` English, ``IN`` internet, ``NE`` stock exchange,
  ``NW`` prospect, ``TT`` callback). Call id = ``YYMMDD-<vru+line>-<call_id>`` (``call_id``
  alone repeats within a day). ``customer_id`` is personal data and is not copied (no
  ``caller``).
- Local times are read in ``tz`` (default ``Asia/Jerusalem``). v1 accepts timestamps from 2000
  on only, so the day is replayed on another calendar date, ``on_date``, keeping wall-clock
  times (1999 + 28 = 2027 has the same calendar, if weekdays matter).
- With ``agent_states=True`` each named agent gets ``agent.state`` ``on_call`` when a call is
  answered and ``available`` when their last open call ends (``logged_out`` after their last
  call of the day). The log has no log-ins, breaks or ACW, so these states are only a sketch.

Totals (:func:`day_stats`): offered = answered + abandoned; ASA = mean ``q_time`` of answered
calls (unqueued ones count as 0 s); answered within T means ``q_time <= T``; a short abandon
has ``q_time <= S``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from floorboard.events import Event

SOURCE = "anonymous_bank"
DEFAULT_TZ = "Asia/Jerusalem"
COLUMNS = (
    "vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_exit",
    "vru_time", "q_start", "q_exit", "q_time", "outcome", "ser_start", "ser_exit", "ser_time",
    "server",
)
NO_SERVER = "NO_SERVER"
_DAY_S = 86_400
_HALF_DAY_S = 43_200


@dataclass(frozen=True, slots=True)
class BankRecord:
    """One raw record. Clock columns are seconds after local midnight (0 = did not happen)."""

    vru_line: str
    call_id: str
    customer_id: str
    priority: int
    type: str
    date: date
    vru_entry_s: int
    vru_exit_s: int
    vru_time_s: int
    q_start_s: int
    q_exit_s: int
    q_time_s: int
    outcome: str
    ser_start_s: int
    ser_exit_s: int
    ser_time_s: int
    server: str

    @property
    def key(self) -> str:
        return f"{self.date:%y%m%d}-{self.vru_line}-{self.call_id}"

    @property
    def queued(self) -> bool:
        return self.q_start_s != 0


def _clock_s(text: str) -> int:
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + int(s)


def parse_record(line: str) -> BankRecord:
    """One data line (tab-separated, line end optional) as a :class:`BankRecord`."""
    cols = line.rstrip("\r\n").split("\t")
    if len(cols) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} tab-separated columns, got {len(cols)}")
    d = cols[5]
    return BankRecord(
        vru_line=cols[0], call_id=cols[1], customer_id=cols[2], priority=int(cols[3]),
        type=cols[4], date=date(1900 + int(d[:2]) if int(d[:2]) > 50 else 2000 + int(d[:2]),
                                int(d[2:4]), int(d[4:6])),
        vru_entry_s=_clock_s(cols[6]), vru_exit_s=_clock_s(cols[7]), vru_time_s=int(cols[8]),
        q_start_s=_clock_s(cols[9]), q_exit_s=_clock_s(cols[10]), q_time_s=int(cols[11]),
        outcome=cols[12], ser_start_s=_clock_s(cols[13]), ser_exit_s=_clock_s(cols[14]),
        ser_time_s=int(cols[15]), server=cols[16],
    )


def parse_records(lines: Iterable[str]) -> Iterator[BankRecord]:
    """Records from the file's lines; the header row and blank lines are skipped."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("vru+line"):
            continue
        try:
            yield parse_record(line)
        except ValueError as exc:
            raise ValueError(f"line {lineno}: {exc}") from None


def read_records(path: str | Path) -> list[BankRecord]:
    with open(path, encoding="ascii", newline="") as fh:
        return list(parse_records(fh))


# --- which calls count, and their times --------------------------------------------------


@dataclass(frozen=True, slots=True)
class BankCall:
    """A call as the conversion rules see it: offsets in seconds after local midnight."""

    record: BankRecord
    queued_s: int
    left_queue_s: int  # answered or abandoned
    answered: bool
    ended_s: int | None  # answered calls only

    @property
    def wait_s(self) -> int:
        return self.left_queue_s - self.queued_s


def _after(anchor_s: int, t_s: int) -> int:
    # A clock reading far before the call's VRU entry is on the next day.
    return t_s + _DAY_S if t_s + _HALF_DAY_S < anchor_s else t_s


def to_call(rec: BankRecord, *, include_unqueued: bool = True) -> BankCall | None:
    """The offered call for one record, or None when the record is not an offered call."""
    if rec.outcome == "AGENT":
        if rec.queued:
            start = _after(rec.vru_entry_s, rec.q_start_s)
            answer = start + rec.q_time_s
        elif include_unqueued:
            # A few AGENT records have no service start either: they left the VRU to an agent.
            t = rec.ser_start_s or rec.vru_exit_s or rec.vru_entry_s
            start = answer = _after(rec.vru_entry_s, t)
        else:
            return None
        return BankCall(rec, start, answer, True, answer + rec.ser_time_s)
    if rec.outcome == "HANG" and rec.queued:
        start = _after(rec.vru_entry_s, rec.q_start_s)
        return BankCall(rec, start, start + rec.q_time_s, False, None)
    return None  # PHANTOM, VRU hang-ups


def day_calls(
    records: Iterable[BankRecord], day: date, *, include_unqueued: bool = True
) -> list[BankCall]:
    out = []
    for rec in records:
        if rec.date == day:
            call = to_call(rec, include_unqueued=include_unqueued)
            if call is not None:
                out.append(call)
    return out


# --- totals straight from the records ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayStats:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_t: int = 0
    abandoned_short: int = 0
    wait_answered_s: int = 0
    wait_abandoned_s: int = 0
    talk_s: int = 0

    @property
    def asa_s(self) -> float:
        return self.wait_answered_s / self.answered if self.answered else float("nan")


def _stats(records: Iterable[BankRecord], threshold_s: int, short_abandon_s: int,
           include_unqueued: bool) -> DayStats:
    c: Counter[str] = Counter()
    for rec in records:
        if rec.outcome == "PHANTOM" or not (rec.queued or rec.outcome == "AGENT"):
            continue
        if rec.outcome == "AGENT":
            if not rec.queued and not include_unqueued:
                continue
            wait = rec.q_time_s if rec.queued else 0
            c["answered"] += 1
            c["answered_within_t"] += wait <= threshold_s
            c["wait_answered_s"] += wait
            c["talk_s"] += rec.ser_time_s
        elif rec.outcome == "HANG":
            c["abandoned"] += 1
            c["abandoned_short"] += rec.q_time_s <= short_abandon_s
            c["wait_abandoned_s"] += rec.q_time_s
        else:
            continue
        c["offered"] += 1
    return DayStats(**c)


def day_stats(
    records: Iterable[BankRecord], day: date, *, queue: str | None = None, threshold_s: int = 20,
    short_abandon_s: int = 5, include_unqueued: bool = True,
) -> DayStats:
    """Offered, answered, abandoned, waits and answered-within-T for one day, from raw records.

    Deliberately written against the raw columns (``q_time``, ``outcome``), not through
    :func:`to_call`, so it is an independent check on the event path.
    """
    chosen = (r for r in records if r.date == day and (queue is None or r.type == queue))
    return _stats(chosen, threshold_s, short_abandon_s, include_unqueued)


def day_stats_by_queue(
    records: Iterable[BankRecord], day: date, *, threshold_s: int = 20, short_abandon_s: int = 5,
    include_unqueued: bool = True,
) -> dict[str, DayStats]:
    recs = [r for r in records if r.date == day]
    return {
        q: _stats((r for r in recs if r.type == q), threshold_s, short_abandon_s, include_unqueued)
        for q in sorted({r.type for r in recs})
    }


# --- events -------------------------------------------------------------------------------

# Within one instant: ends before starts, so an agent freed at t can take a call at t; but a
# call's own events stay in lifecycle order when they share an instant (_AFTER_ANSWER).
_ORDER = {"call.ended": 0, "call.abandoned": 1, "call.queued": 2, "call.answered": 3}
_AFTER_ANSWER = 4


def _call_events(
    call: BankCall, ts_ms: Callable[[int], int], source: str
) -> list[tuple[int, int, Event]]:
    rec = call.record
    cid = rec.key
    base = f"ab-{cid}"
    out = [(call.queued_s, _ORDER["call.queued"],
            Event(f"{base}-q", ts_ms(call.queued_s), "call.queued", source, rec.type, cid))]
    if not call.answered:
        # A zero-wait abandon must still follow its call.queued.
        rank = _ORDER["call.abandoned"] if call.left_queue_s > call.queued_s else _AFTER_ANSWER
        out.append((call.left_queue_s, rank,
                    Event(f"{base}-x", ts_ms(call.left_queue_s), "call.abandoned", source,
                          rec.type, cid)))
        return out
    assert call.ended_s is not None
    out.append((call.left_queue_s, _ORDER["call.answered"],
                Event(f"{base}-a", ts_ms(call.left_queue_s), "call.answered", source, rec.type,
                      cid, rec.server)))
    # Zero talk (AGENT records without a service): the end must still follow the answer.
    end_rank = _ORDER["call.ended"] if call.ended_s > call.left_queue_s else _AFTER_ANSWER
    out.append((call.ended_s, end_rank,
                Event(f"{base}-e", ts_ms(call.ended_s), "call.ended", source, rec.type, cid,
                      rec.server)))
    return out


def _with_agent_states(call_events: list[Event], source: str) -> list[Event]:
    last_end: dict[str, str] = {}
    for ev in call_events:
        if ev.type == "call.ended" and ev.agent != NO_SERVER:
            last_end[ev.agent] = ev.id  # type: ignore[index]
    open_calls: Counter[str] = Counter()
    out: list[Event] = []
    for ev in call_events:
        out.append(ev)
        agent = ev.agent
        if agent is None or agent == NO_SERVER:
            continue
        if ev.type == "call.answered":
            open_calls[agent] += 1
            if open_calls[agent] == 1:
                out.append(Event(f"{ev.id}-s", ev.ts_ms, "agent.state", source, agent=agent,
                                 state="on_call"))
        elif ev.type == "call.ended":
            open_calls[agent] -= 1
            if open_calls[agent] == 0:
                state = "logged_out" if last_end[agent] == ev.id else "available"
                out.append(Event(f"{ev.id}-s", ev.ts_ms, "agent.state", source, agent=agent,
                                 state=state))
    return out


def day_events(
    records: Iterable[BankRecord], day: date, *, on_date: date, tz: str = DEFAULT_TZ,
    agent_states: bool = True, include_unqueued: bool = True, source: str = SOURCE,
) -> list[Event]:
    """The v1 events of one day of the log, in time order, replayed on ``on_date``."""
    zone = ZoneInfo(tz)

    def ts_ms(offset_s: int) -> int:
        # Wall-clock arithmetic in the zone, then to UTC: a DST change keeps local times right.
        local = datetime.combine(on_date + timedelta(days=offset_s // _DAY_S),
                                 time(0), tzinfo=zone) + timedelta(seconds=offset_s % _DAY_S)
        return round(local.timestamp() * 1000)

    keyed: list[tuple[int, int, str, Event]] = []
    for call in day_calls(records, day, include_unqueued=include_unqueued):
        for t, order, ev in _call_events(call, ts_ms, source):
            keyed.append((t, order, ev.call or "", ev))
    keyed.sort(key=lambda k: k[:3])
    events = [k[3] for k in keyed]
    return _with_agent_states(events, source) if agent_states else events
