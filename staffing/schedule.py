"""Schedules as plain data: who is planned to do what, when (no I/O; shared by every layer).

A schedule is a list of :class:`Segment` per agent: an activity name (configurable, e.g.
``open``, ``break``, ``lunch``, ``meeting``, ``training``, ``off``) with a start and an end in
epoch milliseconds, end exclusive. A shift belongs to the local day it starts on, so a shift
crossing midnight is stored once, under its first day. The roster says who the agents are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The activities the defaults know. Deployments may add their own names (see docs/adherence.md).
DEFAULT_ACTIVITIES = ("open", "break", "lunch", "meeting", "training", "off")


@dataclass(frozen=True, slots=True)
class Segment:
    """One scheduled activity of one agent: [start_ms, end_ms)."""

    agent: str
    activity: str
    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class RosterAgent:
    """Who an agent is: display name, team, supervisor and skills (queue ids)."""

    agent: str
    name: str = ""
    team: str = ""
    supervisor: str = ""
    skills: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.agent


def by_agent(segments: Iterable[Segment]) -> dict[str, list[Segment]]:
    """Segments grouped per agent, each agent's list sorted by start."""
    out: dict[str, list[Segment]] = {}
    for seg in segments:
        out.setdefault(seg.agent, []).append(seg)
    for segs in out.values():
        segs.sort(key=lambda s: (s.start_ms, s.end_ms))
    return out


def overlaps(segments: Sequence[Segment]) -> list[tuple[Segment, Segment]]:
    """Pairs of one agent's segments that overlap (input sorted by start, one agent)."""
    return [(a, b) for a, b in zip(segments, segments[1:], strict=False) if b.start_ms < a.end_ms]


def activity_at(segments: Sequence[Segment], t_ms: int) -> Segment | None:
    """The segment running at ``t_ms`` (one agent's sorted, non-overlapping segments)."""
    for seg in segments:
        if seg.start_ms <= t_ms < seg.end_ms:
            return seg
        if seg.start_ms > t_ms:
            break
    return None
