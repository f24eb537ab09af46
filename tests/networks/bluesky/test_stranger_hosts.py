"""The hosts a DID names are a stranger's choice, and hashcart calls them on public addresses
only: a did:web's host (`https://<host>/.well-known/did.json`) and the PDS a DID document
names (`com.atproto.repo.getRecord`). A reply whose parent is `at://did:web:127.0.0.1%3A8209/…`
must not make hashcart connect to its own loopback.

The atproto DID spec (https://atproto.com/specs/did, "did:web in AT Protocol") allows the
`localhost` host name and a port in a did:web "only in testing and development environments";
a production hashcart (the default PLC directory, https://plc.directory) refuses every
spelling of a non-public place before connecting, with the reason, and counts the DID as not
found: the parent is recorded as not found, the trigger is dropped, nothing crashes.

A `Doorbell` (a listening socket on 127.0.0.1 that notes each connection) shows that no
connection was made. Names a hosts file would map to loopback are played by a stand-in hosts
file in front of the system resolver (`socket.getaddrinfo`, the edge between us and DNS),
which both hashcart's checks and plain connections ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hashcart.backoff import Backoff
from hashcart.clock import FixedClock
from hashcart.domain.posts import Network
from hashcart.networks.bluesky import wiring
from hashcart.networks.bluesky.fetch import BlueskyParentFetcher
from hashcart.networks.bluesky.identity import IdentityNotFound, IdentityResolver
from hashcart.networks.bluesky.jetstream import JetstreamListener
from hashcart.networks.bluesky.xrpc import Xrpc, new_client
from hashcart.networks.formats import Format
from hashcart.networks.parents import Fetched
from hashcart.services.live_ingest import LiveIngest
from hashcart.store import schema as t
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.networks.bluesky.standins import jetstream
from tests.payloads import BASE_TIME, SHOP_DID, jetstream_post, post_uri

PRODUCTION_PLC = "https://plc.directory"  # the default; never asked here (no did:plc)
HOSTS_FILE_NAME = "shop-admin.internal"  # a name the stand-in hosts file maps to 127.0.0.1
MUG = PRODUCTS["mug"][1]
ALICE = "did:plc:alice0000000000000000000"


class Doorbell:
    """A listening socket on 127.0.0.1 that notes every connection and hangs up at once. A
    client that connected fails only when we hang up, which is after the note: once its call
    has returned, any connection it made is in `rings`."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        self.rings: list[Any] = []
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        while True:
            try:
                connection, peer = self.socket.accept()
            except OSError:
                return  # closed: the test is over
            self.rings.append(peer)
            connection.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self.socket.close()
        self.thread.join(timeout=5)


@pytest.fixture
def doorbell() -> Iterator[Doorbell]:
    bell = Doorbell()
    yield bell
    bell.close()


