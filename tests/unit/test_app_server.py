"""The app factory: pages register at their paths, layouts honour kiosk and rotate options."""

from __future__ import annotations

import dash
import pytest
import redis

from app.context import get_settings, get_store
from floorboard.config import load_settings
from realtime.store import Store
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture(scope="module")
def app() -> dash.Dash:
    from app.server import create_app

    settings = load_settings({"FLOORBOARD_KEY_PREFIX": "fbtest:unit-app", "FLOORBOARD_TICK_S": "2",
                              "FLOORBOARD_SECRET_KEY": TEST_SECRET_KEY})
    # No command reaches Redis here: the client connects lazily, and nothing is served.
    store = Store(redis.Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True), settings)
    return create_app(settings, store)


def test_create_app_registers_every_page(app: dash.Dash):
    paths = {p.get("path_template") or p["path"] for p in dash.page_registry.values()}
    assert {"/", "/wallboard", "/wallboard/<group>", "/queues/<queue>", "/agents/<agent>", "/me"} <= paths
    assert app.title == "floorboard"
    assert app.config.suppress_callback_exceptions is True
    assert get_settings().tick_s == 2.0 and isinstance(get_store(), Store)
    assert any(str(rule).startswith("/api/v1") for rule in app.server.url_map.iter_rules())


def test_kiosk_hides_navigation_and_rotate_is_parsed(app: dash.Dash):
    from app.pages._layouts import rotate_seconds, wallboard_layout

    with_nav = wallboard_layout()
    kiosk = wallboard_layout(kiosk="1", rotate="30")
    assert with_nav.children[0].className == "navbar"
    assert kiosk.children[0] is None and "kiosk" in kiosk.className
    assert kiosk.children[1].data == {"group": None, "rotate_s": 30.0}
    assert wallboard_layout(group="front", rotate="30").children[1].data == {"group": "front", "rotate_s": None}
    assert [rotate_seconds(v) for v in (None, "x", "0", "2", "45")] == [None, None, None, 5.0, 45.0]
    assert kiosk.children[2].interval == 1000  # the wallboard refreshes every second
