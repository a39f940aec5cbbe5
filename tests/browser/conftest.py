"""Browser tests: Chromium driven by Playwright (async API) against a real desk server process.

Every test here is marked `browser` and is skipped, with the reason in pytest's summary, where
Chromium is missing. The desk runs in a subprocess (tests/live.py) with its own database, so the
tests never touch the ORM in-process: they read what the server holds over REST (`rest`).

Write tests as `async def` under `pytestmark = pytest.mark.asyncio`; each gets a fresh Chromium
(`browser`) and opens logged-in pages with `page_for(name)`. The desk is shared by the whole
session: take a person no other test has touched from `fresh_user()` when state matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect
from websockets.asyncio.client import ClientConnection, connect

from tests.live import EVENT_TIMEOUT, LiveDesk, free_port, live_desk
from tests.live import rest as live_rest

CHROMIUM = os.environ.get("DESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM}: `apt-get install chromium` to run the browser tests"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
# Named people every test may use (shared state: they accumulate messages; "emma" is kept for the
# screenshots), and a pool of people handed out once each by `fresh_user()` for tests that count
# messages or unread replies.
USERS = ["ann", "ben", "emma"]
ADMINS = ["alice", "bob"]
# Each handed out once: the browser tests take more than 60 since the language tests came.
POOL = [f"user{n:03d}" for n in range(1, 121)]
HERE = Path(__file__).parent
# The shop that embeds desk's widget (test_embed.py): on another host name and port than desk's
# 127.0.0.1, so its pages are another site. It signs identity tokens with this secret, and a reply
# email's button takes its customers back to this page of it.
IDENTITY_SECRET = "acme-shop-identity-secret-for-the-browser-tests"
SHOP_PAGE = "/shop/"

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chromium_missing = not os.access(CHROMIUM, os.X_OK)
    for item in items:
        if HERE not in item.path.parents:
            continue
        item.add_marker(pytest.mark.browser)
        if chromium_missing:
            item.add_marker(pytest.mark.skip(reason=CHROMIUM_MISSING))


@pytest.fixture(scope="session")
def shop_port() -> int:
    """The port of the shop that embeds desk (test_embed.py); desk must know its origin first."""
    return free_port()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, shop_port: int) -> Iterator[LiveDesk]:
    """One desk server for the session (DEBUG off, as in production, serving its static files)."""
    workdir = tmp_path_factory.mktemp("browser")
    port = free_port()
    shop = f"http://localhost:{shop_port}"
    with live_desk(
        workdir,
        servers=1,
        ports=[port],
        users=[*USERS, *POOL],
        admins=ADMINS,
        env={
            "DESK_SERVE_STATIC": "true",
            # Tests post many replies as the same admins; the allowance is not what they test.
            "DESK_MESSAGES_PER_MINUTE": "600",
            # desk's address as browsers reach it: the links in emails and guest links.
            "SITE_URL": f"http://127.0.0.1:{port}",
            # Embedded on the shop (test_embed.py); reply emails, written to files, due soon (sent
            # only while that module runs a worker).
            "DESK_EMBED_ORIGINS": shop,
            "DESK_IDENTITY_SECRET": IDENTITY_SECRET,
            "DESK_EMBED_RETURN_URL": f"{shop}{SHOP_PAGE}#support-chat",
            "DESK_REPLY_NOTIFICATION_DELAY": "2",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(workdir / "emails"),
        },
    ) as desk:
        yield desk


_pool = iter(POOL)


@pytest.fixture
def fresh_user(live: LiveDesk) -> Callable[[], str]:
    """`fresh_user()` names a user with an empty chat that no other test has used."""

    def take() -> str:
        name = next(_pool, None)
        if name is None:
            raise RuntimeError(f"the pool of {len(POOL)} fresh users is used up: raise POOL")
        return name

    return take


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


PageFor = Callable[..., Awaitable[Page]]


async def logged_in_page(browser: Browser, desk: LiveDesk, name: str | None) -> Page:
    """A blank page in a new browser context on `desk`, logged in as `name` (None: anonymous)."""
    context = await browser.new_context(base_url=desk.a.origin, viewport=VIEWPORT)
    if name is not None:
        await context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": desk.cookies[name],
                    "domain": "127.0.0.1",
                    "path": "/",
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
    return await context.new_page()


@pytest_asyncio.fixture
async def page_for(browser: Browser, live: LiveDesk) -> AsyncIterator[PageFor]:
    """`await page_for("ann")`: a page in a new browser context logged in as ann (None: anonymous).

    Pages start blank; `await page.goto("/")` (URLs are relative to the desk). A second tab of the
    same person is `await page.context.new_page()`. An uncaught JavaScript error on any page fails
    the test.
    """
    errors: list[str] = []

    async def open_page(name: str | None) -> Page:
        page = await logged_in_page(browser, live, name)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.context.on("page", lambda tab: tab.on("pageerror", lambda e: errors.append(str(e))))
        return page

    yield open_page
    assert not errors, f"JavaScript errors on the page: {errors}"


class Rest:
    """What the live server holds, read and changed over REST as one of its people."""

    def __init__(self, live: LiveDesk) -> None:
        self.live = live

    async def call(self, name: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON answer) of one request as `name`."""
        return await asyncio.to_thread(self._call, name, method, path, body)

    async def __call__(self, name: str, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of a request that must succeed."""
        status, answer = await self.call(name, method, path, body)
        assert 200 <= status < 300, f"{method} {path} as {name}: {status} {answer}"
        return answer

    def _call(self, name: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        answer = live_rest(self.live.a, method, path, self.live.cookies[name], body)
        return answer.status, answer.body

    async def messages(self, name: str) -> list[dict[str, Any]]:
        """The newest 50 messages of `name`'s chat, oldest first."""
        chat = await self(name, "GET", "/api/support_chat")
        return list(chat["messages"])

    async def reply(self, admin: str, user: str, content: str) -> dict[str, Any]:
        """`admin` answers `user`'s chat."""
        chat_id = self.live.chats[user]
        return dict(
            await self(admin, "POST", f"/api/admin/chats/{chat_id}/messages", {"content": content})
        )


@pytest.fixture
def rest(live: LiveDesk) -> Rest:
    return Rest(live)


@contextlib.asynccontextmanager
async def opened_socket(live: LiveDesk, name: str, path: str) -> AsyncIterator[ClientConnection]:
    """A websocket to the live desk as `name` (e.g. an admin watching a chat)."""
    headers = {"Origin": live.a.origin, "Cookie": f"sessionid={live.cookies[name]}"}
    async with connect(
        live.a.url(path), additional_headers=headers, open_timeout=EVENT_TIMEOUT, close_timeout=2
    ) as websocket:
        yield websocket


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: the folder DESK_SCREENSHOTS names (docs/screenshots), or tmp."""
    folder = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
