"""What the settings make of Bluesky: a fetcher always, a sender with a login, the listeners
the settings name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hashcart import live
from hashcart.domain.posts import Network
from hashcart.networks.bluesky import wiring
from hashcart.networks.bluesky.fetch import BlueskyParentFetcher
from hashcart.networks.bluesky.firehose import FirehoseListener
from hashcart.networks.bluesky.jetstream import JetstreamListener
from hashcart.networks.bluesky.send import BlueskySender
from tests.harness import Shop


def shop(folder: Path, **settings: Any) -> Shop:
    folder.mkdir(parents=True, exist_ok=True)
    return Shop(f"sqlite:///{folder / 'hashcart.db'}", **settings)


def test_public_records_need_no_login_so_the_fetcher_is_always_there(tmp_path: Path) -> None:
    app = shop(tmp_path).app

    assert isinstance(wiring.fetcher(app), BlueskyParentFetcher)
    assert isinstance(live.fetchers(app)[Network.BLUESKY], BlueskyParentFetcher)


def test_the_sender_needs_the_shops_identifier_and_app_password(tmp_path: Path) -> None:
    assert wiring.sender(shop(tmp_path / "a").app) is None
    assert wiring.sender(shop(tmp_path / "b", bluesky_identifier="northwind.test").app) is None
    configured = shop(
        tmp_path / "c", bluesky_identifier="northwind.test", bluesky_app_password="a-b-c-d"
    )
    assert isinstance(wiring.sender(configured.app), BlueskySender)


def test_the_listeners_are_the_ones_the_settings_name(tmp_path: Path) -> None:
    for number, (names, kinds) in enumerate(
        [
            ([], []),
            (["x_stream"], []),
            (["jetstream"], [JetstreamListener]),
            (["bluesky_firehose", "jetstream"], [JetstreamListener, FirehoseListener]),
        ]
    ):
        app = shop(tmp_path / str(number), listeners=names).app
        built = wiring.listeners(app, live.live_ingest(app))
        assert [type(listener) for listener in built] == kinds
        assert [listener.name for listener in built] == [kind.name for kind in kinds]
