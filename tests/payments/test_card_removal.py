"""Removing a saved card (the account page, `hashcart payment-methods remove`) and deleting an
account: hashcart forgets the card at once, so nothing charges it again, and Stripe is asked
to detach it (https://docs.stripe.com/api/payment_methods/detach) and to delete the shopper's
customer (https://docs.stripe.com/api/customers/delete); while Stripe does not answer, the
clean-up stays owed and the payment sweep asks again. Against localstripe on loopback, on
SQLite and PostgreSQL; Stripe's documented answers where localstripe answers otherwise."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import select

from hashcart.payments import stripe_client
from hashcart.payments.stripe_cards import StripeCards
from hashcart.ports import CleanupRefused, PaymentDetails
from hashcart.services.saved_cards import remove_saved_card, settle_cleanups
from hashcart.store import schema as t
from tests.cli_runner import Result, run_cli
from tests.harness import Shop
from tests.payments.stripe_support import SAM, WEBHOOK_SECRET, DocumentedStripe, StripeShop
from tests.peers.fake_stripe.fixture import LocalStripe
from tests.web.cart_support import text_of
from tests.web.conftest import PASSWORD, Browser, WebShop

NUMBER = "4242424242424242"


def _cards(shop: Shop) -> StripeCards:
    cards = shop.app.stripe_cards()
    assert cards is not None
    return cards


def _customer_id(shop: Shop, email: str = SAM) -> int:
    with shop.app.unit_of_work() as uow:
        found = uow.gateway_records.customer_with_email(email)
    assert found is not None
    return found


def _shopper_with_card(shop: WebShop, email: str = SAM) -> tuple[Browser, str]:
    """A signed-up shopper whose saved card is Stripe's test Visa; its `pm_…` id."""
    browser = shop.browser()
    browser.sign_up(email)
    saved = _cards(shop).save_test_card(_customer_id(shop, email), email, NUMBER)
    return browser, saved.method_id


def _attached_to(shop: Shop, method_id: str) -> str | None:
    method = _cards(shop).client.v1.payment_methods.retrieve(method_id)
    return getattr(method, "customer", None)


def _rows(shop: Shop, table: Any) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(table)))


def _stripe_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    real_client = stripe_client.make_client
    monkeypatch.setattr(
        stripe_client,
        "make_client",
        # Port 9 (discard) on loopback: nothing listens there.
        lambda key, _base: real_client(key, "http://127.0.0.1:9", network_retries=0),
    )


# -- the account page ----------------------------------------------------------------------


def test_the_account_page_removes_the_card_and_stripe_detaches_it(shop: WebShop) -> None:
    browser, method_id = _shopper_with_card(shop)
    customer = _cards(shop).customer_for(_customer_id(shop), SAM)
    assert _attached_to(shop, method_id) == customer
    page = browser.get("/account")
    assert 'action="/account/payment-method/remove"' in page.text

    answer = browser.submit("/account/payment-method/remove")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account?done=card-removed#payment"
    shown = text_of(browser.get("/account?done=card-removed"))
    assert "Your card is removed. Nothing will be charged to it again." in shown
    assert "No card is saved." in shown
    assert _rows(shop, t.saved_payment_methods) == []
    assert _attached_to(shop, method_id) is None
    [owed] = _rows(shop, t.gateway_cleanups)
    assert (owed.action, owed.object_id, owed.done_at is not None) == (
        "detach_payment_method",
        method_id,
        True,
    )


def test_a_removed_card_is_never_charged_again(shop: WebShop) -> None:
    browser, _ = _shopper_with_card(shop)
    browser.submit("/account/payment-method/remove")
    gateway = shop.app.stripe_gateway()
    assert gateway is not None
    details = PaymentDetails({}, "removed-card-key-000001", date.today(), customer_email=SAM)
    answer = gateway.authorise(Decimal("12.50"), "USD", details)
    assert not answer.approved
    assert list(gateway.client.v1.payment_intents.list().data) == []
    sam = _customer_id(shop)
    with shop.app.unit_of_work() as uow:
        assert uow.gateway_records.saved_method(sam) is None


