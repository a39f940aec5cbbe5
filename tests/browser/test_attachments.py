"""Files in chats, in Chromium: the paperclip, paste and drop in the widget (on desk's own pages and
embedded on another site) and on the dashboard's chat page; uploads with their progress, refusals
with the server's reason; images as previews that open a larger view, other files as download
chips; the dashboard's server-rendered files as its live ones; signed URLs renewed.

The module runs a desk of its own (the `live` fixture below) with a small DESK_ATTACHMENT_MAX_BYTES,
so that a file over the limit is quick to make, and people of its own.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import (
    Browser,
    FileChooser,
    Locator,
    Page,
    Request,
    Route,
    WebSocketRoute,
    expect,
)

from tests.browser.conftest import ADMINS, IDENTITY_SECRET, SHOP_PAGE, VIEWPORT, PageFor, Rest
from tests.browser.csp_watch import reported, watch
from tests.browser.other_site import Page as SitePage
from tests.browser.other_site import Site, other_site
from tests.browser.test_dashboard import open_live
from tests.browser.test_embed import Shop, Visitor, first_message, shop, visitor
from tests.browser.test_host_csp import PAGE as HOST_PAGE_HTML
from tests.browser.test_host_csp import host_policy
from tests.browser.test_widget import connected, eventually, open_widget
from tests.live import CSRF, LiveDesk, free_port, live_desk

pytestmark = pytest.mark.asyncio

# Fixtures of test_embed.py, used here as they are: the shop on another site, its visitors.
__all__ = ["shop", "visitor"]

LIMIT = 512 * 1024  # DESK_ATTACHMENT_MAX_BYTES of this module's desk: "0.5 MB"
PEOPLE = [f"files{n:02d}" for n in range(1, 25)]
UPLOADS = re.compile(r"/api/(support_chat|admin/chats/[^/]+)/attachments$")
HOST_PAGE = "/acme/"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shop_port: int) -> Iterator[LiveDesk]:
    """This module's desk: the session's settings (tests/browser/conftest.py) that matter here,
    with uploads limited to LIMIT bytes."""
    workdir = tmp_path_factory.mktemp("attachments")
    port = free_port()
    with live_desk(
        workdir,
        servers=1,
        ports=[port],
        users=[*PEOPLE, "emma"],
        admins=ADMINS,
        env={
            "DESK_SERVE_STATIC": "true",
            "DESK_MESSAGES_PER_MINUTE": "600",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "DESK_EMBED_ORIGINS": f"http://localhost:{shop_port}",
            "DESK_IDENTITY_SECRET": IDENTITY_SECRET,
            "DESK_EMBED_RETURN_URL": f"http://localhost:{shop_port}{SHOP_PAGE}#support-chat",
            "DESK_ATTACHMENT_MAX_BYTES": str(LIMIT),
        },
    ) as desk:
        yield desk


_people = iter(PEOPLE)


def person() -> str:
    """Someone of this module's desk whose chat no other test has touched."""
    return next(_people)


# --- Files ----------------------------------------------------------------------------------------


