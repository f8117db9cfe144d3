"""Load benchmark of the wallboard refresh: many dashboards polling the web server.

What the issue asks: 500 dashboards, each refreshing every 5 s (100 requests/s), against the
demo's data; p95 <= 100 ms with no errors on a 2-core machine, and the server's CPU per refresh.

The run:

1. The demo's data (the simulated 40-agent center, seed 1) from local midnight to now is applied
   to the configured Redis under a fresh key prefix (``bench-web-<hex>``); while the load runs, a
   feeder thread keeps applying the simulator's events as their time comes and the engine
   process ticks every 2 s, as in ``floorboard demo``.
2. ``floorboard web`` (gunicorn, 2 workers, default threads) is started on a free port, and the
   Dash development server (werkzeug, threaded: what ``app.run()`` gives) serves the same app
   on another, for comparison.
3. The request is the one the browser sends for the wallboard refresh: a POST to
   ``/_dash-update-component`` built from ``/_dash-dependencies`` (the callback whose outputs
   are the board's markup and digest), with no digest on screen, so every refresh renders and
   returns the whole board (the worst case: a browser that already shows the board gets a 204
   when nothing changed).
4. wrk drives it. Paced: 50 connections, each waiting 237-712 ms (475 ms on average) after each
   response, about 100 requests/s; each connection stands for 10 dashboards. Saturation: 8
   connections, no delay. The server's CPU is the utime + stime delta of its processes
   (``/proc/<pid>/stat``) over the measured run, divided by the requests served.

Run from the repository root:

    .venv/bin/python bench/bench_web.py                 # 30 s per measured run
    .venv/bin/python bench/bench_web.py --duration 10 --no-write

The keys are deleted at the end. The figures go to docs/benchmarks.md under
``## Web pages under load`` unless ``--no-write`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from adapters.simulate import SimConfig, SimulatedCenter  # noqa: E402
from floorboard.config import load_settings  # noqa: E402
from floorboard.events import Event  # noqa: E402
from realtime.runner import EngineProcess  # noqa: E402
from realtime.store import Store  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
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
wrk.body = [==[BODY]==]

local pace = PACE
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


def http(url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before answering {url}")
        try:
            status, _ = http(url, timeout=2)
            if status == 200:
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
def wallboard_body(base: str) -> dict[str, Any]:
    """The POST body of the wallboard refresh, built from the app's own dependency list."""
    status, raw = http(base + "/_dash-dependencies")
    if status != 200:
        raise SystemExit(f"/_dash-dependencies answered {status}")
    deps = json.loads(raw)
    dep = next(d for d in deps if "wb-markup.data" in d["output"] and not d.get("clientside_function"))
    outputs = [dict(zip(("id", "property"), part.split("."), strict=True))
               for part in dep["output"].strip(".").split("...")]
    if not dep["output"].startswith(".."):
        outputs = outputs[:1]
    # The page's initial props: params as /wallboard sets them, no board on screen yet.
    initial = {("wb-params", "data"): {"group": None, "rotate_s": None}, ("wb-digest", "data"): None}
    inputs = [{"id": i["id"], "property": i["property"], "value": 1} for i in dep["inputs"]]
    state = [{"id": s["id"], "property": s["property"], "value": initial.get((s["id"], s["property"]))}
             for s in dep["state"]]
    return {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        "parsedChangedPropsIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        "state": state,
    }


def check_body(base: str, body: bytes) -> int:
    status, raw = http(base + "/_dash-update-component", body)
    if status != 200:
        raise SystemExit(f"wallboard refresh answered {status}: {raw[:300]!r}")
    resp = json.loads(raw)["response"]
    markup = resp["wb-markup"]["data"]
    digest = resp["wb-digest"]["data"]
    if "wb-" not in markup or not digest:
        raise SystemExit(f"unexpected wallboard response: {raw[:300]!r}")
    return len(raw)


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


def run_wrk(url: str, body: str, *, connections: int, pace_ms: int, duration: int,
            tmp: Path) -> tuple[dict[str, Any], dict[int, int]]:
    script = tmp / f"wb-{pace_ms}.lua"
    lua = WRK_LUA.replace("BODY", body).replace("PACE", str(pace_ms))
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


