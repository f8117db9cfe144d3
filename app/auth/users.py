"""The users file: local users (argon2id password hashes) and API tokens (SHA-256 digests).

One JSON file (``FLOORBOARD_USERS_FILE``), written by ``floorboard users|tokens`` and the admin
page, read by every web worker. Writes take an exclusive lock and replace the file atomically
(mode 0600); readers reload it when its modification stamp changes, so a new password or a
revoked token applies to every worker on their next request. Format: docs/security.md.

Passwords use argon2-cffi's ``PasswordHasher`` defaults (argon2id, RFC 9106 low-memory profile:
3 passes, 64 MiB, 4 lanes, 16-byte random salt). API tokens are 256-bit random secrets, so one
SHA-256 is enough to store them: a slow hash protects guessable secrets, and these are not.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.auth.policy import ROLES, SCOPES

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
ENTITY_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")  # agent, team and queue ids as the pipeline sees them
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; this only bounds the work per request
TOKEN_PREFIX = "fbt"
T = TypeVar("T")


class UsersError(ValueError):
    """A refused change (unknown user, weak password, bad role …); the message says which."""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    password_hash: str | None = field(default=None, repr=False)  # None: proxy sign-on only
    agent: str | None = None  # the agent id this person is (an agent's only subject)
    teams: tuple[str, ...] = ()  # a supervisor's teams (besides those the roster gives them)
    queues: tuple[str, ...] = ()  # a supervisor's queues (besides their teams' skills)
    session_version: int = 1  # bumped by a password change: every older session ends
    name: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "password": self.password_hash, "agent": self.agent, "teams": list(self.teams),
                "queues": list(self.queues), "session_version": self.session_version, "name": self.name}


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    name: str
    scopes: tuple[str, ...]
    sha256: str = field(repr=False)
    created_ms: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "scopes": list(self.scopes), "sha256": self.sha256, "created_ms": self.created_ms}


@dataclass(frozen=True, slots=True)
class Directory:
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and ENTITY_ID.match(v) for v in value):
        raise UsersError(f"{where} must be a list of ids, got {value!r}")
    return tuple(value)


def _user(username: str, raw: Any) -> User:
    where = f"user {username!r}"
    if not USERNAME.match(username) or not isinstance(raw, dict):
        raise UsersError(f"{where}: bad user name or record")
    role = raw.get("role")
    if role not in ROLES:
        raise UsersError(f"{where}: role must be one of {ROLES}, got {role!r}")
    agent = raw.get("agent") or (username if role == "agent" else None)
    if agent is not None and (not isinstance(agent, str) or not ENTITY_ID.match(agent)):
        raise UsersError(f"{where}: bad agent id {agent!r}")
    password = raw.get("password")
    if password is not None and not (isinstance(password, str) and password.startswith("$argon2")):
        raise UsersError(f"{where}: password must be an argon2 hash (set it with floorboard users passwd)")
    version = raw.get("session_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsersError(f"{where}: session_version must be a whole number")
    return User(username, role, password, agent, _strings(f"{where} teams", raw.get("teams")),
                _strings(f"{where} queues", raw.get("queues")), version, str(raw.get("name") or ""))


def _token(token_id: str, raw: Any) -> ApiToken:
    where = f"token {token_id!r}"
    if not isinstance(raw, dict) or not re.fullmatch(r"[0-9a-f]{8,32}", token_id):
        raise UsersError(f"{where}: bad token record")
    scopes = raw.get("scopes") or []
    if not isinstance(scopes, list) or any(s not in SCOPES for s in scopes):
        raise UsersError(f"{where}: scopes must be a list of {SCOPES}")
    digest = raw.get("sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise UsersError(f"{where}: sha256 must be 64 hex digits")
    return ApiToken(token_id, str(raw.get("name") or ""), tuple(scopes), digest, int(raw.get("created_ms") or 0))


def parse_directory(data: Any) -> Directory:
    if not isinstance(data, dict) or set(data) - {"users", "tokens"}:
        raise UsersError('the users file must be a JSON object with "users" and "tokens"')
    users = data.get("users") or {}
    tokens = data.get("tokens") or {}
    if not isinstance(users, dict) or not isinstance(tokens, dict):
        raise UsersError('"users" and "tokens" must be objects')
    return Directory({u: _user(u, raw) for u, raw in users.items()}, {t: _token(t, raw) for t, raw in tokens.items()})


def _dump(directory: Directory) -> dict[str, Any]:
    return {"users": {u.username: u.as_json() for u in directory.users.values()},
            "tokens": {t.id: t.as_json() for t in directory.tokens.values()}}


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_password(password: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise UsersError(f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")


class UsersFile:
    """The users file at ``path``: cached reads, locked atomic writes, password checks."""

    def __init__(self, path: Path | None, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self.hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._cached = Directory()
        self._dummy_hash: str | None = None

    # ---------------------------------------------------------------------------- reading
    def directory(self) -> Directory:
        """The file's current content (re-read only when its stamp changed; absent: empty)."""
        if self.path is None:
            return Directory()
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return Directory()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._cached = self._read()
                self._stamp = stamp
            return self._cached

    def _read(self) -> Directory:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UsersError(f"{self.path} is not valid JSON: {exc}") from None
        return parse_directory(data)

    def user(self, username: str) -> User | None:
        return self.directory().users.get(username)

    # ---------------------------------------------------------------------------- writing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self.path is None:
            raise UsersError("FLOORBOARD_USERS_FILE is not set")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def update(self, change: Callable[[Directory], T]) -> T:
        """Read, change (``change`` mutates the directory's dicts) and write back, under the lock."""
        with self._locked():
            assert self.path is not None
            current = self._read() if self.path.exists() else Directory()
            result = change(current)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(_dump(current), out, indent=2, sort_keys=True)
                    out.write("\n")
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        return result

    # ---------------------------------------------------------------------------- users
    def add_user(self, username: str, role: str, password: str | None, *, agent: str | None = None,
                 teams: Iterable[str] = (), queues: Iterable[str] = (), name: str = "") -> User:
        if password is not None:
            check_password(password)
        raw = {"role": role, "password": self.hasher.hash(password) if password is not None else None,
               "agent": agent, "teams": list(teams), "queues": list(queues), "name": name}
        user = _user(username, raw)

        def change(d: Directory) -> User:
            if username in d.users:
                raise UsersError(f"user {username!r} exists already")
            d.users[username] = user
            return user

        return self.update(change)

    def set_password(self, username: str, password: str) -> None:
        """A new password; every session of that user signed in before ends."""
        check_password(password)
        digest = self.hasher.hash(password)
        self._replace(username, lambda u: _with(u, password_hash=digest, session_version=u.session_version + 1))

    def end_sessions(self, username: str) -> None:
        self._replace(username, lambda u: _with(u, session_version=u.session_version + 1))

    def remove_user(self, username: str) -> None:
        def change(d: Directory) -> None:
            if d.users.pop(username, None) is None:
                raise UsersError(f"no user {username!r}")

        self.update(change)

    def _replace(self, username: str, edit: Callable[[User], User]) -> None:
        def change(d: Directory) -> None:
            if username not in d.users:
                raise UsersError(f"no user {username!r}")
            d.users[username] = edit(d.users[username])

        self.update(change)

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is theirs; None otherwise, in about the same time either way."""
        user = self.user(username) if USERNAME.match(username or "") else None
        if user is None or user.password_hash is None or not isinstance(password, str) \
                or len(password) > MAX_PASSWORD_CHARS:
            # Spend the same work as a real check, so timing does not tell which names exist.
            self._verify(self._dummy(), "not the password")
            return None
        if not self._verify(user.password_hash, password):
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            digest = self.hasher.hash(password)  # stronger parameters since it was set
            with contextlib.suppress(UsersError):
                self._replace(username, lambda u: _with(u, password_hash=digest))
        return user

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self.hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    # ---------------------------------------------------------------------------- tokens
    def create_token(self, name: str, scopes: Iterable[str], now_ms: int | None = None) -> tuple[ApiToken, str]:
        """A new token; returns it and its secret, which is shown once and stored only hashed."""
        scopes = tuple(dict.fromkeys(scopes))
        unknown = [s for s in scopes if s not in SCOPES]
        if not scopes or unknown:
            raise UsersError(f"scopes must be some of {SCOPES}; got {list(scopes)}")
        token_id = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        token = ApiToken(token_id, name, scopes, token_digest(secret),
                         now_ms if now_ms is not None else time.time_ns() // 1_000_000)

        def change(d: Directory) -> None:
            d.tokens[token_id] = token

        self.update(change)
        return token, secret

    def revoke_token(self, token_id: str) -> None:
        def change(d: Directory) -> None:
            if d.tokens.pop(token_id, None) is None:
                raise UsersError(f"no token {token_id!r}")

        self.update(change)

    def token_for(self, secret: str) -> ApiToken | None:
        """The token this secret belongs to, or None (compared in constant time)."""
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        token = self.directory().tokens.get(parts[1])
        if token is None or not hmac.compare_digest(token.sha256, token_digest(secret)):
            return None
        return token


def _with(user: User, **changes: Any) -> User:
    return replace(user, **changes)
