"""desk's own pages under their Content-Security-Policy, in Chromium: nothing of desk's is blocked,
and a script injected into a page is (tests/security/test_csp.py checks the headers themselves).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PageFor
from tests.browser.csp_watch import reported, watch
from tests.live import LiveDesk

pytestmark = pytest.mark.asyncio


async def visit(page_for: PageFor, name: str | None, path: str) -> tuple[Page, list[str]]:
    page = await page_for(name)
    violations = await watch(page)
    await page.goto(path)
    await page.wait_for_load_state("networkidle")
    return page, violations


async def test_the_demo_page_and_its_widget_run_without_a_csp_violation(
    page_for: PageFor, fresh_user: Callable[[], str]
) -> None:
    page, violations = await visit(page_for, fresh_user(), "/")
    await expect(page.locator(".dot")).to_have_attribute("data-state", "connected")
    await page.get_by_role("button", name=re.compile("^Open support chat")).click()
    await expect(page.get_by_role("textbox", name="Message to support")).to_be_focused()
    assert violations == []
    assert await reported(page) == []


async def test_the_dashboard_runs_live_without_a_csp_violation(page_for: PageFor) -> None:
    page, violations = await visit(page_for, "alice", "/desk/")
    await expect(page.locator('[data-connection][data-state="connected"]')).to_be_visible()
    assert violations == []
    assert await reported(page) == []


async def test_a_dashboard_chat_page_runs_live_without_a_csp_violation(
    page_for: PageFor, live: LiveDesk
) -> None:
    page, violations = await visit(page_for, "alice", f"/desk/chats/{live.chats['ann']}/")
    await expect(page.locator('[data-connection][data-state="connected"]')).to_be_visible()
    assert violations == []
    assert await reported(page) == []


async def test_an_email_link_page_shows_its_styles_without_a_csp_violation(
    page_for: PageFor,
) -> None:
    page, violations = await visit(page_for, None, "/email/open/not-a-token/")
    # The page's own <style> (with the nonce) applied: the button is styled.
    button = page.get_by_role("link", name="Go to the site")
    assert await button.evaluate("el => getComputedStyle(el).borderRadius") == "6px"
    assert violations == []


async def test_django_admin_works_from_login_to_a_list_without_a_csp_violation(
    page_for: PageFor,
) -> None:
    page, violations = await visit(page_for, None, "/admin/login/")
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("pw")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    # The admin's stylesheets loaded: its header has its colour.
    header = page.locator("#header")
    assert await header.evaluate("el => getComputedStyle(el).backgroundColor") != (
        "rgba(0, 0, 0, 0)"
    )
    assert violations == []
    assert await reported(page) == []


async def test_the_api_docs_render_without_a_csp_violation(page_for: PageFor) -> None:
    page, violations = await visit(page_for, "alice", "/api/docs")
    await expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    assert violations == []
    assert await reported(page) == []


async def test_a_script_injected_into_a_dashboard_page_is_blocked(page_for: PageFor) -> None:
    page, _ = await visit(page_for, "alice", "/desk/")
    ran = await page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.body.append(script);
          return window.injected === true;
        }"""
    )
    assert ran is False
    # The browser reports it a moment later, in a task of its own.
    await page.wait_for_function("() => window.__cspViolations.length > 0")
    assert await reported(page) == ["script-src-elem blocked inline"]
