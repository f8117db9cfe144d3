"""The pages as a person sees them, in headless Chromium, over the real store and engine."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from app.presenters.agent import own_values
from app.presenters.format import count
from app.presenters.wallboard import tile
from tests.e2e.conftest import ARTIFACTS, now_ms, shot
from tests.e2e.scenario import Script, many_queues, morning

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 6000


def _queue(snapshot: dict, queue_id: str) -> dict:
    return next(q for q in snapshot["queues"] if q["id"] == queue_id)


def _tile(page, queue_id: str):
    return page.locator(f'.tile[data-queue="{queue_id}"]')



def started_morning(live_factory):
    """A fresh app fed the scripted morning and ticked once."""
    live = live_factory()
    live.feed(morning(now_ms()).payloads())
    live.tick()
    return live

def test_wallboard_shows_the_snapshot_and_follows_new_events(live_factory, open_page):
    live = started_morning(live_factory)
    snapshot = live.store.read_snapshot()
    page, _ = open_page(1920, 1080)
    page.goto(f"{live.base_url}/wallboard")

    for q in snapshot["queues"]:
        expected = tile(q)
        t = _tile(page, q["id"])
        expect(t.locator(".tile-name")).to_have_text(expected["name"], timeout=TIMEOUT_MS)
        expect(t.locator(".metric.key").first.locator(".metric-value")).to_contain_text(expected["waiting"]["value"])
        expect(t.locator(".small-sl-today .metric-value")).to_contain_text(expected["sl_today"]["value"])
    support = _tile(page, "support")
    expect(support).to_have_class("tile level-critical")
    expect(support.locator(".badge-word")).to_have_text("Critical")
    expect(support.locator(".tile-agents")).to_contain_text("Lunch")
    expect(page.locator(".wb-ticker")).to_contain_text("no agent available")
    expect(page.locator(".navbar")).to_be_visible()
    # One screen, no scrolling, on a 1080p TV.
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")
    shot(page, "wallboard-1920x1080")

    # A new caller on Sales reaches the screen within one engine tick plus one refresh.
    waiting = _tile(page, "sales").locator(".metric.key").first.locator(".metric-value")
    before = _queue(snapshot, "sales")["now"]["waiting"]
    expect(waiting).to_have_text(count(before))
    script = Script(now_ms(), "new")
    script.add(0, "call.queued", queue="sales", call="s-new")
    live.feed(script.payloads())
    started = time.monotonic()
    live.tick()
    expect(waiting).to_have_text(count(before + 1), timeout=3000)
    latency_s = time.monotonic() - started
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "wallboard-latency.json").write_text(json.dumps({"tick_to_screen_s": round(latency_s, 3)}))
    assert latency_s < 2.0  # + the engine's tick interval (2 s by default) ≤ 3 s event to screen


def test_wallboard_4k_kiosk_group_and_rotation(live_factory, open_page):
    live = started_morning(live_factory)
    page, _ = open_page(3840, 2160)
    page.goto(f"{live.base_url}/wallboard?kiosk=1")
    expect(page.locator(".tile")).to_have_count(4, timeout=TIMEOUT_MS)
    expect(page.locator(".navbar")).to_have_count(0)
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")
    shot(page, "wallboard-3840x2160-kiosk")

    page.goto(f"{live.base_url}/wallboard/front?kiosk=1")
    expect(page.locator(".wb-title")).to_have_text("front", timeout=TIMEOUT_MS)
    expect(page.locator(".tile")).to_have_count(2)
    shot(page, "wallboard-3840x2160-group-front")

    page.goto(f"{live.base_url}/wallboard?kiosk=1&rotate=5")
    expect(page.locator(".rot-dot.on")).to_have_count(1, timeout=TIMEOUT_MS)
    first = page.locator(".wb-title").inner_text()
    assert first in ("front", "back")
    expect(page.locator(".wb-title")).not_to_have_text(first, timeout=7000)


def test_wallboard_scales_to_40_queues(live_factory, open_page):
    live = live_factory()
    live.feed(many_queues(now_ms(), 40).payloads())
    live.tick()
    page, _ = open_page(1920, 1080)
    page.goto(f"{live.base_url}/wallboard?kiosk=1")
    # 40 scripted queues + the 4 of the queues file (configured queues always have a tile).
    expect(page.locator(".tile")).to_have_count(44, timeout=TIMEOUT_MS)
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")
    # The key numbers stay readable at 44 tiles on a 1080p screen.
    size = page.locator(".metric.key .metric-value").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 34
    shot(page, "wallboard-1920x1080-40-queues")


def test_tiles_go_stale_when_ticks_stop_and_recover(live_factory, open_page):
    live = live_factory(tick_s=0.5)
    live.feed(morning(now_ms()).payloads())
    live.tick()
    page, _ = open_page(1920, 1080)
    page.goto(f"{live.base_url}/wallboard")
    expect(page.locator(".tile")).to_have_count(4, timeout=TIMEOUT_MS)
    # No tick for more than 3 × 0.5 s: every tile greys out and says how old its data is.
    expect(page.locator(".tile.is-stale")).to_have_count(4, timeout=TIMEOUT_MS)
    expect(page.locator(".tile-stale").first).to_contain_text("old — engine not responding")
    expect(page.locator(".wb-status.stale")).to_contain_text("Data")
    shot(page, "wallboard-stale")
    live.tick()
    expect(page.locator(".tile.is-stale")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.locator(".wb-status")).to_contain_text("Updated")


def test_empty_states(live_factory, open_page):
    live = live_factory()
    page, _ = open_page(1920, 1080)
    page.goto(f"{live.base_url}/wallboard")
    expect(page.locator(".empty-state")).to_contain_text("No data yet", timeout=TIMEOUT_MS)
    shot(page, "wallboard-empty")
    page.goto(f"{live.base_url}/queues/nowhere")
    expect(page.locator(".empty-state")).to_contain_text("Unknown queue", timeout=TIMEOUT_MS)


def test_queue_page(live_factory, open_page):
    live = started_morning(live_factory)
    view = live.store.read_queue_view("support", now_ms())
    page, _ = open_page(1600, 1000)
    page.goto(f"{live.base_url}/queues/support")
    expect(page.locator(".page-title h1")).to_have_text("Tech support", timeout=TIMEOUT_MS)
    expect(page.locator(".waiting-list li")).to_have_count(len(view["waiting"]))
    expect(page.locator(".waiting-list li").first).to_contain_text("t-w1")  # the longest first
    table = page.locator("#q-agents")
    expect(table).to_contain_text("eve")
    expect(table).to_contain_text("Lunch")
    expect(page.locator("#q-figure .barlayer .point").first).to_be_visible()
    # Sorting by time in state sorts by seconds, through the same refresh callback.
    page.locator("#q-agents th[data-dash-column=time_in_state] .column-header--sort").click()
    expect(table.locator("td[data-dash-column=agent]").first).to_have_text("eve")
    expect(page.locator("#q-figure")).to_contain_text("Service level")
    shot(page, "queue-support", full_page=True)


def test_agent_page_full_and_side_panel(live_factory, open_page):
    live = started_morning(live_factory)
    view = live.store.read_agent_view("dev", now_ms())
    page, _ = open_page(1440, 1000)
    page.goto(f"{live.base_url}/agents/dev")
    expect(page.locator(".agent-head h1")).to_have_text("dev", timeout=TIMEOUT_MS)
    handled = count(own_values(view["today"])["handled"])
    expect(page.locator(".kpi-handled .kpi-value")).to_have_text(handled)
    expect(page.locator(".agent-state")).to_contain_text("Available")
    expect(page.locator("#ag-timeline .barlayer .point").first).to_be_visible()
    body = page.locator(".agent-body").inner_text()
    for other in ("ada", "ben", "cleo", "eve", "finn"):
        assert not re.search(rf"\b{other}\b", body), other
    shot(page, "agent-dev", full_page=True)

    panel, _ = open_page(360, 900, user="cleo")  # the agent, signed in: /me is their own day
    panel.goto(f"{live.base_url}/me?kiosk=1")
    expect(panel.locator(".agent-state")).to_contain_text("Break", timeout=TIMEOUT_MS)
    expect(panel.locator("#ag-timeline .barlayer .point").first).to_be_visible()
    assert panel.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")
    shot(panel, "agent-me-360px", full_page=True)


def test_index_links_to_everything(live_factory, open_page):
    live = started_morning(live_factory)
    page, _ = open_page(1440, 900)
    page.goto(f"{live.base_url}/")
    expect(page.locator('a[href="/wallboard/front"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator('a[href="/queues/support"]')).to_be_visible()
    page.locator(".agent-form input").fill("dev")
    page.get_by_role("button", name="Open my day").click()
    expect(page.locator(".agent-head h1")).to_have_text("dev", timeout=TIMEOUT_MS)
    page.goto(f"{live.base_url}/")
    expect(page.locator('a[href="/queues/sales"]')).to_be_visible(timeout=TIMEOUT_MS)
    shot(page, "index")
