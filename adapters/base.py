"""The one adapter interface.

An adapter turns an ACD source into canonical v1 events and hands them to a sink. It knows the
source's protocol and nothing of Redis. ``run(sink)`` runs until cancelled (or, for finite
sources such as a replay file, until the source is exhausted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class EventSink(Protocol):
    """Where adapters deliver events.

    ``payloads`` are raw JSON texts, each one v1 event (valid or not: validation and
    dead-lettering happen downstream, so a bad payload is kept, not dropped). ``source`` names
    the feed; lateness is judged per source.
    """

    async def send(self, payloads: Sequence[str | bytes], source: str) -> None: ...


class Adapter(Protocol):
    name: str

    async def run(self, sink: EventSink) -> None: ...


class ListSink:
    """A sink that keeps what it is sent, for tests and dry runs."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str | bytes]] = []

    async def send(self, payloads: Sequence[str | bytes], source: str) -> None:
        self.items.extend((source, p) for p in payloads)
