"""`hashcart demo` runs a short live sale in its stream (issue 13): the brand's live posts on X
and Bluesky, claims in both networks' wire formats, the first by platform time won and the
rest waitlisted, one winner's invoice paid with a saved test card through the invoice
payment path, and the console's Sales page showing the sale."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from hashcart.bootstrap import open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.demo import DEMO_MERCHANT_EMAIL, DEMO_PASSWORD, add_demo_sign_ins, run_demo
from hashcart.demo_sale import DEMO_SALE_NAME, DEMO_SALE_PAYER
from hashcart.services.ingest import Ingestor
from hashcart.store import schema as t
from hashcart.web.app import create_app
from tests.web.cart_support import text_of
from tests.web.conftest import Browser


def _quietly(ingestor: Ingestor, name: str, lines: list[bytes]) -> None:
    ingestor.ingest_lines(name, lines)


def test_the_demo_runs_a_live_sale_with_claims_from_two_networks_and_one_paid(
    tmp_path: Path,
) -> None:
    clock = FixedClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), clock)
    run = run_demo(app, _quietly)
    sale = run.sale
    assert sale is not None
    assert (sale.name, sale.networks, sale.claims) == (DEMO_SALE_NAME, ("bluesky", "x"), 5)
    assert (sale.won, sale.waitlisted) == (3, 2)
    assert sale.order_id is not None

    with app.engine.connect() as connection:
        claims = connection.execute(select(t.sale_claims).order_by(t.sale_claims.c.posted_at))
        by_status = [(c.network, c.item_number, c.status) for c in claims]
        invoices = connection.execute(select(t.sale_invoices)).all()
        order = connection.execute(select(t.orders).where(t.orders.c.id == sale.order_id)).one()
    assert by_status == [
        ("x", "1", "paid"),
        ("bluesky", "1", "waitlisted"),
        ("bluesky", "2", "held"),
        ("x", "2", "held"),
        ("bluesky", "2", "waitlisted"),
    ]
    assert [(i.status, i.order_id) for i in invoices if i.status == "paid"] == [
        ("paid", sale.order_id)
    ]
    assert (order.email, order.status, order.payment_gateway) == (
        DEMO_SALE_PAYER,
        "paid",
        "test_card",
    )

    add_demo_sign_ins(app)
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        browser = Browser(client, app.engine)
        assert browser.merchant_sign_in(DEMO_MERCHANT_EMAIL, DEMO_PASSWORD).status_code == 303
        assert DEMO_SALE_NAME in text_of(browser.get("/merchant/sales"))
    app.engine.dispose()
