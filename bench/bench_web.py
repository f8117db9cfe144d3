"""Load benchmark of the wallboard refresh: many dashboards polling the web server.

What the issue asks: 500 dashboards, each refreshing every 5 s (100 requests/s), against the
demo's data; p95 <= 100 ms with no errors on a 2-core machine, and the server's CPU per refresh.

The run:

1. The demo's data (the simulated 40-agent center, seed 1) from local midnight to now is applied
   to the configured Redis under a fresh key prefix (``bench-web-<hex>``); while the load runs, a
   feeder thread keeps applying the simulator's events as their time comes and the engine
   process ticks every 2 s, as in ``floorboard demo``.
2. Access control as in production: a generated ``FLOORBOARD_SECRET_KEY``, a temporary users file
   (one admin with a random password nobody uses: ``floorboard web`` refuses to start without
   one), and a kiosk link for the wallboard (``floorboard kiosk create --group all``; ``--group``
   here picks another, ``*`` for the rotating board of every group).
3. ``floorboard web`` (gunicorn, 2 workers, default threads) is started on a free port, and the
   Dash development server (werkzeug, threaded: what ``app.run()`` gives) serves the same app
   on another, for comparison. A control run serves the same app with gunicorn and the
   access-control gate left out (``app.auth.install`` replaced, in that server process only, by
   one that adds no request hooks, no signed session and no sign-in routes): the gate is its
   only difference from ``floorboard web``.
4. Each server is opened like a TV browser opens a kiosk link: ``GET /kiosk/<token>`` (a 303 to
   the wallboard page and the kiosk session cookie plus the ``_csrf_token`` cookie), the page
   shell, ``/_dash-dependencies``, then Dash's page router callback, whose answer holds the
   wallboard's params store. The request measured is the one the browser then sends every
   refresh: a POST to ``/_dash-update-component`` built from ``/_dash-dependencies`` (the
   callback whose outputs are the board's markup and digest), with both cookies and the
   ``X-CSRFToken`` header Dash's renderer copies from the ``_csrf_token`` cookie, and no digest
   on screen, so every refresh renders and returns the whole board (the worst case: a browser
   that already shows the board gets a 204 when nothing changed). Before the load, the bench
   checks that the gate refuses the same POST without the cookies (401) and without the CSRF
   header (403), and that the control server does not.
5. wrk drives it. Paced: 50 connections, each waiting 237-712 ms (475 ms on average) after each
   response, about 100 requests/s; each connection stands for 10 dashboards. Saturation: 8
   connections, no delay. The server's CPU is the utime + stime delta of its processes
   (``/proc/<pid>/stat``) over the measured run, divided by the requests served.
6. The gate alone: its work for one refresh (session cookie, ``Gate.before``, ``Gate.after``)
   timed in this process on the app ``floorboard web`` builds, with the same kiosk session.

Run from the repository root (``floorboard bench web ARGS`` runs the same script):

    .venv/bin/python bench/bench_web.py --own-redis     # 30 s per measured run, a private Redis
    .venv/bin/python bench/bench_web.py --duration 10 --no-write --no-gate-control

Without ``--own-redis`` it runs on ``FLOORBOARD_REDIS_URL`` (default the local 6379) under its own
key prefix. The keys (the kiosk link's record included), the temporary users file and any
private Redis are removed at the end. The figures go to docs/benchmarks.md under
``## Web pages under load`` unless ``--no-write`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from adapters.simulate import SimConfig, SimulatedCenter  # noqa: E402
from app.auth import kiosk  # noqa: E402
from app.auth.guard import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE  # noqa: E402
from app.auth.users import UsersFile  # noqa: E402
from bench._docs import DOC, write_section  # noqa: E402
from floorboard.config import load_settings  # noqa: E402
from floorboard.events import Event  # noqa: E402
from realtime.runner import EngineProcess  # noqa: E402
from realtime.store import Store  # noqa: E402

SECTION = "## Web pages under load"
DEMO_QUEUES = ROOT / "floorboard" / "demo_queues.toml"
TARGET_RATE = 100  # 500 dashboards / 5 s
TARGET_P95_MS = 100.0
PACED_CONNECTIONS = 50
PACE_MS = 475  # mean delay after a response; with ~10 ms of latency, 50 connections give ~100 req/s
CLK_TCK = os.sysconf("SC_CLK_TCK")

WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = [==[__COOKIE__]==]
wrk.headers["X-CSRFToken"] = [==[__CSRF__]==]
wrk.body = [==[__BODY__]==]

local pace = __PACE__
local threads = {}
statuses = {}

function setup(thread)
  table.insert(threads, thread)
end

function delay()
  if pace > 0 then
    return math.random(math.floor(pace / 2), pace + math.floor(pace / 2))
  end
  return 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local out = {
    requests = summary.requests,
    duration_us = summary.duration,
    errors_connect = summary.errors.connect,
    errors_read = summary.errors.read,
    errors_write = summary.errors.write,
    errors_status = summary.errors.status,
    errors_timeout = summary.errors.timeout,
    p50_us = latency:percentile(50),
    p95_us = latency:percentile(95),
    p99_us = latency:percentile(99),
    max_us = latency.max,
    mean_us = latency.mean,
  }
  local parts = {}
  for k, v in pairs(out) do
    parts[#parts + 1] = string.format('"%s": %s', k, tostring(v))
  end
  io.write("WRK_JSON {" .. table.concat(parts, ", ") .. "}\\n")
end
"""


