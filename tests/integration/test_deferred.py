"""Round trips sent now and read later (realtime.deferred), against a real Redis."""

from __future__ import annotations

import pytest
import redis

from realtime.deferred import Deferred, DeferredScripts

pytestmark = pytest.mark.integration


def _in_use(client: redis.Redis) -> int:
    return len(client.connection_pool._in_use_connections)


@pytest.mark.parametrize("background", [False, True])
def test_replies_come_back_in_order_and_the_connection_returns_to_the_pool(redis_client, key_prefix, background):
    key = f"{key_prefix}:d"
    big = "x" * 2_000_000  # larger than a socket buffer: the send cannot finish at once
    sent = Deferred(redis_client, [("SET", key, big), ("STRLEN", key), ("GET", f"{key}:none")], background=background)
    assert _in_use(redis_client) == 1  # held until every reply is read
    assert sent.result() == ["OK", len(big), None]
    assert _in_use(redis_client) == 0
    assert sent.result() == ["OK", len(big), None]  # read once, kept


def test_an_error_reply_is_raised_after_every_reply_was_read(redis_client, key_prefix):
    key = f"{key_prefix}:e"
    redis_client.set(key, "not a number")
    sent = Deferred(redis_client, [("INCR", key), ("SET", f"{key}:2", "v"), ("GET", f"{key}:2")])
    with pytest.raises(redis.ResponseError):
        sent.result()
    assert redis_client.get(f"{key}:2") == "v"  # the commands after the error still ran
    assert _in_use(redis_client) == 0
    # The connection went back in a sound state: the next command on it reads its own reply.
    assert redis_client.ping() is True


def test_an_error_inside_a_transaction_is_raised(redis_client, key_prefix):
    key = f"{key_prefix}:t"
    redis_client.set(key, "text")
    sent = Deferred(redis_client, [("MULTI",), ("SET", f"{key}:ok", 1), ("INCR", key), ("EXEC",)])
    with pytest.raises(redis.ResponseError):
        sent.result()
    assert redis_client.get(f"{key}:ok") == "1"


def test_a_script_redis_no_longer_has_is_loaded_and_run(redis_client, key_prefix):
    script = redis_client.register_script("return {KEYS[1], ARGV[1]}")
    redis_client.script_flush()  # as after a restart: the sha is unknown
    sent = DeferredScripts(script, [([f"{key_prefix}:k1"], ["a"]), ([f"{key_prefix}:k2"], ["b"])])
    assert sent.result() == [[f"{key_prefix}:k1", "a"], [f"{key_prefix}:k2", "b"]]
    assert _in_use(redis_client) == 0


def test_replies_can_be_taken_one_by_one_and_an_error_is_raised_where_it_comes(redis_client, key_prefix):
    key = f"{key_prefix}:s"
    redis_client.set(key, "text")
    sent = Deferred(redis_client, [("PING",), ("INCR", key), ("ECHO", "after")])
    got = []
    with pytest.raises(redis.ResponseError):
        for reply in sent.each():
            got.append(reply)
    assert got == ["PONG"]
    assert _in_use(redis_client) == 0  # the reply after the error was read too
    with pytest.raises(redis.ResponseError):
        sent.result()  # asked again: the same error


def test_a_reader_that_stops_early_does_not_leave_replies_on_a_pooled_connection(redis_client, key_prefix):
    sent = Deferred(redis_client, [("ECHO", "one"), ("ECHO", "two"), ("ECHO", "three")])
    replies = sent.each()
    assert next(replies) == "one"
    replies.close()  # as when the code handling a reply raises
    assert _in_use(redis_client) == 0
    assert redis_client.echo("next") == "next"  # whatever connection it gets reads its own reply
