"""Live adherence in the engine tick, and the reads the pages and the API use.

:class:`LiveAdherence` runs in the engine process, in two halves around the engine's build of
the snapshot (``begin`` sends its read, ``finish`` reads it). Each tick it

1. keeps today's and yesterday's parsed schedules (yesterday's for shifts crossing midnight)
   and the roster, re-read only when their versions move;
2. folds into each agent's day only what is new: for agents whose live state changed it reads
   the timeline entries it has not seen yet (one round trip, one Lua call per 2,000 timelines,
   sent early and read late: realtime/deferred.py); an agent whose schedule changed, a new day
   or a fresh engine re-reads the whole day;
3. evaluates every agent at ``now_ms`` with :func:`staffing.adherence.evaluate` (vectorised:
   the running state's time is added arithmetically, not folded);
4. writes the page's view (exceptions ranked by impact, teams, totals) as one JSON key, and each
   agent's own entry into a hash, only for agents whose entry changed (sent; the engine reads
   the reply with ``wait`` at the end of its tick).

Definitions and settings: docs/adherence.md. Agents with no schedule today are not evaluated.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from floorboard.config import AdherenceConfig
from realtime.deferred import Deferred, DeferredScripts
from realtime.live import AgentLive
from realtime.schedules import read_roster, read_schedule_day, roster_version, schedule_versions
from staffing.adherence import (
    ACW,
    AUX,
    IMPACTS,
    NO_CALL,
    ON_CALL,
    SEVERITIES,
    STATES,
    AdherenceRules,
    FoldState,
    LiveEval,
    ScheduleArrays,
    adherence_ratio,
    apply_changes,
    conformance_ratio,
    evaluate,
    impact,
    schedule_arrays,
    team_totals,
)
from staffing.schedule import RosterAgent, Segment

if TYPE_CHECKING:
    from realtime.store import Store

log = logging.getLogger(__name__)

# Timelines read per script call: keeps each call short, so Redis never stalls other clients.
READ_CHUNK = 2000
# Entries of the agent hash change when a shown figure changes: percentages to 0.1 %, refreshed
# at least every PCT_EVERY_TICKS ticks (status changes go out at once).
PCT_DECIMALS = 3
PCT_EVERY_TICKS = 5

# KEYS: agents' day timelines. ARGV: n_states, states…, n_reasons, reasons…, then one string of
# the list index to read each key from, comma-separated (−1: the last entry only; one argument
# rather than thousands keeps the client's packing cheap). Entries are [ts_ms, state, reason]
# JSON (realtime/lua.py); they come back coded and flattened, "counts;ts,state,reason,…", as
# text the client turns into arrays in one call, where a nested reply costs ~1 µs a value.
READ_TIMELINES = r"""
local ns = tonumber(ARGV[1])
local st = {}
for i = 1, ns do st[ARGV[1 + i]] = i - 1 end
local nr = tonumber(ARGV[2 + ns])
local rs = {}
for i = 1, nr do rs[ARGV[2 + ns + i]] = i end
local counts, body = {}, {}
local i = 0
for start in string.gmatch(ARGV[3 + ns + nr], '[^,]+') do
  i = i + 1
  local items = redis.call('LRANGE', KEYS[i], tonumber(start), -1)
  counts[i] = #items
  for j = 1, #items do
    local e = cjson.decode(items[j])
    body[#body + 1] = string.format('%d,%d,%d', e[1], st[e[2]] or 0, rs[e[3]] or 0)
  end
end
return table.concat(counts, ',') .. ';' .. table.concat(body, ',')
"""


def rules_from_config(cfg: AdherenceConfig) -> AdherenceRules:
    """The default rules with the ``[adherence]`` section's overrides applied."""
    return AdherenceRules().with_overrides(
        cfg.activities, call_may_finish=cfg.call_may_finish, critical_after_s=cfg.critical_after_s
    )


@dataclass(slots=True)
class AdherenceResult:
    """One tick's adherence: what was written, and the exceptions for the alerts component."""

    day: str
    generated_ms: int
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    evaluated: int = 0  # agents with a schedule
    folded: int = 0  # agents whose new state changes were read this tick
    recomputed: int = 0  # agents whose whole day was read again this tick
    agents_written: int = 0

    def view(self) -> dict[str, Any]:
        return {"generated_ms": self.generated_ms, "day": self.day, "exceptions": self.exceptions,
                "teams": self.teams, "totals": self.totals}


@dataclass(slots=True)
class AdherenceTick:
    """One tick between :meth:`LiveAdherence.begin` and :meth:`LiveAdherence.finish`."""

    d: _Day
    now_ms: int
    incremental: list[int] = field(default_factory=list)  # rows whose new changes are read
    stale: list[int] = field(default_factory=list)  # rows whose whole day is read
    read: DeferredScripts | None = None  # the timelines' read, sent
    written: Deferred | None = None  # the view's and entries' write, sent


@dataclass(slots=True)
class _Day:
    """Everything kept between ticks for one local day's evaluation."""

    day: str
    day_start_ms: int
    days: tuple[str, str, str]  # today, yesterday, the day before
    agents: list[str]
    segments: list[tuple[Segment, ...]]  # what each agent's evaluation uses, as imported
    sched: ScheduleArrays
    from_ms: np.ndarray  # where each agent's fold starts: midnight, or an earlier shift's start
    crossing: np.ndarray  # bool: a shift from yesterday runs into today
    fold: FoldState
    consumed: np.ndarray  # today's timeline entries already folded
    seen: list[tuple[Any, ...] | None]  # (state, reason, since_ms) last seen in the live cache
    live: np.ndarray  # the same coded, per row: state code, reason code, since_ms (−1: none)
    stale: set[int]  # rows whose whole day must be read again
    pending: set[int] = field(default_factory=set)  # rows with entries stamped after the last tick
    segments_json: list[bytes] = field(default_factory=list)
    segments_written: bool = False  # segments_json is in the segments hash
    team_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    teams: list[str] = field(default_factory=list)  # team names, sorted: team_idx points here
    labels: list[str] = field(default_factory=list)  # each agent's display name
    # Each agent's entry is one JSON object: these bytes before its changing fields.
    entry_heads: list[bytes] = field(default_factory=list)
    team_names: list[str] = field(default_factory=list)  # each agent's team
    live_rows: list[AgentLive | None] = field(default_factory=list)  # this tick's live state per row
    written: np.ndarray | None = None  # each agent's entry signature last written
    tick: int = 0
    today_keys: list[str] = field(default_factory=list)  # each agent's timeline key of today
    row: dict[str, int] = field(default_factory=dict)  # agent → row


def _relevant(today: Mapping[str, list[Segment]], yesterday: Mapping[str, list[Segment]],
              day_start_ms: int) -> dict[str, tuple[list[Segment], int]]:
    """agent → (segments evaluated today, where the fold starts).

    A shift belongs to the day it starts on, so yesterday's schedule brings the shifts running
    into today, from the start of their unbroken run of segments (an episode running at
    midnight began there).
    """
    out: dict[str, tuple[list[Segment], int]] = {}
    for agent, segs in yesterday.items():
        idx = next((i for i, s in enumerate(segs) if s.end_ms >= day_start_ms), None)
        if idx is None:
            continue
        while idx > 0 and segs[idx - 1].end_ms == segs[idx].start_ms:
            idx -= 1
        out[agent] = (list(segs[idx:]), min(day_start_ms, segs[idx].start_ms))
    for agent, segs in today.items():
        before, start = out.get(agent, ([], day_start_ms))
        out[agent] = (before + list(segs), start)
    return out


def _no_live(n: int) -> np.ndarray:
    """Coded live state for ``n`` agents with none seen yet."""
    out = np.zeros((n, 3), np.int64)
    out[:, 2] = -1
    return out


def _parsed(replies: list[str | bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Entry counts per key and the entries, from every chunk's reply."""
    parsed = [_parse_reply(r) for r in replies]
    return np.concatenate([p[0] for p in parsed]), np.concatenate([p[1] for p in parsed])


def _parse_reply(reply: str | bytes) -> tuple[np.ndarray, np.ndarray]:
    text = reply.decode() if isinstance(reply, bytes) else reply
    head, _, body = text.partition(";")
    counts = np.fromstring(head, dtype=np.int64, sep=",") if head else np.zeros(0, np.int64)
    flat = np.fromstring(body, dtype=np.int64, sep=",") if body else np.zeros(0, np.int64)
    return counts, flat.reshape(-1, 3)


class LiveAdherence:
    """The engine's adherence step: ``begin``, ``finish`` and ``wait`` once per engine tick
    (``tick`` runs the three; see the module docstring)."""

    def __init__(self, store: Store, rules: AdherenceRules | None = None) -> None:
        self.store = store
        self.rules = rules or rules_from_config(store.settings.queues.adherence)
        self._script = store.r.register_script(READ_TIMELINES)
        tables = self.rules.tables
        self._script_args: list[Any] = [len(STATES), *STATES, len(tables.reasons), *tables.reasons]
        self._reason_names = {code: name for name, code in tables.reasons.items()}
        self._state_codes = {s: i for i, s in enumerate(STATES)}
        self._reason_codes = dict(tables.reasons)
        self._state: _Day | None = None
        self._versions: tuple[str, tuple[int, ...]] | None = None
        self._parsed: dict[str, tuple[int, dict[str, list[Segment]]]] = {}
        self._roster_version: int | None = None
        self._roster: dict[str, RosterAgent] = {}
        self._fresh = True  # nothing written yet by this process: replace the agent hash whole
        self._in_hash: set[str] = set()  # agents with an entry in the hash
        self._unknown_logged: set[str] = set()

    # ------------------------------------------------------------------ tick
    def tick(self, agents: Sequence[AgentLive], queue_blocks: Sequence[Mapping[str, Any]], now_ms: int) -> AdherenceResult:
        """Evaluate every scheduled agent at ``now_ms`` and write the view and changed entries."""
        begun = self.begin(agents, now_ms)
        result = self.finish(begun, queue_blocks)
        self.wait(begun)
        return result

    def begin(self, agents: Sequence[AgentLive], now_ms: int,
              changed: Sequence[AgentLive] | None = None) -> AdherenceTick:
        """The tick's first half: find what changed and send the read of it, whose replies
        :meth:`finish` reads (the engine builds the snapshot meanwhile). ``changed``: the
        agents whose objects are new since the last tick (None: look at every agent)."""
        d = self._refresh(now_ms)
        begun = AdherenceTick(d, now_ms)
        if d.agents:
            begun.incremental, begun.stale = self._changed(d, agents, changed)
            try:
                keys, starts = self._read_keys(d, begun.incremental, begun.stale)
                if keys:
                    begun.read = self._send_read(keys, starts)
            except BaseException:
                d.pending.update(begun.incremental)  # as discard: read them next tick
                raise
        return begun

    def finish(self, begun: AdherenceTick, queue_blocks: Sequence[Mapping[str, Any]]) -> AdherenceResult:
        """The tick's second half: fold what was read, evaluate, send the writes (their replies
        are read by :meth:`wait`)."""
        d, now_ms = begun.d, begun.now_ms
        result = AdherenceResult(day=d.day, generated_ms=now_ms)
        if not d.agents:
            self._write_empty()
            return result
        result.folded, result.recomputed = self._catch_up(d, begun, now_ms)
        ev = evaluate(self.rules, d.sched, d.fold, now_ms, d.day_start_ms)
        result.evaluated = len(d.agents)
        result.exceptions = self._exceptions(d, ev, queue_blocks)
        result.teams, result.totals = self._teams(d, ev)
        entries, removed = self._entries(d, ev)
        result.agents_written = len(entries)
        begun.written = self._send_write(d, result, entries, removed)
        return result

    def wait(self, begun: AdherenceTick) -> None:
        """Read the replies of the tick's writes. If they failed, the next tick writes every
        entry again (what was written is not known)."""
        if begun.written is None:
            return
        try:
            begun.written.result()
        except BaseException:
            self.forget_writes()
            raise

    def discard(self, begun: AdherenceTick) -> None:
        """A tick that failed half way: read whatever it sent, forget what it may have written,
        and read this tick's changed agents again next tick (the engine will not name them
        again: they are no longer new to it; re-reading one already folded finds nothing)."""
        for sent in (begun.read, begun.written):
            if sent is not None:
                with suppress(Exception):
                    sent.result()
        begun.d.pending.update(begun.incremental)
        if begun.written is not None:
            self.forget_writes()

    def forget_writes(self) -> None:
        """Write the whole view and every entry again next tick."""
        self._fresh = True
        if self._state is not None:
            self._state.written = None

    # ------------------------------------------------------------------ schedules and roster
    def _refresh(self, now_ms: int) -> _Day:
        tb = self.store.timebase
        day = tb.day(now_ms)
        day_start, _ = tb.day_bounds_ms(day)
        yesterday = tb.day(day_start - 1)
        before = tb.day(tb.day_bounds_ms(yesterday)[0] - 1)
        versions = (day, schedule_versions(self.store, (day, yesterday)))
        if self._versions != versions or self._state is None:
            self._rebuild(day, day_start, (day, yesterday, before), versions[1])
            self._versions = versions
        rv = roster_version(self.store)
        if rv != self._roster_version:
            self._roster = read_roster(self.store)
            self._roster_version = rv
            self._assign_teams(self._state)
        assert self._state is not None
        return self._state

    def _schedule(self, day: str, version: int) -> dict[str, list[Segment]]:
        cached = self._parsed.get(day)
        if cached is None or cached[0] != version:
            cached = (version, read_schedule_day(self.store, day))
            self._parsed[day] = cached
        return cached[1]

    def _rebuild(self, day: str, day_start: int, days: tuple[str, str, str], versions: tuple[int, ...]) -> None:
        today = self._schedule(days[0], versions[0])
        yesterday = self._schedule(days[1], versions[1])
        self._parsed = {k: v for k, v in self._parsed.items() if k in days[:2]}
        relevant = _relevant(today, yesterday, day_start)
        self._log_unknown(relevant)
        agents = sorted(relevant)
        n = len(agents)
        segments = [tuple(relevant[a][0]) for a in agents]
        from_ms = np.array([relevant[a][1] for a in agents], np.int64)
        sched = schedule_arrays(self.rules, segments)
        fold = FoldState.start(from_ms, np.zeros(n, np.int64), np.zeros(n, np.int64), np.full(n, NO_CALL))
        new = _Day(day=day, day_start_ms=day_start, days=days, agents=agents, segments=segments, sched=sched,
                   from_ms=from_ms, crossing=from_ms < day_start, fold=fold, consumed=np.zeros(n, np.int64),
                   seen=[None] * n, live=_no_live(n), stale=set(range(n)))
        old = self._state
        if old is not None and old.day == day:
            # Agents whose schedule did not change keep what was folded; the others (and every
            # agent on a new day) read their day again, so the day's figures always use the
            # schedule as it is now.
            old_row = {a: i for i, a in enumerate(old.agents)}
            keep = [(i, old_row[a]) for i, a in enumerate(agents)
                    if a in old_row and old.segments[old_row[a]] == segments[i] and old_row[a] not in old.stale]
            if keep:
                rows, old_rows = (np.array(x, np.int64) for x in zip(*keep, strict=True))
                fold.put(rows, old.fold.take(old_rows))
                new.consumed[rows] = old.consumed[old_rows]
                for i, j in keep:
                    new.seen[i] = old.seen[j]
                new.pending = {i for i, j in keep if j in old.pending}
                new.stale -= set(rows.tolist())
        new.segments_json = [orjson.dumps([{"activity": s.activity, "start_ms": s.start_ms, "end_ms": s.end_ms}
                                           for s in segs]) for segs in segments]
        new.today_keys = [self.store.keys.agent_timeline(a, day) for a in agents]
        new.row = {a: i for i, a in enumerate(agents)}
        self._state = new
        self._assign_teams(new)

    def _log_unknown(self, relevant: Mapping[str, tuple[list[Segment], int]]) -> None:
        known = set(self.rules.names)
        unknown = {s.activity for segs, _ in relevant.values() for s in segs} - known - self._unknown_logged
        if unknown:
            log.warning("schedules use activities the adherence rules do not know, not evaluated: %s "
                        "(add them to [adherence.activities])", sorted(unknown))
            self._unknown_logged |= unknown

    def _assign_teams(self, d: _Day | None) -> None:
        if d is None:
            return
        d.written = None  # names and teams are in every entry: write them all again
        roster = [self._roster.get(a) for a in d.agents]
        d.labels = [r.label if r else a for a, r in zip(d.agents, roster, strict=True)]
        d.team_names = [r.team if r else "" for r in roster]
        d.teams = sorted(set(d.team_names))
        index = {t: i for i, t in enumerate(d.teams)}
        d.team_idx = np.array([index[t] for t in d.team_names], np.int64)
        # What never changes within a day and a roster (names) is serialised here, once, and
        # spliced before each tick's figures.
        d.entry_heads = [orjson.dumps({"agent": a, "name": label, "team": team, "day": d.day})[:-1] + b","
                         for a, label, team in zip(d.agents, d.labels, d.team_names, strict=True)]

    # ------------------------------------------------------------------ folding state changes
    def _changed(self, d: _Day, agents: Sequence[AgentLive],
                 changed: Sequence[AgentLive] | None) -> tuple[list[int], list[int]]:
        """Take this tick's live state; the rows to read incrementally and the rows to read whole."""
        row = d.row
        rows: set[int] = set()
        if changed is None or len(d.live_rows) != len(d.agents):
            # Every agent (a first look at this day, or any may have changed): an agent absent
            # from the live state is seen as None.
            lives: list[AgentLive | None] = [None] * len(d.agents)
            seen: list[tuple[Any, ...] | None] = [None] * len(d.agents)
            for a in agents:
                i = row.get(a.id)
                if i is not None:
                    lives[i] = a
                    seen[i] = (a.state, a.reason, a.since_ms)
            rows = {i for i, (now, before) in enumerate(zip(seen, d.seen, strict=True)) if now != before}
            d.live_rows, d.seen = lives, seen
            d.live = _no_live(len(d.agents))
            for i, sig in enumerate(seen):
                if sig is not None:
                    d.live[i] = self._coded(sig)
        else:
            # Only the agents that changed this tick (new objects): the others keep theirs.
            for a in changed:
                i = row.get(a.id)
                if i is not None:
                    d.live_rows[i] = a
                    now = (a.state, a.reason, a.since_ms)
                    if now != d.seen[i]:
                        d.seen[i] = now
                        d.live[i] = self._coded(now)
                        rows.add(i)
        stale = sorted(d.stale)
        incremental = sorted((rows | d.pending) - d.stale)
        d.pending = set()
        return incremental, stale

    def _catch_up(self, d: _Day, begun: AdherenceTick, now_ms: int) -> tuple[int, int]:
        """Fold in every change up to ``now_ms``; returns (agents folded, agents re-read whole)."""
        incremental, stale = begun.incremental, begun.stale
        if begun.read is not None:
            counts, entries = _parsed(begun.read.result())
            again = self._fold_read(d, incremental, stale, counts, entries, now_ms)
            if again:
                # Rare: a change older than what was folded (one that landed in yesterday's
                # timeline after midnight). Those agents read their whole day once more.
                keys, starts = self._read_keys(d, [], sorted(again))
                self._fold_read(d, [], sorted(again), *self._read(keys, starts), now_ms)
        else:
            again = set()
        d.stale = set()
        return len(incremental), len(stale) + len(again)

    def _read_keys(self, d: _Day, incremental: list[int], stale: list[int]) -> tuple[list[str], list[int]]:
        """The timeline keys to read and the index to read each from."""
        k = self.store.keys
        today, yesterday, before = d.days
        keys: list[str] = []
        starts: list[int] = []
        keys += map(d.today_keys.__getitem__, incremental)
        starts += d.consumed[incremental].tolist()
        for i in stale:
            agent = d.agents[i]
            # The day before's last entry, yesterday's (all of it for a shift crossing midnight),
            # then today's: the state where the fold starts and every change after it.
            keys += [k.agent_timeline(agent, before), k.agent_timeline(agent, yesterday), k.agent_timeline(agent, today)]
            starts += [-1, 0 if d.crossing[i] else -1, 0]
        return keys, starts

    def _fold_read(self, d: _Day, incremental: list[int], stale: list[int], counts: np.ndarray,
                   entries: np.ndarray, now_ms: int) -> set[int]:
        n_inc = len(incremental)
        inc_entries = int(counts[:n_inc].sum())
        again = self._fold_incremental(d, np.array(incremental, np.int64), counts[:n_inc],
                                       entries[:inc_entries], now_ms)
        self._fold_full(d, np.array(stale, np.int64), counts[n_inc:], entries[inc_entries:], now_ms)
        return again

    def _send_read(self, keys: list[str], starts: list[int]) -> DeferredScripts:
        return DeferredScripts(self._script, [
            (keys[lo : lo + READ_CHUNK], [*self._script_args, ",".join(map(str, starts[lo : lo + READ_CHUNK]))])
            for lo in range(0, len(keys), READ_CHUNK)
        ])

    def _read(self, keys: list[str], starts: list[int]) -> tuple[np.ndarray, np.ndarray]:
        return _parsed(self._send_read(keys, starts).result())

    def _coded(self, sig: tuple[Any, ...]) -> tuple[int, int, int]:
        """(state, reason, since_ms) as :attr:`_Day.live` keeps it."""
        if sig[2] is None:
            return 0, 0, -1
        return self._state_codes.get(sig[0], 0), self._reason_codes.get(sig[1], 0), sig[2]

    def _fold(self, d: _Day, owner: np.ndarray, changes: np.ndarray, extra_rows: np.ndarray,
              extra: np.ndarray) -> None:
        """Apply timeline changes plus, for ``extra_rows``, the live state as one more change."""
        if len(extra_rows):
            owner = np.concatenate([owner, extra_rows])
            changes = np.concatenate([changes, extra])
            order = np.lexsort((changes[:, 0], owner))
            owner, changes = owner[order], changes[order]
        apply_changes(self.rules, d.sched, d.fold, owner, changes[:, 0], changes[:, 1], changes[:, 2], d.day_start_ms)

    def _fold_incremental(self, d: _Day, rows: np.ndarray, counts: np.ndarray,
                          entries: np.ndarray, now_ms: int) -> set[int]:
        """Fold the entries read after each row's consumed ones; returns rows to re-read whole."""
        if len(rows) == 0:
            return set()
        j_of = np.repeat(np.arange(len(rows)), counts)
        owner = rows[j_of]
        ts = entries[:, 0]
        older = ts < d.fold.c_ms[owner]
        # Entries stamped ahead of now (clock skew within the accepted tolerance) wait their turn.
        due = ts <= now_ms
        d.pending.update(owner[~due].tolist())
        reach = d.fold.c_ms[rows].copy()
        np.maximum.at(reach, j_of[due], ts[due])
        lv = d.live[rows]
        since = lv[:, 2]
        # The live state is newer than every entry read: entries are missing, fold it as a change.
        missing = (since > reach) & (since <= now_ms)
        d.pending.update(rows[since > now_ms].tolist())
        # A changed live state older than the fold with nothing new in today's timeline: it
        # landed in yesterday's.
        behind = (counts == 0) & (since >= 0) & (since < d.fold.c_ms[rows])
        again = set(owner[older].tolist()) | set(rows[behind].tolist())
        bad_row = np.isin(rows, list(again))
        keep = due & ~bad_row[j_of]
        add = missing & ~bad_row
        self._fold(d, owner[keep], entries[keep], rows[add], lv[add][:, [2, 0, 1]])
        d.consumed[rows] += np.where(bad_row, 0, np.bincount(j_of[due], minlength=len(rows)))
        return again

    def _fold_full(self, d: _Day, rows: np.ndarray, counts: np.ndarray,
                   entries: np.ndarray, now_ms: int) -> None:
        """Each row's whole day again: the state where its fold starts, then every change."""
        k = len(rows)
        if k == 0:
            return
        key_of = np.repeat(np.arange(3 * k), counts)
        j_of, today_entry = key_of // 3, key_of % 3 == 2
        ts, st, rs = entries[:, 0], entries[:, 1], entries[:, 2]
        start = d.from_ms[rows]
        before = ts <= start[j_of]
        after = ~before & (ts <= now_ms)
        last = np.full(k, -1)
        np.maximum.at(last, j_of[before], np.flatnonzero(before))
        lv = d.live[rows]
        since = lv[:, 2]
        has = last >= 0
        lb = np.maximum(last, 0)
        use_live = ~has & (since >= 0) & (since <= start)

        def initial(entry_value: np.ndarray, live_value: np.ndarray, otherwise: np.ndarray | int) -> np.ndarray:
            got = entry_value[lb] if len(entry_value) else np.zeros(k, np.int64)
            return np.where(has, got, np.where(use_live, live_value, otherwise))

        st0, rs0 = initial(st, lv[:, 0], 0), initial(rs, lv[:, 1], 0)
        since0 = initial(ts, since, start)
        call0 = np.where((st0 == ON_CALL) | (st0 == ACW), since0, NO_CALL)
        d.fold.put(rows, FoldState.start(start, st0, rs0, call0))
        d.consumed[rows] = np.bincount(j_of[today_entry & (ts <= now_ms)], minlength=k)
        d.pending.update(rows[np.unique(j_of[today_entry & (ts > now_ms)])].tolist())
        d.pending.update(rows[since > now_ms].tolist())
        reach = start.copy()
        np.maximum.at(reach, j_of[after], ts[after])
        missing = (since > reach) & (since <= now_ms)
        self._fold(d, rows[j_of[after]], entries[after], rows[missing], lv[missing][:, [2, 0, 1]])

    # ------------------------------------------------------------------ the view
    def _queues_of(self, d: _Day, i: int) -> tuple[str, ...]:
        a = d.live_rows[i]
        if a is not None and a.queues:
            return a.queues
        r = self._roster.get(d.agents[i])
        return r.skills if r is not None else ()

    def _reason(self, d: _Day, i: int, state: int, reason: int) -> str | None:
        if state != AUX:
            return None
        a = d.live_rows[i]
        if a is not None and a.state == "aux":
            return a.reason
        return self._reason_names.get(reason)

    def _exceptions(self, d: _Day, ev: LiveEval,
                    queue_blocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        deficit_of: dict[str, float] = {}
        for block in queue_blocks:
            p = block.get("projection") or {}
            if p.get("required_agents") is not None and p.get("agents") is not None:
                deficit_of[block["id"]] = max(0.0, float(p["required_agents"]) - float(p["agents"]))
        rows = np.flatnonzero(ev.exception)
        queues = {i: self._queues_of(d, i) for i in rows.tolist()}
        deficit = np.zeros(len(d.agents))
        if deficit_of:
            deficit[rows] = [max((deficit_of.get(q, 0.0) for q in qs), default=0.0) for qs in queues.values()]
        codes, scores = impact(d.sched, ev, deficit)
        # Worst impact first, then the longest out, then by agent (rows follow the agents'
        # order): who a supervisor should call first. Sorted here, on arrays, and every column
        # taken as a list once: thousands of exceptions in a busy tick.
        rows = rows[np.lexsort((rows, -ev.out_ms[rows], -scores[rows]))]
        seg = ev.seg[rows]  # an exception always has a scheduled segment
        sched, acts, roster = d.sched, self.rules.names, self._roster
        columns = zip(
            rows.tolist(), sched.act[seg].tolist(), sched.start_ms[seg].tolist(), sched.end_ms[seg].tolist(),
            ev.st[rows].tolist(), ev.rs[rows].tolist(), ev.out_since_ms[rows].tolist(), ev.out_ms[rows].tolist(),
            ev.grace_ms[rows].tolist(), ev.severity[rows].tolist(), codes[rows].tolist(), scores[rows].tolist(),
            strict=True,
        )
        out = []
        for i, act, start, end, state, reason, since, out_ms, grace, severity, code, score in columns:
            agent = d.agents[i]
            r = roster.get(agent)
            out.append({
                "agent": agent,
                "name": r.label if r else agent,
                "team": r.team if r else "",
                "supervisor": r.supervisor if r else "",
                "queues": list(queues[i]),
                "scheduled": acts[act],
                "scheduled_start_ms": start,
                "scheduled_end_ms": end,
                "actual_state": STATES[state],
                "actual_reason": self._reason(d, i, state, reason),
                "out_since_ms": since,
                "out_s": out_ms / 1000,
                "grace_s": grace / 1000,
                "severity": SEVERITIES[severity],
                "impact": IMPACTS[code],
                "impact_score": score,
            })
        return out

    def _teams(self, d: _Day, ev: LiveEval) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        t = team_totals(d.team_idx, len(d.teams), ev)
        sums = (t.agents, t.sched_ms, t.out_beyond_grace_ms, t.phone_ms, t.worked_ms, t.out_now)
        totals = [int(x.sum()) for x in sums]
        # The ratios of every team and of the total in one array each (a call per team cost
        # ~8 ms a tick at 500 teams); NaN (nothing scheduled) becomes None.
        ratios = [[None if x != x else x for x in ratio(np.append(a, total_a), np.append(b, total_b)).tolist()]
                  for ratio, a, b, total_a, total_b in (
                      (adherence_ratio, t.sched_ms, t.out_beyond_grace_ms, totals[1], totals[2]),
                      (conformance_ratio, t.worked_ms, t.phone_ms, totals[4], totals[3]))]

        def row(agents: int, sched: int, out: int, phone: int, worked: int, out_now: int,
                adherence: float | None, conformance: float | None) -> dict[str, Any]:
            return {
                "agents": agents,
                "scheduled_s": sched / 1000,
                "out_beyond_grace_s": out / 1000,
                "adherence_pct": adherence,
                "scheduled_on_queue_s": phone / 1000,
                "worked_on_queue_s": worked / 1000,
                "conformance_pct": conformance,
                "out_now": out_now,
            }

        teams = {name: row(*values) for name, *values in
                 zip(d.teams, *(x.tolist() for x in sums), ratios[0][:-1], ratios[1][:-1], strict=True)}
        return teams, row(*totals, ratios[0][-1], ratios[1][-1])

    def _entries(self, d: _Day, ev: LiveEval) -> tuple[dict[str, bytes], list[str]]:
        """The agent hash's entries that changed since last written (all after a rebuild)."""
        scale = 10**PCT_DECIMALS
        out = ev.out
        adherence = np.round(ev.adherence * scale)
        conformance = np.round(ev.conformance * scale)
        sig = np.stack([ev.seg, ev.next_seg, out, np.where(out, ev.out_since_ms, 0), ev.severity,
                        np.nan_to_num(adherence, nan=-1), np.nan_to_num(conformance, nan=-1)], axis=1).astype(np.int64)
        # The set of agents only changes with a rebuild, which also clears ``written``.
        full = d.written is None or d.written.shape != sig.shape
        if full:
            rows = np.arange(len(d.agents))
            d.written = sig
        else:
            assert d.written is not None
            # Schedule, status and severity go out at once; a percentage that only crept by
            # 0.1 % goes out on the agent's turn, one tick in PCT_EVERY_TICKS, which spreads
            # those rewrites over the ticks.
            d.tick += 1
            turn = np.arange(len(d.agents)) % PCT_EVERY_TICKS == d.tick % PCT_EVERY_TICKS
            differs = sig != d.written
            rows = np.flatnonzero(differs[:, :5].any(axis=1) | (differs[:, 5:].any(axis=1) & turn))
            d.written[rows] = sig[rows]
        removed = sorted(self._in_hash.difference(d.agents)) if full else []
        names = self.rules.names
        sched = d.sched
        seg, nxt = ev.seg[rows], ev.next_seg[rows]
        cur, upcoming = np.maximum(seg, 0), np.maximum(nxt, 0)

        def pick(values: np.ndarray, at: np.ndarray) -> list[int]:
            return values[at].tolist() if len(values) else [0] * len(at)  # no known segment at all

        columns = zip(
            rows.tolist(), seg.tolist(), pick(sched.act, cur), pick(sched.start_ms, cur), pick(sched.end_ms, cur),
            nxt.tolist(), pick(sched.act, upcoming), pick(sched.start_ms, upcoming),
            out[rows].tolist(), ev.out_since_ms[rows].tolist(), ev.grace_ms[rows].tolist(),
            ev.severity[rows].tolist(), adherence[rows].tolist(), conformance[rows].tolist(), strict=True,
        )
        entries = {}
        agents, heads = d.agents, d.entry_heads
        for i, s, act, start, end, n, next_act, next_start, o, since, grace, severity, adh, conf in columns:
            figures = orjson.dumps({
                "scheduled": names[act] if s >= 0 else None,
                "scheduled_start_ms": start if s >= 0 else None,
                "scheduled_end_ms": end if s >= 0 else None,
                "next": {"activity": names[next_act], "start_ms": next_start} if n >= 0 else None,
                "adhering": None if s < 0 else not o,
                "out_since_ms": since if o else None,
                "grace_s": grace / 1000 if o else None,
                "severity": SEVERITIES[severity],
                "adherence_pct": None if adh != adh else adh / scale,  # NaN: nothing scheduled yet
                "conformance_pct": None if conf != conf else conf / scale,
            })
            # orjson: a tenth of the stdlib's time, and thousands of entries change in a busy tick.
            entries[agents[i]] = heads[i] + figures[1:]
        return entries, removed

    # ------------------------------------------------------------------ writes
    def _send_write(self, d: _Day, result: AdherenceResult, entries: dict[str, bytes], removed: list[str]) -> Deferred:
        k = self.store.keys
        cmds: list[tuple[Any, ...]] = [("MULTI",)]
        if self._fresh:
            # Agents a previous engine wrote may have no schedule any more.
            cmds.append(("DEL", k.adherence_agents))
        segments = self._fresh or not d.segments_written
        if segments:
            # The segments only change with the schedules: written whole then, not with the
            # entries (they were most of each entry's bytes, thousands of entries a tick).
            cmds.append(("DEL", k.adherence_segments))
            cmds.append(("HSET", k.adherence_segments,
                         *(x for pair in zip(d.agents, d.segments_json, strict=True) for x in pair)))
        # orjson writes a non-finite float as null: the view always stays valid JSON.
        cmds.append(("SET", k.adherence_view, orjson.dumps(result.view())))
        if entries:
            cmds.append(("HSET", k.adherence_agents, *(x for pair in entries.items() for x in pair)))
        if removed:
            cmds.append(("HDEL", k.adherence_agents, *removed))
        cmds.append(("EXEC",))
        sent = Deferred(self.store.r, cmds)
        # As if written; should the write fail, wait() makes the next tick write everything.
        self._in_hash = (set() if self._fresh else self._in_hash.difference(removed)) | entries.keys()
        self._fresh = False
        d.segments_written = d.segments_written or segments
        return sent

    def _write_empty(self) -> None:
        """No agent has a schedule: no view, so the pages say how to get one."""
        if self._fresh or self._in_hash:
            k = self.store.keys
            self.store.r.delete(k.adherence_view, k.adherence_agents, k.adherence_segments)
        self._in_hash = set()
        self._fresh = False


# ---------------------------------------------------------------------- reads (pages, API)
def read_adherence_view(store: Store) -> dict[str, Any] | None:
    """The latest view: ``exceptions``, ``teams``, ``totals``, ``day``, ``generated_ms``
    (None before the engine has evaluated any schedule)."""
    raw = store.r.get(store.keys.adherence_view)
    return json.loads(raw) if raw else None


def read_agent_adherence(store: Store, agent: str) -> dict[str, Any] | None:
    """One agent's adherence today, their day's segments in ``segments`` (None when they have
    no schedule)."""
    pipe = store.r.pipeline(transaction=True)  # both as one write left them
    pipe.hget(store.keys.adherence_agents, agent)
    pipe.hget(store.keys.adherence_segments, agent)
    raw, segments = pipe.execute()
    if not raw:
        return None
    entry = json.loads(raw)
    if segments:
        entry["segments"] = json.loads(segments)
    else:
        entry.setdefault("segments", [])  # an entry of an older engine carries its own
    return entry
