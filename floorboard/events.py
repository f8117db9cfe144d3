"""The canonical event format, version 1 (see docs/events.md and events.schema.json).

Every adapter produces these; the aggregator accepts nothing else. Parsing is pure: a payload
either becomes an :class:`Event` or raises :class:`InvalidEvent` with a reason a person can act
on. Checks that need the clock or Redis state (future timestamps, lateness, unknown calls) are
the aggregator's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

VERSION = 1

CALL_TYPES = (
    "call.queued",
    "call.answered",
    "call.abandoned",
    "call.ended",
    "call.transferred",
    "call.missed",
)
AGENT_TYPES = ("agent.state",)
EVENT_TYPES = CALL_TYPES + AGENT_TYPES
AGENT_STATES = ("logged_out", "available", "on_call", "acw", "aux")

# Required fields per type (beyond v, id, ts, type). Optional ones are listed in OPTIONAL.
REQUIRED: dict[str, tuple[str, ...]] = {
    "call.queued": ("queue", "call"),
    "call.answered": ("queue", "call", "agent"),
    "call.abandoned": ("queue", "call"),
    "call.ended": ("queue", "call", "agent"),
    "call.transferred": ("queue", "call", "agent"),
    "call.missed": ("queue", "call", "agent"),
    "agent.state": ("agent", "state"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "call.queued": ("caller",),
    "call.ended": ("hold_s",),
    "call.transferred": ("to_queue",),
    "agent.state": ("reason", "queues"),
}
COMMON = ("v", "id", "ts", "type", "source")

MAX_ID_LEN = 200
MAX_NAME_LEN = 120
# Epoch-ms sanity window: 2000-01-01 .. 2100-01-01. Anything outside is a unit mistake
# (seconds sent as milliseconds, or microseconds), not a real timestamp.
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000


class InvalidEvent(ValueError):
    """The payload is not a valid v1 event; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    ts_ms: int
    type: str
    source: str = "default"
    queue: str | None = None
    call: str | None = None
    agent: str | None = None
    caller: str | None = None
    hold_s: float | None = None
    to_queue: str | None = None
    state: str | None = None
    reason: str | None = None
    queues: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON object for this event (timestamps as epoch ms)."""
        out: dict[str, Any] = {"v": VERSION, "id": self.id, "ts": self.ts_ms, "type": self.type}
        if self.source != "default":
            out["source"] = self.source
        for name in REQUIRED[self.type] + OPTIONAL.get(self.type, ()):
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if name == "queues" else value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def parse_ts_ms(value: Any) -> int:
    """``ts`` as integer epoch milliseconds, from an int or an ISO-8601 string with an offset."""
    if isinstance(value, bool):
        raise InvalidEvent("ts must be epoch milliseconds or ISO-8601 with an offset, got a boolean")
    if isinstance(value, int):
        ts_ms = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise InvalidEvent(f"ts must be whole epoch milliseconds, got {value!r}")
        ts_ms = int(value)
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEvent(f"ts {value!r} is not ISO-8601") from None
        if dt.tzinfo is None:
            raise InvalidEvent(f"ts {value!r} has no UTC offset; add one (e.g. Z or +01:00)")
        ts_ms = round(dt.timestamp() * 1000)
    else:
        raise InvalidEvent(f"ts must be epoch milliseconds or ISO-8601, got {type(value).__name__}")
    if not MIN_TS_MS <= ts_ms <= MAX_TS_MS:
        raise InvalidEvent(f"ts {value!r} is outside 2000..2100 (seconds sent as milliseconds?)")
    return ts_ms


def _name(obj: dict[str, Any], key: str, *, required: bool, limit: int = MAX_NAME_LEN) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidEvent(f"{key} is required for {obj.get('type')}")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"{key} must be a non-empty string, got {value!r}")
    if len(value) > limit:
        raise InvalidEvent(f"{key} is longer than {limit} characters")
    if any(ch in value for ch in "{}\n\r\t"):
        # Braces would break Redis Cluster hash tags in our keys; control characters are noise.
        raise InvalidEvent(f"{key} {value!r} contains braces or control characters")
    return value


def _duration(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent(f"{key} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise InvalidEvent(f"{key} must be a finite, non-negative number of seconds, got {value!r}")
    return float(value)


def parse_event(obj: Any) -> Event:
    """Validate one decoded JSON object as a v1 event."""
    if not isinstance(obj, dict):
        raise InvalidEvent(f"an event must be a JSON object, got {type(obj).__name__}")
    if obj.get("v") != VERSION or isinstance(obj.get("v"), bool):
        raise InvalidEvent(f"v must be {VERSION}, got {obj.get('v')!r}")
    etype = obj.get("type")
    if etype not in REQUIRED:
        raise InvalidEvent(f"unknown type {etype!r}; expected one of {', '.join(EVENT_TYPES)}")
    allowed = set(COMMON) | set(REQUIRED[etype]) | set(OPTIONAL.get(etype, ()))
    extra = sorted(set(obj) - allowed)
    if extra:
        raise InvalidEvent(f"unexpected field(s) {extra} for {etype}")
    event_id = _name(obj, "id", required=True, limit=MAX_ID_LEN)
    ts_ms = parse_ts_ms(obj.get("ts")) if "ts" in obj else None
    if ts_ms is None:
        raise InvalidEvent("ts is required")
    fields: dict[str, Any] = {
        "id": event_id,
        "ts_ms": ts_ms,
        "type": etype,
        "source": _name(obj, "source", required=False) or "default",
    }
    for key in REQUIRED[etype]:
        if key != "state":
            fields[key] = _name(obj, key, required=True)
    if etype == "call.queued":
        fields["caller"] = _name(obj, "caller", required=False)
    elif etype == "call.ended":
        fields["hold_s"] = _duration(obj, "hold_s")
    elif etype == "call.transferred":
        fields["to_queue"] = _name(obj, "to_queue", required=False)
    elif etype == "agent.state":
        fields.update(_agent_state_fields(obj))
    return Event(**fields)


def _agent_state_fields(obj: dict[str, Any]) -> dict[str, Any]:
    state = obj.get("state")
    if state not in AGENT_STATES:
        raise InvalidEvent(f"unknown state {state!r}; expected one of {', '.join(AGENT_STATES)}")
    reason = _name(obj, "reason", required=False)
    if reason is not None and state != "aux":
        raise InvalidEvent(f"reason is only for state aux, got reason {reason!r} with {state!r}")
    queues = obj.get("queues")
    if queues is not None:
        if not isinstance(queues, list) or len(queues) > 200:
            raise InvalidEvent("queues must be a list of at most 200 queue names")
        queues = tuple(_name({"q": q, "type": "agent.state"}, "q", required=True) for q in queues)
    return {"state": state, "reason": reason, "queues": queues}


def decode_payload(raw: bytes | str) -> list[Any]:
    """A transport payload: one JSON event or a JSON array of events.

    Raises InvalidEvent when the payload itself is not JSON; the items are returned undecoded
    so each can be validated (and dead-lettered) on its own.
    """
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise InvalidEvent("malformed JSON: nested too deeply") from None
    return data if isinstance(data, list) else [data]