@pytest.fixture
def hosts_file(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A stand-in hosts file: name → the addresses its look-ups get, one per look-up, the
    last one kept (so a name can answer a public address first and loopback afterwards, as
    a DNS-rebinding server does). Other names go to the real resolver."""
    entries: dict[str, list[str]] = {HOSTS_FILE_NAME: ["127.0.0.1"]}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        answers = entries.get(name)
        if answers is None:
            return real(host, port, *args, **kwargs)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return entries


def production_resolver() -> IdentityResolver:
    return IdentityResolver(Xrpc(new_client()), PRODUCTION_PLC, FixedClock(BASE_TIME))


# --- did:web: every spelling of a place that is not on the public internet -------------------


@pytest.mark.parametrize(
    ("did", "reason"),
    [
        ("did:web:127.0.0.1%3A{port}", "refused: 127.0.0.1 resolves to 127.0.0.1 is loopback"),
        ("did:web:localhost", r"refused: localhost resolves to \S+ is loopback"),
        ("did:web:localhost%3A{port}", r"refused: localhost resolves to \S+ is loopback"),
        ("did:web:0177.0.0.1", r"no usable URL \(Invalid IPv4 address: '0177.0.0.1'\)"),
        ("did:web:0177.0.0.1%3A{port}", r"no usable URL \(Invalid IPv4 address: '0177.0.0.1'\)"),
        ("did:web:2130706433", "refused: 2130706433 resolves to 127.0.0.1 is loopback"),
        ("did:web:2130706433%3A{port}", "refused: 2130706433 resolves to 127.0.0.1 is loopback"),
        ("did:web:10.0.0.1", "refused: 10.0.0.1 resolves to 10.0.0.1 is private"),
        (
            "did:web:169.254.169.254",
            "refused: 169.254.169.254 resolves to 169.254.169.254 is link-local",
        ),
        (
            f"did:web:{HOSTS_FILE_NAME}%3A{{port}}",
            f"refused: {HOSTS_FILE_NAME} resolves to 127.0.0.1 is loopback",
        ),
    ],
)
def test_a_did_web_on_a_non_public_address_is_not_found_and_nothing_is_connected_to(
    doorbell: Doorbell, hosts_file: dict[str, list[str]], did: str, reason: str
) -> None:
    did = did.format(port=doorbell.port)

    with pytest.raises(IdentityNotFound, match=reason) as refused:
        production_resolver().identity(did)

    assert str(refused.value).startswith(f"{did} is not asked: ")
    assert doorbell.rings == []


def test_a_did_web_naming_an_ipv6_address_is_no_did_at_all(doorbell: Doorbell) -> None:
    # A did:web's identifier is a host name with at most a %3A-encoded port: `[::1]` cannot
    # be written in one, so nothing is ever asked. (This held before issue 9 too; it is here
    # so that every spelling the issue names stays covered.)
    with pytest.raises(IdentityNotFound, match="is not a did:plc or did:web"):
        production_resolver().identity("did:web:[::1]")
    assert doorbell.rings == []


# --- the parent fetcher and the listeners, as the settings build them ------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    shop = Shop(f"sqlite:///{tmp_path / 'stranger-hosts.db'}")
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE, ""))
    yield shop
    shop.app.engine.dispose()


def parent_outcome(shop: Shop, post_id: str) -> str | None:
    with shop.app.engine.connect() as connection:
        return connection.scalar(
            select(t.parent_fetches.c.outcome).where(t.parent_fetches.c.post_id == post_id)
        )


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1%3A{port}",
        "localhost%3A{port}",
        "0177.0.0.1%3A{port}",
        "2130706433%3A{port}",
        f"{HOSTS_FILE_NAME}%3A{{port}}",
    ],
)
def test_a_reply_whose_parent_names_a_did_web_on_loopback_fetches_nothing(
    shop: Shop, doorbell: Doorbell, hosts_file: dict[str, list[str]], host: str
) -> None:
    parent = post_uri("did:web:" + host.format(port=doorbell.port), "3kparent0001")
    reply = jetstream_post(ALICE, "3kreply0001", "#cart", reply_to=parent, minutes=5)
    sink = LiveIngest(shop.app, fetchers={Network.BLUESKY: wiring.fetcher(shop.app)})

    sink.ingest("jetstream", Format.JETSTREAM, [reply])

    assert doorbell.rings == []
    assert parent_outcome(shop, parent) == "not_found"
    assert shop.carts() == []


def test_a_pds_name_that_turns_to_loopback_after_the_check_is_not_connected_to(
    tmp_path: Path, doorbell: Doorbell, hosts_file: dict[str, list[str]]
) -> None:
    """DNS rebinding: the PDS's name answers a public address when the DID document is
    checked and loopback when hashcart connects. The connection goes only to an address it
    checked itself, so the record is not found and loopback is never reached."""
    did = "did:plc:" + "rebinding".ljust(24, "a")
    pds = f"https://pds.rebinding.test:{doorbell.port}"
    hosts_file["plc.directory.test"] = ["127.0.0.1"]
    hosts_file["pds.rebinding.test"] = ["93.184.215.14", "127.0.0.1"]

    async def document(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "id": did,
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": pds,
                    }
                ],
            }
        )

    with LiveServer(Starlette(routes=[Route("/{did}", document)])) as plc:
        # The operator's PLC directory, by a name (not a loopback address): a public setup.
        plc_url = plc.url.replace("127.0.0.1", "plc.directory.test")
        shop = Shop(f"sqlite:///{tmp_path / 'rebinding.db'}", bluesky_plc_url=plc_url)
        fetcher = wiring.fetcher(shop.app)
        assert isinstance(fetcher, BlueskyParentFetcher)

        found = fetcher.fetch(post_uri(did, "3kparent0001"))

    assert found == Fetched(Format.JETSTREAM, ())
    assert doorbell.rings == []
    shop.app.engine.dispose()


def test_the_jetstream_listener_drops_a_trigger_whose_did_web_author_is_on_loopback(
    shop: Shop, doorbell: Doorbell
) -> None:
    stranger = f"did:web:127.0.0.1%3A{doorbell.port}"
    shop.customer("mallory@example.com", (Network.BLUESKY, stranger, ""))
    product = jetstream_post(SHOP_DID, "3kshopmug001", f"Enamel mug {MUG}", links=(MUG,), minutes=1)
    trigger = jetstream_post(
        stranger, "3kcart000001", "#cart", reply_to=post_uri(SHOP_DID, "3kshopmug001"), minutes=2
    )
    fetcher = wiring.fetcher(shop.app)
    assert isinstance(fetcher, BlueskyParentFetcher)

    async def no_wait(seconds: float, stop: asyncio.Event) -> None:
        return None

    async def scenario() -> JetstreamListener:
        async with jetstream([[product, trigger]]) as server:
            listener = JetstreamListener(
                server.url,
                LiveIngest(shop.app),
                fetcher.records,  # the reader the settings build
                backoff=Backoff(first=1.0, cap=30.0),
                wait=no_wait,
                rng=random.Random(4),
            )
            stop = asyncio.Event()
            task = asyncio.create_task(listener.run(stop))
            try:
                await server.wait_for_connections(2)
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
            return listener

    listener = asyncio.run(scenario())

    assert doorbell.rings == []
    assert listener.events == 2
    assert listener.unconfirmed == 1
    assert shop.carts() == []
