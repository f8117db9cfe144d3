import json
import math

import pytest

from floorboard.events import Event, InvalidEvent, decode_payload, parse_event, parse_ts_ms

T0 = 1_764_000_000_000


def ev(**kw):
    base = {"v": 1, "id": "e1", "ts": T0, "type": "call.queued", "queue": "sales", "call": "c1"}
    base.update(kw)
    return base


def test_valid_event_round_trips():
    e = parse_event(ev(caller="+331234"))
    assert e == Event(id="e1", ts_ms=T0, type="call.queued", queue="sales", call="c1", caller="+331234")
    assert parse_event(json.loads(e.to_json())) == e


def test_iso_timestamp_with_offset():
    assert parse_ts_ms("2025-11-24T17:00:00+01:00") == parse_ts_ms("2025-11-24T16:00:00Z")
    assert parse_ts_ms("2025-11-24T16:00:00.250Z") % 1000 == 250


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (ev(v=2), "v must be 1"),
        (ev(v=True), "v must be 1"),
        (ev(type="call.teleported"), "unknown type"),
        (ev(queue=None), "queue is required"),
        (ev(queue=""), "non-empty string"),
        (ev(queue=7), "non-empty string"),
        (ev(queue="a{b}"), "braces"),
        (ev(id=None), "id is required"),
        (ev(ts="yesterday"), "not ISO-8601"),
        (ev(ts="2025-11-24T16:00:00"), "no UTC offset"),
        (ev(ts=1_764_000_000), "outside 2000..2100"),
        (ev(ts=1.5e12 + 0.5), "whole epoch milliseconds"),
        (ev(extra=1), "unexpected field"),
        ({"v": 1, "id": "x", "ts": T0, "type": "call.ended", "queue": "q", "call": "c", "agent": "a", "hold_s": -1}, "non-negative"),
        ({"v": 1, "id": "x", "ts": T0, "type": "call.ended", "queue": "q", "call": "c", "agent": "a", "hold_s": math.nan}, "finite"),
        ({"v": 1, "id": "x", "ts": T0, "type": "call.ended", "queue": "q", "call": "c", "agent": "a", "hold_s": "10"}, "number of seconds"),
        ({"v": 1, "id": "x", "ts": T0, "type": "agent.state", "agent": "a", "state": "sleeping"}, "unknown state"),
        ({"v": 1, "id": "x", "ts": T0, "type": "agent.state", "agent": "a", "state": "available", "reason": "lunch"}, "only for state aux"),
        ({"v": 1, "id": "x", "ts": T0, "type": "agent.state", "agent": "a", "state": "aux", "queues": "sales"}, "queues must be a list"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_invalid_events_name_the_problem(payload, reason):
    with pytest.raises(InvalidEvent) as info:
        parse_event(payload)
    assert reason in info.value.reason


def test_decode_payload_single_array_and_garbage():
    assert decode_payload('{"a": 1}') == [{"a": 1}]
    assert decode_payload("[1, 2]") == [1, 2]
    with pytest.raises(InvalidEvent, match="malformed JSON"):
        decode_payload("{nope")
    with pytest.raises(InvalidEvent, match="malformed JSON"):
        decode_payload(b"\xff\xfe")
    with pytest.raises(InvalidEvent, match="malformed JSON"):
        decode_payload("[" * 100_000)


def test_agent_state_with_skills():
    e = parse_event({"v": 1, "id": "x", "ts": T0, "type": "agent.state", "agent": "a", "state": "aux", "reason": "break", "queues": ["q1", "q2"]})
    assert e.queues == ("q1", "q2") and e.reason == "break"
    assert parse_event(e.to_dict()) == e
