"""The demo's center is open whenever the demo starts: its zone moves with the time of day."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from floorboard.commands import DEMO_ZONES, demo_timezone


def test_the_configured_zone_is_kept_in_its_daytime():
    assert demo_timezone(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) == "UTC"
    assert demo_timezone(datetime(2026, 11, 24, 10, 0, tzinfo=UTC), "Europe/Paris") == "Europe/Paris"


@pytest.mark.parametrize("hour", range(24))
def test_at_any_hour_the_center_is_open_in_the_zone_chosen(hour):
    now = datetime(2026, 11, 25, hour, 20, tzinfo=UTC)
    zone = demo_timezone(now)
    local = now.astimezone(ZoneInfo(zone))
    # Late morning (near the 10:30 peak), well inside the 08:00–20:00 of the simulated floor.
    assert 9 <= local.hour + local.minute / 60 < 17, (zone, local)
    assert zone == "UTC" or zone in DEMO_ZONES
