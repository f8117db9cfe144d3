"""Alert rules and lifecycle, as pure functions: conditions now + the alerts open before → changes.

No Redis, no clock, no config reads: :mod:`realtime.alerts` feeds this module each tick and
stores what it returns. See docs/alerts.md for the rules, thresholds and lifecycle.

An alert is identified by its rule, its subject (a queue id or an agent id) and its episode (the
millisecond it opened): while a condition holds it is the same alert, whatever happens to its
figures; a worse severity escalates it, never opens a second one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from floorboard.config import QueueConfig

SYSTEM = "system"  # the user recorded on automatic transitions
SEVERITY_RANK = {"warning": 1, "critical": 2}
ACTIVE_STATES = ("open", "acknowledged")
# A standing alert's message and figures are rewritten at most this often when nothing else
# changes about it: the feed stays current to within 15 s without a write per alert per tick.
REFRESH_MS = 15_000
# Critical at this multiple of a queue's wait or callers limit (warning just above it).
CRITICAL_FACTOR = 2.0

Key = tuple[str, str]  # (rule, subject)


@dataclass(frozen=True, slots=True)
class Condition:
    """A rule that holds now for one subject, with what to say about it."""

    rule: str
    subject: str
    kind: str  # "queue" | "agent"
    severity: str  # "warning" | "critical"
    message: str
    details: dict[str, Any]

    @property
    def key(self) -> Key:
        return self.rule, self.subject


@dataclass(slots=True)
class Alert:
    """One alert record (the shape the API returns; docs/alerts.md)."""

    id: str
    rule: str
    subject: str
    kind: str
    severity: str
    state: str  # open | acknowledged | resolved
    opened_ms: int
    updated_ms: int
    message: str
    details: dict[str, Any]
    resolved_ms: int | None = None
    acked_by: str | None = None
    acked_ms: int | None = None
    snoozed_until_ms: int | None = None
    snoozed_by: str | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return self.rule, self.subject

    def snoozed(self, now_ms: int) -> bool:
        return self.snoozed_until_ms is not None and self.snoozed_until_ms > now_ms

    def as_dict(self, now_ms: int | None = None) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["transitions"] = list(self.transitions)
        if now_ms is not None:
            out["snoozed"] = self.snoozed(now_ms)
        return out


def alert_id(rule: str, subject: str, opened_ms: int) -> str:
    return f"{rule}:{subject}:{opened_ms}"


def key_of_id(alert_id_: str) -> Key:
    """(rule, subject) of an alert id; subjects may contain ':' themselves, rules never do."""
    rule, _, rest = alert_id_.partition(":")
    return rule, rest.rpartition(":")[0]


def kind_of_id(alert_id_: str) -> str:
    """queue | agent, from the rule the id starts with (no read needed to filter by kind)."""
    return "agent" if alert_id_.startswith("agent_exception:") else "queue"


def transition(action: str, by: str, at_ms: int, **extra: Any) -> dict[str, Any]:
    """One entry of an alert's history: when, what, who, plus what the action set."""
    return {"at_ms": at_ms, "action": action, "by": by, **extra}


# ----------------------------------------------------------------------- wording
def _pct(ratio: float, *, floor: bool = False) -> str:
    # The measured SL rounds down, so 79.6 % never reads "80 % below target 80 %".
    value = math.floor(ratio * 100 + 1e-9) if floor else round(ratio * 100, 1)
    return f"{value:g} %"


