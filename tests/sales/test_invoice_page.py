"""A live sale's invoice (issue 13): its page at /orders/invoice/<id> for the shopper who won
(nobody else's), with what was won, the total and the pay-by time; an invoice marked paid
counts on the sale's board."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from hashcart.views.sales import sale_report
from hashcart.web.app import create_app
from tests.sales.support import SaleShop, claim, key, shopper
from tests.web.cart_support import text_of
from tests.web.conftest import Browser

NETWORK = "x"


def test_the_winners_invoice_page_and_its_payment_on_the_board(tmp_path: Path) -> None:
    shop = SaleShop(f"sqlite:///{tmp_path / 'hashcart.db'}")
    web = create_app(shop.app)
    with (
        TestClient(web, base_url="http://127.0.0.1") as client,
        TestClient(web, base_url="http://127.0.0.1") as other_client,
    ):
        winner, other = Browser(client, shop.app.engine), Browser(other_client, shop.app.engine)
        winner.sign_up("win@example.com")
        other.sign_up("other@example.com")
        who = shopper(NETWORK, 1)
        shop.link("win@example.com", who.network, who.account_id, who.handle)
        shop.open(NETWORK, {"12": ("mug", 3)})
        shop.ingest([claim(NETWORK, 1, key(NETWORK, 1), "sold 12 x2", seconds=0)])
        (invoice,) = shop.invoices()

        page = winner.get(f"/orders/invoice/{invoice['id']}")
        assert page.status_code == 200
        words = text_of(page)
        assert "#12 · 2 × Trailhead Enamel Mug" in words and "48.00" in words
        assert "pay by" in words and "Friday live" in words
        assert other.get(f"/orders/invoice/{invoice['id']}").status_code == 404
        assert winner.get("/orders/invoice/999").status_code == 404

    with shop.app.unit_of_work() as uow:
        assert uow.repository.sales.mark_invoice_paid(invoice["id"], shop.clock.now(), None)
        assert not uow.repository.sales.mark_invoice_paid(invoice["id"], shop.clock.now(), None)
    with shop.app.unit_of_work() as uow:
        level = uow.stock.level("mug")
    assert level is not None and level.reserved == 0  # sold: no longer held
    with shop.app.engine.connect() as connection:
        report = sale_report(connection, "Friday live")
    assert report is not None
    assert report["items"][0]["paid"] == 2 and report["items"][0]["held"] == 0
    totals = report["totals"]
    assert (totals["units_paid"], totals["revenue"], totals["paid_rate"]) == (2, "48.00", 1.0)