# ----------------------------------------------------------------------------- helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    location: str | None
    cookies: dict[str, str]  # set by this answer (Set-Cookie), name -> value


def http(url: str, body: bytes | None = None, *, headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> Answer:
    """One request, redirects not followed (the bench follows them itself, like a browser)."""
    parts = urllib.parse.urlsplit(url)
    conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn.request("POST" if body is not None else "GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                     body=body, headers=hdrs)
        resp = conn.getresponse()
        cookies = {}
        for raw in resp.headers.get_all("Set-Cookie") or []:
            name, _, value = raw.split(";", 1)[0].partition("=")
            cookies[name.strip()] = value.strip()
        return Answer(resp.status, resp.read(), resp.headers.get("Location"), cookies)
    finally:
        conn.close()


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until ``url`` (a route open to everyone, e.g. /_dash-layout) answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before answering {url}")
        try:
            if http(url, timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"no answer from {url} within {timeout:.0f} s")


def proc_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn's master and workers)."""
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        kids = []
    for kid in kids:
        out.extend(proc_tree(int(kid)))
    return out


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15 of stat)
    return out


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# ----------------------------------------------------------------------------- data
class Feeder(threading.Thread):
    """Applies the simulated center's events as their time comes (the demo's live day)."""

    def __init__(self, store: Store, events: Iterator[Event]) -> None:
        super().__init__(name="feeder", daemon=True)
        self.store, self.events = store, events
        self.stop_event = threading.Event()
        self.pending: Event | None = None
        self.applied = 0

    def feed_until(self, until_ms: int, batch_size: int = 500) -> int:
        batch: list[tuple[str, str]] = []
        n = 0
        while True:
            ev = self.pending if self.pending is not None else next(self.events)
            if ev.ts_ms > until_ms:
                self.pending = ev
                break
            self.pending = None
            batch.append((ev.to_json(), ev.source))
            if len(batch) >= batch_size:
                n += self.store.apply_entries(batch, now_ms()).applied
                batch.clear()
        if batch:
            n += self.store.apply_entries(batch, now_ms()).applied
        self.applied += n
        return n

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            self.feed_until(now_ms())

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


# ----------------------------------------------------------------------------- request body
@dataclass(frozen=True)
class Screen:
    """What a TV browser holds after opening the kiosk link: its cookies, CSRF token and page."""

    cookie: str  # the Cookie header: the kiosk session and the _csrf_token cookie
    csrf: str  # X-CSRFToken, as Dash's renderer copies it from the _csrf_token cookie
    page: str  # where the kiosk link led, e.g. /wallboard/all?kiosk=1
    params: dict[str, Any]  # the wallboard's params store, as the page router returned it
    body: str  # the refresh POST

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie, CSRF_HEADER: self.csrf}


