"""What the settings in force make of X: a fetcher, a sender, the stream listener, or none."""

from __future__ import annotations

from pathlib import Path

from hashcart.domain.posts import Network
from hashcart.live import fetchers, listeners, live_ingest, senders
from hashcart.networks.x.fetch import XParentFetcher
from hashcart.networks.x.send import XSender
from hashcart.networks.x.stream import FilteredStreamListener
from tests.harness import Shop


def test_nothing_is_built_for_x_without_its_settings(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'none.db'}", listeners=["x_stream"])
    assert Network.X not in fetchers(shop.app)
    assert "x" not in senders(shop.app)
    assert not any(
        listener.name == "x_stream" for listener in listeners(shop.app, live_ingest(shop.app))
    )


def test_tokens_configure_the_fetcher_the_sender_and_the_stream(tmp_path: Path) -> None:
    shop = Shop(
        f"sqlite:///{tmp_path / 'x.db'}",
        listeners=["x_stream"],
        x_api_url="http://127.0.0.1:9",
        x_bearer_token="app-bearer",
        x_access_token="user-token",
        x_shop_user_id="1250000000000000001",
        x_shop_handle="trailhead",
    )
    assert isinstance(fetchers(shop.app)[Network.X], XParentFetcher)
    sender = senders(shop.app)["x"]
    assert isinstance(sender, XSender)
    assert sender.api.base_url == "http://127.0.0.1:9"
    (stream,) = [
        one for one in listeners(shop.app, live_ingest(shop.app)) if one.name == "x_stream"
    ]
    assert isinstance(stream, FilteredStreamListener)
    assert stream.shop_handle is None  # read from the settings in force at each connection
    assert "app-bearer" not in repr(stream.api) and "user-token" not in repr(sender.api)


def test_the_stream_runs_only_when_named(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'x.db'}", x_bearer_token="app-bearer")
    assert listeners(shop.app, live_ingest(shop.app)) == []
