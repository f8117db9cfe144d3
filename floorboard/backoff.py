"""Jittered exponential backoff: one rule for everything that retries (adapters reconnecting to
a source, webhook deliveries)."""

from __future__ import annotations

import random
from collections.abc import Callable


def jittered_delay_s(
    failures: int, initial_s: float, maximum_s: float, factor: float, uniform: Callable[[float, float], float]
) -> float:
    """The delay after ``failures`` failures (0 for the first retry): drawn uniformly from
    ``[d/2, d]`` with ``d = min(maximum_s, initial_s * factor**failures)`` ("equal jitter")."""
    ceiling = min(maximum_s, initial_s * factor ** min(failures, 64))
    return uniform(ceiling / 2, ceiling)


class Backoff:
    """Delays that double after each failure, capped, with "equal jitter".

    The n-th delay (n from 0) is drawn uniformly from ``[d/2, d]`` where
    ``d = min(maximum_s, initial_s * factor**n)``. Jitter matters when a broker restarts: without
    it every ingest process reconnects at the same instant. ``reset()`` after a success.
    """

    def __init__(
        self,
        initial_s: float = 0.5,
        maximum_s: float = 30.0,
        factor: float = 2.0,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if initial_s <= 0 or maximum_s < initial_s or factor < 1:
            raise ValueError("backoff needs 0 < initial_s <= maximum_s and factor >= 1")
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self.factor = factor
        self._uniform = uniform
        self.failures = 0

    def next_delay_s(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        delay = jittered_delay_s(self.failures, self.initial_s, self.maximum_s, self.factor, self._uniform)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
