"""What Chromium's Content-Security-Policy blocked on a page: `violations = await watch(page)`.

Each violation the page reports (the `securitypolicyviolation` event, which also comes out of
shadow roots) and each CSP complaint in the console lands in the returned list, as text.
"""

from __future__ import annotations

from playwright.async_api import ConsoleMessage, Page

RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI} ${event.sample}`.trim()
  );
}, true);
"""


async def watch(page: Page) -> list[str]:
    """Record this page's CSP violations from its next navigation on."""
    seen: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            seen.append(message.text)

    page.on("console", console)
    await page.add_init_script(RECORDER)
    return seen


async def reported(page: Page) -> list[str]:
    """The violations the current document reported to its own listener."""
    return list(await page.evaluate("() => window.__cspViolations || []"))