def callback_body(dep: dict[str, Any], values: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """A /_dash-update-component body for ``dep`` (from /_dash-dependencies), as the renderer
    builds it; ``values`` gives the inputs' and states' values (missing: None)."""
    outputs = [dict(zip(("id", "property"), part.split("."), strict=True))
               for part in dep["output"].strip(".").split("...")]
    if not dep["output"].startswith(".."):
        outputs = outputs[:1]
    inputs = [{"id": i["id"], "property": i["property"], "value": values.get((i["id"], i["property"]))}
              for i in dep["inputs"]]
    state = [{"id": s["id"], "property": s["property"], "value": values.get((s["id"], s["property"]))}
             for s in dep["state"]]
    changed = [f"{inputs[0]['id']}.{inputs[0]['property']}"]
    return {"output": dep["output"], "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "changedPropIds": changed, "parsedChangedPropsIds": changed, "state": state}


def find_prop(tree: Any, component_id: str, prop: str) -> Any:
    """The ``prop`` of the component ``component_id`` in a serialized Dash layout."""
    if isinstance(tree, list):
        for item in tree:
            found = find_prop(item, component_id, prop)
            if found is not None:
                return found
    elif isinstance(tree, dict):
        props = tree.get("props") or {}
        if props.get("id") == component_id:
            return props.get(prop)
        return find_prop(props.get("children"), component_id, prop)
    return None


def open_kiosk(base: str, token: str) -> Screen:
    """Open the kiosk link like a TV browser, up to the first wallboard refresh it would send."""
    ans = http(f"{base}/kiosk/{token}")
    if ans.status != 303 or not ans.location or SESSION_COOKIE not in ans.cookies or CSRF_COOKIE not in ans.cookies:
        raise SystemExit(f"kiosk link answered {ans.status} (location {ans.location}, cookies {sorted(ans.cookies)})")
    jar = dict(ans.cookies)
    page = urllib.parse.urljoin(base + "/", ans.location)[len(base):]
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()), CSRF_HEADER: jar[CSRF_COOKIE]}
    shell = http(base + page, headers=headers)  # the page shell, as the browser loads it
    if shell.status != 200:
        raise SystemExit(f"{page} answered {shell.status} with the kiosk session")
    if shell.cookies:
        raise SystemExit(f"{page} set cookies again ({sorted(shell.cookies)}): the session is not stable")
    deps_ans = http(base + "/_dash-dependencies", headers=headers)
    if deps_ans.status != 200:
        raise SystemExit(f"/_dash-dependencies answered {deps_ans.status}")
    deps = json.loads(deps_ans.body)
    # The page router: Dash's callback that turns the location into the page's layout.
    router = next(d for d in deps if "_pages_content.children" in d["output"] and not d.get("clientside_function"))
    path, _, query = page.partition("?")
    routed = http(base + "/_dash-update-component", headers=headers, body=json.dumps(callback_body(
        router, {("_pages_location", "pathname"): path, ("_pages_location", "search"): f"?{query}" if query else ""},
    )).encode())
    if routed.status != 200:
        raise SystemExit(f"the page router answered {routed.status} for {page}: {routed.body[:300]!r}")
    layout = json.loads(routed.body)["response"]["_pages_content"]["children"]
    params = find_prop(layout, "wb-params", "data")
    if not isinstance(params, dict):
        raise SystemExit(f"no wallboard params in the layout of {page}: {routed.body[:300]!r}")
    refresh = next(d for d in deps if "wb-markup.data" in d["output"] and not d.get("clientside_function"))
    values = {("wb-interval", "n_intervals"): 1, ("wb-params", "data"): params, ("wb-digest", "data"): None}
    return Screen(cookie=headers["Cookie"], csrf=headers[CSRF_HEADER], page=page, params=params,
                  body=json.dumps(callback_body(refresh, values)))


def check_refresh(base: str, screen: Screen, *, gated: bool) -> int:
    """The refresh answers the whole board; the gate refuses it without the session or the CSRF
    header (the control server, without the gate, must not). Returns the response size."""
    url, body = base + "/_dash-update-component", screen.body.encode()
    ans = http(url, body, headers=screen.headers)
    if ans.status != 200:
        raise SystemExit(f"wallboard refresh answered {ans.status}: {ans.body[:300]!r}")
    resp = json.loads(ans.body)["response"]
    markup = resp["wb-markup"]["data"]
    digest = resp["wb-digest"]["data"]
    if "wb-" not in markup or not digest:
        raise SystemExit(f"unexpected wallboard response: {ans.body[:300]!r}")
    no_session = http(url, body).status
    no_csrf = http(url, body, headers={"Cookie": screen.cookie}).status
    expected = (401, 403) if gated else (200, 200)
    if (no_session, no_csrf) != expected:
        raise SystemExit(f"without the session / the CSRF header the refresh answered {no_session} / {no_csrf}, "
                         f"expected {expected[0]} / {expected[1]}")
    return len(ans.body)


# ----------------------------------------------------------------------------- wrk
@dataclass
class Run:
    kind: str
    server: str
    mode: str
    connections: int
    requests: int
    duration_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx: int
    statuses: str
    cpu_s: float
    redis_cpu_s: float
    cpu_split: str  # CPU seconds per process: main (gunicorn master), then workers

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s

    @property
    def cpu_ms_per_req(self) -> float:
        return self.cpu_s * 1000 / max(1, self.requests)

    @property
    def redis_cpu_per_req_ms(self) -> float:
        return self.redis_cpu_s * 1000 / max(1, self.requests)


