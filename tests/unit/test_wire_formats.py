"""The apply path's hand-made encodings give exactly what the general ones give."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from realtime.aggregator import _entry
from realtime.ingest import StreamSink
from realtime.keys import Keys
from realtime.store import _json_names


@pytest.mark.parametrize("names", [[], ["q1"], ["q1", "q2", "q3"], ["é", 'a"b', "a\\b", "a/b", "\u2028", "😀", "\x7f"]])
def test_queue_lists_are_encoded_as_json_dumps_does(names):
    assert _json_names(names) == json.dumps(names)
    assert _json_names(tuple(names)) == json.dumps(names)


ARGS = [
    ("EVALSHA", "0" * 40, 1, "fb:v1:events", 1_000_000, "replay:x.jsonl", '{"v":1}', "é", "x" * 10_000, b"\xff\x00"),
    ("XADD", "k", "*", "raw", ""),
    ("SCRIPT LOAD", "return 1"),  # a command name with a space: redis-py splits it
    (b"SCRIPT LOAD", "return 1"),
    ("SET", "k", -7),
    ("SET", "k", 2.5),
    ("SET", "k", bytearray(b"ab")),
    ("SET", "k", memoryview(b"ab")),
]


@pytest.mark.parametrize("args", ARGS, ids=range(len(ARGS)))
def test_the_sink_packs_commands_as_redis_py_does(args):
    sink = StreamSink.from_url("redis://127.0.0.1:1/0", Keys("t"))  # never connects
    ours = sink.r.connection_pool.make_connection()
    theirs = aioredis.Redis.from_url("redis://127.0.0.1:1/0").connection_pool.make_connection()
    assert b"".join(ours.pack_command(*args)) == b"".join(theirs.pack_command(*args))


def test_the_sink_refuses_what_redis_py_refuses():
    sink = StreamSink.from_url("redis://127.0.0.1:1/0", Keys("t"))
    conn = sink.r.connection_pool.make_connection()
    with pytest.raises(Exception, match="bool"):
        conn.pack_command("SET", "k", True)
    with pytest.raises(UnicodeEncodeError):
        conn.pack_command("SET", "k", "\ud800")


def test_stream_entries_are_read_whatever_the_order_of_their_fields():
    assert _entry("1-0", ["src", "mqtt:x", "raw", "{}"]) == ("1-0", "{}", "mqtt:x")
    assert _entry("1-0", ["raw", "{}", "src", "mqtt:x"]) == ("1-0", "{}", "mqtt:x")
    assert _entry("1-0", ["raw", "{}"]) == ("1-0", "{}", "unknown")
    assert _entry("1-0", ["src", "a", "raw", "1", "raw", "2"]) == ("1-0", "2", "a")  # the last wins, as in a dict
    assert _entry("1-0", []) == ("1-0", "", "unknown")
