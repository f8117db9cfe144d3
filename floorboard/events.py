"""The canonical event format, version 1 (see docs/events.md and events.schema.json).

Every adapter produces these; the aggregator accepts nothing else. Parsing is pure: a payload
either becomes an :class:`Event` or raises :class:`InvalidEvent` with a reason a person can act
on. Checks that need the clock or Redis state (future timestamps, lateness, unknown calls) are
the aggregator's.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

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
_ALLOWED = {t: frozenset(COMMON + REQUIRED[t] + OPTIONAL.get(t, ())) for t in REQUIRED}
_CALL_WITH_AGENT = frozenset(t for t in CALL_TYPES if "agent" in REQUIRED[t])

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


# Event's fields as a tuple, in field order (see event_fields).
EventFields = tuple[
    str, int, str, str, str | None, str | None, str | None, str | None, float | None, str | None, str | None,
    str | None, tuple[str, ...] | None,
]


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
        raise InvalidEvent(f"ts {value!r:.40} is outside 2000..2100 (seconds sent as milliseconds?)")
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
    if _FORBIDDEN(value):
        # Braces would break Redis Cluster hash tags in our keys; control characters are noise.
        raise InvalidEvent(f"{key} {value!r} contains braces or control characters")
    return value


# decode_payload: orjson reads an integer beyond 64 bits as a float at least this large, and
# nesting below this depth is well within the standard parser's limit wherever it is called from.
_WIDE = 2.0**63
_MAX_FAST_DEPTH = 500
_NOT_PARSED = object()
_FORBIDDEN = re.compile(r"[{}\n\r\t]").search  # what a name must not hold (_name and _ok_name)


def _ok_name(value: Any, limit: int = MAX_NAME_LEN) -> bool:
    """Whether ``_name`` would accept ``value`` as it is (answered without building a message:
    validation runs for every event, and almost every name is plain)."""
    return (
        value.__class__ is str
        and len(value) <= limit
        and (value.isalnum() or (value != "" and not value.isspace() and _FORBIDDEN(value) is None))
    )


def _duration(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent(f"{key} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        raise InvalidEvent(f"{key} is too large to be a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidEvent(f"{key} must be a finite, non-negative number of seconds, got {value!r}")
    return seconds


def parse_event(obj: Any) -> Event:
    """Validate one decoded JSON object as a v1 event."""
    return Event(*event_fields(obj))


def event_fields(obj: Any) -> EventFields:
    """Validate like :func:`parse_event`, but return the event's fields as a tuple in the order
    of :class:`Event`'s (building the frozen object costs as much as validating it, and the
    aggregator and the replay adapter only read a few fields)."""
    try:
        return _event_fields(obj)
    except InvalidEvent:
        raise
    except (TypeError, ValueError, OverflowError, RecursionError) as e:
        # A value no check foresaw must still be a rejection with a reason, never an error that
        # stops the caller: a batch that raised would be claimed and retried forever.
        raise InvalidEvent(f"malformed event: {type(e).__name__}: {e}") from None


def _event_fields(obj: Any) -> EventFields:
    # Each check takes the quick way when the value is plainly fine and otherwise asks the
    # general helper, which raises with the reason; the checks run in the order the reasons
    # are documented, so a payload with several problems always gets the same one.
    if not isinstance(obj, dict):
        raise InvalidEvent(f"an event must be a JSON object, got {type(obj).__name__}")
    v = obj.get("v")
    if v != VERSION or isinstance(v, bool):
        raise InvalidEvent(f"v must be {VERSION}, got {v!r}")
    etype = obj.get("type")
    allowed = _ALLOWED.get(etype) if isinstance(etype, str) else None
    if allowed is None:
        raise InvalidEvent(f"unknown type {etype!r}; expected one of {', '.join(EVENT_TYPES)}")
    if not allowed.issuperset(obj):
        raise InvalidEvent(f"unexpected field(s) {sorted(set(obj) - allowed)} for {etype}")
    event_id = _required_name(obj, "id", MAX_ID_LEN)
    if "ts" not in obj:
        raise InvalidEvent("ts is required")
    ts_ms = obj["ts"]
    if not (ts_ms.__class__ is int and MIN_TS_MS <= ts_ms <= MAX_TS_MS):
        ts_ms = parse_ts_ms(ts_ms)
    source = _optional_name(obj, "source") or "default"
    if etype == "agent.state":
        agent = _required_name(obj, "agent")
        state, reason, queues = _agent_state_fields(obj)
        return (event_id, ts_ms, etype, source, None, None, agent, None, None, None, state, reason, queues)
    queue = _required_name(obj, "queue")
    call = _required_name(obj, "call")
    agent = _required_name(obj, "agent") if etype in _CALL_WITH_AGENT else None
    caller = hold_s = to_queue = None
    if etype == "call.queued":
        caller = _optional_name(obj, "caller")
    elif etype == "call.ended":
        hold_s = _hold_s(obj)
    elif etype == "call.transferred":
        to_queue = _optional_name(obj, "to_queue")
    return (event_id, ts_ms, etype, source, queue, call, agent, caller, hold_s, to_queue, None, None, None)


def _required_name(obj: dict[str, Any], key: str, limit: int = MAX_NAME_LEN) -> str:
    value = obj.get(key)
    if _ok_name(value, limit):
        return value  # type: ignore[no-any-return]
    return _name(obj, key, required=True, limit=limit)  # type: ignore[return-value]


def _hold_s(obj: dict[str, Any]) -> float | None:
    value = obj.get("hold_s")
    if value.__class__ is int and 0 <= value <= MAX_TS_MS:  # beyond: _duration says why
        return float(value)
    if value.__class__ is float and 0.0 <= value < math.inf:
        return value  # type: ignore[no-any-return]
    return _duration(obj, "hold_s")


def _optional_name(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or _ok_name(value):
        return value
    return _name(obj, key, required=False)


def _agent_state_fields(obj: dict[str, Any]) -> tuple[str, str | None, tuple[str, ...] | None]:
    state = obj.get("state")
    if state not in AGENT_STATES:
        raise InvalidEvent(f"unknown state {state!r}; expected one of {', '.join(AGENT_STATES)}")
    reason = _optional_name(obj, "reason")
    if reason is not None and state != "aux":
        raise InvalidEvent(f"reason is only for state aux, got reason {reason!r} with {state!r}")
    queues = obj.get("queues")
    if queues is not None:
        if not isinstance(queues, list) or len(queues) > 200:
            raise InvalidEvent("queues must be a list of at most 200 queue names")
        queues = tuple(q if _ok_name(q) else _name({"q": q, "type": "agent.state"}, "q", required=True)
                       for q in queues)
    return state, reason, queues


def decode_payload(raw: bytes | str) -> list[Any]:
    """A transport payload: one JSON event or a JSON array of events.

    Raises InvalidEvent when the payload itself is not JSON; the items are returned undecoded
    so each can be validated (and dead-lettered) on its own.
    """
    data = load_json(raw)
    return data if isinstance(data, list) else [data]


def load_json(raw: bytes | str) -> Any:
    """Parse JSON text as the standard library's ``json.loads`` does (same values, same errors),
    raising InvalidEvent (``malformed JSON: …``) when it is not JSON."""
    data = _fast_loads(raw)
    if data is _NOT_PARSED:
        try:
            data = json.loads(raw)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of too many digits
            raise InvalidEvent(f"malformed JSON: {exc}") from None
        except RecursionError:
            raise InvalidEvent("malformed JSON: nested too deeply") from None
    return data


def _fast_loads(raw: Any) -> Any:
    """``raw`` parsed by orjson, or _NOT_PARSED where the standard parser must decide.

    orjson is several times faster, but it differs from the standard parser at the edges: it
    refuses NaN and Infinity, lone surrogates, a byte-order mark and encodings other than UTF-8,
    reads integers beyond 64 bits as floats, and words its errors differently. What it refuses
    or may have read differently (a float that large, nesting deep enough to come near either
    parser's limit, an input type the standard parser does not take) is left to the standard
    parser, so the outcome and every reason stay the standard parser's.
    """
    if raw.__class__ is not str and raw.__class__ is not bytes:
        return _NOT_PARSED
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_PARSED
    cls = data.__class__
    if cls is dict or cls is list:
        return _NOT_PARSED if _unlike_json(data, 1) else data
    if cls is float and not -_WIDE < data < _WIDE:
        return _NOT_PARSED
    return data


def _unlike_json(data: dict[str, Any] | list[Any], depth: int) -> bool:
    """Whether orjson's reading of a container may differ from the standard parser's."""
    if depth >= _MAX_FAST_DEPTH:
        return True
    for value in data.values() if data.__class__ is dict else data:  # type: ignore[union-attr]
        cls = value.__class__
        if cls is float:
            if not -_WIDE < value < _WIDE:
                return True
        elif (cls is dict or cls is list) and _unlike_json(value, depth + 1):
            return True
    return False