def duration(seconds: float) -> str:
    """'45 s', '3 min 12 s', '2 min', '1 h 05 min'."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"{m} min {rest:02d} s" if rest else f"{m} min"
    h, rest = divmod(s, 3600)
    return f"{h} h {rest // 60:02d} min"


def _callers(n: float) -> str:
    return f"{n:g} caller" + ("" if n == 1 else "s")


# ----------------------------------------------------------------------- conditions
def _sl_condition(label: str, cfg: QueueConfig, block: Mapping[str, Any]) -> Condition | None:
    period = block.get(cfg.alert_sl_period) or {}
    sl, offered = period.get("service_level"), period.get("offered") or 0
    if sl is None or offered < cfg.alert_min_offered or not sl < cfg.sl_target:
        return None
    severity = "critical" if sl < cfg.sl_critical else "warning"
    scope = "" if cfg.alert_sl_period == "today" else " this interval"
    return Condition(
        "sl_below_target", block["id"], "queue", severity,
        f"{label}: SL{scope} {_pct(sl, floor=True)} below target {_pct(cfg.sl_target)}",
        {"service_level": sl, "target": cfg.sl_target, "critical_below": cfg.sl_critical,
         "period": cfg.alert_sl_period, "offered": offered, "min_offered": cfg.alert_min_offered},
    )


def _queue_block_conditions(cfg: QueueConfig, block: Mapping[str, Any]) -> Iterable[Condition]:
    qid, label, off = block["id"], cfg.label, cfg.alert_rules_off
    now = block.get("now") or {}
    waiting = now.get("waiting") or 0
    longest = now.get("longest_wait_s") or 0.0
    agents = now.get("agents") or {}
    if "sl_below_target" not in off and (c := _sl_condition(label, cfg, block)) is not None:
        yield c
    limit = cfg.alert_longest_wait_s
    if "longest_wait_above" not in off and waiting > 0 and longest > limit:
        yield Condition(
            "longest_wait_above", qid, "queue", "critical" if longest > limit * CRITICAL_FACTOR else "warning",
            f"{label}: longest wait {duration(longest)} above limit {duration(limit)}",
            {"longest_wait_s": longest, "limit_s": limit, "waiting": waiting},
        )
    limit = cfg.alert_waiting_above
    if "waiting_above" not in off and waiting > limit:
        yield Condition(
            "waiting_above", qid, "queue", "critical" if waiting > limit * CRITICAL_FACTOR else "warning",
            f"{label}: {_callers(waiting)} waiting, above limit {limit:g}",
            {"waiting": waiting, "limit": limit, "longest_wait_s": longest},
        )
    available, logged_in = agents.get("available") or 0, agents.get("logged_in") or 0
    if "no_agent_available" not in off and waiting > 0 and available == 0:
        who = f"{logged_in} logged in, none available" if logged_in else "no agent logged in"
        yield Condition(
            "no_agent_available", qid, "queue", "critical",
            f"{label}: {_callers(waiting)} waiting and {who}",
            {"waiting": waiting, "available": available, "logged_in": logged_in, "longest_wait_s": longest},
        )


def queue_conditions(
    blocks: Iterable[Mapping[str, Any]], config_for: Callable[[str], QueueConfig]
) -> dict[Key, Condition]:
    """Every queue rule that holds now, from the engine snapshot's queue blocks."""
    out: dict[Key, Condition] = {}
    for block in blocks:
        cfg = config_for(block["id"])
        if not cfg.alerts_enabled:
            continue
        for c in _queue_block_conditions(cfg, block):
            out[c.key] = c
    return out


def _activity(state: str | None, reason: str | None) -> str:
    if not state:
        return "unknown"
    return f"{state} ({reason})" if state == "aux" and reason else state


