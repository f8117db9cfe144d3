"""`floorboard import …` as a person runs it: exit codes, messages, and what ends up stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from floorboard.config import load_settings
from realtime.forecasts import read_forecast_day
from realtime.history import History
from realtime.schedules import read_roster, read_schedule_day
from realtime.store import Store

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def env(redis_url, redis_client, key_prefix, tmp_path):  # type: ignore[no-untyped-def]
    return {"FLOORBOARD_REDIS_URL": redis_url, "FLOORBOARD_KEY_PREFIX": key_prefix,
            "FLOORBOARD_TIMEZONE": "Europe/Paris", "FLOORBOARD_HISTORY_URL": f"sqlite:///{tmp_path / 'h.db'}"}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORBOARD_")} | env
    return subprocess.run([sys.executable, "-m", "floorboard.cli", *args], env=full_env,
                          capture_output=True, text=True, timeout=60)


def test_import_each_kind_prints_counts_and_stores(env, redis_client, key_prefix):  # type: ignore[no-untyped-def]
    r = run(["import", "schedule", str(EXAMPLES / "schedule.csv")], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("imported schedule: 2 days (2026-03-10 to 2026-03-11), 4 agents, 22 segments "
                                "(each day replaced)")
    r = run(["import", "agents", str(EXAMPLES / "agents.csv")], env)
    assert r.returncode == 0 and r.stdout.strip() == "imported agents: 4 agents in 2 teams (the roster replaced)"
    r = run(["import", "forecast", str(EXAMPLES / "forecast.csv")], env)
    assert r.returncode == 0
    assert r.stdout.strip() == ("imported forecast: 1 day (2026-03-10), 2 queues, 8 intervals "
                                "(each queue's day replaced)")
    settings = load_settings(env)
    store = Store(redis_client, settings)
    history = History(settings.history_url)
    assert set(read_schedule_day(store, "2026-03-10")) == {"agent01", "agent02", "agent03", "agent04"}
    assert set(read_roster(store)) == set(history.roster()) == {"agent01", "agent02", "agent03", "agent04"}
    assert set(read_forecast_day(store, "2026-03-10", history)) == {"sales", "support"}


def test_dry_run_validates_and_stores_nothing(env, redis_client, key_prefix):  # type: ignore[no-untyped-def]
    r = run(["import", "schedule", "--dry-run", str(EXAMPLES / "schedule.csv")], env)
    assert r.returncode == 0
    assert r.stdout.startswith(f"schedule file {EXAMPLES / 'schedule.csv'} is valid (dry run, nothing imported): 2 days")
    assert list(redis_client.scan_iter(match=f"{key_prefix}*")) == []


def test_dry_run_needs_no_redis(tmp_path):  # type: ignore[no-untyped-def]
    r = run(["import", "forecast", "--dry-run", str(EXAMPLES / "forecast.csv")],
            {"FLOORBOARD_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert r.returncode == 0 and "is valid" in r.stdout


def test_a_rejected_file_prints_each_error_and_exits_1(env, redis_client, key_prefix, tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("agent,date,activity,start,end\nana,2026-03-10,open,08:00,12:00\n"
                   "ana,2026-03-10,nap,12:00,13:00\nbob,2026-03-32,open,08:00,12:00\n", encoding="utf-8")
    r = run(["import", "schedule", str(bad)], env)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "line 3: activity: unknown activity 'nap' (known: break, lunch, meeting, off, open, phone, training)",
        "line 4: date: '2026-03-32' is not a date YYYY-MM-DD",
        f"floorboard: {bad} rejected (2 errors); nothing imported",
    ]
    assert list(redis_client.scan_iter(match=f"{key_prefix}*")) == []
    r = run(["import", "schedule", "--activities", "open,nap", str(bad)], env)
    assert r.returncode == 1 and r.stderr.splitlines()[0] == "line 4: date: '2026-03-32' is not a date YYYY-MM-DD"


def test_merge_keeps_the_rest_of_the_roster(env, redis_client, tmp_path):  # type: ignore[no-untyped-def]
    assert run(["import", "agents", str(EXAMPLES / "agents.csv")], env).returncode == 0
    extra = tmp_path / "more.csv"
    extra.write_text("agent,skills\nagent09,sales\n", encoding="utf-8")
    r = run(["import", "agents", "--merge", str(extra)], env)
    assert r.returncode == 0 and "(merged into the roster)" in r.stdout
    assert len(read_roster(Store(redis_client, load_settings(env)))) == 5


def test_missing_file_and_unreachable_redis_exit_1(env, tmp_path):  # type: ignore[no-untyped-def]
    r = run(["import", "agents", str(tmp_path / "nope.csv")], env)
    assert r.returncode == 1 and "cannot read" in r.stderr
    r = run(["import", "agents", str(EXAMPLES / "agents.csv")], env | {"FLOORBOARD_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert r.returncode == 1 and "import failed, nothing imported" in r.stderr
    assert History(env["FLOORBOARD_HISTORY_URL"]).roster() == {}


def test_simulate_with_a_bad_schedule_says_why(env, tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("agent,date,activity,start,end\nana,2026-03-10,open,08:00,08:00\n", encoding="utf-8")
    r = run(["ingest", "simulate", "--schedule", str(bad)], env)
    assert r.returncode == 1
    assert "line 2: end: equals start (a whole day is 00:00 to 24:00)" in r.stderr


def test_simulate_follows_the_schedule_and_roster_files(env):  # type: ignore[no-untyped-def]
    from datetime import date

    from floorboard import commands
    from floorboard.cli import _parser

    args = _parser().parse_args(["ingest", "simulate", "--schedule", str(EXAMPLES / "schedule.csv"),
                                 "--roster", str(EXAMPLES / "agents.csv")])
    center = commands.make_adapter(load_settings(env), args)
    shifts = {s.agent: s for s in center.schedule(date(2026, 3, 10))}
    assert set(shifts) == {"agent01", "agent02", "agent03"}
    assert shifts["agent03"].skills == ("billing", "claims")