def measure(kind: str, name: str, mode: str, base: str, body: str, pid: int, client: redis.Redis, *,
            connections: int, pace_ms: int, duration: int, tmp: Path) -> Run:
    pids = proc_tree(pid)
    cpu0, rcpu0 = cpu_by_pid(pids), redis_cpu(client)
    res, statuses = run_wrk(base + "/_dash-update-component", body, connections=connections,
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


def start_server(kind: str, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**env, "FLOORBOARD_WEB_PORT": str(port)}
    if kind == "gunicorn":
        exe = Path(sys.executable).with_name("floorboard")
        cmd = [str(exe), "web", "--workers", "2"]
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


# ----------------------------------------------------------------------------- report
def table(runs: list[Run]) -> str:
    head = ("| server | load | connections | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors | non-2xx "
            "| server CPU per refresh | CPU s per process | Redis CPU per refresh |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = [
        f"| {r.server} | {r.mode} | {r.connections} | {r.rate:,.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
        f"{r.p99_ms:.1f} | {r.max_ms:.1f} | {r.errors} | {r.non_2xx} | {r.cpu_ms_per_req:.2f} ms | {r.cpu_split} | "
        f"{r.redis_cpu_s * 1000 / max(1, r.requests):.3f} ms |"
        for r in runs
    ]
    return head + "\n".join(rows) + "\n"


def section(runs: list[Run], *, duration: int, info: dict[str, Any]) -> str:
    paced = next(r for r in runs if r.kind == "gunicorn" and r.mode == "paced")
    met = paced.p95_ms <= TARGET_P95_MS and paced.errors == 0 and paced.non_2xx == 0 and paced.rate >= 0.95 * TARGET_RATE
    sat = next((r for r in runs if r.kind == "gunicorn" and r.mode == "saturation"), None)
    dev = next((r for r in runs if r.kind == "dev" and r.mode == "paced"), None)
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/bench_web.py --duration {duration}`. Run {info['when']} on "
        f"{info['nproc']} cores (nproc {info['nproc']}), Python {platform.python_version()}, "
        f"Redis {info['redis']}, {info['wrk']}. The wallboard refresh (`POST /_dash-update-component`, "
        f"the body the browser sends, built from `/_dash-dependencies`; no digest on screen, so every "
        f"request renders and returns the whole board, {info['resp_bytes']:,} bytes) against the demo's "
        f"data: the simulated 40-agent center (seed 1) from local midnight, {info['events']:,} events "
        f"applied before the run and fed on as their time came during it, engine ticking every 2 s. "
        f"wrk, the feeder, the engine and Redis share the 2 cores with the server (1-min load average "
        f"{info['load0']} at the start, {info['load1']} at the end; the machine is shared).",
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
        f"for the whole run and the split between workers can be uneven.",
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
    if dev is not None:
        notes.append(
            f"The Dash development server (werkzeug, threaded, what `app.run()` gives) on the same app and "
            f"load: p95 {dev.p95_ms:.1f} ms at {dev.rate:,.1f} req/s, {dev.cpu_ms_per_req:.2f} ms CPU per refresh."
        )
    lines += [n + "\n" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def write_section(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")  # re-read right before editing: others write here too
    pattern = re.compile(r"^## Web pages under load\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n", doc, count=1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    DOC.write_text(doc.rstrip("\n") + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=30, help="seconds per measured wrk run (default 30)")
    ap.add_argument("--no-dev-server", action="store_true", help="skip the Dash development server comparison")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed")

    prefix = f"bench-web-{uuid.uuid4().hex[:8]}"
    redis_url = os.environ.get("FLOORBOARD_REDIS_URL") or "redis://127.0.0.1:6379/0"
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORBOARD_")}
    fb_env = {
        "FLOORBOARD_REDIS_URL": redis_url,
        "FLOORBOARD_KEY_PREFIX": prefix,
        "FLOORBOARD_QUEUES_FILE": str(DEMO_QUEUES),
        "FLOORBOARD_HISTORY_URL": f"sqlite:///{tmp / 'history.db'}",
    }
    env.update(fb_env)
    settings = load_settings(fb_env)
    store = Store.from_settings(settings)
    client = redis.Redis.from_url(redis_url)
    info: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "redis": client.info("server")["redis_version"],
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0].strip() or "wrk",
        "load0": f"{os.getloadavg()[0]:.1f}",
    }
    from app.pages._layouts import WALLBOARD_REFRESH_MS

    info["refresh_ms"] = WALLBOARD_REFRESH_MS

    print(f"key prefix {prefix}; applying today's simulated events…", flush=True)
    midnight = datetime.now(settings.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    center = SimulatedCenter(SimConfig(seed=1, n_agents=40, tz=settings.timezone))
    feeder = Feeder(store, center.generate(midnight, None))
    t0 = time.perf_counter()
    applied = feeder.feed_until(now_ms())
    print(f"  {applied:,} events applied in {time.perf_counter() - t0:.1f} s", flush=True)
    info["events"] = applied

    engine = EngineProcess(store, None)
    servers: list[subprocess.Popen[bytes]] = []
    runs: list[Run] = []
    try:
        engine.start()
        feeder.start()
        kinds = [("gunicorn", "`floorboard web` (gunicorn, 2 workers × 4 threads)")]
        if not args.no_dev_server:
            kinds.append(("dev", "Dash dev server (werkzeug, threaded)"))
        for kind, label in kinds:
            port = free_port()
            proc = start_server(kind, env, port, tmp / f"{kind}.log")
            servers.append(proc)
            base = f"http://127.0.0.1:{port}"
            wait_up(base + "/wallboard", proc)
            body = json.dumps(wallboard_body(base))
            info["resp_bytes"] = check_body(base, body.encode())
            if kind == "gunicorn":
                (tmp / "body.json").write_text(body)
            print(f"{label} on :{port}; refresh body {len(body)} bytes, response {info['resp_bytes']:,} bytes",
                  flush=True)
            run_wrk(base + "/_dash-update-component", body, connections=PACED_CONNECTIONS, pace_ms=PACE_MS,
                    duration=5, tmp=tmp)  # warm-up
            runs.append(measure(kind, label, "paced", base, body, proc.pid, client, connections=PACED_CONNECTIONS,
                                pace_ms=PACE_MS, duration=args.duration, tmp=tmp))
            runs.append(measure(kind, label, "saturation", base, body, proc.pid, client, connections=8, pace_ms=0,
                                duration=args.duration, tmp=tmp))
            stop_server(proc)
    finally:
        for proc in servers:
            stop_server(proc)
        feeder.stop()
        engine.stop()
        deleted = 0
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            deleted += client.delete(key)
        print(f"deleted {deleted} keys under {prefix}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)

    info["load1"] = f"{os.getloadavg()[0]:.1f}"
    text = section(runs, duration=args.duration, info=info)
    print()
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {DOC.relative_to(ROOT)} ({SECTION})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
