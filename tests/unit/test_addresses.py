"""Public addresses only, wherever a stranger chose where hashcart connects."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hashcart.networks.addresses import (
    PublicOnlyTransport,
    non_public_host_reason,
    non_public_reason,
    parse_address,
)
from tests.loopback import LiveServer


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "carries 10.0.0.1"),
        ("2002:7f00:1::", "carries 127.0.0.1"),
        ("100.64.0.1", "not a public address"),
    ],
)
def test_non_public_addresses_are_refused_with_the_reason(address: str, kind: str) -> None:
    reason = non_public_reason(parse_address(address))
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address: str) -> None:
    assert non_public_reason(parse_address(address)) is None


def test_a_name_for_loopback_is_refused() -> None:
    reason = non_public_host_reason("localhost", 443)
    assert reason is not None and "loopback" in reason


@pytest.fixture
def loopback_url() -> Iterator[str]:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hello"))])
    with LiveServer(app) as server:
        yield server.url


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_public_only_transport_refuses_a_loopback_server(loopback_url: str, host: str) -> None:
    url = loopback_url.replace("127.0.0.1", host)
    with (
        httpx.Client(transport=PublicOnlyTransport()) as client,
        pytest.raises(httpx.ConnectError, match=r"refused: .* loopback"),
    ):
        client.get(url)


def test_the_public_only_transport_connects_to_the_address_it_checked(loopback_url: str) -> None:
    # Allowing exactly the loopback address (as only a test may) shows the request really
    # goes through the checking backend and gets its answer.
    allowed = frozenset({parse_address("127.0.0.1")})
    with httpx.Client(transport=PublicOnlyTransport(allowed)) as client:
        assert client.get(loopback_url).text == "hello"
