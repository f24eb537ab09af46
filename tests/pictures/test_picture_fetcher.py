"""The picture fetcher (networks/images.HttpImageFetcher) against a real picture server on
loopback: loopback is a private address, so it is fetched only when the test allows
127.0.0.1 (the setting `image_fetch_allow_hosts`); redirects to private addresses, 5xx
answers and answers over the size cap are refused with their reason."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from hashcart.networks.images import HttpImageFetcher
from hashcart.ports import ImageFetchFailed
from tests.pictures.support import picture_server

LOOPBACK = frozenset({ipaddress.ip_address("127.0.0.1")})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with picture_server() as base:
        yield base


def fetcher(allowed: frozenset[ipaddress.IPv4Address] = LOOPBACK) -> HttpImageFetcher:
    return HttpImageFetcher(max_bytes=2 * 1024 * 1024, timeout_seconds=10, also_allowed=allowed)


def test_a_picture_on_an_allowed_address_is_fetched(server: str) -> None:
    data = fetcher().fetch(f"{server}/photo.jpg")
    assert data.startswith(b"\xff\xd8")


def test_a_redirect_to_a_picture_is_followed(server: str) -> None:
    assert fetcher().fetch(f"{server}/to-good").startswith(b"\xff\xd8")


def test_loopback_is_refused_unless_allowed(server: str) -> None:
    with pytest.raises(ImageFetchFailed, match=r"private address \(127\.0\.0\.1 .*loopback"):
        fetcher(frozenset()).fetch(f"{server}/photo.jpg")


def test_a_redirect_to_a_private_address_is_refused(server: str) -> None:
    with pytest.raises(
        ImageFetchFailed, match=r"private address \(169\.254\.169\.254 .*link-local"
    ):
        fetcher().fetch(f"{server}/to-private")


def test_a_private_address_in_the_link_itself_is_refused() -> None:
    with pytest.raises(ImageFetchFailed, match="private address"):
        fetcher().fetch("http://10.1.2.3/picture.jpg")


def test_a_server_error_is_the_reason(server: str) -> None:
    with pytest.raises(ImageFetchFailed, match="the server answered 503"):
        fetcher().fetch(f"{server}/broken")


def test_an_answer_over_the_cap_is_cut_off(server: str) -> None:
    with pytest.raises(ImageFetchFailed, match="larger than 2 MB"):
        fetcher().fetch(f"{server}/huge.jpg")


def test_only_http_links_are_fetched() -> None:
    with pytest.raises(ImageFetchFailed, match="not an http"):
        fetcher().fetch("file:///etc/passwd")
