"""Alerts in Redis: the engine's per-tick component, and the operations pages and the API use.

:class:`AlertsComponent` runs in the engine process. Each tick it turns the snapshot and the
adherence exceptions into conditions, steps the lifecycle with the pure functions of
:mod:`realtime.alert_rules`, and writes only what changed in one Lua call, which also hands back
the alerts people acknowledged or snoozed since the last tick. The open alerts stay in memory
between ticks, so a tick reads nothing else. Webhooks go to a background dispatcher
(:mod:`realtime.webhooks`) and never hold the tick up.

:func:`list_alerts`, :func:`get_alert`, :func:`acknowledge` and :func:`snooze` are for the pages
and /api/v1/alerts. Acknowledge and snooze are Lua scripts that check the state and write in one
step, and the tick never writes the fields they own, so neither can undo the other.

Rules, thresholds, lifecycle, webhooks: docs/alerts.md.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from floorboard.config import AlertsConfig
from realtime.alert_rules import (
    ACTIVE_STATES,
    Alert,
    Evaluation,
    Key,
    agent_conditions,
    evaluate,
    in_quiet_hours,
    key_of_id,
    kind_of_id,
    queue_conditions,
    should_notify,
    sort_key,
    transition,
    webhook_payload,
)
from realtime.keys import AlertKeys
from realtime.store import Store
from realtime.webhooks import WebhookDispatcher

log = logging.getLogger(__name__)

# Resolved alerts stay readable in the feed for a week (the ack/resolve record a supervisor
# looks back at); every transition is also in the history stream, bounded below.
RESOLVED_KEEP_S = 7 * 86400
HISTORY_MAXLEN = 100_000
COOLDOWN_PRUNE_EVERY_MS = 60_000
MAX_SNOOZE_MIN = 24 * 60
MAX_USER_LEN = 120
STATES = ("open", "acknowledged", "resolved", "active")
KINDS = ("queue", "agent")


# Appending to the JSON array in ``log`` is string surgery, so neither script decodes JSON.
_APPEND_LOG = """
local function append_log(key, add)
  local log = redis.call('HGET', key, 'log')
  if not log or log == '' then log = '[' .. add .. ']' else log = string.sub(log, 1, -2) .. ',' .. add .. ']' end
  redis.call('HSET', key, 'log', log)
end
"""

# KEYS: 1 active, 2 resolved, 3 history, 4 touched, 5 webhook health, 6.. one hash per changed alert
# ARGV: 1 history maxlen, 2 resolved TTL s, 3 keep resolved since ms, 4 alert key prefix,
#       5 webhook health JSON or '', then per changed alert (in KEYS order):
#       id, op (open | update | resolve), score ms, n, n field/value pairs,
#       transitions to append ('' or JSON objects joined by ','), h, h history entries.
# Returns id, HGETALL of every alert in ``touched`` (acknowledged or snoozed since last time).
# The touched alerts' keys are built here from ARGV[4]: same hash tag, same slot.
TICK_WRITE = _APPEND_LOG + """
local pos = 6
for i = 6, #KEYS do
  local key = KEYS[i]
  local id, op, score, n = ARGV[pos], ARGV[pos + 1], ARGV[pos + 2], tonumber(ARGV[pos + 3])
  pos = pos + 4
  if n > 0 then
    redis.call('HSET', key, unpack(ARGV, pos, pos + 2 * n - 1))
    pos = pos + 2 * n
  end
  if ARGV[pos] ~= '' then append_log(key, ARGV[pos]) end
  local h = tonumber(ARGV[pos + 1])
  pos = pos + 2
  for j = 1, h do
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*', 'alert', id, 't', ARGV[pos])
    pos = pos + 1
  end
  if op == 'open' then
    redis.call('ZADD', KEYS[1], score, id)
  elseif op == 'resolve' then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], score, id)
    redis.call('EXPIRE', key, ARGV[2])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