def png(width: int = 64, height: int = 48, color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def noisy_png(side: int = 300) -> bytes:
    """A PNG of random pixels: it does not compress, so under a slow uplink its upload takes
    seconds (about 270 KB, under LIMIT)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def pdf(padding: int = 0) -> bytes:
    """A PDF as desk tells one (by its first bytes), with `padding` bytes of comment lines."""
    comments = b"".join(b"%" + b"x" * 78 + b"\n" for _ in range(padding // 80))
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + comments
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def teapot_photo() -> bytes:
    """A picture for the screenshot: a teapot with a crack in its lid."""
    image = Image.new("RGB", (640, 480), "#f3ede4")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 330, 640, 480), fill="#d9c7ad")
    draw.ellipse((170, 150, 470, 400), fill="#7fa37a")
    draw.polygon([(460, 250), (590, 190), (600, 210), (470, 300)], fill="#7fa37a")
    draw.arc((110, 190, 220, 330), 90, 270, fill="#6b8f66", width=18)
    draw.ellipse((230, 120, 410, 180), fill="#8cb287")
    draw.ellipse((300, 95, 340, 130), fill="#6b8f66")
    draw.line((270, 140, 300, 160, 290, 172, 330, 168), fill="#3a2f28", width=4)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def payload(name: str, data: bytes, mime: str) -> dict[str, Any]:
    """A file as Playwright's file chooser takes it."""
    return {"name": name, "mimeType": mime, "buffer": data}


def upload(live: LiveDesk, name: str, path: str, filename: str, data: bytes) -> dict[str, Any]:
    """POST a file as `name` over REST, multipart as a browser sends it: the upload's answer."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{live.a.origin}{path}",
        method="POST",
        data=body,
        headers={
            "Cookie": f"sessionid={live.cookies[name]}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": live.a.origin,
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


async def user_sends(
    rest: Rest, live: LiveDesk, name: str, content: str, files: list[tuple[str, bytes]]
) -> dict[str, Any]:
    """`name` posts a message with these files over REST, as the widget would."""
    ids = [
        (await asyncio.to_thread(upload, live, name, "/api/support_chat/attachments", *file))["id"]
        for file in files
    ]
    return dict(
        await rest(
            name, "POST", "/api/support_chat/messages", {"content": content, "attachment_ids": ids}
        )
    )


async def support_sends(
    rest: Rest, live: LiveDesk, chat_id: str, content: str, files: list[tuple[str, bytes]]
) -> dict[str, Any]:
    """alice answers the chat with these files."""
    path = f"/api/admin/chats/{chat_id}"
    ids = [
        (await asyncio.to_thread(upload, live, "alice", path + "/attachments", *file))["id"]
        for file in files
    ]
    return dict(
        await rest("alice", "POST", path + "/messages", {"content": content, "attachment_ids": ids})
    )


# Dispatches what a paste or a drag and drop of these files would: a ClipboardEvent or DragEvents
# carrying a DataTransfer that holds them.
DISPATCH = """(target, {kind, files}) => {
  const data = new DataTransfer();
  for (const { name, type, base64 } of files) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], name, { type }));
  }
  const init = { bubbles: true, cancelable: true, composed: true };
  if (kind === "paste") {
    return [target.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: data }))];
  }
  const types = kind === "drag" ? ["dragenter", "dragover"] : ["drop"];
  return types.map((type) =>
    target.dispatchEvent(new DragEvent(type, { ...init, dataTransfer: data }))
  );
}"""


async def dispatch(target: Locator, kind: str, files: list[tuple[str, bytes, str]]) -> list[bool]:
    """Whether each event went on to its default action (False: the page took the files)."""
    encoded = [
        {"name": name, "type": mime, "base64": base64.b64encode(data).decode()}
        for name, data, mime in files
    ]
    return list(await target.evaluate(DISPATCH, {"kind": kind, "files": encoded}))


async def choose(page: Page, button: Locator, *files: dict[str, Any]) -> None:
    """Click the paperclip and pick these files in the browser's file chooser."""
    async with page.expect_file_chooser() as chooser:
        await button.click()
    await (await chooser.value).set_files(list(files))


