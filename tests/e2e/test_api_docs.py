"""/api/docs in a real browser: Swagger UI from the app itself, under the app's normal CSP.

Every request the page makes is routed through Playwright (https://playwright.dev/python/docs/network#handle-requests):
one that would leave loopback is aborted and recorded. CSP violations are caught twice:
the `securitypolicyviolation` DOM event
(https://developer.mozilla.org/en-US/docs/Web/API/Element/securitypolicyviolation_event),
recorded by an init script, and Chromium's console message for each refusal.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.loopback import LiveServer
from tests.web.conftest import WebShop

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_the_api_docs_render_the_operations_offline_under_the_normal_csp(
    live_shop: tuple[WebShop, LiveServer], page: Any
) -> None:
    _, server = live_shop
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)

    response = page.goto(f"{server.url}/api/docs")
    assert response.status == 200
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    for path in ("/api/posts", "/api/catalog", "/api/outbox", "/api/carts", "/api/orders"):
        assert path in paths, paths
    assert page.locator(".info .title").inner_text().startswith("hashcart")

    assert outside == []
    assert page.evaluate("window.__violations") == []
    assert [line for line in console if "Content Security Policy" in line] == []
    assert page_errors == []


def test_the_api_docs_fit_a_390_px_phone(live_shop: tuple[WebShop, LiveServer], page: Any) -> None:
    _, server = live_shop
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    # The page scrolls down, never sideways: nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator(".opblock-summary-path").first.is_visible()
