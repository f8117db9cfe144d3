"""The intraday and firefighting pages in headless Chromium, over the real store, engine and planner.

The scenario is built around the wall clock (the pages use it): a forecast from the current
interval to the end of today (Claims 24 calls and Billing 8 per interval), agents on shifts
around now, one of them on an unplanned break (an adherence exception). The planner is run by
the test where the engine job would run it.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from realtime import intraday_store as ops
from realtime.forecasts import write_forecast_days
from realtime.intraday import IntradayPlanner
from realtime.schedules import write_roster, write_schedule_days
from staffing.schedule import RosterAgent, Segment
from staffing.schedule_edit import put
from tests.e2e.conftest import now_ms, shot
from tests.e2e.scenario import Script

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 8000
H = 3_600_000
SKILLS = {"c1": ["claims"], "c2": ["claims"], "c3": ["claims"], "b1": ["billing"], "b2": ["billing"],
          "b3": ["billing"], "m1": ["claims", "billing"], "m2": ["claims", "billing"], "v1": ["billing"]}


# A test takes well under this long; a plan ranked before an interval boundary is (rightly)
# refused as stale after it, so a test never starts this close to one.
BOUNDARY_MARGIN_S = 75


def _clear_of_interval_boundary(tb) -> None:
    now = now_ms()
    left_s = (tb.interval_start_ms(now) + tb.interval_ms - now) / 1000
    if left_s < BOUNDARY_MARGIN_S:
        time.sleep(left_s + 1)


def intraday_center(live) -> IntradayPlanner:
    store, tb = live.store, live.store.timebase
    _clear_of_interval_boundary(tb)
    now = now_ms()
    t0 = tb.interval_start_ms(now)
    day = tb.day(now)
    starts = [s for s in tb.day_intervals_ms(day) if s >= t0]
    write_forecast_days(store, {day: {"claims": dict.fromkeys(starts, (24.0, 180.0)),
                                      "billing": dict.fromkeys(starts, (8.0, 240.0))}})
    shifts = {a: [Segment(a, "open", t0 - H, t0 + 3 * H)] for a in SKILLS}
    shifts["m2"] = put(shifts["m2"], Segment("m2", "training", t0 + H // 2, t0 + H))
    shifts["v1"] = [Segment("v1", "open", t0 - H, t0 + H)]
    days: dict[str, dict[str, list[Segment]]] = {}
    for agent, segs in shifts.items():  # a shift belongs to the day it starts on
        days.setdefault(tb.day(segs[0].start_ms), {})[agent] = segs
    write_schedule_days(store, days)
    write_roster(store, [RosterAgent(a, f"Agent {a.upper()}", "t1", "", tuple(k)) for a, k in SKILLS.items()],
                 replace=True)
    script = Script(now, "int")
    for agent, skills in SKILLS.items():
        script.state(3000, agent, "available", skills)
    script.state(1500, "c2", "aux", SKILLS["c2"], reason="personal")  # 25 minutes out: an exception
    live.feed(script.payloads())
    live.tick()  # the snapshot and adherence
    planner = IntradayPlanner(store)
    planner.run_once(now_ms())
    return planner


def _scheduled_trace(page) -> list:
    return page.evaluate("() => document.querySelector('#int-figure .js-plotly-plot').data"
                         ".find(t => t.name === 'Scheduled').y")


def _expected_scheduled(store, queue: str) -> list:
    plan = ops.read_queue_plan(store, queue)
    cols = plan["columns"]
    return [v if i >= plan["rest_from"] else None for i, v in enumerate(cols["scheduled"])]


def _wait_for(page, fn, expected, timeout_s: float = 8.0) -> None:
    deadline = time.monotonic() + timeout_s
    got = None
    while time.monotonic() < deadline:
        got = fn(page)
        if got == expected:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"{got} != {expected}")


def test_intraday_page_explains_plans_applies_and_undoes(live_factory, open_page):
    live = live_factory()
    planner = intraday_center(live)
    store = live.store
    view = ops.read_view(store)
    first = view["actions"][0]
    assert "claims" in first["queues"]
    page, _ = open_page(1600, 1000)
    page.goto(f"{live.base_url}/intraday?queue=claims")
    expect(page.locator("#int-figure")).to_contain_text("Projected service level", timeout=TIMEOUT_MS)
    expect(page.locator("#int-figure")).to_contain_text("Agents")
    explanation = page.locator("#int-explanation")
    expect(explanation).to_contain_text("Trend-to-date ratio")
    expect(explanation).to_contain_text("Imported forecast")
    expect(explanation).to_contain_text("Cap [0.5, 2]")
    expect(explanation).to_contain_text("WAPE")
    expect(page.locator("#int-status")).to_contain_text("Imported forecast")
    items = page.locator(".action-item")
    expect(items.first).to_contain_text(first["text"][:40])
    assert items.count() == len(view["actions"])
    before = _expected_scheduled(store, "claims")
    _wait_for(page, _scheduled_trace, before)
    shot(page, "intraday-claims", full_page=True)

    # Apply the best action: recorded, schedules written, and after the engine's next run the plan changes.
    items.first.locator(".apply-button").click()
    expect(page.locator("#int-action-result")).to_contain_text("Applied by boss", timeout=TIMEOUT_MS)
    expect(page.locator(".audit-row")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.locator(".audit-row")).to_contain_text("boss")
    planner.run_once(now_ms())
    after = _expected_scheduled(store, "claims")
    assert after != before
    _wait_for(page, _scheduled_trace, after)
    assert first["id"] not in {a["id"] for a in ops.read_view(store)["actions"]}

    page.locator(".undo-button").first.click()
    expect(page.locator("#int-action-result")).to_contain_text("Undone by boss", timeout=TIMEOUT_MS)
    expect(page.locator(".audit-row.audit-undone")).to_have_count(1, timeout=TIMEOUT_MS)
    planner.run_once(now_ms())
    _wait_for(page, _scheduled_trace, before)

    # What-if: one more agent for the next hour, nothing stored.
    tb = store.timebase
    t0 = tb.interval_start_ms(now_ms())
    day_end = tb.day_bounds_ms(tb.day(t0))[1]
    page.locator("#int-whatif-from").fill(tb.local_label(t0))
    page.locator("#int-whatif-to").fill("24:00" if t0 + H >= day_end else tb.local_label(t0 + H))
    page.locator("#int-whatif-agents").fill("2")
    page.locator("#int-whatif-run").click()
    expect(page.locator("#int-whatif-result")).to_contain_text("projected SL", timeout=TIMEOUT_MS)
    expect(page.locator("#int-whatif-result")).to_contain_text("Nothing was changed")

    # An overlay on the chosen queue: listed, in the explanation after the next run, removable.
    page.locator("#int-overlay-from").fill(tb.local_label(t0))
    page.locator("#int-overlay-to").fill("24:00" if t0 + H >= day_end else tb.local_label(t0 + H))
    page.locator("#int-overlay-pct").fill("30")
    page.locator("#int-overlay-label").fill("storm")
    page.locator("#int-overlay-add").click()
    expect(page.locator("#int-overlay-result")).to_contain_text("Overlay added", timeout=TIMEOUT_MS)
    expect(page.locator(".overlay-row")).to_have_count(1, timeout=TIMEOUT_MS)
    planner.run_once(now_ms())
    expect(explanation).to_contain_text("+30 %", timeout=TIMEOUT_MS)
    page.locator(".overlay-row button").click()
    expect(page.locator(".overlay-row")).to_have_count(0, timeout=TIMEOUT_MS)


def test_firefight_page_one_screen(live_factory, open_page):
    live = live_factory()
    intraday_center(live)
    view = ops.read_view(live.store)
    page, _ = open_page(1920, 1080)
    page.goto(f"{live.base_url}/firefight")
    expect(page.locator(".ff-banner")).to_contain_text("eak window", timeout=TIMEOUT_MS)
    queues = page.locator(".ff-queue")
    expect(queues).to_have_count(len(view["queues"]), timeout=TIMEOUT_MS)
    expect(queues.first).to_have_attribute("data-queue", view["queues"][0]["id"])
    expect(queues.first.locator(".heat-cell").first).to_be_visible()
    expect(page.locator(".ff-actions-card .action-item")).to_have_count(min(5, len(view["actions"])))
    exceptions = page.locator(".ff-exceptions tbody tr")
    expect(exceptions.first).to_contain_text("Agent C2", timeout=TIMEOUT_MS)
    expect(exceptions.first).to_contain_text("Aux: Personal")
    shot(page, "firefight-1920x1080")
    # One screen, readable from across the room: no scrolling on a 1080p TV.
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")
    page.locator(".ff-actions-card .apply-button").first.click()
    expect(page.locator("#ff-action-result")).to_contain_text("Applied by boss", timeout=TIMEOUT_MS)


def test_without_a_plan_the_pages_say_so_and_are_for_managers(live_factory, open_page):
    live = live_factory()
    boss, _ = open_page(1280, 800)
    boss.goto(f"{live.base_url}/intraday")
    expect(boss.locator(".empty-state")).to_contain_text("No intraday plan yet", timeout=TIMEOUT_MS)
    boss.goto(f"{live.base_url}/firefight")
    expect(boss.locator(".empty-state")).to_contain_text("No intraday plan yet", timeout=TIMEOUT_MS)
    expect(boss.locator(".ff-banner")).to_be_visible()
    page, _ = open_page(1280, 800, user="sup")
    page.goto(f"{live.base_url}/firefight")
    expect(page.locator("body")).to_contain_text("not for the supervisor role", timeout=TIMEOUT_MS)
    expect(page.locator(".ff-banner")).to_have_count(0)
