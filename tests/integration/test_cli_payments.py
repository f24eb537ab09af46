"""`hashcart payments retry` (in this process, through the real entry point) and the payment
sweep `hashcart serve` runs beside the web app (a real process, stopped by SIGTERM), on a
real SQLite file: a void the test-card gateway was owed is asked again and done."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from hashcart.bootstrap import open_app
from hashcart.config import Settings
from hashcart.ports import Authorisation
from hashcart.store import schema as t
from tests.integration.test_cli_live import Running, run
from tests.polling import wait_until
from tests.smtp_support import free_port

KEY = "v" * 32


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def owed_void(tmp_path: Path) -> Path:
    """A test-card authorisation whose order could not be placed and whose void the gateway
    refused an hour ago: the void is owed and due."""
    app = open_app(Settings(database_url=_url(tmp_path)))
    an_hour_ago = app.clock.now() - timedelta(hours=1)
    try:
        with app.unit_of_work() as uow:
            uow.payments.start(KEY, "test_card", Decimal("18.00"), "USD", an_hour_ago)
            uow.payments.record_authorisation(
                KEY, Authorisation(True, "CARD-4242-X", "Paid by Visa.", paid=True), an_hour_ago
            )
            assert uow.payments.owe(KEY, "void", an_hour_ago)
            uow.payments.step_failed(KEY, "void", "void refused: busy", an_hour_ago, an_hour_ago)
    finally:
        app.engine.dispose()
    return tmp_path


def _payment(tmp_path: Path) -> tuple[str, str | None, int]:
    app = open_app(Settings(database_url=_url(tmp_path)))
    try:
        with app.engine.connect() as connection:
            row = connection.execute(
                select(t.payments.c.status, t.payments.c.pending_step, t.payments.c.step_attempts)
            ).one()
        return row.status, row.pending_step, row.step_attempts
    finally:
        app.engine.dispose()


def test_payments_retry_asks_again_and_says_what_it_did(owed_void: Path) -> None:
    result = run(owed_void, "payments", "retry")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "void for checkout vvvvvvvv…: done",
        "1 asked again: 1 done, 0 to ask again later, 0 stopped.",
    ]
    assert _payment(owed_void) == ("voided", None, 1)
    again = run(owed_void, "payments", "retry", "--json")
    assert (again.exit_code, json.loads(again.stdout)) == (0, [])


def test_payments_retry_json_names_each_step(owed_void: Path) -> None:
    result = run(owed_void, "payments", "retry", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "checkout_key": KEY,
            "order_id": None,
            "step": "void",
            "done": True,
            "attempts": 1,
            "stopped": False,
            "message": "",
        }
    ]


def test_payments_retry_with_nothing_owed_says_so(tmp_path: Path) -> None:
    result = run(tmp_path, "payments", "retry")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "0 asked again: 0 done, 0 to ask again later, 0 stopped.\n"


def test_serve_runs_the_payment_sweep_beside_the_web_app(owed_void: Path) -> None:
    port = free_port()
    server = Running(owed_void, "serve", "--port", str(port), "--no-listen", "--no-dispatch")
    try:
        server.wait_for_line("Press Ctrl-C to stop.")
        assert "  payments:         owed captures and voids asked again every 60 s" in server.lines
        wait_until(lambda: _payment(owed_void)[0] == "voided", "the sweep voided it")
        server.wait_until_serving(port)
        assert server.terminate() == 0
    finally:
        server.kill()
    assert _payment(owed_void) == ("voided", None, 1)
