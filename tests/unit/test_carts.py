"""The cart rules (domain/carts) both the web and the engine use, and the differences
between the two ways of adding that are kept on purpose, one test each."""

from __future__ import annotations

import pytest

from hashcart.domain.carts import (
    REPLY_ADD,
    WEB_ADD,
    AddRule,
    Refusal,
    can_be_bought,
    cart_refusal,
    merged_quantity,
    new_line_quantity,
)


@pytest.mark.parametrize("availability", ["out_of_stock", "discontinued"])
def test_out_of_stock_and_discontinued_products_never_go_in_a_cart(availability: str) -> None:
    assert cart_refusal(availability) is Refusal.UNAVAILABLE
    assert not can_be_bought(availability)


@pytest.mark.parametrize("availability", ["in_stock", "preorder"])
def test_products_in_stock_or_on_preorder_go_in_a_cart(availability: str) -> None:
    assert cart_refusal(availability) is None


def test_a_product_the_catalog_lacks_is_refused_as_unknown() -> None:
    assert cart_refusal(None) is Refusal.UNKNOWN


# Deliberate difference 1: a product already in the cart.


def test_the_webs_add_button_means_one_more() -> None:
    assert WEB_ADD.grows_by == 1 and not WEB_ADD.keeps_existing_line


def test_a_reply_for_a_product_already_in_the_cart_changes_nothing() -> None:
    assert REPLY_ADD.grows_by == 0 and REPLY_ADD.keeps_existing_line


# Deliberate difference 2: the quantity of a new line.


def test_the_web_adds_one_whatever_is_asked() -> None:
    assert new_line_quantity(WEB_ADD, 5, 10) == 1


def test_a_reply_adds_the_quantity_it_asked_for() -> None:
    assert new_line_quantity(REPLY_ADD, 5, 10) == 5


@pytest.mark.parametrize("rule", [WEB_ADD, REPLY_ADD])
def test_no_new_line_holds_more_than_max_quantity_or_less_than_one(rule: AddRule) -> None:
    assert 1 <= new_line_quantity(rule, 50, 1) <= 1
    assert 1 <= new_line_quantity(rule, 0, 10) <= 10
    assert new_line_quantity(rule, 50, 10) <= 10


def test_merged_lines_add_up_but_never_past_max_quantity() -> None:
    assert merged_quantity(3, 4, 10) == 7
    assert merged_quantity(8, 4, 10) == 10