def agent_conditions(exceptions: Iterable[Mapping[str, Any]], min_severity: str = "warning") -> dict[Key, Condition]:
    """One condition per agent exception (already past its grace period) of at least ``min_severity``."""
    floor = SEVERITY_RANK[min_severity]
    out: dict[Key, Condition] = {}
    for e in exceptions:
        severity = e.get("severity") if e.get("severity") in SEVERITY_RANK else "warning"
        if SEVERITY_RANK[severity] < floor:
            continue
        agent = e["agent"]
        name = e.get("name") or agent
        team = f" ({e['team']})" if e.get("team") else ""
        # Whole minutes: the message (and so the stored record) changes once a minute, not per tick.
        out_min = int((e.get("out_s") or 0) // 60)
        message = (f"{name}{team}: {_activity(e.get('actual_state'), e.get('actual_reason'))} "
                   f"while scheduled {e.get('scheduled') or 'nothing'}, for {out_min} min")
        if e.get("impact") == "hurts":
            message += ", hurting service level"
        out[("agent_exception", agent)] = Condition("agent_exception", agent, "agent", severity, message, dict(e))
    return out


# ----------------------------------------------------------------------- lifecycle
@dataclass(slots=True)
class Evaluation:
    """What one tick changes. Alerts here are new objects; the previous ones are untouched."""

    opened: list[Alert] = field(default_factory=list)
    escalated: list[Alert] = field(default_factory=list)
    refreshed: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    cooling: int = 0  # conditions held back by the cooldown
    # (alert, transition) in the order they happened, for the history stream.
    transitions: list[tuple[Alert, dict[str, Any]]] = field(default_factory=list)

    @property
    def changed(self) -> list[Alert]:
        return [*self.opened, *self.escalated, *self.refreshed, *self.resolved]

    def notifications(self) -> list[tuple[str, Alert]]:
        """(event, alert) worth telling someone about: opened, escalated, resolved."""
        return ([("opened", a) for a in self.opened] + [("escalated", a) for a in self.escalated]
                + [("resolved", a) for a in self.resolved])


def _open(c: Condition, now_ms: int) -> Alert:
    t = transition("opened", SYSTEM, now_ms, state="open", severity=c.severity)
    return Alert(alert_id(c.rule, c.subject, now_ms), c.rule, c.subject, c.kind, c.severity, "open",
                 now_ms, now_ms, c.message, c.details, transitions=[t])


def evaluate(
    conditions: Mapping[Key, Condition],
    active: Mapping[Key, Alert],
    resolved_ms: Mapping[Key, int],
    now_ms: int,
    *,
    cooldown_ms: int,
    refresh_ms: int = REFRESH_MS,
) -> Evaluation:
    """The lifecycle step.

    - An active alert whose condition no longer holds resolves (by ``system``), whatever its
      state or snooze.
    - A condition with a higher severity than its alert escalates it; a lower one leaves the
      alert at its peak (it is still the same episode). An acknowledged alert stays acknowledged.
    - Otherwise a standing alert's message and details are refreshed when the message changed and
      ``refresh_ms`` passed since the last write.
    - A condition with no active alert opens one, unless the same rule and subject resolved less
      than ``cooldown_ms`` ago (``resolved_ms``).
    """
    ev = Evaluation()
    for key, alert in active.items():
        c = conditions.get(key)
        if c is None:
            t = transition("resolved", SYSTEM, now_ms, state="resolved")
            done = replace(alert, state="resolved", resolved_ms=now_ms, updated_ms=now_ms,
                           transitions=[*alert.transitions, t])
            ev.resolved.append(done)
            ev.transitions.append((done, t))
        elif SEVERITY_RANK[c.severity] > SEVERITY_RANK[alert.severity]:
            t = transition("escalated", SYSTEM, now_ms, severity=c.severity, previous=alert.severity)
            up = replace(alert, severity=c.severity, message=c.message, details=c.details, updated_ms=now_ms,
                         transitions=[*alert.transitions, t])
            ev.escalated.append(up)
            ev.transitions.append((up, t))
        elif c.message != alert.message and now_ms - alert.updated_ms >= refresh_ms:
            ev.refreshed.append(replace(alert, message=c.message, details=c.details, updated_ms=now_ms))
    for key, c in conditions.items():
        if key in active:
            continue
        last = resolved_ms.get(key)
        if last is not None and now_ms - last < cooldown_ms:
            ev.cooling += 1
            continue
        alert = _open(c, now_ms)
        ev.opened.append(alert)
        ev.transitions.append((alert, alert.transitions[0]))
    return ev


# ----------------------------------------------------------------------- notifying and listing
def in_quiet_hours(now_ms: int, tz: ZoneInfo, window: tuple[int, int] | None) -> bool:
    """Whether the local time of day is in [start, end) (minutes; the window may span midnight)."""
    if window is None or window[0] == window[1]:
        return False
    local = datetime.fromtimestamp(now_ms / 1000, tz)
    minute = local.hour * 60 + local.minute
    start, end = window
    return start <= minute < end if start < end else (minute >= start or minute < end)


def should_notify(alert: Alert, now_ms: int, *, quiet: bool) -> bool:
    """Webhooks stay silent for a snoozed alert and during quiet hours (the feed still shows it)."""
    return not quiet and not alert.snoozed(now_ms)


def sort_key(record: Mapping[str, Any], now_ms: int) -> tuple[Any, ...]:
    """Feed order: active before resolved; snoozed (until their time) below the rest; critical
    first; then open before acknowledged; newest first."""
    snoozed = (record.get("snoozed_until_ms") or 0) > now_ms
    resolved = record.get("state") == "resolved"
    return (resolved, snoozed, -SEVERITY_RANK.get(record.get("severity", ""), 0),
            record.get("state") == "acknowledged", -(record.get("resolved_ms") or record.get("opened_ms") or 0))


def webhook_payload(event: str, alert: Alert, now_ms: int) -> dict[str, Any]:
    """The JSON posted to a webhook: ``text`` for chat tools (Slack, Teams, Mattermost…) and the
    structured alert for anything else."""
    if event == "resolved":
        text = f"Resolved: {alert.message}"
    elif event == "escalated":
        text = f"[{alert.severity.upper()}] Escalated: {alert.message}"
    else:
        text = f"[{alert.severity.upper()}] {alert.message}"
    body = alert.as_dict(now_ms)
    body.pop("transitions")
    return {"text": text, "event": event, "sent_ms": now_ms, "alert": body}

