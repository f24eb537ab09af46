"""Template filters: money, times and network names as a shopper reads them (the networks
named as the registry has them)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment

from hashcart.domain.posts import display_name
from hashcart.networks import registry

CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(amount: Decimal | float | int | None, currency: str | None = None) -> str:
    if amount is None:
        return "price on request"
    value = Decimal(amount).quantize(Decimal("0.01"))
    sign = CURRENCY_SIGNS.get(currency or "", "")
    if sign:
        return f"{sign}{value:,}"
    return f"{value:,} {currency}" if currency else f"{value:,}"


def network_name(network: str) -> str:
    return display_name(network)


def in_words(names: list[str], last: str = "and") -> str:
    """ "X, Mastodon and Bluesky": names as a sentence lists them."""
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {last} " + names[-1]


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%d %b %Y, %H:%M UTC")


def networks_in_words(last: str = "and") -> str:
    """ "X, Mastodon and Bluesky": every registered network, as pages name them."""
    return in_words([adapter.display_name for adapter in registry.adapters()], last)


def install(env: Environment) -> None:
    filters: dict[str, Any] = {"money": money, "network_name": network_name, "when": when}
    env.filters.update(filters)
    env.globals["networks_in_words"] = networks_in_words
