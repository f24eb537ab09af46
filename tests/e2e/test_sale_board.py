"""The live claim board in a real browser (issue 13), on a 390 px phone and a 1366 px laptop:
the merchant opens a sale through the console's form, a burst of claims racing for fewer units
is ingested from a file by `hashcart ingest` (Mastodon Status entities, shuffled: arrival is
not the platform's order), and the open board settles without a reload: the winners are the
first claims by the posts' own time up to the stock, the rest waitlisted. Nothing wider than
the screen before or after, and axe-core finds nothing serious on the settled board (the
richer page: the stream's lines and every number filled in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_cli
from tests.e2e.axe import axe_script, serious_violations
from tests.e2e.conftest import screenshot
from tests.loopback import LiveServer
from tests.sales.board_support import BoardShop, claims_file
from tests.sales.support import sale_post_id, shopper
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD

NETWORK = "mastodon"
CLAIMS, STOCK = 36, 5
WIDTHS = [390, 1366]
SETTLED = """([held, waitlist, lines]) =>
  document.querySelector('[data-board-field="item-12-held"]').textContent === held &&
  document.querySelector('[data-board-field="item-12-waitlist"]').textContent === waitlist &&
  document.querySelectorAll('#claim-stream [data-claim-line]').length === lines"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """The sale shop served on loopback, and its database's URL (for `hashcart ingest`)."""
    url = f"sqlite:///{tmp_path / 'board.db'}"
    shop = BoardShop(url, public_url="https://shop.example")
    with LiveServer(shop.web) as server:
        yield server, url
    shop.close()


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_board_settles_live_as_a_burst_of_claims_is_ingested(
    served: tuple[LiveServer, str], page: Any, width: int, tmp_path: Path
) -> None:
    server, database_url = served
    axe = axe_script()
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{server.url}/merchant/sign-in")
    page.fill("input[name=email]", MERCHANT_EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/merchant/sign-in'] button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{server.url}/merchant/sales")
    form = "form[action='/merchant/sales']"
    page.fill(f"{form} [name=name]", "Friday live")
    page.fill(f"{form} [name=posts]", f"{NETWORK}:{sale_post_id(NETWORK)}")
    page.fill(f"{form} [name=items]", f"12=mug:{STOCK}")
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state()
    assert "Sale opened" in page.inner_text("main")
    page.click("a:text-is('Friday live')")
    page.wait_for_load_state()
    page.wait_for_function(
        "() => document.getElementById('board-status').textContent.startsWith('Live')"
    )
    _fits(page, width)

    burst = claims_file(tmp_path / "claims.jsonl", NETWORK, CLAIMS)
    ingested = run_cli(["ingest", str(burst)], env={"HASHCART_DATABASE_URL": database_url})
    assert ingested.exit_code == 0, ingested.stderr

    page.wait_for_function(SETTLED, arg=[str(STOCK), str(CLAIMS - STOCK), CLAIMS])
    winners = page.locator("#claim-stream .kind-won .who").all_inner_texts()
    first = [f"@{shopper(NETWORK, n).handle} on Mastodon" for n in range(STOCK)]
    assert sorted(winners) == sorted(first)
    assert page.locator("#claim-stream .kind-waitlisted").count() == CLAIMS - STOCK
    assert page.inner_text('[data-board-field="units"]') == str(STOCK)
    assert page.inner_text('[data-board-field="item-12-free"]') == "0"
    _fits(page, width)
    assert serious_violations(page, axe) == []
    screenshot(page, f"sale-board-{width}")

    # Without the stream, a reload shows the same board.
    page.reload()
    page.wait_for_load_state()
    assert page.inner_text('[data-board-field="item-12-held"]') == str(STOCK)
    assert page.locator("#claim-stream [data-claim-line]").count() == CLAIMS
