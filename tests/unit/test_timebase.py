from datetime import datetime
from zoneinfo import ZoneInfo

from realtime.timebase import Timebase


def ms(s: str, tz: str) -> int:
    return int(datetime.fromisoformat(s).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def test_intervals_align_to_local_wall_clock():
    tb = Timebase(ZoneInfo("Asia/Kathmandu"), 15 * 60)  # UTC+05:45
    start = tb.interval_start_ms(ms("2026-03-02 10:14:59", "Asia/Kathmandu"))
    assert start == ms("2026-03-02 10:00:00", "Asia/Kathmandu")
    tb30 = Timebase(ZoneInfo("Asia/Kolkata"), 30 * 60)  # UTC+05:30
    assert tb30.interval_start_ms(ms("2026-03-02 10:44:00", "Asia/Kolkata")) == ms("2026-03-02 10:30:00", "Asia/Kolkata")


def test_day_is_local_date():
    tb = Timebase(ZoneInfo("America/New_York"), 900)
    assert tb.day(ms("2026-03-02 23:30:00", "America/New_York")) == "2026-03-02"


def test_dst_day_has_92_or_100_intervals():
    tb = Timebase(ZoneInfo("Europe/Paris"), 900)
    assert len(tb.day_intervals_ms("2026-03-29")) == 92  # spring forward: 23 h
    assert len(tb.day_intervals_ms("2026-10-25")) == 100  # fall back: 25 h
    assert len(tb.day_intervals_ms("2026-10-26")) == 96
