"""Kiosk links for wallboard screens: signed, read-only, one group, expiring, revocable.

A link is ``/kiosk/<token>``; the token is signed with the secret key (HMAC-SHA256 through
itsdangerous) and carries the link id, its group and its expiry, so it cannot be altered or
extended. It also works only while its id is listed in Redis (:mod:`realtime.access`): revoking
removes it there, and every screen using it is refused on its next refresh.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeSerializer

from app.auth.principal import ALL_GROUPS
from realtime import access

if TYPE_CHECKING:
    from realtime.store import Store

SALT = "floorboard.kiosk.v1"
MAX_DAYS = 366
GROUP = re.compile(r"^[^\s/?#]{1,64}$")


class KioskError(ValueError):
    """A refused kiosk link: malformed, tampered, expired, revoked or for an unknown group."""


@dataclass(frozen=True, slots=True)
class KioskLink:
    id: str
    group: str
    expires_s: int
    created_s: int = 0
    note: str = ""

    @property
    def path(self) -> str:
        return "/wallboard?kiosk=1&rotate=30" if self.group == ALL_GROUPS else f"/wallboard/{self.group}?kiosk=1"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def create(store: Store, secret_key: str, group: str, days: float, now_s: float, note: str = "",
           known_groups: set[str] | None = None) -> tuple[KioskLink, str]:
    """A new link for ``group`` (``*``: every queue), valid ``days``; returns it and its token."""
    if group != ALL_GROUPS and (not GROUP.match(group) or (known_groups is not None and group not in known_groups)):
        raise KioskError(f"unknown group {group!r}; groups: {sorted(known_groups or ())} or '*' for every queue")
    if not 0 < days <= MAX_DAYS:
        raise KioskError(f"days must be more than 0 and at most {MAX_DAYS}")
    link = KioskLink(secrets.token_hex(8), group, int(now_s + days * 86400), int(now_s), note[:200])
    access.add_kiosk_link(store, link.id, {"group": link.group, "expires_s": link.expires_s,
                                           "created_s": link.created_s, "note": link.note})
    token = _serializer(secret_key).dumps({"i": link.id, "g": link.group, "e": link.expires_s})
    return link, token


def verify(store: Store, secret_key: str, token: str, now_s: float) -> KioskLink:
    """The link this token stands for, or :class:`KioskError` saying why not."""
    try:
        data: Any = _serializer(secret_key).loads(token)
    except BadSignature:
        raise KioskError("kiosk link is not valid (altered, or signed with another key)") from None
    if not isinstance(data, dict) or not {"i", "g", "e"} <= set(data):
        raise KioskError("kiosk link is not valid")
    if now_s >= data["e"]:
        raise KioskError("kiosk link has expired")
    record = access.kiosk_link(store, str(data["i"]))
    if record is None or record.get("group") != data["g"]:
        raise KioskError("kiosk link was revoked")
    return KioskLink(str(data["i"]), str(data["g"]), int(data["e"]), int(record.get("created_s", 0)),
                     str(record.get("note", "")))


def listing(store: Store, now_s: float) -> list[KioskLink]:
    """Links still valid, newest first; expired ones are pruned on the way."""
    links, expired = [], []
    for link_id, r in access.kiosk_links(store).items():
        if r.get("expires_s", 0) <= now_s:
            expired.append(link_id)
        else:
            links.append(KioskLink(link_id, r["group"], int(r["expires_s"]), int(r.get("created_s", 0)),
                                   str(r.get("note", ""))))
    access.remove_kiosk_links(store, expired)
    return sorted(links, key=lambda link: -link.created_s)


def revoke(store: Store, link_id: str) -> None:
    if not access.remove_kiosk_links(store, [link_id]):
        raise KioskError(f"no kiosk link {link_id!r}")
