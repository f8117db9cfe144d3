"""The JSON Schema file and the parser agree on what a valid v1 event is."""

import json
from pathlib import Path

import jsonschema
import pytest

from floorboard.events import InvalidEvent, parse_event
from tests.unit.test_events import T0

SCHEMA = json.loads((Path(__file__).parents[2] / "floorboard" / "events.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

VALID = [
    {"v": 1, "id": "1", "ts": T0, "type": "call.queued", "queue": "q", "call": "c", "caller": "+33"},
    {"v": 1, "id": "2", "ts": "2025-11-24T16:00:00+01:00", "type": "call.answered", "queue": "q", "call": "c", "agent": "a"},
    {"v": 1, "id": "3", "ts": T0, "type": "call.abandoned", "queue": "q", "call": "c"},
    {"v": 1, "id": "4", "ts": T0, "type": "call.ended", "queue": "q", "call": "c", "agent": "a", "hold_s": 12.5},
    {"v": 1, "id": "5", "ts": T0, "type": "call.transferred", "queue": "q", "call": "c", "agent": "a", "to_queue": "q2"},
    {"v": 1, "id": "6", "ts": T0, "type": "call.missed", "queue": "q", "call": "c", "agent": "a", "source": "pbx1"},
    {"v": 1, "id": "7", "ts": T0, "type": "agent.state", "agent": "a", "state": "aux", "reason": "break", "queues": ["q"]},
]
INVALID = [
    {"v": 2, "id": "1", "ts": T0, "type": "call.queued", "queue": "q", "call": "c"},
    {"v": 1, "id": "1", "ts": T0, "type": "call.queued", "queue": "q"},
    {"v": 1, "id": "1", "ts": T0, "type": "call.queued", "queue": "q", "call": "c", "x": 1},
    {"v": 1, "id": "1", "ts": "2025-11-24T16:00:00", "type": "call.queued", "queue": "q", "call": "c"},
    {"v": 1, "id": "1", "ts": T0, "type": "call.ended", "queue": "q", "call": "c", "agent": "a", "hold_s": -1},
    {"v": 1, "id": "1", "ts": T0, "type": "agent.state", "agent": "a", "state": "nap"},
    {"v": 1, "id": "1", "ts": T0, "type": "agent.state", "agent": "a", "state": "available", "reason": "lunch"},
    {"v": 1, "id": "1", "ts": T0, "type": "call.queued", "queue": "q{x}", "call": "c"},
]


@pytest.mark.parametrize("event", VALID, ids=lambda e: e["type"])
def test_valid_events_pass_both(event):
    VALIDATOR.validate(event)
    parse_event(event)


@pytest.mark.parametrize("event", INVALID)
def test_invalid_events_fail_both(event):
    assert not VALIDATOR.is_valid(event)
    with pytest.raises(InvalidEvent):
        parse_event(event)


def test_schema_is_itself_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