def test_removing_needs_the_page_s_csrf_token(shop: WebShop) -> None:
    browser, method_id = _shopper_with_card(shop)
    answer = browser.client.post("/account/payment-method/remove", follow_redirects=False)
    assert answer.status_code == 403
    assert len(_rows(shop, t.saved_payment_methods)) == 1
    assert _attached_to(shop, method_id) is not None


def test_removing_with_no_card_says_so_and_touches_nobody_else_s(shop: WebShop) -> None:
    _, sams_method = _shopper_with_card(shop)
    ana = shop.browser()
    ana.sign_up("ana@example.com")
    answer = ana.submit("/account/payment-method/remove")
    assert answer.status_code == 404 and "No card is saved." in text_of(answer)
    [kept] = _rows(shop, t.saved_payment_methods)
    assert kept.method_id == sams_method
    assert _attached_to(shop, sams_method) is not None


def test_stripe_not_answering_still_removes_the_card_and_the_sweep_detaches_it_later(
    shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, method_id = _shopper_with_card(shop)
    _stripe_unreachable(monkeypatch)
    answer = browser.submit("/account/payment-method/remove")
    assert answer.headers["location"] == "/account?done=card-removed-owed#payment"
    assert "we keep asking it to forget the card" in text_of(
        browser.get("/account?done=card-removed-owed")
    )
    assert _rows(shop, t.saved_payment_methods) == []
    [owed] = _rows(shop, t.gateway_cleanups)
    assert (owed.done_at, owed.attempts) == (None, 1)
    assert owed.last_error.startswith("Stripe did not answer")
    monkeypatch.undo()
    assert _attached_to(shop, method_id) is not None  # still attached: owed, not forgotten

    # Not due before the first retry delay (one minute), then done by the sweep.
    assert (
        settle_cleanups(shop.app.unit_of_work, shop.app.provider_cleaners().get, owed.owed_at) == []
    )
    later = owed.owed_at + timedelta(minutes=1)
    [outcome] = settle_cleanups(shop.app.unit_of_work, shop.app.provider_cleaners().get, later)
    assert outcome.done
    assert _attached_to(shop, method_id) is None
    [settled] = _rows(shop, t.gateway_cleanups)
    assert settled.done_at == later


def test_replacing_the_card_owes_the_old_one_s_detachment(shop: WebShop) -> None:
    _, first = _shopper_with_card(shop)
    second = _cards(shop).save_test_card(_customer_id(shop), SAM, NUMBER)
    assert second.method_id != first
    [owed] = _rows(shop, t.gateway_cleanups)
    assert (owed.action, owed.object_id) == ("detach_payment_method", first)
    [outcome] = settle_cleanups(
        shop.app.unit_of_work, shop.app.provider_cleaners().get, shop.clock.now()
    )
    assert outcome.done
    assert _attached_to(shop, first) is None
    assert _attached_to(shop, second.method_id) is not None


def test_two_sweeps_at_once_ask_stripe_once(shop: WebShop) -> None:
    """The claim is a compare-and-set: the second asker finds the clean-up taken."""
    _, method_id = _shopper_with_card(shop)
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        cleanup = uow.gateway_records.owe_cleanup("stripe", "detach_payment_method", method_id, now)
        again = uow.gateway_records.owe_cleanup("stripe", "detach_payment_method", method_id, now)
    assert again == cleanup  # owed once per object
    with shop.app.unit_of_work() as uow:
        first = uow.gateway_records.claim_cleanup(cleanup, now, now + timedelta(minutes=5))
    with shop.app.unit_of_work() as uow:
        second = uow.gateway_records.claim_cleanup(cleanup, now, now + timedelta(minutes=5))
    assert (first, second) == (True, False)


# -- deleting the account --------------------------------------------------------------------


def test_deleting_the_account_deletes_the_stripe_customer_and_detaches_the_card(
    shop: WebShop,
) -> None:
    browser, method_id = _shopper_with_card(shop)
    customer = _cards(shop).customer_for(_customer_id(shop), SAM)
    answer = browser.submit("/account/delete", {"password": PASSWORD})
    assert answer.status_code == 200 and "Your account is deleted" in answer.text
    assert _rows(shop, t.provider_customers) == []
    assert _rows(shop, t.saved_payment_methods) == []
    with pytest.raises(stripe.InvalidRequestError):
        _cards(shop).client.v1.customers.retrieve(customer)
    assert _attached_to(shop, method_id) is None
    owed = _rows(shop, t.gateway_cleanups)
    assert sorted((row.action, row.object_id) for row in owed) == [
        ("delete_customer", customer),
        ("detach_payment_method", method_id),
    ]
    assert all(row.done_at is not None for row in owed)
    assert SAM not in json.dumps([list(map(str, row)) for row in owed])


def test_stripe_not_answering_still_deletes_the_account_and_the_sweep_deletes_the_customer(
    shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, method_id = _shopper_with_card(shop)
    customer = _cards(shop).customer_for(_customer_id(shop), SAM)
    _stripe_unreachable(monkeypatch)
    answer = browser.submit("/account/delete", {"password": PASSWORD})
    assert answer.status_code == 200 and "Your account is deleted" in answer.text
    assert _rows(shop, t.customers) == [] or all(
        row.email != SAM for row in _rows(shop, t.customers)
    )
    assert _rows(shop, t.provider_customers) == []
    owed = _rows(shop, t.gateway_cleanups)
    assert [(row.done_at, row.attempts) for row in owed] == [(None, 1), (None, 1)]
    monkeypatch.undo()
    assert _cards(shop).client.v1.customers.retrieve(customer).id == customer

    # `hashcart payments retry` (the sweep `hashcart serve` runs), on the real clock: later
    # than the test clock's first retry time.
    retried = run_cli(
        ["payments", "retry", "--json"],
        env={
            "HASHCART_DATABASE_URL": shop.app.settings.database_url,
            "HASHCART_STRIPE_SECRET_KEY": shop.app.settings.stripe_secret_key.get_secret_value(),
            "HASHCART_STRIPE_API_BASE": shop.app.settings.stripe_api_base,
        },
    )
    assert retried.exit_code == 0, retried.stderr
    reported = json.loads(retried.stdout)
    assert sorted((row["step"], row["object"], row["done"]) for row in reported) == [
        ("delete_customer", customer, True),
        ("detach_payment_method", method_id, True),
    ]
    with pytest.raises(stripe.InvalidRequestError):
        _cards(shop).client.v1.customers.retrieve(customer)
    assert all(row.done_at is not None for row in _rows(shop, t.gateway_cleanups))


def test_the_export_holds_the_saved_card_but_never_its_number_or_id(shop: WebShop) -> None:
    browser, method_id = _shopper_with_card(shop)
    answer = browser.get("/account/export")
    data = answer.json()
    card = data["saved_card"]
    assert (card["brand"], card["last4"], card["gateway"]) == ("Visa", "4242", "stripe")
    assert card["saved_at"].startswith(str(shop.clock.now().date()))
    assert NUMBER not in answer.text and method_id not in answer.text
    browser.submit("/account/payment-method/remove")
    assert browser.get("/account/export").json()["saved_card"] is None


# -- `hashcart payment-methods remove --customer EMAIL` -----------------------------------------


def _run(url: str, *args: str, **settings: str) -> Result:
    env = {"HASHCART_DATABASE_URL": url}
    env.update({f"HASHCART_{name.upper()}": value for name, value in settings.items()})
    return run_cli(list(args), env=env)


def test_the_command_removes_a_stripe_card_and_stripe_detaches_it(
    database_url: str, localstripe: LocalStripe
) -> None:
    shop = StripeShop(database_url, localstripe)
    saved = shop.with_card()
    env = {"stripe_secret_key": localstripe.secret_key, "stripe_api_base": localstripe.url}
    removed = _run(database_url, "payment-methods", "remove", "--customer", SAM.upper(), **env)
    assert removed.exit_code == 0, removed.stderr
    assert "removed Visa ending in 4242 for" in removed.stdout and "(stripe)" in removed.stdout
    assert removed.stderr == ""
    assert _attached_to(shop, saved.method_id) is None
    listed = _run(database_url, "payment-methods", "list", "--json")
    assert json.loads(listed.stdout) == []
    again = _run(database_url, "payment-methods", "remove", "--customer", SAM, **env)
    assert again.exit_code == 2 and "has no saved card" in again.stderr
    shop.app.engine.dispose()


def test_the_command_removes_a_test_card_without_stripe(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer(SAM)
    added = _run(database_url, "payment-methods", "add", "--customer", SAM, "--card", NUMBER)
    assert added.exit_code == 0, added.stderr
    removed = _run(database_url, "payment-methods", "remove", "--customer", SAM)
    assert removed.exit_code == 0, removed.stderr
    assert "removed Visa ending in 4242 for sam@example.com (test_card)" in removed.stdout
    assert _rows(shop, t.saved_payment_methods) == []
    assert _rows(shop, t.gateway_cleanups) == []  # nothing kept at a provider
    shop.app.engine.dispose()


@pytest.mark.parametrize(
    "email", ["nobody@example.com", "sam\x00@example.com", "a" * 5000 + "@example.com", "\udcff"]
)
def test_the_command_refuses_an_unknown_or_hostile_customer(database_url: str, email: str) -> None:
    shop = Shop(database_url)
    shop.customer(SAM)
    removed = _run(database_url, "payment-methods", "remove", "--customer", email)
    assert removed.exit_code == 2, removed.stderr
    assert "no customer with the email" in removed.stderr
    shop.app.engine.dispose()


# -- Stripe's documented answers where localstripe answers otherwise ---------------------------


def _documented_cards(shop: StripeShop, answers: Any) -> tuple[StripeCards, DocumentedStripe]:
    documented = DocumentedStripe(answers)
    client = stripe.StripeClient("sk_test_x", http_client=documented)
    return StripeCards(client, shop.app.unit_of_work, shop.clock), documented


def _error(status_type: str, code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": status_type, "code": code, "message": message}}


def test_detaching_a_card_stripe_already_detached_is_done(stripe_shop: StripeShop) -> None:
    """Stripe refuses to detach a PaymentMethod attached to no customer with a 400
    `invalid_request_error` (https://docs.stripe.com/api/payment_methods/detach; error object
    https://docs.stripe.com/api/errors); localstripe detaches it again with 200. hashcart
    asks whether it is attached, and it is not: done."""
    cards, documented = _documented_cards(
        stripe_shop,
        {
            ("POST", "/v1/payment_methods/pm_gone/detach"): (
                400,
                _error(
                    "invalid_request_error",
                    "payment_method_unexpected_state",
                    "The payment method you provided is not attached to a customer so "
                    "detachment is impossible.",
                ),
            ),
            ("GET", "/v1/payment_methods/pm_gone"): (
                200,
                {"id": "pm_gone", "object": "payment_method", "customer": None, "type": "card"},
            ),
        },
    )
    cards.detach_payment_method("pm_gone")
    assert documented.asked == [
        ("POST", "/v1/payment_methods/pm_gone/detach"),
        ("GET", "/v1/payment_methods/pm_gone"),
    ]


def test_a_refused_detach_of_a_card_still_attached_stays_owed(stripe_shop: StripeShop) -> None:
    cards, _ = _documented_cards(
        stripe_shop,
        {
            ("POST", "/v1/payment_methods/pm_kept/detach"): (
                400,
                _error("invalid_request_error", "parameter_invalid", "Something is wrong."),
            ),
            ("GET", "/v1/payment_methods/pm_kept"): (
                200,
                {"id": "pm_kept", "object": "payment_method", "customer": "cus_x", "type": "card"},
            ),
        },
    )
    with pytest.raises(CleanupRefused):
        cards.detach_payment_method("pm_kept")
    now = stripe_shop.clock.now()
    with stripe_shop.app.unit_of_work() as uow:
        uow.gateway_records.owe_cleanup("stripe", "detach_payment_method", "pm_kept", now)
    [outcome] = settle_cleanups(stripe_shop.app.unit_of_work, {"stripe": cards}.get, now)
    assert not outcome.done and outcome.cleanup.attempts == 1
    assert "Stripe refused to detach the card" in outcome.message


def test_deleting_a_customer_stripe_no_longer_knows_is_done(stripe_shop: StripeShop) -> None:
    """A deleted customer is 404 `resource_missing` (https://docs.stripe.com/api/errors):
    a repeated deletion whose first answer was lost is done, not an error."""
    cards, _ = _documented_cards(
        stripe_shop,
        {
            ("DELETE", "/v1/customers/cus_gone"): (
                404,
                _error("invalid_request_error", "resource_missing", "No such customer: 'cus_gone'"),
            )
        },
    )
    cards.delete_customer("cus_gone")


def test_a_sweep_with_stripe_not_configured_keeps_the_clean_up_owed(database_url: str) -> None:
    shop = Shop(database_url)
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        uow.gateway_records.owe_cleanup("stripe", "delete_customer", "cus_later", now)
    [outcome] = settle_cleanups(shop.app.unit_of_work, shop.app.provider_cleaners().get, now)
    assert not outcome.done and "not configured" in outcome.message
    [row] = _rows(shop, t.gateway_cleanups)
    assert row.done_at is None and row.retry_at == now + timedelta(minutes=1)
    shop.app.engine.dispose()


# -- a removed card never comes back ------------------------------------------------------------


def _succeeded_setup(shop: WebShop, localstripe: LocalStripe, browser: Browser) -> str:
    """A SetupIntent for the shopper, confirmed as Stripe.js does with a test card."""
    started = browser.client.post(
        "/account/payment-method/setup", headers={"X-CSRF-Token": browser.csrf()}
    )
    secret = started.json()["client_secret"]
    setup_intent = secret.split("_secret_")[0]
    confirmed = httpx.post(
        f"{localstripe.url}/v1/setup_intents/{setup_intent}/confirm",
        json={
            "key": localstripe.publishable_key,
            "client_secret": secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": NUMBER, "exp_month": "12", "exp_year": "2031", "cvc": "123"},
            },
        },
    )
    confirmed.raise_for_status()
    return setup_intent


def test_a_late_setup_intent_webhook_never_brings_a_removed_card_back(
    shop: WebShop, localstripe: LocalStripe
) -> None:
    """The shopper saves a card, then removes it; Stripe's `setup_intent.succeeded` for that
    card arrives afterwards (webhooks are late and retried: https://docs.stripe.com/webhooks
    #behaviors). It keeps nothing: the removed card stays removed."""
    browser = shop.browser()
    browser.sign_up(SAM)
    setup_intent = _succeeded_setup(shop, localstripe, browser)
    saved = browser.submit("/account/payment-method/saved", {"setup_intent": setup_intent})
    assert saved.headers["location"] == "/account?done=card#payment"
    assert browser.submit("/account/payment-method/remove").status_code == 303

    intent = _cards(shop).client.v1.setup_intents.retrieve(setup_intent)
    body = json.dumps(
        {
            "id": "evt_late_setup",
            "object": "event",
            "type": "setup_intent.succeeded",
            "data": {"object": intent.to_dict()},
        }
    ).encode()
    answer = browser.client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": _signed(body)},
    )
    assert answer.status_code == 200
    assert "not kept" in answer.json()["detail"]
    assert _rows(shop, t.saved_payment_methods) == []
    # The form's own "saved" post, sent again (a reload), keeps nothing either.
    again = browser.submit("/account/payment-method/saved", {"setup_intent": setup_intent})
    assert again.status_code == 400 and "That card was removed" in text_of(again)
    assert _rows(shop, t.saved_payment_methods) == []


def _signed(body: bytes) -> str:
    """`Stripe-Signature` as Stripe makes it (https://docs.stripe.com/webhooks#verify-manually)."""
    stamp = int(time.time())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={stamp},v1={digest}"


# -- never unnoticed: the console lists what Stripe has not forgotten; a stopped one restarts ---


def test_the_console_lists_a_card_stripe_has_not_detached_and_a_restart_settles_it(
    shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, method_id = _shopper_with_card(shop)
    _stripe_unreachable(monkeypatch)
    browser.submit("/account/payment-method/remove")
    # Four more attempts on the sweep's schedule: then it stops asking.
    when = shop.clock.now()
    for wait in (1, 5, 15, 60):
        when += timedelta(minutes=wait)
        [outcome] = settle_cleanups(shop.app.unit_of_work, shop.app.provider_cleaners().get, when)
        assert not outcome.done
    assert outcome.cleanup.stopped and outcome.cleanup.attempts == 5
    monkeypatch.undo()
    merchant = shop.browser()
    merchant.merchant_sign_in()
    home = text_of(merchant.get("/merchant"))
    assert "Cards and customers the gateway has not forgotten yet" in home
    assert method_id in home and "stopped" in home and "Stripe did not answer" in home

    restarted = run_cli(
        ["payments", "retry", "--restart-stopped"],
        env={
            "HASHCART_DATABASE_URL": shop.app.settings.database_url,
            "HASHCART_STRIPE_SECRET_KEY": shop.app.settings.stripe_secret_key.get_secret_value(),
            "HASHCART_STRIPE_API_BASE": shop.app.settings.stripe_api_base,
        },
    )
    assert restarted.exit_code == 0, restarted.stderr
    assert f"detach_payment_method {method_id} at stripe: done" in restarted.stdout
    assert _attached_to(shop, method_id) is None
    assert "has not forgotten yet" not in text_of(merchant.get("/merchant"))


def test_two_removals_at_once_forget_the_card_once_and_owe_one_detachment(
    shop: WebShop,
) -> None:
    _, method_id = _shopper_with_card(shop)
    sam = _customer_id(shop)
    start = threading.Barrier(2)
    results: list[object] = []

    def remove() -> None:
        start.wait(timeout=30)
        results.append(remove_saved_card(shop.app.unit_of_work, sam, shop.clock.now()))

    threads = [threading.Thread(target=remove) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    removed = [result for result in results if result is not None]
    assert len(results) == 2 and len(removed) == 1
    [owed] = _rows(shop, t.gateway_cleanups)
    assert owed.object_id == method_id


def test_deleting_an_account_with_a_test_card_owes_no_provider_anything(
    database_url: str,
) -> None:
    shop = WebShop(database_url)
    browser = shop.browser()
    browser.sign_up(SAM)
    added = run_cli(
        ["payment-methods", "add", "--customer", SAM, "--card", NUMBER],
        env={"HASHCART_DATABASE_URL": database_url},
    )
    assert added.exit_code == 0, added.stderr
    answer = browser.submit("/account/delete", {"password": PASSWORD})
    assert answer.status_code == 200
    assert _rows(shop, t.saved_payment_methods) == []
    assert _rows(shop, t.gateway_cleanups) == []
    shop.close()