async def slow_uplink(page: Page, bytes_per_second: int) -> None:
    """Chromium's network emulation: uploads go at this speed (downloads as usual)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


async def loaded(image: Locator) -> bool:
    """Whether the <img> shows a decoded image (not a broken one)."""
    return bool(await image.evaluate("(img) => img.complete && img.naturalWidth > 0"))


async def expect_loaded(image: Locator) -> None:
    await expect(image).to_be_visible()
    await image.evaluate(
        """(img) => img.complete && img.naturalWidth > 0 ? true : new Promise((resolve, reject) => {
          img.addEventListener("load", () => resolve(true), { once: true });
          setTimeout(() => reject(new Error(`not loaded: ${img.src}`)), 10000);
        })"""
    )


def widget_upload(page: Page) -> Locator:
    return page.locator(".composer .upload")


def in_progress() -> re.Pattern[str]:
    """A data-progress strictly between 0 and 100."""
    return re.compile(r"^([1-9]|[1-9]\d)$")


async def dashboard_chat(page_for: PageFor, live: LiveDesk, name: str) -> Page:
    return await open_live(await page_for("alice"), f"/desk/chats/{live.chats[name]}/")


# --- The paperclip --------------------------------------------------------------------------------


async def test_a_png_from_the_paperclip_uploads_with_progress_and_support_sees_it_live(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    dashboard = await dashboard_chat(page_for, live, name)
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)
    await connected(page)
    await slow_uplink(page, 80 * 1024)
    photo = noisy_png()

    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("photo.png", photo, "image/png"),
    )

    chip = widget_upload(page)
    await expect(chip).to_have_attribute("data-state", "uploading")
    await expect(chip).to_have_attribute("data-progress", in_progress())
    await expect(chip.locator("progress")).to_be_visible()
    await expect(chip.locator(".upload-status")).to_contain_text("Uploading… ")
    await expect(page.get_by_role("button", name="Send message")).to_be_disabled()
    await expect(chip).to_have_attribute("data-state", "done", timeout=20_000)
    await expect(chip.locator("progress")).to_be_hidden()
    await expect_loaded(chip.locator(".upload-thumb img"))
    await expect(page.get_by_role("button", name="Send message")).to_be_enabled()

    await page.get_by_role("button", name="Send message").click()

    preview = page.locator(".log .msg.user:not(.pending) .attachment.image img")
    await expect_loaded(preview)
    assert await preview.get_attribute("width") == "240"
    assert await preview.get_attribute("height") == "240"
    await expect(page.locator(".log .msg.user .bubble")).to_have_count(0)
    await expect(chip).to_have_count(0)
    await expect_loaded(dashboard.locator(".message.from-user .attachment.image img"))
    [message] = await rest.messages(name)
    assert message["content"] == ""
    assert [(f["name"], f["content_type"], f["width"]) for f in message["attachments"]] == [
        ("photo.png", "image/png", 300)
    ]


async def test_a_reply_with_a_png_from_the_dashboard_uploads_with_progress_and_reaches_the_widget(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await rest(name, "POST", "/api/support_chat/messages", {"content": "Can I see the colour?"})
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)
    await connected(page)
    dashboard = await dashboard_chat(page_for, live, name)
    await slow_uplink(dashboard, 80 * 1024)

    await choose(
        dashboard,
        dashboard.get_by_role("button", name="Attach files"),
        payload("sage.png", noisy_png(), "image/png"),
    )
    chip = dashboard.locator(".composer .upload")
    await expect(chip).to_have_attribute("data-progress", in_progress())
    await expect(dashboard.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    await expect(chip).to_have_attribute("data-state", "done", timeout=20_000)
    await dashboard.get_by_label(f"Reply to {name}@example.com").fill("This one, in sage:")
    await dashboard.get_by_role("button", name="Send", exact=True).click()

    reply = dashboard.locator(".message.from-admin")
    await expect(reply.locator(".bubble")).to_have_text("This one, in sage:")
    await expect_loaded(reply.locator(".attachment.image img"))
    theirs = page.locator(".log .msg.admin")
    await expect(theirs.locator(".bubble")).to_have_text("This one, in sage:")
    await expect_loaded(theirs.locator(".attachment.image img"))
    messages = await rest.messages(name)
    assert [f["name"] for f in messages[-1]["attachments"]] == ["sage.png"]


async def test_the_paperclip_works_with_the_keyboard(page_for: PageFor) -> None:
    page = await page_for(person())
    # Listening from the start: Playwright takes over file choosers only once someone listens, and
    # a key press gives it less time than a click to get ready.
    choosers: asyncio.Queue[FileChooser] = asyncio.Queue()
    page.on("filechooser", choosers.put_nowait)
    await page.goto("/")
    await open_widget(page)

    await page.keyboard.press("Shift+Tab")
    paperclip = page.get_by_role("button", name="Attach files")
    await expect(paperclip).to_be_focused()
    await page.keyboard.press("Enter")
    chooser = await asyncio.wait_for(choosers.get(), 10)
    await chooser.set_files([payload("keys.png", png(), "image/png")])

    chip = widget_upload(page)
    await expect(chip).to_have_attribute("data-state", "done")
    await page.keyboard.press("Tab")  # to the message box, then past it to Send
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Send message")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator(".log .msg.user:not(.pending) .attachment")).to_have_count(1)


# --- Paste and drop -------------------------------------------------------------------------------


async def test_an_image_pasted_into_the_widget_is_uploaded_and_sent_with_the_text(
    page_for: PageFor, rest: Rest
) -> None:
    name = person()
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)
    box = page.get_by_role("textbox", name="Message to support")

    went_on = await dispatch(box, "paste", [("image.png", png(), "image/png")])

    assert went_on == [False]  # an image alone: nothing pasted as text
    await expect(widget_upload(page)).to_have_attribute("data-state", "done")
    await box.fill("Here is the screenshot")
    await box.press("Enter")
    mine = page.locator(".log .msg.user:not(.pending)")
    await expect(mine.locator(".bubble")).to_have_text("Here is the screenshot")
    await expect_loaded(mine.locator(".attachment.image img"))
    [message] = await rest.messages(name)
    assert message["content"] == "Here is the screenshot"
    assert [f["name"] for f in message["attachments"]] == ["image.png"]


async def test_files_dropped_onto_the_widget_go_together_in_one_message(
    page_for: PageFor, rest: Rest
) -> None:
    name = person()
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)
    files = [
        ("front.png", png(color="navy"), "image/png"),
        ("invoice.pdf", pdf(), "application/pdf"),
    ]

    await dispatch(page.locator(".log"), "drag", files)
    await expect(page.get_by_text("Drop files to send them to support")).to_be_visible()
    went_on = await dispatch(page.locator(".log"), "drop", files)

    assert went_on == [False]
    await expect(page.get_by_text("Drop files to send them to support")).to_be_hidden()
    chips = widget_upload(page)
    await expect(chips).to_have_count(2)
    for n in range(2):
        await expect(chips.nth(n)).to_have_attribute("data-state", "done")
    await page.get_by_role("button", name="Send message").click()
    mine = page.locator(".log .msg.user:not(.pending)")
    await expect(mine.locator(".attachment")).to_have_count(2)
    [message] = await rest.messages(name)
    # Uploaded side by side: in the order desk stored them.
    assert sorted(f["name"] for f in message["attachments"]) == ["front.png", "invoice.pdf"]


async def test_the_dashboard_takes_a_pasted_image_and_dropped_files_for_one_reply(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await rest(name, "POST", "/api/support_chat/messages", {"content": "Which form do I need?"})
    dashboard = await dashboard_chat(page_for, live, name)
    box = dashboard.get_by_label(f"Reply to {name}@example.com")

    await dispatch(box, "paste", [("image.png", png(), "image/png")])
    chips = dashboard.locator(".composer .upload")
    await expect(chips).to_have_attribute("data-state", "done")
    await dispatch(dashboard.locator("#thread"), "drag", [("form-a.pdf", pdf(), "application/pdf")])
    await expect(dashboard.get_by_text("Drop files to attach them to your reply")).to_be_visible()
    await dispatch(dashboard.locator("#thread"), "drop", [("form-a.pdf", pdf(), "application/pdf")])

    await expect(chips).to_have_count(2)
    for n in range(2):
        await expect(chips.nth(n)).to_have_attribute("data-state", "done")
    await box.press("Enter")
    reply = dashboard.locator(".message.from-admin")
    await expect(reply.locator(".attachment")).to_have_count(2)
    await expect(reply.locator(".bubble")).to_be_hidden()
    messages = await rest.messages(name)
    assert [f["name"] for f in messages[-1]["attachments"]] == ["image.png", "form-a.pdf"]


async def test_a_refused_reply_keeps_its_text_and_its_files_for_another_try(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await rest(name, "POST", "/api/support_chat/messages", {"content": "Hi"})
    dashboard = await dashboard_chat(page_for, live, name)
    await choose(
        dashboard,
        dashboard.get_by_role("button", name="Attach files"),
        payload("plan.pdf", pdf(), "application/pdf"),
    )
    chip = dashboard.locator(".composer .upload")
    await expect(chip).to_have_attribute("data-state", "done")
    box = dashboard.get_by_label(f"Reply to {name}@example.com")
    too_long = "x" * 5001
    await box.evaluate(
        "(box, text) => { box.value = text; box.dispatchEvent(new Event('input')); }", too_long
    )

    await box.press("Enter")

    await expect(dashboard.get_by_role("alert").filter(has_text="Not sent")).to_contain_text("5000")
    await expect(box).to_have_value(too_long)
    await expect(chip).to_have_attribute("data-state", "done")
    await expect(chip).to_contain_text("plan.pdf")
    await box.fill("The plan")
    await box.press("Enter")
    await expect(dashboard.locator(".message.from-admin .attachment")).to_have_count(1)
    messages = await rest.messages(name)
    assert [(m["content"], [f["name"] for f in m["attachments"]]) for m in messages][-1] == (
        "The plan",
        ["plan.pdf"],
    )


async def test_more_than_ten_files_at_once_are_cut_to_ten_with_a_note(page_for: PageFor) -> None:
    page = await page_for(person())
    await page.goto("/")
    await open_widget(page)

    await dispatch(
        page.locator(".log"), "drop", [(f"p{n}.png", png(), "image/png") for n in range(12)]
    )

    await expect(widget_upload(page)).to_have_count(10)
    await expect(page.get_by_role("alert")).to_have_text(
        "A message takes at most 10 files: 2 were left out."
    )


# --- Refusals -------------------------------------------------------------------------------------


async def test_a_file_over_the_limit_shows_the_servers_413_and_nothing_is_sent(
    page_for: PageFor, rest: Rest
) -> None:
    name = person()
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)
    # Over the limit by a byte: Django's upload handler refuses it, naming the limit (far larger
    # bodies are refused before Django, by the request thread pool).
    too_big = b"a" * (LIMIT + 1)

    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("notes.txt", too_big, "text/plain"),
    )

    chip = widget_upload(page)
    await expect(chip).to_have_attribute("data-state", "failed")
    await expect(chip.get_by_role("alert")).to_have_text(
        "The file is too large: at most 524,288 bytes (0.5 MB) are accepted."
    )
    await expect(chip.get_by_role("button", name="Retry")).to_be_hidden()
    send_button = page.get_by_role("button", name="Send message")
    await expect(send_button).to_be_disabled()
    await page.get_by_role("textbox", name="Message to support").press("Enter")
    await page.wait_for_timeout(300)
    assert await rest.messages(name) == []

    await chip.get_by_role("button", name="Remove notes.txt").click()
    await expect(chip).to_have_count(0)


async def test_a_file_of_a_type_desk_refuses_shows_the_415_reason(page_for: PageFor) -> None:
    page = await page_for(person())
    await page.goto("/")
    await open_widget(page)

    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("setup.exe", b"MZ\x90\x00" + bytes(200), "application/octet-stream"),
    )

    await expect(widget_upload(page).get_by_role("alert")).to_contain_text(
        "This type of file is not accepted"
    )


async def test_an_upload_that_gets_no_answer_can_be_tried_again(page_for: PageFor) -> None:
    page = await page_for(person())
    await page.goto("/")
    await open_widget(page)
    await page.route(UPLOADS, lambda route: route.abort("connectionreset"))

    await choose(
        page, page.get_by_role("button", name="Attach files"), payload("a.png", png(), "image/png")
    )
    chip = widget_upload(page)
    await expect(chip.get_by_role("alert")).to_have_text(
        "Not uploaded: no connection to the server."
    )
    await page.unroute(UPLOADS)
    await chip.get_by_role("button", name="Retry").click()

    await expect(chip).to_have_attribute("data-state", "done")


async def test_an_upload_in_flight_can_be_cancelled(page_for: PageFor, rest: Rest) -> None:
    name = person()
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)
    await slow_uplink(page, 20 * 1024)
    seen: list[Request] = []
    page.on("requestfailed", lambda request: seen.append(request))

    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("big.png", noisy_png(), "image/png"),
    )
    chip = widget_upload(page)
    await expect(chip).to_have_attribute("data-progress", in_progress())
    await chip.get_by_role("button", name="Cancel the upload of big.png").click()

    await expect(chip).to_have_count(0)
    await expect(page.get_by_role("button", name="Send message")).to_be_disabled()
    assert await eventually(lambda: asyncio.sleep(0, [r for r in seen if UPLOADS.search(r.url)]))
    assert await rest.messages(name) == []


# --- Files in messages ----------------------------------------------------------------------------


async def test_clicking_a_preview_opens_the_full_image_and_escape_closes_it(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    sent = await user_sends(rest, live, name, "", [("wide.png", png(800, 400, "orange"))])
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)
    preview = page.locator(".log .attachment.image a")

    await preview.click()

    viewer = page.get_by_role("dialog", name="wide.png")
    await expect(viewer).to_be_visible()
    full = viewer.locator("img")
    await expect(full).to_have_attribute("src", sent["attachments"][0]["url"])
    await expect_loaded(full)
    assert await full.evaluate("(img) => img.naturalWidth") == 800
    await expect(viewer.get_by_role("button", name="Close image")).to_be_focused()
    await expect(viewer.get_by_role("link", name="Download")).to_have_attribute(
        "href", sent["attachments"][0]["url"]
    )
    await page.keyboard.press("Escape")

    await expect(viewer).to_be_hidden()
    await expect(preview).to_be_focused()
    # Escape closed the image, not the chat around it.
    await expect(page.locator(".launcher")).to_have_attribute("aria-expanded", "true")


async def test_the_dashboards_larger_view_closes_with_its_button(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await user_sends(rest, live, name, "The dent", [("dent.png", png(300, 500))])
    dashboard = await dashboard_chat(page_for, live, name)

    await dashboard.locator(".attachment.image a").click()
    viewer = dashboard.get_by_role("dialog", name="dent.png")
    await expect(viewer).to_be_visible()
    await viewer.get_by_role("button", name="Close image").click()

    await expect(viewer).to_be_hidden()
    await expect(dashboard.locator(".attachment.image a")).to_be_focused()


async def test_a_pdf_shows_as_a_file_chip_with_a_download_link(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await rest(name, "POST", "/api/support_chat/messages", {"content": "Where is my invoice?"})
    await support_sends(rest, live, live.chats[name], "Here it is.", [("invoice-1042.pdf", pdf())])
    page = await page_for(name)
    await page.goto("/")
    await open_widget(page)

    chip = page.locator(".log .msg.admin .attachment.file a")
    await expect(chip).to_have_text(f"invoice-1042.pdfPDF · {len(pdf())} bytes")
    # Signed for the person reading (support's own URL for the same file is another).
    url = (await rest.messages(name))[-1]["attachments"][0]["url"]
    await expect(chip).to_have_attribute("href", url)
    await expect(chip).to_have_attribute("rel", "noopener noreferrer")
    await expect(chip).to_have_attribute("target", "_blank")
    assert url.startswith(live.a.origin + "/files/")
    downloaded = await page.request.get(url)
    assert downloaded.status == 200
    assert downloaded.headers["content-disposition"] == 'attachment; filename="invoice-1042.pdf"'
    assert await downloaded.body() == pdf()


async def test_the_dashboard_draws_files_on_the_server_as_it_draws_them_live(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    dashboard = await dashboard_chat(page_for, live, name)
    await user_sends(
        rest,
        live,
        name,
        "Both pages",
        [("page-1.png", png(1240, 1754)), ("notes.txt", b"Line one\nLine two\n"), ("x.pdf", pdf())],
    )
    files = dashboard.locator(".message .attachments")
    await expect(files.locator(".attachment")).to_have_count(3)
    live_html = await files.evaluate("(list) => list.outerHTML")

    await dashboard.reload()
    await expect(files.locator(".attachment")).to_have_count(3)
    server_html = await files.evaluate("(list) => list.outerHTML")

    assert server_html == live_html
    assert 'width="170" height="240" alt="page-1.png"' in server_html
    assert "TXT · 18 bytes" in server_html
    await dashboard.locator(".attachment.image a").click()  # the server's preview opens too
    await expect(dashboard.get_by_role("dialog", name="page-1.png")).to_be_visible()


async def test_the_chat_list_shows_a_message_of_files_alone_by_its_first_file(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await rest(name, "POST", "/api/support_chat/messages", {"content": "Hello"})
    dashboard = await open_live(await page_for("alice"), "/desk/")

    await user_sends(rest, live, name, "", [("receipt.pdf", pdf())])

    card = dashboard.locator(f'.chat-card[data-chat-id="{live.chats[name]}"]')
    await expect(card.locator('[data-field="preview"]')).to_have_text("📎 receipt.pdf")
    await dashboard.reload()
    await expect(card.locator('[data-field="preview"]')).to_have_text("📎 receipt.pdf")


# --- Signed URLs expire ---------------------------------------------------------------------------


def with_marker(message: dict[str, Any]) -> dict[str, Any]:
    """The message as a later payload would carry it: other URLs (still valid: the signature does
    not cover an extra parameter) for the same files."""
    files = [
        {
            **file,
            "url": file["url"] + "&later=1",
            "thumbnail_url": file["thumbnail_url"] and file["thumbnail_url"] + "&later=1",
        }
        for file in message["attachments"]
    ]
    return {**message, "attachments": files}


async def test_the_widget_shows_the_urls_of_the_latest_payload_after_a_reconnect(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await user_sends(rest, live, name, "", [("a.png", png()), ("b.pdf", pdf())])
    page = await page_for(name)
    sockets: list[WebSocketRoute] = []

    async def through(websocket: WebSocketRoute) -> None:
        sockets.append(websocket)
        websocket.connect_to_server()

    await page.route_web_socket(re.compile(r"/ws/"), through)
    await page.goto("/")
    await open_widget(page)
    await connected(page)
    first_src = await page.locator(".log .attachment.image img").get_attribute("src")
    assert first_src
    assert "later" not in first_src

    async def later(route: Route) -> None:
        response = await route.fetch()
        chat = await response.json()
        chat["messages"] = [with_marker(message) for message in chat["messages"]]
        await route.fulfill(response=response, json=chat)

    await page.route(re.compile(r"/api/support_chat$"), later)
    await sockets[0].close(code=1012)  # a restart: the widget reconnects, reloads the chat

    image = page.locator(".log .attachment.image img")
    await expect(image).to_have_attribute("src", re.compile(r"&later=1$"))
    await expect_loaded(image)
    await expect(page.locator(".log .attachment.file a")).to_have_attribute(
        "href", re.compile(r"&later=1$")
    )


async def test_an_image_whose_url_has_expired_is_loaded_again_with_fresh_urls(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    await user_sends(rest, live, name, "", [("late.png", png())])
    page = await page_for(name)
    refused: list[str] = []

    async def expired_once(route: Route) -> None:
        if not refused:
            refused.append(route.request.url)
            await route.fulfill(status=403, body="This link has expired")
        else:
            await route.continue_()

    await page.route(re.compile(r"/files/[^/]+/thumb\?"), expired_once)
    async with page.expect_request(re.compile(r"/api/support_chat/attachments/[^/]+$")) as asked:
        await page.goto("/")
        await open_widget(page)

    assert (await asked.value).method == "GET"
    await expect_loaded(page.locator(".log .attachment.image img"))
    assert len(refused) == 1


async def test_a_preview_whose_url_is_about_to_expire_gets_fresh_urls_before_it_opens(
    page_for: PageFor, rest: Rest, live: LiveDesk
) -> None:
    name = person()
    sent = await user_sends(rest, live, name, "", [("old.png", png(200, 100))])
    page = await page_for(name)

    async def stale(route: Route) -> None:
        response = await route.fetch()
        chat = await response.json()
        for message in chat["messages"]:
            for file in message["attachments"]:
                # Its expiry in the past: desk would refuse it (and the signature no longer fits).
                file["url"] = re.sub(r"([?&]e=)\d+", r"\g<1>1000", file["url"])
        await route.fulfill(response=response, json=chat)

    await page.route(re.compile(r"/api/support_chat$"), stale)
    await page.goto("/")
    await open_widget(page)
    await expect(page.locator(".log .attachment.image a")).to_have_attribute(
        "href", re.compile(r"e=1000&")
    )

    await page.locator(".log .attachment.image a").click()

    full = page.get_by_role("dialog", name="old.png").locator("img")
    await expect(full).to_have_attribute("src", sent["attachments"][0]["url"])
    await expect_loaded(full)


# --- Embedded on another site ---------------------------------------------------------------------


async def test_the_embedded_widget_uploads_with_its_bearer_token_and_shows_the_image(
    visitor: Visitor, page_for: PageFor, rest: Rest, shop: Shop
) -> None:
    page = await visitor()
    uploads: list[Request] = []
    page.on(
        "request", lambda request: uploads.append(request) if UPLOADS.search(request.url) else None
    )
    await page.goto(shop.page())
    await open_widget(page)

    # A visitor's first word may be a file: they become a guest then, and the upload has a token.
    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("tent.png", png(120, 90, "green"), "image/png"),
    )
    await expect(widget_upload(page)).to_have_attribute("data-state", "done")
    chat_id = await first_message(page, "Is this tear covered by the warranty?")

    mine = page.locator(".log .msg.user:not(.pending)")
    await expect_loaded(mine.locator(".attachment.image img"))
    [post] = [request for request in uploads if request.method == "POST"]
    headers = await post.all_headers()
    assert headers["authorization"].startswith("Bearer ")
    assert "cookie" not in headers
    assert headers["origin"] == shop.origin
    dashboard = await open_live(await page_for("alice"), f"/desk/chats/{chat_id}/")
    await expect_loaded(dashboard.locator(".attachment.image img"))
    chat = await rest("alice", "GET", f"/api/admin/chats/{chat_id}")
    [message] = chat["messages"]
    assert [f["name"] for f in message["attachments"]] == ["tent.png"]


async def test_the_embedded_widget_shows_why_desk_refused_a_file(
    visitor: Visitor, shop: Shop
) -> None:
    page = await visitor()
    await page.goto(shop.page())
    await open_widget(page)

    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("big.txt", b"b" * (LIMIT + 1), "text/plain"),
    )

    await expect(widget_upload(page).get_by_role("alert")).to_have_text(
        "The file is too large: at most 524,288 bytes (0.5 MB) are accepted."
    )


# --- Content-Security-Policy of the page the widget is on -----------------------------------------


async def test_attachment_images_show_on_a_shop_page_whose_csp_adds_img_src_for_desk(
    visitor: Visitor, shop: Shop, live: LiveDesk
) -> None:
    desk = live.a.origin
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {desk}",
            f"style-src {desk}",
            f"connect-src {desk} {desk.replace('http://', 'ws://', 1)}",
            f"img-src {desk}",
        ]
    )
    page = await visitor()
    violations = await watch(page)
    await page.goto(shop.page(headers={"Content-Security-Policy": policy}))
    await open_widget(page)
    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("csp.png", png(), "image/png"),
    )
    await expect(widget_upload(page)).to_have_attribute("data-state", "done")
    await first_message(page, "Under a strict policy")
    await expect_loaded(page.locator(".log .msg.user:not(.pending) .attachment.image img"))
    await page.locator(".log .attachment.image a").click()
    await expect_loaded(page.get_by_role("dialog", name="csp.png").locator("img"))

    # Only the shop's own inline <style> is blocked.
    assert await reported(page) == ["style-src-elem blocked inline"]
    assert len(violations) == 1, violations


@pytest.fixture(scope="module")
def customer_site(live: LiveDesk) -> Iterator[Site]:
    """The customer's site with desk behind it (as in test_host_csp.py), its page served under the
    README's host policy, once with the img-src line for desk's SITE_URL and once without."""
    pages: dict[str, SitePage] = {}
    with other_site(pages, upstream=live.a.port) as site:
        base = host_policy(site.origin)
        pages[HOST_PAGE] = SitePage(
            HOST_PAGE_HTML.format(origin=site.origin),
            headers={"Content-Security-Policy": f"{base}; img-src {live.env['SITE_URL']}"},
        )
        pages["/no-img-src/"] = SitePage(
            HOST_PAGE_HTML.format(origin=site.origin),
            headers={"Content-Security-Policy": base},
        )
        yield site


async def visitor_of_customer(browser: Browser, live: LiveDesk, site: Site, name: str) -> Page:
    context = await browser.new_context(base_url=site.origin, viewport=VIEWPORT)
    await context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": live.cookies[name],
                "domain": "127.0.0.1",
                "path": "/",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    return await context.new_page()


async def test_on_a_host_page_with_the_readmes_csp_an_image_shows_without_a_violation(
    browser: Browser, live: LiveDesk, rest: Rest, customer_site: Site
) -> None:
    name = person()
    await user_sends(rest, live, name, "", [("host.png", png())])
    page = await visitor_of_customer(browser, live, customer_site, name)
    violations = await watch(page)
    await page.goto(HOST_PAGE)
    await page.get_by_role("button", name=re.compile("^Open support chat")).click()

    await expect_loaded(page.locator(".log .attachment.image img"))
    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("more.png", png(), "image/png"),
    )
    await expect(widget_upload(page)).to_have_attribute("data-state", "done")

    # The page's own inline script is what its policy blocks, and nothing of the widget.
    assert await reported(page) == ["script-src-elem blocked inline"]
    assert len(violations) == 1, violations


async def test_a_host_csp_without_img_src_for_desk_blocks_the_previews(
    browser: Browser, live: LiveDesk, rest: Rest, customer_site: Site
) -> None:
    name = person()
    await user_sends(rest, live, name, "", [("blocked.png", png())])
    page = await visitor_of_customer(browser, live, customer_site, name)
    await watch(page)
    await page.goto("/no-img-src/")
    await page.get_by_role("button", name=re.compile("^Open support chat")).click()

    await page.wait_for_function(
        "(desk) => window.__cspViolations.some("
        "(v) => v.startsWith(`img-src blocked ${desk}/files/`))",
        arg=live.env["SITE_URL"],
    )
    assert not await loaded(page.locator(".log .attachment.image img"))


# --- The README's screenshot ----------------------------------------------------------------------


async def test_screenshots_of_files_in_the_widget_and_on_the_dashboard(
    page_for: PageFor, rest: Rest, live: LiveDesk, screenshots: Path
) -> None:
    await user_sends(
        rest,
        live,
        "emma",
        "The lid of my teapot arrived cracked 😞",
        [("teapot.jpg", teapot_photo())],
    )
    await support_sends(
        rest,
        live,
        live.chats["emma"],
        "So sorry, Emma! Here is a prepaid return label: a new lid ships today.",
        [("return-label-1042.pdf", pdf(48_000))],
    )
    page = await page_for("emma")
    await page.goto("/")
    await open_widget(page)
    await expect(page.locator(".log .msg")).to_have_count(2)
    await expect_loaded(page.locator(".log .attachment.image img"))
    await choose(
        page,
        page.get_by_role("button", name="Attach files"),
        payload("box.jpg", teapot_photo(), "image/jpeg"),
    )
    await expect(widget_upload(page)).to_have_attribute("data-state", "done")
    await expect_loaded(widget_upload(page).locator("img"))
    await page.get_by_role("textbox", name="Message to support").focus()
    await page.keyboard.type("Thank you! The box, too:")
    await page.wait_for_timeout(300)

    await page.screenshot(path=screenshots / "attachments-widget.png")
    await page.get_by_role("button", name="Send message").click()
    dashboard = await dashboard_chat(page_for, live, "emma")
    await expect(dashboard.locator(".message")).to_have_count(3)
    for image in await dashboard.locator(".attachment.image img").all():
        await expect_loaded(image)
    await dashboard.get_by_label("Reply to emma@example.com").fill("Got it, thanks!")
    await dashboard.mouse.move(0, 0)
    await dashboard.screenshot(path=screenshots / "attachments-dashboard.png")

    assert (screenshots / "attachments-widget.png").stat().st_size > 10_000
    assert (screenshots / "attachments-dashboard.png").stat().st_size > 10_000
