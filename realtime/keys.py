"""Every Redis key floorboard uses, built in one place.

All keys live under one versioned namespace (``fb:v1`` by default, configurable so tests and
several deployments can share a server). Keys of one queue or one agent carry a hash tag
(``{q:sales}``) so a Redis Cluster keeps them in one slot: the Lua apply scripts touch only one
entity's keys at a time.

Units are in names (``_ms``). Intervals are identified by their start in epoch milliseconds;
days by the local date ``YYYY-MM-DD`` in the center's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass

# Why TTLs: live interval/day counters are archived to the history store once closed; keeping
# them 3 days covers a weekend of a stopped archiver without growing without bound.
COUNTER_TTL_S = 3 * 86400
# Dedup sets only need to outlive redelivery and replays of recent data.
SEEN_TTL_S = 2 * 86400
# A finished call's hash is only needed to attribute late events (ended, ACW) to it.
CALL_TTL_S = 86400
DEADLETTER_MAXLEN = 100_000
EVENTS_MAXLEN = 1_000_000
AGGREGATOR_GROUP = "aggregators"


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "fb:v1"

    # --- global --------------------------------------------------------------------------
    @property
    def events(self) -> str:
        """Stream of raw incoming payloads (fields: src, raw)."""
        return f"{self.prefix}:events"

    @property
    def deadletters(self) -> str:
        """Stream of rejected payloads (fields: raw, src, reason, at_ms)."""
        return f"{self.prefix}:deadletters"

    @property
    def stats(self) -> str:
        """Hash of pipeline counters: applied, duplicates, deadletters, reason:<reason>."""
        return f"{self.prefix}:stats"

    @property
    def source_newest(self) -> str:
        """Hash source → newest event ts_ms seen (lateness is judged per source)."""
        return f"{self.prefix}:source_newest_ms"

    @property
    def queues(self) -> str:
        """Set of every queue id ever seen."""
        return f"{self.prefix}:queues"

    @property
    def agents(self) -> str:
        """Set of every agent id ever seen."""
        return f"{self.prefix}:agents"

    @property
    def agents_version(self) -> str:
        """Counter bumped by every apply batch that changed an agent and by every
        Store.mark_agents_changed: the id of each agent_changes entry."""
        return f"{self.prefix}:agents:version"

    @property
    def agent_changes(self) -> str:
        """STREAM, entry id = an agents_version: what an apply batch changed for its agents
        ('d'), or agents to read again (Store.mark_agents_changed, 'r'); the engine folds these
        instead of reading agents again."""
        return f"{self.prefix}:agents:changes"

    @property
    def snapshot(self) -> str:
        """JSON of the engine's latest snapshot of every queue."""
        return f"{self.prefix}:snapshot"

    @property
    def snapshot_channel(self) -> str:
        """Pub/sub channel notified after each snapshot write."""
        return f"{self.prefix}:snapshot:updated"

    # --- schedules and roster ------------------------------------------------------------
    def schedule_day(self, day: str) -> str:
        """Hash agent → JSON [[activity, start_ms, end_ms], …] of shifts starting on this day."""
        return f"{self.prefix}:schedule:{day}"

    @property
    def schedule_versions(self) -> str:
        """Hash day → version, bumped by every write of that day's schedule (readers cache)."""
        return f"{self.prefix}:schedule:versions"

    @property
    def roster(self) -> str:
        """Hash agent → JSON {name, team, supervisor, skills}."""
        return f"{self.prefix}:roster"

    @property
    def roster_version(self) -> str:
        """Counter bumped by every roster write."""
        return f"{self.prefix}:roster:version"

    # --- adherence (realtime/adherence.py) -------------------------------------------------
    # Both rewritten by the engine every tick, so no TTL (like the snapshot): their ``day`` and
    # ``generated_ms`` say how fresh they are.
    @property
    def adherence_view(self) -> str:
        """JSON of the adherence page: exceptions ranked by impact, teams, totals."""
        return f"{self.prefix}:adherence:view"

    @property
    def adherence_agents(self) -> str:
        """Hash agent → JSON of that agent's adherence today (written when it changes)."""
        return f"{self.prefix}:adherence:agents"

    @property
    def adherence_segments(self) -> str:
        """Hash agent → JSON of the segments their day is evaluated against (written when the
        schedules change: apart from the entries, which change all day)."""
        return f"{self.prefix}:adherence:segments"

    # --- forecasts ------------------------------------------------------------------------
    def forecast_day(self, day: str) -> str:
        """Hash queue → JSON [[interval_start_ms, calls, aht_s], …] of the imported forecast."""
        return f"{self.prefix}:forecast:{day}"

    @property
    def forecast_versions(self) -> str:
        """Hash day → version, bumped by every forecast import touching that day."""
        return f"{self.prefix}:forecast:versions"

    # --- intraday plan (realtime/intraday.py, realtime/intraday_store.py) ------------------
    # The view and the actions are rewritten by the planner every tick, so no TTL (like the
    # snapshot): ``generated_ms`` says how fresh they are.
    @property
    def intraday_view(self) -> str:
        """JSON: every queue's risk over the next two hours, the top actions, the inputs' versions."""
        return f"{self.prefix}:intraday:view"

    @property
    def intraday_queues(self) -> str:
        """Hash queue → JSON of its day: forecast, reforecast, actual, plan rows, explanation."""
        return f"{self.prefix}:intraday:queues"

    @property
    def intraday_actions(self) -> str:
        """Hash action id → JSON of a ranked action with its exact schedule edit (for apply)."""
        return f"{self.prefix}:intraday:actions"

    @property
    def intraday_version(self) -> str:
        """Counter bumped by every overlay, applied or undone action: the planner recomputes."""
        return f"{self.prefix}:intraday:version"

    @property
    def intraday_lock(self) -> str:
        """Held (SET NX PX) while an action is applied or undone, so two never interleave."""
        return f"{self.prefix}:intraday:lock"

    def intraday_overlays(self, day: str) -> str:
        """Hash overlay id → JSON {queue, start_ms, end_ms, volume_multiplier, label, user, …}."""
        return f"{self.prefix}:intraday:overlays:{day}"

    def intraday_pins(self, day: str) -> str:
        """Hash pin id → JSON {agent, queue, start_ms, end_ms, audit_id}: agents moved to a queue."""
        return f"{self.prefix}:intraday:pins:{day}"

    def intraday_audit(self, day: str) -> str:
        """Hash audit id → JSON of an applied action: who, when, what, the schedule before/after."""
        return f"{self.prefix}:intraday:audit:{day}"

    @property
    def heartbeat(self) -> str:
        """The engine's heartbeat (value: tick time in ms); TTL'd so absence means dead."""
        return f"{self.prefix}:engine:heartbeat"

    # --- access control (realtime/access.py) ----------------------------------------------
    def signin_failures_user(self, username: str) -> str:
        """Counter of failed sign-ins for one user name; TTL'd: the rate-limit window."""
        return f"{self.prefix}:auth:fail:user:{username}"

    def signin_failures_ip(self, address: str) -> str:
        """Counter of failed sign-ins from one client address; TTL'd: the rate-limit window."""
        return f"{self.prefix}:auth:fail:ip:{address}"

    @property
    def kiosk_links(self) -> str:
        """Hash link id → JSON {group, expires_ms, created_ms, note}: the kiosk links still valid."""
        return f"{self.prefix}:auth:kiosk"

    # --- per queue -----------------------------------------------------------------------
    def _q(self, queue: str) -> str:
        return f"{self.prefix}:{{q:{queue}}}"

    def queue_base(self, queue: str) -> str:
        """What every key of the queue starts with; the batch apply script (realtime/lua.py)
        derives the queue's keys from it with the same suffixes as the builders below."""
        return self._q(queue)

    def queue_waiting(self, queue: str) -> str:
        """ZSET call id → queue entry ts_ms of callers waiting now."""
        return f"{self._q(queue)}:waiting"

    def queue_interval(self, queue: str, interval_start_ms: int) -> str:
        """Hash of raw counters for calls that entered the queue in this interval."""
        return f"{self._q(queue)}:iv:{interval_start_ms}"

    def queue_day(self, queue: str, day: str) -> str:
        """Hash of raw counters for calls that entered the queue on this local day."""
        return f"{self._q(queue)}:day:{day}"

    def queue_touched(self, queue: str) -> str:
        """Hash interval_start_ms → change count; intervals changed since last archived."""
        return f"{self._q(queue)}:touched"

    def queue_seen(self, queue: str, day: str) -> str:
        """Set of event ids applied to this queue (idempotency), per event day."""
        return f"{self._q(queue)}:seen:{day}"

    def queue_detail(self, queue: str) -> str:
        """JSON written by the engine each tick: agents on the queue, callers waiting, medians."""
        return f"{self._q(queue)}:detail"

    def call(self, queue: str, call: str) -> str:
        """Hash of one call's lifecycle (enter_ms, answer_ms, agent, iv, day, status)."""
        return f"{self._q(queue)}:call:{call}"

    # --- per agent -----------------------------------------------------------------------
    def _a(self, agent: str) -> str:
        return f"{self.prefix}:{{a:{agent}}}"

    def agent_base(self, agent: str) -> str:
        """What every key of the agent starts with (as ``queue_base``)."""
        return self._a(agent)

    def agent(self, agent: str) -> str:
        """Hash of the agent's live state (state, reason, since_ms, call, queue, queues)."""
        return f"{self._a(agent)}:live"

    def agent_interval(self, agent: str, interval_start_ms: int) -> str:
        """Hash of the agent's counters and seconds-in-state for one interval."""
        return f"{self._a(agent)}:iv:{interval_start_ms}"

    def agent_day(self, agent: str, day: str) -> str:
        """Hash of the agent's counters and seconds-in-state for one local day."""
        return f"{self._a(agent)}:day:{day}"

    def agent_touched(self, agent: str) -> str:
        """Hash interval_start_ms → change count, as for queues."""
        return f"{self._a(agent)}:touched"

    def agent_seen(self, agent: str, day: str) -> str:
        return f"{self._a(agent)}:seen:{day}"

    def agent_timeline(self, agent: str, day: str) -> str:
        """List of JSON state changes of the day, for the agent's timeline."""
        return f"{self._a(agent)}:timeline:{day}"


