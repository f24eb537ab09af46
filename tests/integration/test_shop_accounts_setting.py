"""The setting `shop_accounts` outside the web pages: the command line refuses a malformed
one at start, and the demo names its brand's accounts so its shop front shows only the
brand's posts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.demo import DEMO_HOST, demo_settings, demo_shop_accounts, run_demo
from hashcart.services.ingest import Ingestor
from hashcart.store import schema as t
from hashcart.store.shoppable import shoppable_conditions
from hashcart.synthetic import demo_brand, demo_catalog
from hashcart.web import create_app
from tests.cli_runner import run_cli
from tests.payloads import jetstream_post

STRANGER = "did:plc:stranger000000000000000"


@pytest.mark.parametrize("value", ["myspace:tom", "trailhead", "x:@trailhead"])
def test_a_malformed_shop_account_stops_the_command_line_at_start(
    tmp_path: Path, value: str
) -> None:
    env = {
        "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "HASHCART_SHOP_ACCOUNTS": f"x:trailhead,{value}",
    }
    result = run_cli(["carts"], env=env, cwd=tmp_path)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "invalid settings" in result.stderr and "shop account" in result.stderr
    assert not (tmp_path / "cli.db").exists()


def test_the_demo_names_the_brands_accounts_on_every_network_by_id() -> None:
    brand = demo_brand()
    assert set(brand) == {"x", "mastodon", "bluesky"}
    assert set(demo_shop_accounts()) == {
        f"{network}:{account_id}" for network, (account_id, _) in brand.items()
    }
    assert demo_settings(Settings()).shop_accounts == demo_shop_accounts()
    # What the operator set stays, even an empty list.
    assert demo_settings(Settings(shop_accounts=["x:mine"])).shop_accounts == ("x:mine",)
    assert demo_settings(Settings(shop_accounts=[])).shop_accounts == ()


def _quietly(ingestor: Ingestor, name: str, lines: list[bytes]) -> None:
    ingestor.ingest_lines(name, lines)


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[App]:
    clock = FixedClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), clock)
    run_demo(app, _quietly)
    yield app
    app.engine.dispose()


def test_the_demos_shop_front_shows_only_the_brands_posts(demo_app: App) -> None:
    assert demo_app.settings.shop_accounts == demo_shop_accounts()
    # A stranger shares one of the demo shop's product links: the engine stores the post...
    link = demo_catalog(DEMO_HOST)[0].link
    Ingestor(
        demo_app.unit_of_work, demo_app.shop(), demo_app.clock, reader=demo_app.payload_reader
    ).ingest_lines(
        "stranger",
        [jetstream_post(STRANGER, "3mmstranger01", f"look {link}", links=(link,), minutes=1)],
    )
    brand_ids = {account_id for account_id, _ in demo_brand().values()}
    with demo_app.engine.connect() as connection:
        authors = list(
            connection.execute(
                select(t.posts.c.author_id).where(
                    *shoppable_conditions(t.posts), t.posts.c.text.is_not(None)
                )
            ).scalars()
        )
    assert STRANGER in authors
    brand_posts = sum(author in brand_ids for author in authors)
    assert brand_posts > 0
    # ...but the shop front shows the brand's posts only.
    with TestClient(create_app(demo_app), base_url="http://127.0.0.1") as client:
        assert client.get("/s/demo/count").json() == {"total": brand_posts}
        front = client.get("/s/demo")
    assert front.status_code == 200
    assert "3mmstranger01" not in front.text and STRANGER not in front.text