def run_wrk(url: str, screen: Screen, *, connections: int, pace_ms: int, duration: int,
            tmp: Path) -> tuple[dict[str, Any], dict[int, int]]:
    script = tmp / f"wb-{pace_ms}.lua"
    lua = WRK_LUA.replace("__PACE__", str(pace_ms))
    for key, value in (("__COOKIE__", screen.cookie), ("__CSRF__", screen.csrf), ("__BODY__", screen.body)):
        lua = lua.replace(key, value)
    # Status counts: each wrk thread has its own Lua state; done() collects them with thread:get.
    lua = lua.replace(
        'io.write("WRK_JSON',
        'for _, t in ipairs(threads) do\n'
        '    for s, n in pairs(t:get("statuses")) do io.write(string.format("WRK_STATUS %d %d\\n", s, n)) end\n'
        '  end\n'
        '  io.write("WRK_JSON',
    )
    script.write_text(lua)
    threads = 2
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
           "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0:
        raise SystemExit(f"wrk failed: {out.stderr}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON "))
    statuses: dict[int, int] = {}
    for ln in out.stdout.splitlines():
        if ln.startswith("WRK_STATUS "):
            _, s, n = ln.split()
            statuses[int(s)] = statuses.get(int(s), 0) + int(n)
    return json.loads(line[len("WRK_JSON "):]), statuses


def measure(kind: str, name: str, mode: str, base: str, screen: Screen, pid: int, client: redis.Redis, *,
            connections: int, pace_ms: int, duration: int, tmp: Path) -> Run:
    pids = proc_tree(pid)
    cpu0, rcpu0 = cpu_by_pid(pids), redis_cpu(client)
    res, statuses = run_wrk(base + "/_dash-update-component", screen, connections=connections,
                            pace_ms=pace_ms, duration=duration, tmp=tmp)
    cpu1, rcpu1 = cpu_by_pid(pids), redis_cpu(client)
    split = [cpu1.get(p, 0.0) - cpu0.get(p, 0.0) for p in pids]
    # Fall back to wrk's own count (status > 399) if no status table came back.
    non_2xx = sum(n for s, n in statuses.items() if not 200 <= s < 300) if statuses else res["errors_status"]
    errors = res["errors_connect"] + res["errors_read"] + res["errors_write"] + res["errors_timeout"]
    run = Run(
        kind=kind, server=name, mode=mode, connections=connections, requests=int(res["requests"]),
        duration_s=res["duration_us"] / 1e6, p50_ms=res["p50_us"] / 1000, p95_ms=res["p95_us"] / 1000,
        p99_ms=res["p99_us"] / 1000, max_ms=res["max_us"] / 1000, errors=int(errors), non_2xx=int(non_2xx),
        statuses=", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())) or "n/a",
        cpu_s=sum(split), redis_cpu_s=rcpu1 - rcpu0,
        cpu_split=" / ".join(f"{c:.1f}" for c in split),
    )
    print(f"  {name:<28} {mode:<11} {run.rate:7.1f} req/s  p50 {run.p50_ms:6.1f}  p95 {run.p95_ms:6.1f}  "
          f"p99 {run.p99_ms:6.1f} ms  errors {run.errors}  non-2xx {run.non_2xx}  "
          f"CPU {run.cpu_ms_per_req:.2f} ms/req (s per process {run.cpu_split})  [{run.statuses}]", flush=True)
    return run


# ----------------------------------------------------------------------------- servers
DEV_SERVER = """
import sys
from werkzeug.serving import make_server
from floorboard.config import load_settings
from floorboard.commands import build_web
settings = load_settings()
make_server("127.0.0.1", settings.web_port, build_web(settings), threaded=True).serve_forever()
"""

# The control: `floorboard web` exactly (the same gunicorn settings, defaults of `floorboard web`)
# with the access-control gate left out: no before/after hooks, no signed session cookie (no
# secret key on the Flask app), no /login and /kiosk routes. The gate object is only registered
# because the API refuses to be registered without it. Only this server process is changed.
NO_GATE_SERVER = """
import app.auth
from app.auth import guard

def install_without_gate(server, settings, users, store, dash_app=None):
    gate = guard.Gate(settings, users, store, dash_app)
    server.extensions[guard.EXTENSION] = gate
    return gate

app.auth.install = install_without_gate
from floorboard import cli
raise SystemExit(cli.main(["web", "--workers", "2"]))
"""


def start_server(kind: str, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**env, "FLOORBOARD_WEB_PORT": str(port)}
    if kind == "gunicorn":
        exe = Path(sys.executable).with_name("floorboard")
        cmd = [str(exe), "web", "--workers", "2"]
    elif kind == "nogate":
        cmd = [sys.executable, "-c", NO_GATE_SERVER]
    else:
        cmd = [sys.executable, "-c", DEV_SERVER]
    # The log goes to a file: werkzeug logs every request, and a full pipe would stall the server.
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ----------------------------------------------------------------------------- the gate alone
GATE_PARTS = ("session cookie", "Gate.before", "Gate.after")


