"""Round trips whose replies are read later: Redis works on them while the engine computes.

The engine's tick has Redis work it need not wait for at once (the adherence timelines it folds
after building the snapshot, the writes of the snapshot and of adherence). Sending those
commands on a connection of their own and reading the replies only when needed lets Redis, on
its own core, run them while this process computes. A thread would do the same on paper, but
it has to take the GIL back for every chunk of reply it reads and parses, and at this tick's
sizes that hand-over slowed the computing thread more than the overlap saved.

A connection holding unread replies is never shared: it is taken from the client's pool for
the round trip and given back (or closed, after an error) once every reply is read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import Any

import hiredis
import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError, ResponseError


class Deferred:
    """Commands sent now on a connection of their own; :meth:`result` reads their replies.

    ``background``: send from a short-lived thread. For a large write (the 1 MB snapshot):
    while Redis is busy the socket's buffer fills and a plain send would block this thread;
    the sending thread waits in the kernel instead, holding no GIL.
    """

    def __init__(self, client: redis.Redis, commands: Sequence[Sequence[Any]], *, background: bool = False) -> None:
        self._pool = client.connection_pool
        self._conn: Any = self._pool.get_connection()
        self._n = len(commands)
        self._replies: list[Any] | None = None
        self._sender: threading.Thread | None = None
        self._send_error: BaseException | None = None
        self._error: ResponseError | None = None  # the first error reply, raised again if asked again
        # Replies that carry their commands' errors inside (EXEC's), checked element by element;
        # other list replies (a script's thousands of values) are not.
        self._nested = {i for i, cmd in enumerate(commands) if str(cmd[0]).upper() == "EXEC"}
        try:
            # hiredis packs in C; redis-py's packer first walks every argument in Python, which
            # for a read of 12,000 keys cost more than the read's own parsing.
            packed = [hiredis.pack_command(tuple(cmd)) for cmd in commands]
            if background:
                self._sender = threading.Thread(target=self._send, args=(packed,), name="redis-send", daemon=True)
                self._sender.start()
            else:
                self._conn.send_packed_command(packed)
        except BaseException:
            self._close()
            raise

    def _send(self, packed: list[bytes]) -> None:
        try:
            self._conn.send_packed_command(packed)
        except BaseException as e:  # re-raised by result(), in the caller's thread
            self._send_error = e

    def result(self) -> list[Any]:
        """Every reply in order (read once); raises the first error reply, after reading all."""
        if self._replies is None:
            self._replies = list(self.each())
        return self._replies

    def each(self) -> Iterator[Any]:
        """The replies one by one as they arrive (once), so a caller works on a reply while
        Redis still runs the commands after it. An error reply is raised where it comes, once
        every reply after it is read (the connection goes back clean)."""
        if self._replies is not None:
            yield from self._replies
            return
        if self._sender is not None:
            self._sender.join()
            self._sender = None
            if self._send_error is not None:
                self._close()
                raise self._send_error
        if self._error is not None:
            raise self._error
        if self._conn is None:
            raise RuntimeError("the replies of this round trip are being read already")
        finished = False
        try:
            for i in range(self._n):
                try:
                    reply = self._conn.read_response()
                except ResponseError as e:  # the reply was read whole: the connection is sound
                    reply = e
                error = _error_in(reply, i in self._nested)
                if error is not None:
                    self._error = error
                    self._drain(self._n - i - 1)
                    raise error
                yield reply
            finished = True
        finally:
            # Left before the last reply (an error reading, a consumer that stopped): replies may
            # be unread, so the connection is closed, never handed to anyone else.
            if not finished and self._conn is not None:
                self._close()
        self._pool.release(self._conn)
        self._conn = None

    def _drain(self, n: int) -> None:
        try:
            for _ in range(n):
                with suppress(ResponseError):
                    self._conn.read_response()
        except BaseException:
            self._close()
            raise
        self._pool.release(self._conn)
        self._conn = None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.disconnect()
            self._pool.release(self._conn)
            self._conn = None


class DeferredScripts:
    """Calls of one Lua script, sent now, replies read later. A script Redis no longer has
    cached (a restart, SCRIPT FLUSH) is loaded and the calls run again when the replies are read."""

    def __init__(self, script: Script, calls: Sequence[tuple[Sequence[Any], Sequence[Any]]]) -> None:
        self._script = script
        self._calls = calls
        client = script.registered_client
        self._sent = Deferred(client, [("EVALSHA", script.sha, len(keys), *keys, *args) for keys, args in calls])

    def result(self) -> list[Any]:
        return list(self.each())

    def each(self) -> Iterator[Any]:
        """The replies one by one as they arrive (see :meth:`Deferred.each`)."""
        try:
            yield from self._sent.each()
        except NoScriptError:
            # Every call names the same script, so the first reply already says so: nothing
            # was yielded yet.
            for keys, args in self._calls:
                yield self._script(keys=keys, args=args)


def _error_in(reply: Any, nested: bool) -> ResponseError | None:
    if isinstance(reply, ResponseError):
        return reply
    if nested and isinstance(reply, list):  # EXEC's replies carry the errors of its commands
        for inner in reply:
            if isinstance(inner, ResponseError):
                return inner
    return None


class Ready:
    """Replies already known (none by default), read like a deferred round trip's."""

    def __init__(self, value: Any = None) -> None:
        self._value = [] if value is None else value

    def result(self) -> Any:
        return self._value

    def each(self) -> Iterator[Any]:
        yield from self._value

