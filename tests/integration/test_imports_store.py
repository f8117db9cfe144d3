"""Imports applied to a real Redis and a history store: replacement, atomicity, read-back."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis

from adapters.simulate import SimConfig, SimulatedCenter
from floorboard.commands import write_demo_plan
from floorboard.config import load_settings
from floorboard.imports import AgentsImport, ForecastImport, Rejected, ScheduleImport
from realtime.forecasts import forecast_versions, read_forecast_day
from realtime.history import History
from realtime.imports import apply_schedule, import_agents, import_forecast, import_schedule
from realtime.schedules import read_roster, read_schedule_day, roster_version, schedule_versions
from realtime.store import Store
from staffing.schedule import RosterAgent, Segment

pytestmark = pytest.mark.integration
TZ = "Europe/Paris"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def settings(key_prefix):  # type: ignore[no-untyped-def]
    return load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix, "FLOORBOARD_TIMEZONE": TZ})


@pytest.fixture
def store(redis_client, settings):  # type: ignore[no-untyped-def]
    return Store(redis_client, settings)


@pytest.fixture
def history(tmp_path):  # type: ignore[no-untyped-def]
    return History(f"sqlite:///{tmp_path / 'history.db'}")


def _today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def _schedule(*rows: str) -> str:
    return "agent,date,activity,start,end\n" + "\n".join(rows) + "\n"


def test_schedule_import_lands_in_redis_and_history(store, history):  # type: ignore[no-untyped-def]
    result = import_schedule(store, history, (EXAMPLES / "schedule.csv").read_bytes())
    assert isinstance(result, ScheduleImport)
    for day, agents in result.days.items():
        assert read_schedule_day(store, day) == agents
        assert history.schedule_day(day) == agents
    assert read_schedule_day(store, "2026-03-10")["agent03"][-1].end_ms > store.timebase.day_bounds_ms("2026-03-10")[1]
    assert schedule_versions(store, ["2026-03-10", "2026-03-11", "2026-03-12"]) == (1, 1, 0)
    ttl = store.r.ttl(store.keys.schedule_day("2026-03-10"))
    assert ttl > 0


def test_reimporting_a_day_replaces_it_and_leaves_other_days(store, history):  # type: ignore[no-untyped-def]
    first = import_schedule(store, history, _schedule(
        "ana,2026-03-10,open,08:00,16:00", "bob,2026-03-10,open,09:00,17:00", "bob,2026-03-11,open,09:00,17:00"))
    assert isinstance(first, ScheduleImport)
    second = import_schedule(store, history, _schedule("cy,2026-03-10,open,10:00,18:00"))
    assert isinstance(second, ScheduleImport)
    assert set(read_schedule_day(store, "2026-03-10")) == {"cy"}
    assert set(history.schedule_day("2026-03-10")) == {"cy"}
    assert set(read_schedule_day(store, "2026-03-11")) == {"bob"}
    assert set(history.schedule_day("2026-03-11")) == {"bob"}
    assert schedule_versions(store, ["2026-03-10", "2026-03-11"]) == (2, 1)


def test_a_bad_file_changes_nothing(store, history):  # type: ignore[no-untyped-def]
    import_schedule(store, history, _schedule("ana,2026-03-10,open,08:00,16:00"))
    before = (read_schedule_day(store, "2026-03-10"), history.schedule_day("2026-03-10"))
    bad = import_schedule(store, history, _schedule("bob,2026-03-10,open,08:00,16:00", "bob,2026-03-11,nap,08:00,16:00"))
    assert isinstance(bad, Rejected) and [str(e) for e in bad.errors][0].startswith("line 3: activity: unknown")
    assert (read_schedule_day(store, "2026-03-10"), history.schedule_day("2026-03-10")) == before
    assert read_schedule_day(store, "2026-03-11") == {} and history.schedule_day("2026-03-11") == {}
    assert schedule_versions(store, ["2026-03-10", "2026-03-11"]) == (1, 0)


def test_dry_run_writes_nothing(store, history):  # type: ignore[no-untyped-def]
    result = import_schedule(store, history, _schedule("ana,2026-03-10,open,08:00,16:00"), dry_run=True)
    assert isinstance(result, ScheduleImport)
    assert read_schedule_day(store, "2026-03-10") == {} and history.schedule_day("2026-03-10") == {}


def test_history_rolls_back_when_redis_fails(settings, history):  # type: ignore[no-untyped-def]
    seg = Segment("ana", "open", 1_773_126_000_000, 1_773_154_800_000)
    history.replace_schedule_days({"2026-03-10": {"ana": [seg]}}, 1)
    dead = Store(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5), settings)
    other = Segment("bob", "open", 1_773_126_000_000, 1_773_154_800_000)
    with pytest.raises(redis.ConnectionError):
        apply_schedule(dead, history, {"2026-03-10": {"bob": [other]}})
    assert history.schedule_day("2026-03-10") == {"ana": [seg]}


def test_roster_replace_and_merge(store, history):  # type: ignore[no-untyped-def]
    result = import_agents(store, history, (EXAMPLES / "agents.csv").read_bytes())
    assert isinstance(result, AgentsImport)
    assert read_roster(store) == history.roster() == {a.agent: a for a in result.agents}
    assert read_roster(store)["agent03"] == RosterAgent("agent03", "Chloé Martin", "Birch", "Priya Shah", ("billing", "claims"))
    merged = import_agents(store, history, "agent,skills\nagent01,claims\nagent09,sales\n", replace=False)
    assert isinstance(merged, AgentsImport)
    for roster in (read_roster(store), history.roster()):
        assert set(roster) == {"agent01", "agent02", "agent03", "agent04", "agent09"}
        assert roster["agent01"] == RosterAgent("agent01", skills=("claims",))
    import_agents(store, history, "agent,skills\nzoe,support\n")
    assert set(read_roster(store)) == set(history.roster()) == {"zoe"}
    assert roster_version(store) == 3
    bad = import_agents(store, history, "agent,skills\nzed,\n")
    assert isinstance(bad, Rejected) and set(read_roster(store)) == {"zoe"}


def test_forecast_import_replaces_each_queue_day_and_reads_back(store, history):  # type: ignore[no-untyped-def]
    today = _today().isoformat()
    text = (f"queue,date,interval_start,calls,aht_s\nsales,{today},08:00,12,240\nsales,{today},08:15,15.5,236\n"
            f"support,{today},08:00,9,395\n")
    result = import_forecast(store, history, text)
    assert isinstance(result, ForecastImport)
    t8 = int(datetime.combine(_today(), datetime.min.time(), ZoneInfo(TZ)).replace(hour=8).timestamp() * 1000)
    expected = {"sales": {t8: (12.0, 240.0), t8 + 900_000: (15.5, 236.0)}, "support": {t8: (9.0, 395.0)}}
    assert read_forecast_day(store, today) == history.forecast_day(today) == expected
    assert store.r.pttl(store.keys.forecast_day(today)) > 14 * 86_400_000
    # Re-importing sales replaces sales only.
    import_forecast(store, history, f"queue,date,interval_start,calls,aht_s\nsales,{today},09:00,30,200\n")
    expected = {"sales": {t8 + 3_600_000: (30.0, 200.0)}, "support": {t8: (9.0, 395.0)}}
    assert read_forecast_day(store, today) == history.forecast_day(today) == expected
    assert forecast_versions(store, [today, "2000-01-01"]) == (2, 0)
    bad = import_forecast(store, history, f"queue,date,interval_start,calls,aht_s\nsales,{today},09:00,-3,200\n")
    assert isinstance(bad, Rejected) and read_forecast_day(store, today) == expected


def test_old_forecast_days_are_read_from_history(store, history):  # type: ignore[no-untyped-def]
    old = (_today() - timedelta(days=30)).isoformat()
    result = import_forecast(store, history, f"queue,date,interval_start,calls,aht_s\nsales,{old},10:00,5,300\n")
    assert isinstance(result, ForecastImport)
    assert not store.r.exists(store.keys.forecast_day(old))  # past its live window
    assert read_forecast_day(store, old) == {}
    assert read_forecast_day(store, old, history) == history.forecast_day(old) == result.days[old]


def test_forecast_on_a_30_minute_center_uses_its_grid(redis_client, key_prefix, history):  # type: ignore[no-untyped-def]
    settings = load_settings({"FLOORBOARD_KEY_PREFIX": key_prefix, "FLOORBOARD_TIMEZONE": TZ,
                              "FLOORBOARD_INTERVAL_MIN": "30"})
    store = Store(redis_client, settings)
    bad = import_forecast(store, history, (EXAMPLES / "forecast.csv").read_text(encoding="utf-8"))
    assert isinstance(bad, Rejected) and {e.line for e in bad.errors} == {3, 5, 7, 9}


def test_demo_plan_gives_live_adherence_a_schedule_and_a_roster(store, history, settings):  # type: ignore[no-untyped-def]
    center = SimulatedCenter(SimConfig(seed=1, n_agents=25, tz=TZ))
    write_demo_plan(store, history, center, settings)
    today = _today()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        stored = read_schedule_day(store, day.isoformat())
        assert len(stored) == 25 and stored == history.schedule_day(day.isoformat())
        for shift in center.schedule(day):
            segs = stored[shift.agent]
            assert segs[0].start_ms == shift.start_ms and segs[-1].end_ms == shift.end_ms
            assert {s.activity for s in segs} >= {"open", "break", "lunch"}
    roster = read_roster(store)
    assert len(roster) == 25 and roster == history.roster()
    assert len({a.team for a in roster.values()}) == 2 and all(a.supervisor and a.name and a.skills for a in roster.values())
    skills = {s.agent: s.skills for s in center.schedule(today)}
    assert all(roster[a].skills == skills[a] for a in roster)


def test_plans_replace_on_postgresql(pg_history):  # type: ignore[no-untyped-def]
    ana = Segment("ana", "open", 1_773_126_000_000, 1_773_154_800_000)
    bob = Segment("bob", "break", 1_773_126_000_000, 1_773_126_900_000)
    assert pg_history.replace_schedule_days({"2026-03-10": {"ana": [ana]}}, 1) == 1
    assert pg_history.replace_schedule_days({"2026-03-10": {"bob": [bob]}}, 2) == 1
    assert pg_history.schedule_day("2026-03-10") == {"bob": [bob]}
    pg_history.replace_roster([RosterAgent("ana", "Ana", "T", "S", ("sales",))], 1)
    pg_history.replace_roster([RosterAgent("bob", skills=("claims", "sales"))], 2, replace=False)
    assert set(pg_history.roster()) == {"ana", "bob"} and pg_history.roster()["bob"].skills == ("claims", "sales")
    pg_history.replace_forecast_days({"2026-03-10": {"sales": {1: (2.5, 200.0)}, "claims": {1: (1.0, 300.0)}}}, 1)
    pg_history.replace_forecast_days({"2026-03-10": {"sales": {2: (3.0, 210.0)}}}, 2)
    assert pg_history.forecast_day("2026-03-10") == {"claims": {1: (1.0, 300.0)}, "sales": {2: (3.0, 210.0)}}


def test_page_upload_decodes_checks_and_applies(store, history, settings):  # type: ignore[no-untyped-def]
    import base64

    from realtime.imports import import_schedule_upload

    good = "data:text/csv;base64," + base64.b64encode((EXAMPLES / "schedule.csv").read_bytes()).decode()
    result = import_schedule_upload(store, settings, good, "schedule.csv", "ana", 1, history=history)
    assert isinstance(result, ScheduleImport)
    assert read_schedule_day(store, "2026-03-10") == history.schedule_day("2026-03-10") == result.days["2026-03-10"]
    bad_csv = "data:text/csv;base64," + base64.b64encode(b"agent,date,activity,start,end\nana,2026-03-12,nap,08:00,09:00\n").decode()
    bad = import_schedule_upload(store, settings, bad_csv, "bad.csv", "ana", 2, history=history)
    assert isinstance(bad, Rejected) and bad.messages()[0].startswith("line 2: activity: unknown activity 'nap'")
    assert read_schedule_day(store, "2026-03-12") == {}
    for contents, reason in (("hello", "not a file's contents"), ("data:text/csv;base64,@@@", "could not be decoded")):
        rejected = import_schedule_upload(store, settings, contents, "x.csv", "ana", 3)
        assert isinstance(rejected, Rejected) and reason in rejected.messages()[0]