@dataclass
class GateCost:
    calls: int
    cpu_us: dict[str, float]  # median thread CPU per refresh, by part and "total"
    wall_us: dict[str, float]  # median wall clock, by part and "total"
    wall_p95_us: float  # of the total


def gate_cost(settings: Any, store: Store, screen: Screen, calls: int) -> GateCost:
    """The gate's own work for one refresh, timed in this process on the app ``floorboard web``
    builds, in three parts: opening the signed session cookie; ``Gate.before`` (who: the kiosk
    link's signature and its Redis record; the CSRF token; the callback's rule for the group);
    ``Gate.after`` (CSRF cookie check, security headers). Call it once per process: Dash's
    callbacks register with the first app built."""
    from flask import Response

    from app.auth.guard import EXTENSION
    from app.server import create_app

    server = create_app(settings, store).server
    server.test_client().get("/_dash-layout")  # Dash finishes its setup on the first request
    gate = server.extensions[EXTENSION]
    headers = {"Content-Type": "application/json", **screen.headers}
    cpu: dict[str, list[float]] = {k: [] for k in (*GATE_PARTS, "total")}
    wall: dict[str, list[float]] = {k: [] for k in (*GATE_PARTS, "total")}
    for _ in range(calls):
        with server.test_request_context("/_dash-update-component", method="POST", data=screen.body,
                                         headers=headers) as ctx:
            # Pushing the context opened the session already; opening it again here times that step.
            marks = [(time.thread_time_ns(), time.perf_counter_ns())]
            server.session_interface.open_session(server, ctx.request)
            marks.append((time.thread_time_ns(), time.perf_counter_ns()))
            refused = gate.before()
            marks.append((time.thread_time_ns(), time.perf_counter_ns()))
            gate.after(Response())
            marks.append((time.thread_time_ns(), time.perf_counter_ns()))
        if refused is not None:
            raise SystemExit(f"the gate refused the refresh in-process: {refused.status}")
        for i, part in enumerate(GATE_PARTS):
            cpu[part].append((marks[i + 1][0] - marks[i][0]) / 1000)
            wall[part].append((marks[i + 1][1] - marks[i][1]) / 1000)
        cpu["total"].append((marks[-1][0] - marks[0][0]) / 1000)
        wall["total"].append((marks[-1][1] - marks[0][1]) / 1000)
    for values in (*cpu.values(), *wall.values()):
        values.sort()
    return GateCost(calls, {k: v[calls // 2] for k, v in cpu.items()}, {k: v[calls // 2] for k, v in wall.items()},
                    wall["total"][int(calls * 0.95)])


# ----------------------------------------------------------------------------- own Redis
def start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server on a free loopback port, no persistence: its CPU is this run's alone."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("--own-redis needs redis-server on the PATH")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.1)


# ----------------------------------------------------------------------------- report
def table(runs: list[Run]) -> str:
    head = ("| server | load | connections | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors | non-2xx "
            "| server CPU per refresh | CPU s per process | Redis CPU per refresh |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = [
        f"| {r.server} | {r.mode} | {r.connections} | {r.rate:,.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
        f"{r.p99_ms:.1f} | {r.max_ms:.1f} | {r.errors} | {r.non_2xx} | {r.cpu_ms_per_req:.2f} ms | {r.cpu_split} | "
        f"{r.redis_cpu_per_req_ms:.3f} ms |"
        for r in runs
    ]
    return head + "\n".join(rows) + "\n"


def _pick(runs: list[Run], kind: str, mode: str) -> Run | None:
    return next((r for r in runs if r.kind == kind and r.mode == mode), None)


def section(runs: list[Run], *, command: str, duration: int, info: dict[str, Any], cost: GateCost | None) -> str:
    paced = _pick(runs, "gunicorn", "paced")
    assert paced is not None
    met = paced.p95_ms <= TARGET_P95_MS and paced.errors == 0 and paced.non_2xx == 0 and paced.rate >= 0.95 * TARGET_RATE
    sat = _pick(runs, "gunicorn", "saturation")
    dev = _pick(runs, "dev", "paced")
    lines = [
        SECTION,
        "",
        f"Command: `{command}`. Run {info['when']} on "
        f"{info['nproc']} cores (nproc {info['nproc']}), Python {platform.python_version()}, "
        f"Redis {info['redis']}, {info['wrk']}. The wallboard refresh (`POST /_dash-update-component`, "
        f"the body the browser sends, built from `/_dash-dependencies`; no digest on screen, so every "
        f"request renders and returns the whole board, {info['resp_bytes']:,} bytes) against the demo's "
        f"data: the simulated 40-agent center (seed 1) from local midnight, {info['events']:,} events "
        f"applied before the run and fed on as their time came during it, engine ticking every 2 s. "
        f"wrk, the feeder, the engine and Redis share the 2 cores with the server (1-min load average "
        f"{info['load0']} at the start, {info['load1']} at the end; the machine is shared). "
        + ("Redis: a redis-server of the bench's own (`--own-redis`), so its CPU is this run's alone."
           if info["own_redis"] else
           "Redis: the shared server of `FLOORBOARD_REDIS_URL`; its other clients' work counts in the Redis "
           "CPU column."),
        "",
        f"Every request passes the access-control gate, as a wallboard TV's do: the servers run with a "
        f"generated `FLOORBOARD_SECRET_KEY` and a temporary users file, and the bench opens a kiosk link "
        f"for group `{info['group']}` like a TV browser (`GET /kiosk/<token>` → 303 to `{info['page']}` with "
        f"the kiosk session and `_csrf_token` cookies; the page shell; Dash's page router, whose answer gives "
        f"the wallboard's params `{json.dumps(info['params'], separators=(', ', ': '))}`). Each refresh then "
        f"carries both cookies and the `X-CSRFToken` header Dash's renderer copies from `_csrf_token`; the "
        f"gate checks the session's signature, the kiosk link's signature and its Redis record (revocation), "
        f"the CSRF token and the callback's rule for the group. Checked before the load: the same POST "
        f"without the cookies answers 401, without the CSRF header 403.",
        "",
        "| target | measured | result |",
        "|---|---|---|",
        f"| 500 dashboards every 5 s (100 req/s): p95 ≤ 100 ms, no errors, `floorboard web` (gunicorn, 2 workers) "
        f"| {paced.rate:,.1f} req/s, p95 {paced.p95_ms:.1f} ms, p99 {paced.p99_ms:.1f} ms, "
        f"{paced.errors} errors, {paced.non_2xx} non-2xx | {'met' if met else 'not met'} |",
        f"| server CPU per refresh (no numeric target) | {paced.cpu_ms_per_req:.2f} ms of CPU per refresh "
        f"(gunicorn master + workers, utime + stime), i.e. {paced.cpu_s / paced.duration_s * 100:.0f}% of one "
        f"core at {paced.rate:,.0f} req/s | reported |",
        "",
        f"Paced: {PACED_CONNECTIONS} connections, each waiting {PACE_MS // 2}–{PACE_MS + PACE_MS // 2} ms after every response (each stands "
        f"for 10 dashboards), {duration} s after a 5 s warm-up. Saturation: 8 connections, no delay. wrk "
        f"4.1 has no rate limiting, so the paced rate is approximate; its latency excludes the delay. "
        f"\"CPU s per process\": the server's CPU seconds over the run, per process (for gunicorn the master, "
        f"then each worker); wrk keeps its connections open, so a worker serves the connections it accepted "
        f"for the whole run and the split between workers can be uneven. The control row is `floorboard web` "
        f"with the gate left out (in that server process only, never shipped: no request hooks, no signed "
        f"session cookie, no sign-in routes), sent the same bytes: the gate is its only difference.",
        "",
        table(runs),
    ]
    notes = []
    if sat is not None:
        dashboards = sat.rate * 5
        notes.append(
            f"Saturation: `floorboard web` served {sat.rate:,.0f} refreshes/s, about {dashboards:,.0f} dashboards "
            f"at one refresh per 5 s (with wrk on the same 2 cores). The shipped wallboard refreshes every "
            f"{info['refresh_ms'] / 1000:g} s (`WALLBOARD_REFRESH_MS`), so 500 wallboards as shipped would send "
            f"{500 * 1000 / info['refresh_ms']:,.0f} req/s; a browser that already shows the board gets a 204 "
            f"(no body) when the board has not changed."
        )
    gate_notes = []
    for mode in ("paced", "saturation"):
        gated, bare = _pick(runs, "gunicorn", mode), _pick(runs, "nogate", mode)
        if gated is not None and bare is not None:
            gate_notes.append(
                f"{mode}, {gated.cpu_ms_per_req:.2f} against {bare.cpu_ms_per_req:.2f} ms of server CPU per refresh "
                f"({gated.cpu_ms_per_req - bare.cpu_ms_per_req:+.2f} ms, "
                f"{(gated.cpu_ms_per_req / bare.cpu_ms_per_req - 1) * 100:+.0f}%), Redis CPU "
                f"{gated.redis_cpu_per_req_ms:.3f} against {bare.redis_cpu_per_req_ms:.3f} ms, p95 {gated.p95_ms:.1f} "
                f"against {bare.p95_ms:.1f} ms"
                + (f", {gated.rate:,.0f} against {bare.rate:,.0f} refreshes/s" if mode == "saturation" else "")
            )
    if gate_notes or cost is not None:
        text = "Access-control overhead."
        if gate_notes:
            text += (" `floorboard web` with the gate against the control without it (the same requests, measured "
                     "one after the other, so the shared machine's load may differ between the two): "
                     + "; ".join(gate_notes) + ".")
        if cost is not None:
            parts = ", ".join(f"{part} {cost.cpu_us[part]:,.0f} / {cost.wall_us[part]:,.0f}" for part in GATE_PARTS)
            text += (f" The gate alone, timed in the bench process on the app `floorboard web` builds ({cost.calls:,} "
                     f"refreshes with the kiosk session; medians, µs of CPU / µs of wall clock): "
                     f"**{cost.cpu_us['total']:,.0f} / {cost.wall_us['total']:,.0f} per refresh** (wall p95 "
                     f"{cost.wall_p95_us:,.0f}; the bench's feeder thread shares this process); by part: {parts}. "
                     f"`Gate.before` includes the kiosk link's signature and the Redis read of its record, which "
                     f"makes a revocation apply on the screen's next refresh.")
        notes.append(text)
    if dev is not None:
        notes.append(
            f"The Dash development server (werkzeug, threaded, what `app.run()` gives) on the same app, gate and "
            f"load: p95 {dev.p95_ms:.1f} ms at {dev.rate:,.1f} req/s, {dev.cpu_ms_per_req:.2f} ms CPU per refresh."
        )
    lines += [n + "\n" for n in notes]
    return "\n".join(lines).rstrip() + "\n"



# ----------------------------------------------------------------------------- main
def parse_args() -> tuple[argparse.Namespace, str]:
    """The options, and the command line that reproduces them (for the docs)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=30, help="seconds per measured wrk run (default 30)")
    ap.add_argument("--group", default="all",
                    help="the kiosk link's group (default all: every queue on one board; '*' rotates the groups)")
    ap.add_argument("--no-dev-server", action="store_true", help="skip the Dash development server comparison")
    ap.add_argument("--no-gate-control", action="store_true",
                    help="skip the control run without the access-control gate and the in-process gate timing")
    ap.add_argument("--own-redis", action="store_true",
                    help="run on a private redis-server started for the run (free loopback port, no persistence) "
                         "instead of FLOORBOARD_REDIS_URL: on a shared server, other clients' work counts in "
                         "the Redis CPU column")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    command = " ".join(["floorboard bench web", f"--duration {args.duration}",
                        *([f"--group '{args.group}'"] if args.group != "all" else []),
                        *(["--no-dev-server"] if args.no_dev_server else []),
                        *(["--no-gate-control"] if args.no_gate_control else []),
                        *(["--own-redis"] if args.own_redis else [])])
    return args, command


def serve_and_measure(kinds: list[tuple[str, str]], env: dict[str, str], token: str, client: redis.Redis, *,
                      duration: int, tmp: Path, info: dict[str, Any]) -> tuple[list[Run], Screen]:
    """Each server in turn: start it, open the kiosk link on it, check, warm up, measure, stop."""
    runs: list[Run] = []
    gated_screen: Screen | None = None
    for kind, label in kinds:
        port = free_port()
        proc = start_server(kind, env, port, tmp / f"{kind}.log")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(base + "/_dash-layout", proc)
            if kind == "nogate":
                assert gated_screen is not None
                screen = gated_screen  # the same bytes on the wire; no /kiosk route without the gate
            else:
                screen = open_kiosk(base, token)
                gated_screen = gated_screen or screen
                info.update(page=screen.page, params=screen.params)
            resp_bytes = check_refresh(base, screen, gated=kind != "nogate")
            if kind == "gunicorn":
                info["resp_bytes"] = resp_bytes
            how = "the gated server's screen" if kind == "nogate" else "opened with the kiosk link"
            print(f"{label} on :{port}; {screen.page} ({how}), params {screen.params}; "
                  f"refresh body {len(screen.body)} bytes, response {resp_bytes:,} bytes", flush=True)
            run_wrk(base + "/_dash-update-component", screen, connections=PACED_CONNECTIONS, pace_ms=PACE_MS,
                    duration=5, tmp=tmp)  # warm-up
            runs.append(measure(kind, label, "paced", base, screen, proc.pid, client,
                                connections=PACED_CONNECTIONS, pace_ms=PACE_MS, duration=duration, tmp=tmp))
            runs.append(measure(kind, label, "saturation", base, screen, proc.pid, client, connections=8,
                                pace_ms=0, duration=duration, tmp=tmp))
        finally:
            stop_server(proc)
    assert gated_screen is not None
    return runs, gated_screen


def main() -> int:
    args, command = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed")
    prefix = f"bench-web-{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    own_redis: subprocess.Popen[bytes] | None = None
    client: redis.Redis | None = None
    engine: EngineProcess | None = None
    feeder: Feeder | None = None
    cost: GateCost | None = None
    try:
        if args.own_redis:
            own_redis, redis_url = start_redis(tmp)
        else:
            redis_url = os.environ.get("FLOORBOARD_REDIS_URL") or "redis://127.0.0.1:6379/0"
        # Access control as `floorboard web` requires it: a secret key made for this run and a users
        # file with one admin (random password, never used: the screens sign in with a kiosk link).
        users_file = tmp / "users.json"
        UsersFile(users_file).add_user("bench-admin", "admin", secrets.token_urlsafe(24))
        fb_env = {
            "FLOORBOARD_REDIS_URL": redis_url,
            "FLOORBOARD_KEY_PREFIX": prefix,
            "FLOORBOARD_QUEUES_FILE": str(DEMO_QUEUES),
            "FLOORBOARD_HISTORY_URL": f"sqlite:///{tmp / 'history.db'}",
            "FLOORBOARD_SECRET_KEY": secrets.token_urlsafe(32),
            "FLOORBOARD_USERS_FILE": str(users_file),
        }
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("FLOORBOARD_")}, **fb_env}
        settings = load_settings(fb_env)
        store = Store.from_settings(settings)
        client = redis.Redis.from_url(redis_url)
        from app.pages._layouts import WALLBOARD_REFRESH_MS

        info: dict[str, Any] = {
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(),
            "redis": client.info("server")["redis_version"],
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0].strip() or "wrk",
            "load0": f"{os.getloadavg()[0]:.1f}",
            "group": args.group,
            "own_redis": args.own_redis,
            "refresh_ms": WALLBOARD_REFRESH_MS,
        }

        # The kiosk link, as `floorboard kiosk create --group GROUP` makes it (its record lives in Redis).
        assert settings.auth.secret_key is not None
        link, token = kiosk.create(store, settings.auth.secret_key, args.group, 1, time.time(), note="bench",
                                   known_groups=set(settings.queues.groups()))
        print(f"key prefix {prefix}; kiosk link {link.id} for group {link.group!r} ({link.path}); "
              f"applying today's simulated events…", flush=True)
        midnight = datetime.now(settings.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        center = SimulatedCenter(SimConfig(seed=1, n_agents=40, tz=settings.timezone))
        feeder = Feeder(store, center.generate(midnight, None))
        t0 = time.perf_counter()
        info["events"] = feeder.feed_until(now_ms())
        print(f"  {info['events']:,} events applied in {time.perf_counter() - t0:.1f} s", flush=True)

        started = EngineProcess(store, None)
        started.start()
        engine = started  # stopped at the end only once started
        feeder.start()
        kinds = [("gunicorn", "`floorboard web` (gunicorn, 2 workers × 4 threads)")]
        if not args.no_gate_control:
            kinds.append(("nogate", "control: `floorboard web` without the gate"))
        if not args.no_dev_server:
            kinds.append(("dev", "Dash dev server (werkzeug, threaded)"))
        runs, screen = serve_and_measure(kinds, env, token, client, duration=args.duration, tmp=tmp, info=info)
        if not args.no_gate_control:
            cost = gate_cost(settings, store, screen, calls=3000)
            parts = ", ".join(f"{k} {cost.cpu_us[k]:.0f} / {cost.wall_us[k]:.0f}" for k in GATE_PARTS)
            print(f"  the gate alone, in-process, median µs CPU / wall per refresh: total {cost.cpu_us['total']:.0f} / "
                  f"{cost.wall_us['total']:.0f} (p95 wall {cost.wall_p95_us:.0f}); {parts}", flush=True)
    finally:
        if feeder is not None and feeder.is_alive():
            feeder.stop()
        if engine is not None:
            engine.stop()
        if client is not None:
            deleted = sum(client.delete(key) for key in client.scan_iter(match=f"{prefix}*", count=1000))
            print(f"deleted {deleted} keys under {prefix}", flush=True)
        if own_redis is not None:
            stop_server(own_redis)
        shutil.rmtree(tmp, ignore_errors=True)

    info["load1"] = f"{os.getloadavg()[0]:.1f}"
    text = section(runs, command=command, duration=args.duration, info=info, cost=cost)
    print()
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print(f"updated {DOC.relative_to(ROOT)} ({SECTION})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
