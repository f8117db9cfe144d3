"""`floorboard users|tokens|kiosk`: local users, API tokens and kiosk links (docs/security.md).

    floorboard users add NAME --role ROLE [--agent ID] [--team T]... [--queue Q]... [--password-stdin]
    floorboard users passwd NAME [--password-stdin] | remove NAME | end-sessions NAME | list
    floorboard tokens create --name NAME --scope SCOPE [--scope SCOPE]... | revoke ID | list
    floorboard kiosk create --group GROUP [--days N] [--note TEXT] | revoke ID | list

Users and tokens live in FLOORBOARD_USERS_FILE; kiosk links are signed with
FLOORBOARD_SECRET_KEY and listed in Redis. Secrets are printed once, never logged.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Any

from floorboard.config import Settings

COMMANDS = ("users", "tokens", "kiosk")


def add_parsers(sub: Any) -> None:
    from app.auth.policy import ROLES, SCOPES

    users = sub.add_parser("users", help="local users who sign in with a password")
    us = users.add_subparsers(dest="action", required=True)
    add = us.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--agent", help="the agent id this person is (default for agents: the user name)")
    add.add_argument("--team", action="append", default=[], help="a supervisor's team (repeatable)")
    add.add_argument("--queue", action="append", default=[], help="a supervisor's queue (repeatable)")
    add.add_argument("--full-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--no-password", action="store_true", help="single sign-on only (trusted proxy header)")
    pw = us.add_parser("passwd", help="set a new password; the user's other sessions end")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    for action, text in (("remove", "remove a user"), ("end-sessions", "sign a user out everywhere")):
        us.add_parser(action, help=text).add_argument("name")
    us.add_parser("list", help="list users (never passwords)")

    tokens = sub.add_parser("tokens", help="API tokens for other programs (Authorization: Bearer)")
    ts = tokens.add_subparsers(dest="action", required=True)
    create = ts.add_parser("create", help="create a token; it is printed once")
    create.add_argument("--name", required=True, help="what uses it, e.g. reporting")
    create.add_argument("--scope", action="append", required=True, choices=SCOPES, help="repeatable")
    ts.add_parser("revoke", help="revoke a token").add_argument("id")
    ts.add_parser("list", help="list tokens (never the secrets)")

    kiosk = sub.add_parser("kiosk", help="read-only wallboard links for screens")
    ks = kiosk.add_subparsers(dest="action", required=True)
    kc = ks.add_parser("create", help="create a link for one group of queues ('*': every queue)")
    kc.add_argument("--group", required=True)
    kc.add_argument("--days", type=float, default=30.0, help="valid for (default 30, at most 366)")
    kc.add_argument("--note", default="", help="where the screen is")
    kc.add_argument("--base-url", default=None, help="the address people open (default: the listen address)")
    ks.add_parser("revoke", help="revoke a link: its screens are refused on their next refresh").add_argument("id")
    ks.add_parser("list", help="list links still valid")


def web_problem(settings: Settings) -> str | None:
    """Why `floorboard web` must not start with these settings, or None."""
    auth = settings.auth
    if not auth.secret_key:
        return ("FLOORBOARD_SECRET_KEY is required (it signs sessions and kiosk links): "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if auth.users_file is None and not auth.proxy_header:
        return ("nobody could sign in: set FLOORBOARD_USERS_FILE (floorboard users add …) "
                "or FLOORBOARD_AUTH_PROXY_HEADER with FLOORBOARD_TRUSTED_PROXIES")
    return None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("floorboard: the passwords differ")
    return first


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth.kiosk import KioskError
    from app.auth.users import UsersError

    try:
        if args.command == "kiosk":
            return _kiosk(args, settings)
        return _users(args, settings) if args.command == "users" else _tokens(args, settings)
    except (UsersError, KioskError) as exc:
        print(f"floorboard: {exc}", file=sys.stderr)
        return 1


def _users_file(settings: Settings) -> Any:
    from app.auth.users import UsersFile

    if settings.auth.users_file is None:
        raise SystemExit("floorboard: set FLOORBOARD_USERS_FILE to the users file (it is created if missing)")
    return UsersFile(settings.auth.users_file)


def _users(args: argparse.Namespace, settings: Settings) -> int:
    users = _users_file(settings)
    if args.action == "add":
        password = None if args.no_password else _password(args.password_stdin)
        user = users.add_user(args.name, args.role, password, agent=args.agent, teams=args.team, queues=args.queue,
                              name=args.full_name)
        print(f"added {user.username} ({user.role}" + (f", agent {user.agent}" if user.agent else "") + ")")
    elif args.action == "passwd":
        users.set_password(args.name, _password(args.password_stdin))
        print(f"password of {args.name} changed; their other sessions have ended")
    elif args.action == "remove":
        users.remove_user(args.name)
        print(f"removed {args.name}")
    elif args.action == "end-sessions":
        users.end_sessions(args.name)
        print(f"every session of {args.name} has ended")
    else:
        for u in sorted(users.directory().users.values(), key=lambda u: u.username):
            extra = [f"agent={u.agent}"] if u.agent else []
            extra += [f"teams={','.join(u.teams)}"] if u.teams else []
            extra += [f"queues={','.join(u.queues)}"] if u.queues else []
            extra += [] if u.password_hash else ["no password (single sign-on only)"]
            print(f"{u.username}\t{u.role}\t{' '.join(extra)}")
    return 0


def _tokens(args: argparse.Namespace, settings: Settings) -> int:
    users = _users_file(settings)
    if args.action == "create":
        token, secret = users.create_token(args.name, args.scope)
        print(f"token {token.id} ({', '.join(token.scopes)}) for {token.name!r}; shown once, keep it secret:")
        print(secret)
    elif args.action == "revoke":
        users.revoke_token(args.id)
        print(f"revoked token {args.id}")
    else:
        for t in sorted(users.directory().tokens.values(), key=lambda t: t.created_ms):
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(t.created_ms / 1000))
            print(f"{t.id}\t{','.join(t.scopes)}\t{t.name}\tcreated {created} UTC")
    return 0


def _kiosk(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth import kiosk
    from realtime.store import Store

    store = Store.from_settings(settings)
    now = time.time()
    if args.action == "create":
        if not settings.auth.secret_key:
            raise SystemExit("floorboard: FLOORBOARD_SECRET_KEY is required to sign kiosk links (the same as the web's)")
        link, token = kiosk.create(store, settings.auth.secret_key, args.group, args.days, now, note=args.note,
                                   known_groups=set(settings.queues.groups()))
        base = (args.base_url or f"http://{settings.web_host}:{settings.web_port}").rstrip("/")
        print(f"kiosk link {link.id} for {link.group}, valid until "
              f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(link.expires_s))} UTC; shown once, treat it as a password:")
        print(f"{base}/kiosk/{token}")
    elif args.action == "revoke":
        kiosk.revoke(store, args.id)
        print(f"revoked kiosk link {args.id}")
    else:
        for link in kiosk.listing(store, now):
            until = time.strftime("%Y-%m-%d %H:%M", time.gmtime(link.expires_s))
            print(f"{link.id}\t{link.group}\tuntil {until} UTC\t{link.note}")
    return 0


# ----------------------------------------------------------------------------- demo
DEMO_USERS = (
    ("admin", "admin", {}, "users, API tokens, kiosk links"),
    ("manager", "manager", {}, "every page, queue and agent"),
    ("supervisor", "supervisor", {"teams": ["Amber"]}, "team Amber: its agents and their queues"),
    ("agent01", "agent", {}, "their own day, at /me"),
)


def demo_access(settings: Settings, directory: str) -> tuple[Settings, list[tuple[str, str, str, str]]]:
    """Demo settings with a fresh secret key and, unless a users file is set, one user per role
    with a new random password each run: (user, role, password, what they see) to print."""
    import secrets
    from dataclasses import replace
    from pathlib import Path

    from app.auth.users import UsersFile

    auth = replace(settings.auth, secret_key=settings.auth.secret_key or secrets.token_urlsafe(32))
    if auth.users_file is not None:
        return replace(settings, auth=auth), []
    path = Path(directory) / "demo-users.json"
    users = UsersFile(path)
    printed = []
    for name, role, extra, what in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        users.add_user(name, role, password, **extra)
        printed.append((name, role, password, what))
    return replace(settings, auth=replace(auth, users_file=path)), printed


def demo_banner(url: str, users: list[tuple[str, str, str, str]], kiosk_url: str, where: str = "") -> str:
    lines = [f"\n  floorboard demo is running: {url}"]
    if where:
        lines.append(f"  {where}")
    if users:
        lines.append(f"  Sign in at {url}login as (new passwords every run):")
        lines += [f"    {name:<11} {password:<14} {role}: {what}" for name, role, password, what in users]
    lines.append(f"  Wallboard screen, read-only (kiosk link, every queue): {kiosk_url}")
    lines.append(f"  API: {url}api/v1/health with a signed-in session, or a token (floorboard tokens create)")
    lines.append("  Ctrl-C stops everything.\n")
    return "\n".join(lines)
