"""Editing one agent's schedule: the segment lists a roster action writes (pure, no I/O).

A schedule is a list of :class:`Segment` sorted by start, not overlapping (docs/imports.md).
Every function returns a new sorted list and leaves its input alone; times are epoch ms, end
exclusive. Adjacent segments of the same activity are merged, so moving a break out of a run of
``open`` and back gives the same list as before the move.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from staffing.schedule import Segment


def normalized(segments: Iterable[Segment]) -> list[Segment]:
    """Sorted, empty segments dropped, adjacent segments of one activity merged."""
    out: list[Segment] = []
    for s in sorted((s for s in segments if s.end_ms > s.start_ms), key=lambda s: (s.start_ms, s.end_ms)):
        if out and out[-1].activity == s.activity and out[-1].end_ms == s.start_ms:
            out[-1] = Segment(s.agent, s.activity, out[-1].start_ms, s.end_ms)
        else:
            out.append(s)
    return out


def cut(segments: Sequence[Segment], start_ms: int, end_ms: int) -> list[Segment]:
    """The segments without the time ``[start_ms, end_ms)`` (a segment across it is split)."""
    out: list[Segment] = []
    for s in segments:
        if s.end_ms <= start_ms or s.start_ms >= end_ms:
            out.append(s)
            continue
        if s.start_ms < start_ms:
            out.append(Segment(s.agent, s.activity, s.start_ms, start_ms))
        if s.end_ms > end_ms:
            out.append(Segment(s.agent, s.activity, end_ms, s.end_ms))
    return normalized(out)


def put(segments: Sequence[Segment], new: Segment) -> list[Segment]:
    """``new`` in place of whatever the schedule had over its time."""
    return normalized([*cut(segments, new.start_ms, new.end_ms), new])


def move_activity(segments: Sequence[Segment], old: Segment, start_ms: int | None,
                  phone: str = "open") -> list[Segment]:
    """``old`` (one of the segments) moved to start at ``start_ms``, keeping its length; its
    former time becomes ``phone``. ``start_ms=None`` removes it (e.g. moved to another day)."""
    if old not in segments:
        raise ValueError(f"{old} is not in the schedule")
    out = put(segments, Segment(old.agent, phone, old.start_ms, old.end_ms))
    if start_ms is None:
        return out
    return put(out, Segment(old.agent, old.activity, start_ms, start_ms + old.duration_ms))


def replace_range(segments: Sequence[Segment], start_ms: int, end_ms: int, activity: str,
                  only: Iterable[str] | None = None) -> list[Segment]:
    """The time ``[start_ms, end_ms)`` covered by segments (of the ``only`` activities, if given)
    becomes ``activity``; time outside every segment stays outside (a shift is not lengthened)."""
    keep = None if only is None else set(only)
    out = list(segments)
    for s in segments:
        lo, hi = max(s.start_ms, start_ms), min(s.end_ms, end_ms)
        if hi > lo and (keep is None or s.activity in keep):
            out = put(out, Segment(s.agent, activity, lo, hi))
    return normalized(out)


__all__ = ["cut", "move_activity", "normalized", "put", "replace_range"]
