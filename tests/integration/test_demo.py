"""`floorboard demo` as a new user runs it: no Redis configured, one command, live numbers."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """urllib with cookies and the CSRF token, signing in through the form like a person does."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, url: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(url, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get_json(self, url: str) -> tuple[int, dict]:
        status, body = self.get(url)
        return status, json.loads(body)

    def sign_in(self, base: str, user: str, password: str) -> None:
        self.get(f"{base}/login")
        csrf = next(c.value for c in self.jar if c.name == "_csrf_token")
        form = urllib.parse.urlencode({"username": user, "password": password, "csrf_token": csrf}).encode()
        with self.opener.open(f"{base}/login", data=form, timeout=10) as r:
            assert r.status == 200 and not r.url.endswith("error=invalid"), r.url


def _banner(proc: subprocess.Popen, timeout_s: float) -> list[str]:
    """The demo's output up to and including its sign-in banner, read as it is printed."""
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(timeout_s), "".join(lines)
    return lines


def test_demo_starts_embedded_redis_shows_live_numbers_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORBOARD_")}
    env |= {"FLOORBOARD_WEB_PORT": str(port), "FLOORBOARD_TICK_S": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "floorboard.cli", "demo", "--agents", "20"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = f"http://127.0.0.1:{port}"
    base = f"{root}/api/v1"
    lines: list[str] = []
    try:
        lines = _banner(proc, 90)
        text = "".join(lines)
        # One user of each role, with the password of this run; a kiosk link for the wallboard.
        users = dict(re.findall(r"^ {4}(\w+) +(\S+) +(?:admin|manager|supervisor|agent):", text, re.M))
        assert set(users) == {"admin", "manager", "supervisor", "agent01"}, text
        kiosk_url = re.search(r"(http://\S+/kiosk/\S+)", text).group(1)
        anonymous = Browser()
        assert anonymous.get_json(f"{base}/health")[0] == 401
        browser = Browser()
        browser.sign_in(root, "manager", users["manager"])
        deadline = time.monotonic() + 90
        status, health = 0, {}
        while time.monotonic() < deadline:
            try:
                status, health = browser.get_json(f"{base}/health")
                if status == 200 and health["events_applied"] > 0:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        assert status == 200, health
        _, queues = browser.get_json(f"{base}/queues")
        assert {q["id"] for q in queues["queues"]} == {"sales", "support", "billing", "claims"}
        first = health["events_applied"]
        time.sleep(3)
        _, health = browser.get_json(f"{base}/health")
        assert health["events_applied"] >= first and health["status"] == "ok"
        assert browser.get(f"{root}/wallboard")[0] == 200
        # The agent sees their own day, not the wallboard; the kiosk link opens the wallboard.
        agent = Browser()
        agent.sign_in(root, "agent01", users["agent01"])
        assert agent.get_json(f"{base}/agents/agent01")[0] == 200
        assert agent.get_json(f"{base}/agents/agent02")[0] == 403
        assert agent.get(f"{root}/wallboard")[0] == 403
        screen = Browser()
        assert screen.get(kiosk_url)[0] == 200
        assert screen.get_json(f"{base}/queues")[0] == 403
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    out = "".join(lines) + (out or "")
    assert proc.returncode == 0, out
    assert "floorboard demo is running" in out and "Traceback" not in out
