"""`hashcart links check`: the linked Mastodon accounts asked about on demand, since Mastodon
sends no event when a remote account is deleted or suspended. methods/accounts.md#lookup:
`GET /api/v1/accounts/lookup?acct=` answers 404 for an address that "does not map to an
account"; entities/Account.md#suspended: `suspended: true`. Gone accounts are forgotten
(link and stored posts; orders stay), on a SQLite file and on PostgreSQL; a rate-limited
server (api/rate-limits.md: 429) stops the check with what was not asked counted."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.cli_runner import run_cli
from tests.harness import Shop
from tests.networks.mastodon.conftest import Server, link_shopper, shopper_uri
from tests.networks.mastodon.standin import TOKEN, Answer


def check(shop: Shop, server: Server, *more: str) -> Any:
    env = {
        "HASHCART_DATABASE_URL": shop.app.settings.database_url,
        "HASHCART_MASTODON_URL": server.url,
        "HASHCART_MASTODON_ACCESS_TOKEN": TOKEN,
    }
    return run_cli(["links", "check", *more], env=env)


def linked(shop: Shop) -> list[str]:
    links = t.account_links
    with shop.app.engine.connect() as connection:
        rows = connection.scalars(
            select(links.c.account_id).where(links.c.network == "mastodon").order_by(links.c.id)
        )
        return list(rows)


def test_deleted_and_suspended_accounts_are_forgotten_and_live_ones_kept(
    shop_any_db: Shop, server: Server
) -> None:
    shop = shop_any_db
    for name in ("ada", "bob", "cyd"):
        link_shopper(shop, name)
    server.stand_in.gone_accounts.update(
        {"bob@elsewhere.example": "deleted", "cyd@elsewhere.example": "suspended"}
    )

    result = check(shop, server, "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "checked": 3,
        "gone": [shopper_uri("bob"), shopper_uri("cyd")],
        "live": 1,
        "unknown": 0,
        "not_asked": 0,
        "stopped": None,
    }
    assert linked(shop) == [shopper_uri("ada")]
    with shop.app.engine.connect() as connection:
        customers = connection.scalar(select(func.count()).select_from(t.customers))
    assert customers == 3  # the shoppers stay; only their Mastodon links go


def test_a_rate_limited_server_stops_the_check_and_says_what_is_left(
    shop_any_db: Shop, server: Server
) -> None:
    shop = shop_any_db
    for name in ("ada", "bob"):
        link_shopper(shop, name)
    server.stand_in.gone_accounts["ada@elsewhere.example"] = Answer(429, "Too many requests")

    result = check(shop, server)

    assert result.exit_code == 1
    assert result.stderr.startswith("hashcart: error: stopped with 2 not asked")
    assert "checked 0 of 2 Mastodon accounts" in result.stdout
    assert linked(shop) == [shopper_uri("ada"), shopper_uri("bob")]


def test_an_account_whose_name_now_belongs_to_someone_else_is_kept(
    shop_any_db: Shop, server: Server
) -> None:
    """The lookup answers an account with another URI: it cannot tell, so nothing goes."""
    shop = shop_any_db
    shop.customer(
        "eve@example.com",
        (Network.MASTODON, "https://old.example/users/eve", "eve@elsewhere.example"),
    )

    result = check(shop, server, "--json")

    assert json.loads(result.stdout)["unknown"] == 1
    assert linked(shop) == ["https://old.example/users/eve"]


def test_without_the_shops_server_it_is_a_usage_error(shop_any_db: Shop) -> None:
    result = run_cli(
        ["links", "check"], env={"HASHCART_DATABASE_URL": shop_any_db.app.settings.database_url}
    )
    assert result.exit_code == 2
    assert "mastodon_url" in result.stderr
