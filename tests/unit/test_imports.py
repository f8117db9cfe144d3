"""Schedule, roster and forecast files: what is accepted, and every reason a row is refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from floorboard.imports import (
    MAX_ERRORS,
    AgentsImport,
    ForecastImport,
    Rejected,
    RowError,
    ScheduleImport,
    parse_agents_csv,
    parse_forecast_csv,
    parse_schedule_csv,
)
from staffing.schedule import RosterAgent, Segment

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
PARIS = ZoneInfo("Europe/Paris")
SCHEDULE_HEADER = "agent,date,activity,start,end"
AGENTS_HEADER = "agent,name,team,supervisor,skills"
FORECAST_HEADER = "queue,date,interval_start,calls,aht_s"


def ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0, *, fold: int = 0, tz: ZoneInfo = PARIS) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=tz, fold=fold).timestamp() * 1000)


def schedule(*rows: str, tz: ZoneInfo | str = PARIS, **kw) -> ScheduleImport | Rejected:  # type: ignore[no-untyped-def]
    return parse_schedule_csv("\n".join([SCHEDULE_HEADER, *rows]) + "\n", tz, **kw)


def errors(result: object) -> list[str]:
    assert isinstance(result, Rejected), result
    return [str(e) for e in result.errors]


# --- good files -----------------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", "America/New_York"])
def test_the_documented_examples_are_valid(tz: str) -> None:
    sched = parse_schedule_csv((EXAMPLES / "schedule.csv").read_bytes(), tz)
    assert isinstance(sched, ScheduleImport)
    assert sorted(sched.days) == ["2026-03-10", "2026-03-11"]
    assert sched.n_agents == 4 and sched.n_segments == 22
    agents = parse_agents_csv((EXAMPLES / "agents.csv").read_bytes())
    assert isinstance(agents, AgentsImport) and len(agents.agents) == 4
    fc = parse_forecast_csv((EXAMPLES / "forecast.csv").read_bytes(), tz, 15)
    assert isinstance(fc, ForecastImport) and fc.n_queues == 2 and fc.n_intervals == 8


def test_schedule_segments_per_day_and_agent_sorted_in_local_time() -> None:
    result = schedule(
        "ana,2026-03-10,open,12:30,17:00",
        "ana,2026-03-10,open,08:00,12:00",
        "ana,2026-03-10,lunch,12:00,12:30",
        "bob,2026-03-11,training,09:00,10:00",
    )
    assert isinstance(result, ScheduleImport) and result.ok
    assert result.days["2026-03-10"]["ana"] == [
        Segment("ana", "open", ms(2026, 3, 10, 8), ms(2026, 3, 10, 12)),
        Segment("ana", "lunch", ms(2026, 3, 10, 12), ms(2026, 3, 10, 12, 30)),
        Segment("ana", "open", ms(2026, 3, 10, 12, 30), ms(2026, 3, 10, 17)),
    ]
    assert result.days["2026-03-11"] == {"bob": [Segment("bob", "training", ms(2026, 3, 11, 9), ms(2026, 3, 11, 10))]}
    assert result.summary() == "2 days (2026-03-10 to 2026-03-11), 2 agents, 4 segments"


def test_bom_crlf_spaces_blank_lines_quotes_any_column_order_and_case() -> None:
    text = ("\ufeff End , Start,AGENT,activity,date\r\n"
            "\r\n"
            ' 12:00 , 08:00 , "ana" , Open , 2026-03-10 \r\n'
            ",,,,\r\n"
            '"12:30","12:00","ana","LUNCH","2026-03-10"\r\n')
    for data in (text, text.encode("utf-8")):
        result = parse_schedule_csv(data, PARIS)
        assert isinstance(result, ScheduleImport)
        assert [s.activity for s in result.days["2026-03-10"]["ana"]] == ["open", "lunch"]


def test_a_segment_ending_at_or_before_its_start_crosses_midnight_and_stays_on_its_day() -> None:
    result = schedule(
        "nia,2026-03-10,open,22:00,01:00",
        "nia,2026-03-10,break,25:00,25:15",  # 01:00 the next morning, same shift
        "nia,2026-03-10,open,25:15,06:00",  # start after midnight, end earlier on the clock: next day
        "zed,2026-03-10,off,00:00,24:00",
    )
    assert isinstance(result, ScheduleImport)
    assert list(result.days) == ["2026-03-10"]
    nia = result.days["2026-03-10"]["nia"]
    assert [(s.activity, s.start_ms, s.end_ms) for s in nia] == [
        ("open", ms(2026, 3, 10, 22), ms(2026, 3, 11, 1)),
        ("break", ms(2026, 3, 11, 1), ms(2026, 3, 11, 1, 15)),
        ("open", ms(2026, 3, 11, 1, 15), ms(2026, 3, 11, 6)),
    ]
    assert result.days["2026-03-10"]["zed"][0].duration_ms == 24 * 3_600_000


def test_whole_days_on_dst_change_days_last_23_and_25_hours() -> None:
    result = schedule("a,2026-03-29,off,00:00,24:00", "a,2026-10-25,off,00:00,24:00")
    assert isinstance(result, ScheduleImport)
    assert result.days["2026-03-29"]["a"][0].duration_ms == 23 * 3_600_000
    assert result.days["2026-10-25"]["a"][0].duration_ms == 25 * 3_600_000


def test_times_repeated_when_clocks_go_back_are_accepted_with_their_offset() -> None:
    result = schedule(
        "n,2026-10-24,open,22:00,26:30+02:00",
        "n,2026-10-24,break,26:30+02:00,26:15+01:00",  # 45 minutes, across the change
        "n,2026-10-24,open,26:15+01:00,06:00",
    )
    assert isinstance(result, ScheduleImport), errors(result)
    segs = result.days["2026-10-24"]["n"]
    assert segs[1].start_ms == ms(2026, 10, 25, 2, 30, fold=0)
    assert segs[1].end_ms == ms(2026, 10, 25, 2, 15, fold=1)
    assert segs[1].duration_ms == 45 * 60_000
    assert segs[2].end_ms - segs[0].start_ms == 9 * 3_600_000  # 22:00 to 06:00 that night


def test_custom_activity_names() -> None:
    result = schedule("a,2026-03-10,Coaching,09:00,10:00", known_activities=("open", "coaching"))
    assert isinstance(result, ScheduleImport) and result.days["2026-03-10"]["a"][0].activity == "coaching"
    assert "unknown activity 'Coaching'" in errors(schedule("a,2026-03-10,Coaching,09:00,10:00"))[0]


def test_agents_file_with_optional_columns_and_both_skill_separators() -> None:
    result = parse_agents_csv(f"{AGENTS_HEADER}\nana,Ana Silva,North,Sam,sales; support\nbob,,,,billing|claims\n")
    assert isinstance(result, AgentsImport)
    assert result.agents == (RosterAgent("ana", "Ana Silva", "North", "Sam", ("sales", "support")),
                             RosterAgent("bob", "", "", "", ("billing", "claims")))
    minimal = parse_agents_csv("skills,agent\nsales,ana\n")
    assert isinstance(minimal, AgentsImport) and minimal.agents == (RosterAgent("ana", skills=("sales",)),)
    assert result.summary() == "2 agents in 1 team" and minimal.summary() == "1 agent"


def test_forecast_per_day_queue_and_interval_in_epoch_ms() -> None:
    result = parse_forecast_csv(
        f"{FORECAST_HEADER}\nsales,2026-03-10,08:15,15.5,236\nsales,2026-03-10,08:00,12,240\n"
        "sales,2026-03-10,08:30,0,0\nclaims,2026-03-11,23:45,1,600\n", PARIS, 15)
    assert isinstance(result, ForecastImport)
    assert result.days == {
        "2026-03-10": {"sales": {ms(2026, 3, 10, 8): (12.0, 240.0), ms(2026, 3, 10, 8, 15): (15.5, 236.0),
                                 ms(2026, 3, 10, 8, 30): (0.0, 0.0)}},
        "2026-03-11": {"claims": {ms(2026, 3, 11, 23, 45): (1.0, 600.0)}},
    }
    assert list(result.days["2026-03-10"]["sales"]) == sorted(result.days["2026-03-10"]["sales"])


def test_forecast_of_the_repeated_hour_needs_offsets_and_gives_two_intervals() -> None:
    rows = "sales,2026-10-25,02:00+02:00,3,200\nsales,2026-10-25,02:00+01:00,4,200\n"
    result = parse_forecast_csv(f"{FORECAST_HEADER}\n{rows}", PARIS, 30)
    assert isinstance(result, ForecastImport)
    assert list(result.days["2026-10-25"]["sales"]) == [ms(2026, 10, 25, 2, fold=0), ms(2026, 10, 25, 2, fold=1)]


# --- bad schedule rows: each reported with its line, column and reason ----------------------

GOOD = "ana,2026-03-10,open,08:00,12:00"


@pytest.mark.parametrize(("row", "column", "reason"), [
    (",2026-03-10,open,08:00,12:00", "agent", "empty"),
    ("a{b},2026-03-10,open,08:00,12:00", "agent", "braces or control characters"),
    ("x" * 121 + ",2026-03-10,open,08:00,12:00", "agent", "longer than 120"),
    ("bob,,open,08:00,12:00", "date", "empty"),
    ("bob,10/03/2026,open,08:00,12:00", "date", "not a date YYYY-MM-DD"),
    ("bob,2026-02-30,open,08:00,12:00", "date", "not a date YYYY-MM-DD"),
    ("bob,2026-03-10,,08:00,12:00", "activity", "empty"),
    ("bob,2026-03-10,brake,08:00,12:00", "activity", "unknown activity 'brake' (known: break, lunch"),
    ("bob,2026-03-10,open,,12:00", "start", "empty"),
    ("bob,2026-03-10,open,8h,12:00", "start", "'8h' is not a time HH:MM"),
    ("bob,2026-03-10,open,08:60,12:00", "start", "not a time HH:MM"),
    ("bob,2026-03-10,open,08:00:30,12:00", "start", "whole minutes"),
    ("bob,2026-03-10,open,48:00,48:00", "start", "after 47:59"),
    ("bob,2026-03-10,open,08:00,", "end", "empty"),
    ("bob,2026-03-10,open,08:00,48:30", "end", "after 48:00"),
    ("bob,2026-03-10,open,08:00,08:00", "end", "equals start"),
    ("bob,2026-03-10,open,00:00,30:00", "end", "more than 24 hours"),
    ("bob,2026-03-10,open,30:00,05:00", "end", "not after start"),
    ("bob,2026-03-29,open,02:30,04:00", "start", "02:30 on 2026-03-29 does not exist in Europe/Paris"),
    ("bob,2026-03-28,open,22:00,26:30", "end", "02:30 on 2026-03-29 does not exist"),
    ("bob,2026-10-25,open,02:30,04:00", "start", "happens twice in Europe/Paris (the clocks go back then); "
                                                 "add its UTC offset: 02:30+02:00 or 02:30+01:00"),
    ("bob,2026-03-10,open,08:00+02:00,12:00", "start", "UTC offset +02:00 is not Europe/Paris's"),
    ("bob,2026-03-10,open,08:00,12:00,extra", "", "6 fields where the header has 5"),
    ("bob,2026-03-10,open,08:00", "", "4 fields where the header has 5"),
])
def test_each_bad_schedule_row_is_reported_with_line_column_and_reason(row: str, column: str, reason: str) -> None:
    result = schedule(GOOD, row)
    assert isinstance(result, Rejected) and not result.ok
    assert result.total == 1, errors(result)
    err = result.errors[0]
    assert (err.line, err.column) == (3, column)
    assert reason in err.reason


def test_duplicate_rows_and_overlaps_name_the_other_line() -> None:
    result = schedule(GOOD, "bob,2026-03-10,open,09:00,17:00", GOOD, "ana,2026-03-10,break,10:00,10:15")
    assert errors(result) == [
        "line 4: duplicate of line 2",
        "line 5: start: overlaps line 2 (open 08:00–12:00) for agent 'ana'",
    ]


def test_overlaps_are_found_across_the_days_of_the_file() -> None:
    result = schedule("nia,2026-03-10,open,22:00,06:00", "nia,2026-03-11,open,05:00,13:00")
    assert errors(result) == ["line 3: start: overlaps line 2 (open 22:00–06:00) for agent 'nia'"]


def test_a_night_shift_segment_written_on_the_wrong_morning_is_caught() -> None:
    result = schedule("nia,2026-03-10,open,22:00,06:00", "nia,2026-03-10,break,01:00,01:15")
    (message,) = errors(result)
    assert message.startswith("line 3: start: agent 'nia''s segments of 2026-03-10 would span 29 hours")
    assert "25:00 for 01:00" in message


def test_every_bad_row_is_reported_not_only_the_first_and_nothing_is_kept() -> None:
    result = schedule(GOOD, "bob,2026-13-01,open,08:00,12:00", "cy,2026-03-10,nap,08:00,12:00",
                      "dan,2026-03-10,open,8,12:00", "eve,2026-03-10,open,09:00,17:00")
    assert [e.line for e in result.errors] == [3, 4, 5]  # type: ignore[union-attr]
    assert not hasattr(result, "days")


def test_one_row_with_several_problems_reports_each_column_in_order() -> None:
    result = schedule(",2026-02-30,nap,25:61,x")
    assert [(e.line, e.column) for e in result.errors] == [  # type: ignore[union-attr]
        (2, "agent"), (2, "date"), (2, "activity"), (2, "start"), (2, "end")]


def test_errors_are_capped_with_a_count_of_the_rest() -> None:
    rows = [f"a{i},2026-03-10,nap,08:00,12:00" for i in range(MAX_ERRORS + 30)]
    result = schedule(*rows)
    assert isinstance(result, Rejected)
    assert result.total == MAX_ERRORS + 30 and len(result.errors) == MAX_ERRORS
    assert result.errors[0].line == 2 and result.errors[-1].line == MAX_ERRORS + 1
    assert result.messages()[-1] == f"… and 30 more errors (the first {MAX_ERRORS} are shown)"


def test_overlaps_found_late_still_come_out_in_line_order_under_the_cap() -> None:
    rows = ["ana,2026-03-10,open,08:00,12:00", "ana,2026-03-10,open,09:00,10:00"]
    rows += [f"a{i},2026-03-10,nap,08:00,12:00" for i in range(2 * MAX_ERRORS)]
    result = schedule(*rows)
    assert isinstance(result, Rejected) and result.errors[0].line == 3 and "overlaps" in result.errors[0].reason


def test_a_quoted_field_over_two_lines_keeps_line_numbers_right() -> None:
    result = parse_schedule_csv(f'{SCHEDULE_HEADER}\n"ana",2026-03-10,"op\nen",08:00,12:00\nbob,x,open,08:00,12:00\n', PARIS)
    assert [(e.line, e.column) for e in result.errors] == [(2, "activity"), (4, "date")]  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "expected"), [
    ("agent,date,activity,start\nana,2026-03-10,open,08:00\n", ["line 1: end: missing column in the header"]),
    ("agent,date,activity,start,end,note\nana,2026-03-10,open,08:00,12:00,x\n",
     ["line 1: note: unknown column (expected agent, date, activity, start, end)"]),
    ("agent,date,activity,start,end,\nana,2026-03-10,open,08:00,12:00,\n",
     ["line 1: column 6: unknown column (expected agent, date, activity, start, end)"]),
    ("agent,date,activity,start,end,Agent\n", ["line 1: agent: column appears twice in the header"]),
    ("agent;date;activity;start;end\nana;2026-03-10;open;08:00;12:00\n",
     ["line 1: the columns must be separated by commas"]),
    ("ana,2026-03-10,open,08:00,12:00\n",
     ["line 1: the first line must be the header (agent,date,activity,start,end), found 'ana,2026-03-10,open,08:00,12:00'"]),
    ("", ["file: the file is empty; it needs a header row: agent,date,activity,start,end"]),
    ("\n\n", ["file: the file is empty; it needs a header row: agent,date,activity,start,end"]),
    (SCHEDULE_HEADER + "\n", ["file: the file has a header but no rows"]),
])
def test_header_and_file_problems(text: str, expected: list[str]) -> None:
    assert errors(parse_schedule_csv(text, PARIS)) == expected


def test_a_file_that_is_not_utf8_names_the_line() -> None:
    data = f"{SCHEDULE_HEADER}\n{GOOD}\n".encode() + "bé,2026-03-10,open,08:00,12:00\n".encode("latin-1")
    assert errors(parse_schedule_csv(data, PARIS)) == ["line 3: not valid UTF-8 text; save the file as UTF-8 (CSV UTF-8)"]


def test_size_and_row_limits_are_clear() -> None:
    text = "\n".join([SCHEDULE_HEADER, *[f"a{i},2026-03-10,open,08:00,12:00" for i in range(20)]])
    assert errors(parse_schedule_csv(text, PARIS, max_bytes=100)) == [
        "file: the file is larger than the limit of 100 bytes; split it (e.g. one file per week)"]
    assert errors(parse_schedule_csv(text, PARIS, max_rows=10)) == [
        "line 12: more than 10 rows; split the file (e.g. one file per week)"]


def test_row_error_text() -> None:
    assert str(RowError(7, "start", "empty")) == "line 7: start: empty"
    assert str(RowError(7, "", "duplicate of line 3")) == "line 7: duplicate of line 3"
    assert str(RowError(0, "", "the file is empty")) == "file: the file is empty"


# --- bad roster rows ------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "column", "reason"), [
    (",Ana,North,Sam,sales", "agent", "empty"),
    ("bob,Bob,North,Sam,", "skills", "empty (at least one queue"),
    ("bob,Bob,North,Sam, ; |", "skills", "empty (at least one queue"),
    ("bob,Bob,North,Sam,sales;;support", "skills", "an empty skill between separators"),
    ("bob,Bob,North,Sam,sales|sales", "skills", "'sales' is listed twice"),
    ("bob,Bob,North,Sam,sal{es}", "skills", "braces or control characters"),
    ("bob," + "n" * 121 + ",North,Sam,sales", "name", "longer than 120"),
    ("ana,Ana again,North,Sam,sales", "agent", "'ana' is already on line 2"),
    ("bob,Bob,North,Sam", "", "4 fields where the header has 5"),
])
def test_each_bad_agent_row_is_reported(row: str, column: str, reason: str) -> None:
    result = parse_agents_csv(f"{AGENTS_HEADER}\nana,Ana,North,Sam,sales\n{row}\n")
    assert isinstance(result, Rejected) and result.total == 1, result
    assert (result.errors[0].line, result.errors[0].column) == (3, column)
    assert reason in result.errors[0].reason


def test_skills_outside_the_known_queues_when_given() -> None:
    result = parse_agents_csv(f"{AGENTS_HEADER}\nana,,,,sales;sale\n", known_queues={"sales", "support"})
    assert errors(result) == ["line 2: skills: unknown queue 'sale'"]


def test_agents_header_problems() -> None:
    assert errors(parse_agents_csv("agent,name,skils\nana,Ana,sales\n")) == [
        "line 1: skils: unknown column (expected agent, skills; optional name, team, supervisor)",
        "line 1: skills: missing column in the header",
    ]


# --- bad forecast rows ----------------------------------------------------------------------


@pytest.mark.parametrize(("row", "column", "reason"), [
    (",2026-03-10,08:15,1,200", "queue", "empty"),
    ("sales,2026-3-10,08:15,1,200", "date", "not a date YYYY-MM-DD"),
    ("sales,2026-03-10,,1,200", "interval_start", "empty"),
    ("sales,2026-03-10,8.15,1,200", "interval_start", "not a time HH:MM"),
    ("sales,2026-03-10,08:10,1,200", "interval_start", "'08:10' is not on the 15-minute interval grid"),
    ("sales,2026-03-10,24:00,1,200", "interval_start", "after 23:59"),
    ("sales,2026-03-10,08:00,1,200", "interval_start", "queue 'sales' already has this interval on line 2"),
    ("sales,2026-03-10,08:15,,200", "calls", "empty"),
    ("sales,2026-03-10,08:15,-1,200", "calls", "'-1' is negative"),
    ("sales,2026-03-10,08:15,ten,200", "calls", "'ten' is not a number"),
    ("sales,2026-03-10,08:15,inf,200", "calls", "not a finite number"),
    ("sales,2026-03-10,08:15,nan,200", "calls", "not a finite number"),
    ("sales,2026-03-10,08:15,1,", "aht_s", "empty"),
    ("sales,2026-03-10,08:15,1,-5", "aht_s", "negative"),
    ("sales,2026-03-10,08:15,1,\"3,5\"", "aht_s", "not a number (use a dot for decimals)"),
    ("sales,2026-03-10,08:15,4,0", "aht_s", "0 while calls are expected"),
    ("sales,2026-03-10,08:15,4,90000", "aht_s", "more than a day"),
    ("sales,2026-03-29,02:15,1,200", "interval_start", "does not exist in Europe/Paris"),
    ("sales,2026-10-25,02:15,1,200", "interval_start", "happens twice in Europe/Paris"),
])
def test_each_bad_forecast_row_is_reported(row: str, column: str, reason: str) -> None:
    result = parse_forecast_csv(f"{FORECAST_HEADER}\nsales,2026-03-10,08:00,12,240\n{row}\n", PARIS, 15)
    assert isinstance(result, Rejected) and result.total == 1, result
    assert (result.errors[0].line, result.errors[0].column) == (3, column)
    assert reason in result.errors[0].reason


def test_forecast_grid_follows_the_interval_length_and_known_queues() -> None:
    text = f"{FORECAST_HEADER}\nsales,2026-03-10,08:15,1,200\nclaim,2026-03-10,08:30,1,200\n"
    assert errors(parse_forecast_csv(text, PARIS, 30, known_queues={"sales", "claims"})) == [
        "line 2: interval_start: '08:15' is not on the 30-minute interval grid",
        "line 3: queue: unknown queue 'claim'",
    ]


def test_forecast_grid_is_local_in_zones_with_half_hour_offsets() -> None:
    result = parse_forecast_csv(f"{FORECAST_HEADER}\nsales,2026-03-10,09:30,1,200\n", "Asia/Kolkata", 30)
    assert isinstance(result, ForecastImport)
    (start,) = result.days["2026-03-10"]["sales"]
    assert start == ms(2026, 3, 10, 9, 30, tz=ZoneInfo("Asia/Kolkata"))
