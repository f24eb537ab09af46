"""Who a DID is: documents from the real PLC directory on loopback and from a did:web host,
cached, with PDS endpoints checked before anything is sent to them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hashcart.clock import FixedClock
from hashcart.networks.bluesky.identity import IdentityNotFound, IdentityResolver
from hashcart.networks.bluesky.xrpc import Xrpc, new_client
from tests.loopback import LiveServer
from tests.networks.bluesky.peer import BlueskyPeer

CLOCK_START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def resolver(plc_url: str, clock: FixedClock | None = None, **options: Any) -> IdentityResolver:
    return IdentityResolver(
        Xrpc(new_client()), plc_url, clock or FixedClock(CLOCK_START), **options
    )


def test_a_did_plc_names_its_pds_and_signing_key(bluesky_peer: BlueskyPeer) -> None:
    account = bluesky_peer.account("ada")

    found = resolver(bluesky_peer.plc_url).identity(account.did)

    assert found.pds == f"http://localhost:{bluesky_peer.pds_port}"
    assert found.signing_key is not None and found.signing_key.startswith("z")
    assert found.signing_key_type == "EcdsaSecp256k1VerificationKey2019"


def test_a_handle_resolves_to_its_did_on_the_pds(bluesky_peer: BlueskyPeer) -> None:
    account = bluesky_peer.account("ada")

    did = resolver(bluesky_peer.plc_url).did_of_handle(account.handle, bluesky_peer.pds_url)

    assert did == account.did
    with pytest.raises(IdentityNotFound):
        resolver(bluesky_peer.plc_url).did_of_handle("nobody.test", bluesky_peer.pds_url)


def test_an_unknown_did_is_not_found(bluesky_peer: BlueskyPeer) -> None:
    with pytest.raises(IdentityNotFound):
        resolver(bluesky_peer.plc_url).identity("did:plc:" + "nobody".ljust(24, "a"))
    with pytest.raises(IdentityNotFound):
        resolver(bluesky_peer.plc_url).identity("did:example:123")


def test_a_pds_on_a_private_address_is_refused_outside_a_private_network(
    bluesky_peer: BlueskyPeer,
) -> None:
    account = bluesky_peer.account("ada")

    # Its PDS is http://localhost:<port>: not https, and not on the public internet.
    with pytest.raises(IdentityNotFound):
        resolver(bluesky_peer.plc_url, allow_private=False).identity(account.did)


# --- did:web and the cache, from a host we control -------------------------------------------


class WebHost:
    def __init__(self) -> None:
        self.document: dict[str, Any] = {}
        self.requests = 0

    async def did_json(self, request: Request) -> JSONResponse:
        self.requests += 1
        return JSONResponse(self.document)


@pytest.fixture
def web_host() -> Iterator[tuple[WebHost, str]]:
    host = WebHost()
    app = Starlette(
        routes=[Route("/.well-known/did.json", host.did_json), Route("/{did}", host.did_json)]
    )
    with LiveServer(app) as server:
        yield host, server.url


def web_did(url: str) -> str:
    return "did:web:" + url.removeprefix("http://").replace(":", "%3A")


def document(did: str, endpoint: str) -> dict[str, Any]:
    return {
        "id": did,
        "service": [
            {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": endpoint}
        ],
    }


def test_a_did_web_document_is_read_from_its_host(web_host: tuple[WebHost, str]) -> None:
    host, url = web_host
    did = web_did(url)
    host.document = document(did, "https://pds.example.com")

    found = resolver(url, did_web_scheme="http", allow_private=True).identity(did)

    assert found.pds == "https://pds.example.com"


def test_documents_are_cached_until_they_are_old(web_host: tuple[WebHost, str]) -> None:
    host, url = web_host
    did = web_did(url)
    host.document = document(did, "https://pds.example.com")
    clock = FixedClock(CLOCK_START)
    identities = resolver(url, clock, did_web_scheme="http", allow_private=True)

    identities.identity(did)
    identities.identity(did)
    assert host.requests == 1
    clock.advance(timedelta(hours=2))
    identities.identity(did)
    assert host.requests == 2
    identities.forget(did)
    identities.identity(did)
    assert host.requests == 3


@pytest.mark.parametrize(
    "endpoint",
    ["https://127.0.0.1:8443", "https://localhost", "https://[::1]", "https://10.0.0.8"],
)
def test_a_public_resolver_refuses_a_pds_on_a_private_address(
    web_host: tuple[WebHost, str], endpoint: str
) -> None:
    # The document comes from the PLC directory the operator named (only the operator may
    # put one on loopback); the PDS in it is the DID's own choice.
    host, url = web_host
    did = "did:plc:" + "private".ljust(24, "a")
    host.document = document(did, endpoint)

    with pytest.raises(IdentityNotFound, match="private address"):
        resolver(url, allow_private=False).identity(did)


@pytest.mark.parametrize(
    ("claimed_id", "endpoint"),
    [
        ("did:web:elsewhere.example", "https://pds.example.com"),  # another DID's document
        (None, "ftp://pds.example.com"),
        (None, "https://user:pw@pds.example.com"),
        (None, "javascript:alert(1)"),
    ],
)
def test_unusable_documents_name_no_pds(
    web_host: tuple[WebHost, str], claimed_id: str | None, endpoint: str
) -> None:
    host, url = web_host
    did = web_did(url)
    host.document = document(claimed_id or did, endpoint)

    with pytest.raises(IdentityNotFound):
        resolver(url, did_web_scheme="http", allow_private=True).identity(did)