@dataclass(frozen=True, slots=True)
class AlertKeys:
    """Alert keys. All share the ``{alerts}`` hash tag, so on Redis Cluster the scripts below
    touch one slot. (The scripts that use them are in realtime/alerts.py.)"""

    prefix: str

    @property
    def _base(self) -> str:
        return f"{self.prefix}:{{alerts}}"

    @property
    def active(self) -> str:
        """ZSET id → opened_ms of every open or acknowledged alert."""
        return f"{self._base}:active"

    @property
    def resolved(self) -> str:
        """ZSET id → resolved_ms of resolved alerts still kept (trimmed by score each tick)."""
        return f"{self._base}:resolved"

    @property
    def history(self) -> str:
        """Stream of every transition (fields: alert, t = JSON), trimmed to ~HISTORY_MAXLEN."""
        return f"{self._base}:history"

    @property
    def touched(self) -> str:
        """SET of ids acknowledged or snoozed since the engine's last tick (it reads and clears)."""
        return f"{self._base}:touched"

    @property
    def webhooks(self) -> str:
        """JSON of the engine's webhook dispatcher counters, for health."""
        return f"{self._base}:webhooks"

    @property
    def alert_prefix(self) -> str:
        return f"{self._base}:alert:"

    def alert(self, alert_id: str) -> str:
        """Hash of one alert (fields of the record; details and log as JSON). TTL once resolved."""
        return self.alert_prefix + alert_id
