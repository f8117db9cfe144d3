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


# The payload parser takes a quick way (orjson) where it gives what json.loads gives and leaves the
# rest to json.loads: same values, same errors, so the same events and dead-letter reasons.
EDGE_JSON = [
    '{"v": 1, "id": "e1", "ts": 1764000000000, "type": "call.queued", "queue": "sales", "call": "c1"}',
    '[{"a": 1}, {"b": [1, 2.5, null, true]}]',
    '{"a": 1, "a": 2}',  # the last duplicate wins
    '{"a": NaN, "b": Infinity, "c": -Infinity}',  # not JSON, but json.loads takes them
    "18446744073709551616",  # beyond 64 bits: orjson would make it a float
    "-9223372036854775809",
    '{"ts": 123456789012345678901234567890}',
    "1e400",
    "1.7976931348623157e308",
    "-0",
    "-0.0",
    '"\\ud800"',  # a lone surrogate
    '"\\ud83d\\ude00"',
    "\ufeff{}",  # a byte-order mark
    b"\xef\xbb\xbf[1]",
    '"é\\u00e9"',
    b'"\xc3\xa9"',
    "[" * 600 + "]" * 600,  # deep, but within both parsers' limits
    '{"a": ' * 900 + "1" + "}" * 900,
    "",
    "{nope",
    "[1,]",
    '"\x01"',
    "{} x",
    b"\xff",
    '"abc',
]


def _json_loads_outcome(raw):
    try:
        return ("ok", repr(json.loads(raw)))
    except RecursionError:
        return ("bad", "malformed JSON: nested too deeply")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ("bad", f"malformed JSON: {exc}")


@pytest.mark.parametrize("raw", EDGE_JSON, ids=range(len(EDGE_JSON)))
def test_payloads_are_read_as_the_standard_json_parser_reads_them(raw):
    from floorboard.events import load_json

    expected = _json_loads_outcome(raw)
    try:
        got = ("ok", repr(load_json(raw)))
    except InvalidEvent as exc:
        got = ("bad", exc.reason)
    assert got == expected
    if expected[0] == "ok":
        data = json.loads(raw)
        assert repr(decode_payload(raw)) == repr(data if isinstance(data, list) else [data])


NAMES = [
    "q1", "é-queue", "sales team", "x" * 120, "x" * 121, "", " ", "\u2003", "\u2003a", "a{b", "a}b", "a\tb", "a\x01b",
    "naïve/ü", 7, True, ["q"],
]


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_names_are_checked_the_same_way_in_every_field(name):
    """The quick check of a plain name accepts exactly what the full check accepts, in every
    field that holds a name."""
    from floorboard.events import _name, _ok_name

    try:
        valid = _name({"q": name, "type": "t"}, "q", required=True) == name
    except InvalidEvent:
        valid = False
    assert not _ok_name(name) or valid
    state = {"v": 1, "id": "x", "ts": T0, "type": "agent.state", "agent": "a", "state": "aux"}
    for payload in (ev(queue=name), ev(call=name), ev(caller=name), ev(source=name),
                    {**state, "agent": name}, {**state, "reason": name}, {**state, "queues": ["q0", name]}):
        try:
            parse_event(payload)
            accepted = True
        except InvalidEvent:
            accepted = False
        assert accepted == valid, payload


def test_ids_may_be_longer_than_names():
    assert parse_event(ev(id="x" * 200)).id == "x" * 200
    with pytest.raises(InvalidEvent, match="longer than 200"):
        parse_event(ev(id="x" * 201))


@pytest.mark.parametrize("hold", [0, 0.0, -0.0, 12, 1.5, 10**30, -1, -0.5, math.inf, math.nan, True, "3", None])
def test_hold_s_is_read_the_same_way_whatever_its_type(hold):
    payload = {"v": 1, "id": "x", "ts": T0, "type": "call.ended", "queue": "q", "call": "c", "agent": "a", "hold_s": hold}
    try:
        got = parse_event(payload).hold_s
    except InvalidEvent as exc:
        got = exc.reason
    if hold is None:
        assert got is None
    elif isinstance(hold, bool) or not isinstance(hold, int | float):
        assert "must be a number of seconds" in got
    elif not math.isfinite(hold) or hold < 0:
        assert "finite, non-negative" in got
    else:
        assert got == float(hold) and type(got) is float


def test_event_fields_are_the_events_fields_in_order():
    from dataclasses import astuple

    from floorboard.events import Event, event_fields

    # Each payload with the event it must give, written out (not built by the code under test).
    cases = [
        (ev(caller="+331234"), Event("e1", T0, "call.queued", queue="sales", call="c1", caller="+331234")),
        ({"v": 1, "id": "x", "ts": "2025-11-24T17:00:00+01:00", "type": "call.ended", "queue": "q", "call": "c",
          "agent": "a", "hold_s": 10, "source": "pbx"},
         Event("x", T0, "call.ended", source="pbx", queue="q", call="c", agent="a", hold_s=10.0)),
        ({"v": 1, "id": "x", "ts": T0, "type": "call.transferred", "queue": "q", "call": "c", "agent": "a", "to_queue": "q2"},
         Event("x", T0, "call.transferred", queue="q", call="c", agent="a", to_queue="q2")),
        ({"v": 1, "id": "x", "ts": T0, "type": "agent.state", "agent": "a", "state": "aux", "reason": "break",
          "queues": ["q1"]},
         Event("x", T0, "agent.state", agent="a", state="aux", reason="break", queues=("q1",))),
        ({"v": 1.0, "id": "x", "ts": float(T0), "type": "call.missed", "queue": "q", "call": "c", "agent": "a"},
         Event("x", T0, "call.missed", queue="q", call="c", agent="a")),
    ]
    for payload, expected in cases:
        got = event_fields(payload)
        assert got == astuple(expected) and type(got[1]) is int


@pytest.mark.parametrize("bad", [
    ev(type=[]), ev(type={"a": 1}), ev(type="call.ended", agent="a1", hold_s=10**400), ev(ts=10**400),
    ev(ts="0001-01-01T00:00:00+14:00"), ev(queue=["sales"]), ev(id={"x": 1}),
])
def test_any_malformed_value_is_a_rejection_with_a_reason_never_another_error(bad):
    with pytest.raises(InvalidEvent) as e:
        parse_event(bad)
    assert str(e.value) and len(str(e.value)) < 300