if ARGV[5] ~= '' then redis.call('SET', KEYS[5], ARGV[5]) end
local out = {}
local ids = redis.call('SMEMBERS', KEYS[4])
if #ids > 0 then
  redis.call('DEL', KEYS[4])
  for _, id in ipairs(ids) do
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', ARGV[4] .. id)
  end
end
return out
"""

# KEYS: 1 the alert, 2 history, 3 touched. ARGV: 1 ack | snooze, 2 user, 3 now ms,
# 4 snoozed until ms, 5 id, 6 history maxlen, 7 the transition JSON without its closing brace
# (the state is added here, where it is known).
# Returns unknown | resolved | already | ok.
ACT = _APPEND_LOG + """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'unknown' end
if state == 'resolved' then return 'resolved' end
if ARGV[1] == 'ack' then
  if state == 'acknowledged' then return 'already' end
  state = 'acknowledged'
  redis.call('HSET', KEYS[1], 'state', state, 'acked_by', ARGV[2], 'acked_ms', ARGV[3], 'updated_ms', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'snoozed_until_ms', ARGV[4], 'snoozed_by', ARGV[2], 'updated_ms', ARGV[3])
end
local t = ARGV[7] .. ',"state":"' .. state .. '"}'
append_log(KEYS[1], t)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'alert', ARGV[5], 't', t)
redis.call('SADD', KEYS[3], ARGV[5])
return 'ok'
"""


# KEYS: alert hashes. Returns, per key, its HGETALL as one JSON array string ('' when gone): one
# reply element per alert instead of two per field, which is where the client spent its time.
READ = """
local out = {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HGETALL', key)
  if #h > 0 then out[i] = cjson.encode(h) else out[i] = '' end
end
return out
"""
READ_CHUNK = 2000


class AlertError(Exception):
    """An alert operation that cannot be done; the message says why, for a person."""


class UnknownAlert(AlertError):
    pass


class AlertResolved(AlertError):
    pass


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def alert_from_hash(h: Mapping[str, str]) -> Alert:
    return Alert(
        id=h["id"], rule=h.get("rule", ""), subject=h.get("subject", ""), kind=h.get("kind", ""),
        severity=h.get("severity", "warning"), state=h.get("state", "open"),
        opened_ms=int(h.get("opened_ms") or 0), updated_ms=int(h.get("updated_ms") or 0),
        message=h.get("message", ""), details=json.loads(h.get("details") or "{}"),
        resolved_ms=_int(h.get("resolved_ms")), acked_by=h.get("acked_by") or None,
        acked_ms=_int(h.get("acked_ms")), snoozed_until_ms=_int(h.get("snoozed_until_ms")),
        snoozed_by=h.get("snoozed_by") or None, transitions=json.loads(h.get("log") or "[]"),
    )


def _fields(alert: Alert, kind: str) -> list[str]:
    """Field/value pairs the tick writes. Never state on update, nor acked_* / snoozed_*: those
    belong to people (the ACT script)."""
    if kind == "open":
        pairs: dict[str, Any] = {"id": alert.id, "rule": alert.rule, "subject": alert.subject, "kind": alert.kind,
                                 "severity": alert.severity, "state": "open", "opened_ms": alert.opened_ms,
                                 "updated_ms": alert.updated_ms, "message": alert.message,
                                 "details": _json(alert.details)}
    elif kind == "resolve":
        pairs = {"state": "resolved", "resolved_ms": alert.resolved_ms, "updated_ms": alert.updated_ms}
    else:
        pairs = {"severity": alert.severity, "message": alert.message, "details": _json(alert.details),
                 "updated_ms": alert.updated_ms}
    out: list[str] = []
    for k, v in pairs.items():
        out += [k, str(v)]
    return out


def _write_args(ev: Evaluation) -> tuple[list[str], list[str]]:
    """The changed alerts' keys' tails (ids) and their ARGV part for TICK_WRITE."""
    by_alert: dict[str, list[dict[str, Any]]] = {}
    for alert, t in ev.transitions:
        by_alert.setdefault(alert.id, []).append(t)
    ids: list[str] = []
    argv: list[str] = []
    ops = [("open", a) for a in ev.opened] + [("update", a) for a in (*ev.escalated, *ev.refreshed)] \
        + [("resolve", a) for a in ev.resolved]
    for op, alert in ops:
        pairs = _fields(alert, op)
        ts = [_json(t) for t in by_alert.get(alert.id, ())]
        score = alert.resolved_ms if op == "resolve" else alert.opened_ms
        ids.append(alert.id)
        argv += [alert.id, op, str(score), str(len(pairs) // 2), *pairs, ",".join(ts), str(len(ts)), *ts]
    return ids, argv


class AlertsComponent:
    """Evaluates alerts once per engine tick. One per engine process (it caches the open alerts)."""

    def __init__(self, store: Store, *, dispatcher: WebhookDispatcher | None = None,
                 config: AlertsConfig | None = None) -> None:
        self.store = store
        self.config = config if config is not None else store.settings.queues.alerts
        self.keys = AlertKeys(store.keys.prefix)
        self._write = store.r.register_script(TICK_WRITE)
        self.active: dict[Key, Alert] = {}
        self.resolved_ms: dict[Key, int] = {}
        self._loaded = False
        self._pruned_ms = 0
        if dispatcher is None and self.config.webhooks:
            dispatcher = WebhookDispatcher(timeout_s=self.config.webhook_timeout_s, retries=self.config.webhook_retries)
        self.dispatcher = dispatcher
        self._health_written: dict[str, Any] | None = None

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()

    # ------------------------------------------------------------------ the tick
    def tick(self, snapshot: Mapping[str, Any], exceptions: Iterable[Mapping[str, Any]], now_ms: int) -> dict[str, Any]:
        """Evaluate every rule against this tick's snapshot and agent exceptions, store what
        changed, notify webhooks. Returns counts and where the time went (for logs)."""
        started = time.perf_counter()
        if not self._loaded:
            self._load(now_ms)
        conditions = queue_conditions(snapshot.get("queues") or (), self.store.queue_config)
        conditions.update(agent_conditions(exceptions or (), self.config.agent_min_severity))
        ev = evaluate(conditions, self.active, self.resolved_ms, now_ms,
                      cooldown_ms=int(self.config.cooldown_s * 1000))
        evaluated = time.perf_counter()
        touched = self._store_changes(ev, now_ms)
        # Only once Redis has it: if the write fails, the next tick finds the same changes again.
        for alert in (*ev.opened, *ev.escalated, *ev.refreshed):
            self.active[alert.key] = alert
        for alert in ev.resolved:
            del self.active[alert.key]
            self.resolved_ms[alert.key] = now_ms
        self._sync(touched)
        written = time.perf_counter()
        notified = self._notify(ev, now_ms)
        self._prune_cooldowns(now_ms)
        states = [a.state for a in self.active.values()]
        return {"active": len(states), "open": states.count("open"), "acknowledged": states.count("acknowledged"),
                "critical": sum(a.severity == "critical" for a in self.active.values()),
                "opened": len(ev.opened), "escalated": len(ev.escalated), "resolved": len(ev.resolved),
                "refreshed": len(ev.refreshed), "cooling": ev.cooling, "notified": notified,
                "evaluate_ms": round((evaluated - started) * 1000, 2), "write_ms": round((written - evaluated) * 1000, 2),
                "notify_ms": round((time.perf_counter() - written) * 1000, 2)}

    def _load(self, now_ms: int) -> None:
        """The open alerts and recent resolutions (for the cooldown), once, at the first tick."""
        r, k = self.store.r, self.keys
        for alert in _fetch(self.store, k, r.zrange(k.active, 0, -1)):
            if alert.state in ACTIVE_STATES:
                self.active[alert.key] = alert
        since = now_ms - int(self.config.cooldown_s * 1000)
        for alert_id, score in r.zrangebyscore(k.resolved, since, "+inf", withscores=True):
            key = key_of_id(alert_id)
            self.resolved_ms[key] = max(self.resolved_ms.get(key, 0), int(score))
        self._loaded = True

    def _store_changes(self, ev: Evaluation, now_ms: int) -> list[Any]:
        k = self.keys
        ids, argv = _write_args(ev)
        health = ""
        if self.dispatcher is not None:
            current = self.dispatcher.health()
            if current != self._health_written:
                self._health_written = current
                health = _json({**current, "updated_ms": now_ms})
        keys = [k.active, k.resolved, k.history, k.touched, k.webhooks, *(k.alert(i) for i in ids)]
        args = [HISTORY_MAXLEN, RESOLVED_KEEP_S, now_ms - RESOLVED_KEEP_S * 1000, k.alert_prefix, health, *argv]
        return self._write(keys=keys, args=args)

    def _sync(self, touched: Sequence[Any]) -> None:
        """Take acknowledgements and snoozes made since the last tick into the cache."""
        for i in range(0, len(touched), 2):
            flat = touched[i + 1]
            h = dict(zip(flat[::2], flat[1::2], strict=True))
            if not h.get("id"):
                continue
            stored = alert_from_hash(h)
            cached = self.active.get(stored.key)
            if cached is None or cached.id != stored.id or stored.state not in ACTIVE_STATES:
                continue
            cached.state, cached.acked_by, cached.acked_ms = stored.state, stored.acked_by, stored.acked_ms
            cached.snoozed_until_ms, cached.snoozed_by = stored.snoozed_until_ms, stored.snoozed_by
            cached.transitions = stored.transitions

    def _notify(self, ev: Evaluation, now_ms: int) -> int:
        hooks = self.config.webhooks
        if self.dispatcher is None or not hooks:
            return 0
        quiet = in_quiet_hours(now_ms, self.store.settings.tz, self.config.quiet_hours)
        sent = 0
        for event, alert in ev.notifications():
            current = self.active.get(alert.key, alert)  # synced: a snooze made just now counts
            urls = (*hooks.get(alert.rule, ()), *hooks.get("*", ()))
            if not urls or not should_notify(current, now_ms, quiet=quiet):
                continue
            if not self.dispatcher.running:
                self.dispatcher.start()
            payload = webhook_payload(event, alert, now_ms)
            for url in urls:
                self.dispatcher.submit(url, payload)
                sent += 1
        return sent

    def _prune_cooldowns(self, now_ms: int) -> None:
        if now_ms - self._pruned_ms < COOLDOWN_PRUNE_EVERY_MS:
            return
        self._pruned_ms = now_ms
        limit = now_ms - int(self.config.cooldown_s * 1000)
        self.resolved_ms = {key: t for key, t in self.resolved_ms.items() if t > limit}


# ---------------------------------------------------------------------- pages and API
def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _fetch(store: Store, keys: AlertKeys, ids: Sequence[str]) -> list[Alert]:
    """The alerts of ``ids`` still stored, in order."""
    read = store.r.register_script(READ)
    out: list[Alert] = []
    for i in range(0, len(ids), READ_CHUNK):
        for raw in read(keys=[keys.alert(a) for a in ids[i:i + READ_CHUNK]]):
            flat = json.loads(raw) if raw else []
            h = dict(zip(flat[::2], flat[1::2], strict=True))
            if h.get("id"):
                out.append(alert_from_hash(h))
    return out


def get_alert(store: Store, alert_id: str, now_ms: int | None = None) -> dict[str, Any] | None:
    """One alert record (with its transitions), or None when unknown or expired."""
    found = _fetch(store, AlertKeys(store.keys.prefix), [alert_id])
    return found[0].as_dict(now_ms if now_ms is not None else _now_ms()) if found else None


def list_alerts(store: Store, state: str | None = None, kind: str | None = None, limit: int = 100,
                now_ms: int | None = None, where: Callable[[Mapping[str, Any]], bool] | None = None,
                ) -> list[dict[str, Any]]:
    """Alerts for the feed: ``state`` open | acknowledged | resolved | active (open or
    acknowledged) | None (active, then resolved newest first); ``kind`` queue | agent | None;
    ``where`` keeps only the records it accepts (what the caller may see), before the limit.
    Active alerts come in feed order (docs/alerts.md: snoozed ones below the rest until their time)."""
    if state is not None and state not in STATES:
        raise ValueError(f"state must be one of {STATES}, got {state!r}")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    now = now_ms if now_ms is not None else _now_ms()
    keys = AlertKeys(store.keys.prefix)
    out: list[dict[str, Any]] = []
    if state != "resolved":
        ids = [i for i in store.r.zrange(keys.active, 0, -1) if kind is None or kind_of_id(i) == kind]
        active = [a.as_dict(now) for a in _fetch(store, keys, ids) if state in (None, "active") or a.state == state]
        out = sorted(filter(where, active) if where else active, key=lambda rec: sort_key(rec, now))[:limit]
    if state in (None, "resolved"):
        page, start = max(limit, 50), 0
        while len(out) < limit:
            ids = store.r.zrevrange(keys.resolved, start, start + page - 1)
            if not ids:
                break
            found = [a.as_dict(now) for a in _fetch(store, keys, [i for i in ids if kind is None or kind_of_id(i) == kind])]
            out += filter(where, found) if where else found
            start += page
    return out[:limit]


def _check_user(user: str) -> None:
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_LEN or not user.isprintable():
        raise AlertError(f"user must be a printable name of 1 to {MAX_USER_LEN} characters")


def _act(store: Store, alert_id: str, action: str, user: str, now_ms: int, *, name: str, until_ms: int = 0,
         extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    _check_user(user)
    keys = AlertKeys(store.keys.prefix)
    t = _json(transition(name, user, now_ms, **(extra or {})))
    script = store.r.register_script(ACT)
    status = script(keys=[keys.alert(alert_id), keys.history, keys.touched],
                    args=[action, user, now_ms, until_ms, alert_id, HISTORY_MAXLEN, t[:-1]])
    if status == "unknown":
        raise UnknownAlert(f"unknown alert {alert_id!r}")
    if status == "resolved":
        raise AlertResolved(f"alert {alert_id!r} is already resolved")
    record = get_alert(store, alert_id, now_ms)
    if record is None:  # expired between the two calls: only a resolved alert expires
        raise AlertResolved(f"alert {alert_id!r} is already resolved")
    return record


def acknowledge(store: Store, alert_id: str, user: str, now_ms: int) -> dict[str, Any]:
    """open → acknowledged, by ``user``. Acknowledging twice keeps the first. Raises
    :class:`UnknownAlert` or :class:`AlertResolved`."""
    return _act(store, alert_id, "ack", user, now_ms, name="acknowledged")


def snooze(store: Store, alert_id: str, user: str, minutes: int, now_ms: int) -> dict[str, Any]:
    """Silence an open or acknowledged alert for ``minutes`` (0 wakes it now): no webhook while
    snoozed, and it sorts below the others until then. It still resolves if its condition clears."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= MAX_SNOOZE_MIN:
        raise AlertError(f"minutes must be a whole number from 0 to {MAX_SNOOZE_MIN}")
    until = now_ms + minutes * 60_000
    return _act(store, alert_id, "snooze", user, now_ms, name="snoozed" if minutes else "woken", until_ms=until,
                extra={"until_ms": until, "minutes": minutes})


def alert_history(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The newest transitions of every alert (the bounded history stream), newest first."""
    entries = store.r.xrevrange(AlertKeys(store.keys.prefix).history, count=limit)
    return [{"alert": fields["alert"], **json.loads(fields["t"])} for _, fields in entries]


def read_webhook_health(store: Store) -> dict[str, Any] | None:
    """The engine's webhook counters (sent, failed, retried, dropped, pending, last error), as
    last written by its alerts tick; None when no webhook is configured or it has not ticked."""
    raw = store.r.get(AlertKeys(store.keys.prefix).webhooks)
    return json.loads(raw) if raw else None
