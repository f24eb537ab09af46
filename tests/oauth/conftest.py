"""OAuth linking tests: the real web app (WebShop, driven like a browser) against loopback
stand-ins for X and Mastodon that really check what we send."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from httpx import Response

from tests.loopback import LiveServer
from tests.networks.bluesky.peer import BlueskyPeer
from tests.oauth.standins import MastodonStandIn, XStandIn
from tests.web.conftest import Browser, WebShop

PUBLIC_URL = "http://127.0.0.1"
X_CLIENT_ID, X_CLIENT_SECRET = "aGFzaGNhcnQtdGVzdDoxOmNp", "x-client-secret-for-tests"
TOKEN_KEY = Fernet.generate_key().decode()


@dataclass
class Peer:
    """A stand-in network served on loopback."""

    standin: Any
    server: LiveServer

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def x_peer() -> Iterator[Peer]:
    standin = XStandIn(X_CLIENT_ID, X_CLIENT_SECRET, f"{PUBLIC_URL}/account/oauth/x/callback")
    with LiveServer(standin.app) as server:
        yield Peer(standin, server)


@pytest.fixture
def mastodon_peer() -> Iterator[Peer]:
    standin = MastodonStandIn()
    with LiveServer(standin.app) as server:
        standin.base_url = server.url
        yield Peer(standin, server)


def linking_settings(x_peer: Peer | None = None, **more: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "public_url": PUBLIC_URL,
        "token_key": TOKEN_KEY,
        "oauth_allow_private_servers": True,
    }
    if x_peer is not None:
        settings |= {
            "x_api_url": x_peer.url,
            "x_authorize_url": f"{x_peer.url}/i/oauth2/authorize",
            "x_client_id": X_CLIENT_ID,
            "x_client_secret": X_CLIENT_SECRET,
        }
    return settings | more


@pytest.fixture
def shop(tmp_path: Path, x_peer: Peer) -> Iterator[WebShop]:
    """The web shop set up for X and Mastodon sign-in, on a fresh SQLite file."""
    made = WebShop(f"sqlite:///{tmp_path / 'oauth.db'}", **linking_settings(x_peer))
    yield made
    made.close()


def start(browser: Browser, network: str, **form: str) -> Response:
    """Press the network's Link button on the account page."""
    return browser.submit(f"/account/oauth/{network}/start", form)


def sign_in_at_network(location: str) -> str:
    """What the browser does at the network: load its authorize page (the stand-in signs in
    and consents at once) and get sent back; returns where it is sent."""
    answer = httpx.get(location, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def link(browser: Browser, network: str, **form: str) -> Response:
    """The whole round trip: start, sign in at the network, come back to the callback."""
    started = start(browser, network, **form)
    assert started.status_code == 303, started.text
    back = sign_in_at_network(started.headers["location"])
    return browser.get(back)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def served(tmp_path: Any, bluesky_peer: BlueskyPeer) -> Iterator[tuple[WebShop, str]]:
    """The shop on loopback, its public_url the address it is served at (a development
    client in atproto's terms), asking the PDS about handles and the PLC about DIDs."""
    shop = WebShop(
        f"sqlite:///{tmp_path / 'bluesky.db'}",
        **linking_settings(
            bluesky_plc_url=bluesky_peer.plc_url, bluesky_appview_url=bluesky_peer.pds_url
        ),
    )
    with LiveServer(shop.web) as server:
        shop.app.settings = shop.app.settings.model_copy(update={"public_url": server.url})
        yield shop, server.url
    shop.close()
