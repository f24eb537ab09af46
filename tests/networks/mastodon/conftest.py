"""Mastodon tests: the stand-in server on loopback, a shop on a real database, its live sink,
and the shop's case (a shop post with a product link, shoppers' `#cart` replies)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hashcart.domain.posts import Network
from hashcart.networks.mastodon.api import MastodonApi
from hashcart.networks.mastodon.fetch import MastodonParentFetcher
from hashcart.services.live_ingest import LiveIngest
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.networks.mastodon.standin import (
    SHOP_ACCT,
    SHOP_URI,
    TOKEN,
    MastodonStandIn,
    Recordings,
    notification_like,
    serving,
    snowflake,
    status_like,
)
from tests.payloads import BASE_TIME

DEADLINE_SECONDS = 20


@dataclass
class Server:
    stand_in: MastodonStandIn
    api_server: LiveServer
    streaming_server: LiveServer

    @property
    def url(self) -> str:
        return self.api_server.url

    def api(self, token: str = TOKEN) -> MastodonApi:
        return MastodonApi(self.url, token)


@pytest.fixture(scope="session")
def recordings(shared_fixtures: Path) -> Recordings:
    return Recordings.load(shared_fixtures)


@pytest.fixture
def server(recordings: Recordings) -> Iterator[Server]:
    stand_in = MastodonStandIn(recordings)
    with serving(stand_in) as (api_server, streaming_server):
        yield Server(stand_in, api_server, streaming_server)


def _shop(database_url: str, server: Server) -> Shop:
    return Shop(
        database_url,
        mastodon_url=server.url,
        mastodon_access_token=TOKEN,
        listeners=["mastodon"],
    )


@pytest.fixture
def shop(tmp_path: Path, server: Server) -> Iterator[Shop]:
    """The shop on a SQLite file (the embedded default)."""
    shop = _shop(f"sqlite:///{tmp_path / 'mastodon.db'}", server)
    yield shop
    shop.app.engine.dispose()


@pytest.fixture
def shop_any_db(database_url: str, server: Server) -> Iterator[Shop]:
    """The shop on each database hashcart supports (SQLite and PostgreSQL)."""
    shop = _shop(database_url, server)
    yield shop
    shop.app.engine.dispose()


@pytest.fixture
def sink(shop: Shop, server: Server) -> LiveIngest:
    return LiveIngest(shop.app, fetchers={Network.MASTODON: MastodonParentFetcher(server.api())})


# --- the shop's case -------------------------------------------------------------------


class Case:
    """Statuses in the recorded shape: the shop's posts and shoppers' replies."""

    def __init__(self, recordings: Recordings) -> None:
        self.recordings = recordings
        self.template = recordings.reply
        self._notification = 100

    def shop_post(self, status_id: str, product: str = "mug", minutes: float = 0) -> dict[str, Any]:
        link = PRODUCTS[product][1]
        content = (
            f'<p>Fresh from the workshop: <a href="{link}" rel="nofollow noopener" '
            f'translate="no" target="_blank"><span class="invisible">https://</span>'
            f'<span class="">{link.removeprefix("https://")}</span><span class="invisible">'
            f"</span></a></p>"
        )
        return status_like(
            self.template,
            status_id,
            content,
            account_uri=SHOP_URI,
            acct=SHOP_ACCT,
            created_at=BASE_TIME + timedelta(minutes=minutes),
        )

    def reply(
        self,
        status_id: str,
        parent_id: str,
        shopper: str,
        tag: str = "cart",
        minutes: float = 1,
        visibility: str = "public",
    ) -> dict[str, Any]:
        content = (
            '<p><span class="h-card" translate="no"><a href="https://social.example/@trailhead"'
            ' class="u-url mention">@<span>trailhead</span></a></span> '
            f'<a href="https://social.example/tags/{tag}" class="mention hashtag" rel="tag">'
            f"#<span>{tag}</span></a></p>"
        )
        return status_like(
            self.template,
            status_id,
            content,
            account_uri=shopper_uri(shopper),
            acct=f"{shopper}@elsewhere.example",
            created_at=BASE_TIME + timedelta(minutes=minutes),
            reply_to=parent_id,
            tags=(tag,),
            visibility=visibility,
        )

    def mention(self, status: dict[str, Any], notification_id: str | None = None) -> dict[str, Any]:
        if notification_id is None:
            self._notification += 1
            notification_id = str(self._notification)
        return notification_like(self.recordings.notification, notification_id, status)


def shopper_uri(shopper: str) -> str:
    return f"https://elsewhere.example/users/{shopper}"


@pytest.fixture
def case(recordings: Recordings) -> Case:
    return Case(recordings)


def link_shopper(shop: Shop, shopper: str) -> str:
    email = f"{shopper}@example.com"
    shop.customer(email, (Network.MASTODON, shopper_uri(shopper), f"{shopper}@elsewhere.example"))
    return email


def status_id(minutes: float, sequence: int = 0) -> str:
    return snowflake(BASE_TIME + timedelta(minutes=minutes), sequence)


class RecordedWaits:
    """The listener's injected wait: records each reconnect delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float, stop: asyncio.Event) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)
