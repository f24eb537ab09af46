"""Orders as checkout leaves them, for the console's order tests (issue 14): an order with
its lines, its sold stock (a hold converted to the order) and its payment record (the
gateway's authorisation, then captured, or still authorised with the capture owed, as when
a capture was refused), written through the store's own functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hashcart.domain.stock import checkout_holder, order_holder
from hashcart.ports import (
    Authorisation,
    AuthorisedPayment,
    PaymentGateway,
    PaymentStep,
)
from hashcart.services.payments import TestCardGateway
from hashcart.store.orders import Address, NewOrder, OrderLine, add_order
from tests.harness import Shop

ADDRESS = Address("Alice Walker", "1 Trail Rd", "Flat 2", "Leeds", "LS1 1AA", "GB")


def place(
    shop: Shop,
    key: str,
    email: str = "alice@example.com",
    *,
    payment: str = "captured",
    lines: tuple[OrderLine, ...] = (),
    at: datetime | None = None,
    quantity: int = 1,
    address: Address = ADDRESS,
) -> int:
    """Order `quantity` mugs (or `lines`) for `email`'s customer, paid by test card; the
    payment `captured`, `authorised` (its capture owed) or `none` (no record)."""
    now = at or shop.clock.now()
    lines = lines or (
        OrderLine("mug", "Trailhead Enamel Mug", Decimal("18.00"), "USD", quantity, None, None),
    )
    total = sum((line.line_total for line in lines), Decimal(0))
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(email)
        assert customer_id is not None
        uow.stock.reserve(checkout_holder(key), wanted, reason="checkout", now=now, until=now)
        order_id = add_order(
            uow.connection,
            NewOrder(
                customer_id,
                key,
                "paid",
                email,
                address,
                "test_card",
                f"CARD-4242-{key}",
                total,
                "USD",
                now,
                list(lines),
            ),
        )
        uow.stock.convert(
            checkout_holder(key), order_holder(order_id), wanted, reason="checkout", now=now
        )
        if payment != "none":
            uow.payments.start(key, "test_card", total, "USD", now)
            uow.payments.record_authorisation(
                key, Authorisation(True, f"CARD-4242-{key}", "Paid by Visa.", True), now
            )
            uow.payments.link_order(key, order_id)
            if payment == "captured":
                assert uow.payments.move(key, expected={"authorised"}, to="captured", now=now)
            else:
                assert uow.payments.owe(key, "capture", now)
    return order_id


@dataclass
class CountingGateway:
    """The test-card gateway (ours, no network behind it), counting the steps asked of it;
    `refuse` makes voids and refunds fail as a gateway that says no would."""

    inner: TestCardGateway = field(default_factory=TestCardGateway)
    refuse: bool = False
    voids: list[str] = field(default_factory=list)
    refunds: list[tuple[str, Decimal]] = field(default_factory=list)
    name: str = "test_card"
    label: str = "Card (test mode)"
    fields: tuple[str, ...] = ("card_number", "card_expiry", "card_cvc")

    def authorise(self, amount: Decimal, currency: str, details: object) -> Authorisation:
        raise AssertionError("cancelling never authorises")

    def capture(self, payment: AuthorisedPayment) -> PaymentStep:
        return self.inner.capture(payment)

    def void(self, payment: AuthorisedPayment) -> PaymentStep:
        self.voids.append(payment.reference)
        if self.refuse:
            return PaymentStep(False, "The gateway is down for maintenance.")
        return self.inner.void(payment)

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep:
        self.refunds.append((payment.reference, amount))
        if self.refuse:
            return PaymentStep(False, "The gateway is down for maintenance.")
        return self.inner.refund(payment, amount)

    def as_gateways(self) -> dict[str, PaymentGateway]:
        return {"test_card": self}  # type: ignore[dict-item]


__all__ = ["ADDRESS", "CountingGateway", "OrderLine", "place"]
