"""Access-control state in Redis: sign-in failure counters and the kiosk links still valid.

Sign-in failures are counted per user name and per client address in fixed windows (the key's
TTL is the window), so a guessing attacker is slowed down on every web worker at once.

Kiosk links are an allow-list, not a revocation list: a link works only while its id is in the
hash. Revoking deletes it; so does losing Redis data, which fails closed (the screens need a
new link) instead of bringing revoked links back to life.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from realtime.store import Store


@dataclass(frozen=True, slots=True)
class SigninFailures:
    user: int
    address: int
    retry_after_s: int  # seconds until the longer of the two windows ends (0: none running)


def signin_failures(store: Store, username: str, address: str) -> SigninFailures:
    k = store.keys
    pipe = store.r.pipeline(transaction=False)
    for key in (k.signin_failures_user(username), k.signin_failures_ip(address)):
        pipe.get(key)
        pipe.ttl(key)
    user, user_ttl, ip, ip_ttl = pipe.execute()
    return SigninFailures(int(user or 0), int(ip or 0), max(0, int(user_ttl or 0), int(ip_ttl or 0)))


def record_signin_failure(store: Store, username: str, address: str, window_s: int) -> None:
    """Count one failure for the name and the address; the first failure starts the window."""
    k = store.keys
    pipe = store.r.pipeline(transaction=True)
    for key in (k.signin_failures_user(username), k.signin_failures_ip(address)):
        pipe.set(key, 0, ex=window_s, nx=True)  # INCR keeps the TTL (works on Redis 6.2 too)
        pipe.incr(key)
    pipe.execute()


def clear_signin_failures(store: Store, username: str) -> None:
    """After a good sign-in the name's count starts again (the address's count stays)."""
    store.r.delete(store.keys.signin_failures_user(username))


def add_kiosk_link(store: Store, link_id: str, record: dict[str, Any]) -> None:
    store.r.hset(store.keys.kiosk_links, link_id, json.dumps(record, separators=(",", ":")))


def kiosk_link(store: Store, link_id: str) -> dict[str, Any] | None:
    raw = store.r.hget(store.keys.kiosk_links, link_id)
    return json.loads(raw) if raw else None


def kiosk_links(store: Store) -> dict[str, dict[str, Any]]:
    return {link_id: json.loads(raw) for link_id, raw in store.r.hgetall(store.keys.kiosk_links).items()}


def remove_kiosk_links(store: Store, link_ids: list[str]) -> int:
    """Revoke (or prune) links; returns how many existed."""
    return int(store.r.hdel(store.keys.kiosk_links, *link_ids)) if link_ids else 0
