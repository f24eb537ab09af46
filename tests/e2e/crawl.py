"""A role's pages in the demo, found the way a person finds them: start at the role's home,
follow every same-origin link, and visit each distinct page once. Used by the browser tests
that check every page fits a phone and passes axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from playwright.sync_api import Error as PlaywrightError

from hashcart.demo import DEMO_PASSWORD

# Links that leave the page's kind of thing: downloads, machine answers and doors that
# sign the visitor out or start a network's OAuth dance (which leaves loopback).
SKIPPED = re.compile(
    r"^/(api/|webhooks/|static/|images/|sign-out|merchant/sign-out|account/oauth/|account/link/[^/]+/start)"
    r"|\.(csv|json|pdf|txt|png|ico)$"
)
MAX_PAGES = 60


@dataclass(frozen=True)
class Visit:
    url: str
    path: str


def sign_in(page: Any, url: str, door: str, email: str) -> None:
    page.goto(f"{url}{door}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click(f"form[action='{door}'] button[type=submit]")
    page.wait_for_load_state()


def page_kind(path: str, query: str) -> str:
    """One key per kind of page: ids become N, and a query counts by its names, so the
    crawl sees each template with each filter once, not every product or every page."""
    shape = re.sub(r"/[^/]*\d[^/]*", "/N", path)
    # Product pages (/s/<shop>/p/<product id>): one kind, whatever the id looks like.
    shape = re.sub(r"^(/s/[^/]+/p)/.+$", r"\1/N", shape)
    names = sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)})
    return shape + ("?" + "&".join(names) if names else "")


def crawl(page: Any, base: str, starts: list[str]) -> Iterator[Visit]:
    """Yield each distinct same-origin page reachable from `starts`, with `page` on it."""
    origin = urlsplit(base).netloc
    queue = [f"{base}{start}" for start in starts]
    seen: set[str] = set()
    while queue and len(seen) < MAX_PAGES:
        target = queue.pop(0)
        parts = urlsplit(target)
        kind = page_kind(parts.path, parts.query)
        if parts.netloc != origin or kind in seen or SKIPPED.search(parts.path):
            continue
        seen.add(kind)
        try:
            response = page.goto(target)
        except PlaywrightError as error:  # a link to a file: the browser downloads it
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        if urlsplit(page.url).netloc != origin:
            continue
        yield Visit(page.url, parts.path)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        queue.extend(href.split("#")[0] for href in hrefs)


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the screen (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
