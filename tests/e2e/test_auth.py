"""Signing in as each role in a real browser, and what each then sees; kiosk links on a screen."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from realtime.schedules import write_roster
from staffing.schedule import RosterAgent
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import now_ms, shot, watched_page
from tests.e2e.scenario import morning

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 6000
# What a refused request leaves in the console: the browser reports the status, nothing else may.
EXPECTED = re.compile(r"status of (401|403)")


@pytest.fixture
def browser_page(chromium_browser: Browser) -> Iterator[Callable[..., Page]]:
    """A fresh, signed-out browser window; only 401/403 responses may show in its console."""
    contexts, consoles = [], []

    def make(width: int = 1440, height: int = 900) -> Page:
        ctx = chromium_browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        page, console = watched_page(ctx)
        consoles.append(console)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    errors = [e for c in consoles for e in c.errors if not EXPECTED.search(e)]
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def center(live_factory):
    live = live_factory()
    live.feed(morning(now_ms()).payloads())
    live.tick()
    # Team front-team (led by "sup") is ada and ben on sales and billing; cleo and dev are others'.
    write_roster(live.store, [RosterAgent("ada", "Ada", "front-team", "", ("sales",)),
                              RosterAgent("ben", "Ben", "front-team", "", ("billing",)),
                              RosterAgent("cleo", "Cleo", "back-team", "", ("support",)),
                              RosterAgent("dev", "Dev", "back-team", "", ("support",))])
    return live


def sign_in_with_the_form(page: Page, user: str, password: str = TEST_PASSWORD) -> None:
    expect(page.locator("#login-username")).to_be_visible(timeout=TIMEOUT_MS)
    page.locator("#login-username").fill(user)
    page.locator("#login-password").fill(password)
    page.locator("#login-submit").click()


def test_a_manager_signs_in_and_comes_back_to_the_page_asked_for(center, browser_page):
    page = browser_page()
    page.goto(f"{center.base_url}/wallboard")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fwallboard$"), timeout=TIMEOUT_MS)
    shot(page, "login")
    sign_in_with_the_form(page, "boss", "not the password")
    expect(page.locator(".form-error")).to_have_text("Wrong user name or password.", timeout=TIMEOUT_MS)
    sign_in_with_the_form(page, "boss")
    expect(page).to_have_url(re.compile(r"/wallboard$"), timeout=TIMEOUT_MS)
    expect(page.locator(".tile")).to_have_count(4, timeout=TIMEOUT_MS)


def test_an_agent_sees_their_own_day_only(center, browser_page):
    page = browser_page(360, 900)
    page.goto(f"{center.base_url}/login")
    sign_in_with_the_form(page, "cleo")
    expect(page).to_have_url(re.compile(r"/me$"), timeout=TIMEOUT_MS)
    expect(page.locator(".agent-head h1")).to_have_text("cleo", timeout=TIMEOUT_MS)
    expect(page.locator(".agent-state")).to_contain_text("Break")
    expect(page.locator(".signed-in-bar")).to_contain_text("cleo")
    shot(page, "agent-signed-in-me", full_page=True)
    # Another agent in the URL changes nothing.
    page.goto(f"{center.base_url}/me?agent=dev")
    expect(page.locator(".agent-head h1")).to_have_text("cleo", timeout=TIMEOUT_MS)
    # Other pages: refused, by URL and by in-app navigation alike.
    for path in ("/agents/dev", "/queues/support", "/wallboard", "/admin"):
        page.goto(f"{center.base_url}{path}")
        expect(page.locator(".refusal h2")).to_have_text("Not allowed", timeout=TIMEOUT_MS)
        expect(page.locator(".tile")).to_have_count(0)
    shot(page, "agent-refused")
    page.goto(f"{center.base_url}/")
    expect(page).to_have_url(re.compile(r"/me$"), timeout=TIMEOUT_MS)
    page.locator(".signed-in-bar button").click()
    expect(page).to_have_url(re.compile(r"/login$"), timeout=TIMEOUT_MS)
    page.goto(f"{center.base_url}/me")
    expect(page).to_have_url(re.compile(r"/login\?next="), timeout=TIMEOUT_MS)


def test_a_supervisor_sees_their_teams_and_queues(center, browser_page):
    page = browser_page()
    page.goto(f"{center.base_url}/login")
    sign_in_with_the_form(page, "sup")
    expect(page.locator('a[href="/queues/sales"]')).to_be_visible(timeout=TIMEOUT_MS)  # the overview
    page.goto(f"{center.base_url}/queues/sales")
    expect(page.locator(".page-title h1")).to_have_text("Sales", timeout=TIMEOUT_MS)
    page.goto(f"{center.base_url}/agents/ada")
    expect(page.locator(".agent-head h1")).to_have_text("ada", timeout=TIMEOUT_MS)
    page.goto(f"{center.base_url}/queues/support")
    expect(page.locator(".refusal")).to_contain_text("outside what you may see", timeout=TIMEOUT_MS)
    page.goto(f"{center.base_url}/agents/cleo")
    expect(page.locator(".refusal h2")).to_have_text("Not allowed", timeout=TIMEOUT_MS)
    page.goto(f"{center.base_url}/wallboard/back")
    expect(page.locator(".tile")).to_have_count(2, timeout=TIMEOUT_MS)  # aggregates: every supervisor


def test_an_admin_issues_and_revokes_a_kiosk_link(center, browser_page):
    admin = browser_page()
    admin.goto(f"{center.base_url}/login?next=%2Fadmin")
    sign_in_with_the_form(admin, "root")
    expect(admin.locator("#admin-kiosk")).to_be_visible(timeout=TIMEOUT_MS)
    shot(admin, "admin", full_page=True)
    admin.locator("#admin-kiosk select[name=group]").select_option("front")
    admin.locator("#admin-kiosk input[name=note]").fill("lobby TV")
    admin.locator("#admin-kiosk button", has_text="Create kiosk link").click()
    link = admin.locator("code.secret").inner_text(timeout=TIMEOUT_MS)
    assert "/kiosk/" in link

    screen = browser_page(1920, 1080)
    screen.goto(link)
    expect(screen).to_have_url(re.compile(r"/wallboard/front\?kiosk=1$"), timeout=TIMEOUT_MS)
    expect(screen.locator(".tile")).to_have_count(2, timeout=TIMEOUT_MS)
    expect(screen.locator(".navbar")).to_have_count(0)
    shot(screen, "kiosk-front")
    screen.goto(f"{center.base_url}/queues/sales")
    expect(screen.locator(".refusal")).to_contain_text("kiosk link", timeout=TIMEOUT_MS)
    screen.goto(link)
    expect(screen.locator(".tile")).to_have_count(2, timeout=TIMEOUT_MS)

    admin.goto(f"{center.base_url}/admin")
    row = admin.locator("#admin-kiosk tr", has_text="lobby TV")
    expect(row).to_have_count(1, timeout=TIMEOUT_MS)
    row.locator("button", has_text="Revoke").click()
    expect(admin.locator(".flash")).to_contain_text("revoked", timeout=TIMEOUT_MS)
    # The screen's next refreshes are refused; it reloads and lands on the sign-in page.
    expect(screen).to_have_url(re.compile(r"/login\?next="), timeout=TIMEOUT_MS)
