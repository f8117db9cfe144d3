"""Webhook delivery off the engine's tick: a bounded queue and worker threads that POST JSON.

:meth:`WebhookDispatcher.submit` only takes a lock long enough to push onto a heap, so the tick
never waits for the network. Workers POST with a timeout; a failure that may pass (a network
error, a timeout, HTTP 429 or 5xx) is retried with exponential backoff and jitter, other HTTP
errors (4xx: a wrong URL or payload) are given up at once. At most ``max_pending`` new
deliveries wait: when full, the oldest is dropped and counted (a fresh alert is worth more than a
stale one); at most as many wait for a retry, beyond that a failure is final.

Counters and the last error are kept for health (:meth:`WebhookDispatcher.health`); the alerts
component copies them to Redis so the web process can show them. URLs are never logged whole:
chat-tool webhook URLs carry their secret in the path.
"""

from __future__ import annotations

import heapq
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from floorboard.backoff import jittered_delay_s

log = logging.getLogger(__name__)

# (ok, error, may retry)
PostResult = tuple[bool, str | None, bool]
Post = Callable[[str, bytes, float], PostResult]


def safe_url(url: str) -> str:
    """Scheme and host only: the rest of a webhook URL is usually its secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


def post_json(url: str, body: bytes, timeout_s: float) -> PostResult:
    """POST ``body`` as JSON with the standard library; what happened, and whether to retry."""
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "floorboard-alerts/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # http(s) only: checked in config
            response.read(65_536)
            return True, None, False
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}", exc.code == 429 or exc.code >= 500
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{type(exc).__name__}: {reason}", True


@dataclass(order=True, slots=True)
class _Delivery:
    due: float  # monotonic seconds
    seq: int
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(default=0, compare=False)


@dataclass(slots=True)
class _Stats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0
    last_error: str | None = None
    last_error_ms: int | None = None
    last_sent_ms: int | None = None


class WebhookDispatcher:
    """Background JSON POSTs with retries. ``start`` once; ``submit`` from anywhere, never blocks."""

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        retries: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        max_pending: int = 1000,
        workers: int = 2,
        post: Post = post_json,
        rng: random.Random | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_pending = max_pending
        self.workers = workers
        self._post = post
        self._rng = rng or random.Random()
        self._new: deque[_Delivery] = deque()
        self._retry: list[_Delivery] = []  # heap by due time
        self._seq = 0
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stop = False
        self._threads: list[threading.Thread] = []
        self._stats = _Stats()

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        if self.running:
            return
        self._stop = False
        self._threads = [threading.Thread(target=self._work, name=f"webhook-{i}", daemon=True) for i in range(self.workers)]
        for t in self._threads:
            t.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the workers; deliveries still queued are abandoned (they are counted as pending)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ producer side
    def submit(self, url: str, payload: Mapping[str, Any]) -> None:
        """Queue one POST. Never waits on the network; a full queue drops its oldest delivery."""
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        with self._cond:
            if len(self._new) >= self.max_pending:
                self._new.popleft()
                self._stats.dropped += 1
            self._seq += 1
            self._new.append(_Delivery(time.monotonic(), self._seq, url, body))
            self._cond.notify()

    def health(self) -> dict[str, Any]:
        """Counters since start and the last error (with the URL's host only)."""
        with self._cond:
            s = self._stats
            return {"pending": len(self._new) + len(self._retry) + self._in_flight, "sent": s.sent, "failed": s.failed,
                    "retried": s.retried, "dropped": s.dropped, "last_error": s.last_error,
                    "last_error_ms": s.last_error_ms, "last_sent_ms": s.last_sent_ms}

    def wait_idle(self, timeout_s: float) -> bool:
        """Until nothing is queued or in flight (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._new or self._retry or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # ------------------------------------------------------------------ workers
    def backoff(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (1, 2, …): doubling from ``backoff_s``, capped, with
        jitter in [½, 1] of it so that many failed deliveries do not retry in step."""
        return jittered_delay_s(attempt - 1, self.backoff_s, self.max_backoff_s, 2.0, self._rng.uniform)

    def _next(self) -> _Delivery | None:
        with self._cond:
            while not self._stop:
                wait = None
                if self._retry:
                    wait = self._retry[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._retry)
                if self._new:
                    self._in_flight += 1
                    return self._new.popleft()
                self._cond.wait(wait)
            return None

    def _work(self) -> None:
        while (d := self._next()) is not None:
            try:
                ok, error, retryable = self._post(d.url, d.body, self.timeout_s)
            except Exception as exc:  # a delivery must never kill its worker
                ok, error, retryable = False, f"{type(exc).__name__}: {exc}", False
            self._done(d, ok, error, retryable)

    def _done(self, d: _Delivery, ok: bool, error: str | None, retryable: bool) -> None:
        now_ms = time.time_ns() // 1_000_000
        with self._cond:
            self._in_flight -= 1
            s = self._stats
            if ok:
                s.sent += 1
                s.last_sent_ms = now_ms
            else:
                s.last_error, s.last_error_ms = f"{safe_url(d.url)}: {error}", now_ms
                if retryable and d.attempt < self.retries and len(self._retry) < self.max_pending:
                    d.attempt += 1
                    d.due = time.monotonic() + self.backoff(d.attempt)
                    s.retried += 1
                    heapq.heappush(self._retry, d)
                else:
                    s.failed += 1
                    log.warning("webhook to %s failed after %d attempt(s): %s", safe_url(d.url), d.attempt + 1, error)
            self._cond.notify_all()
