"""Fetching a parent post no stream brought us, through the network's own API.

A trigger replies to a post hashcart never saw (the stream started later, or the post is
older than the shop's listener). Its network's fetcher asks the API for it and hands back
the answer as lines a decoder reads; the live sink ingests them, and the trigger acts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hashcart.errors import HashcartError
from hashcart.networks.formats import Format


@dataclass(frozen=True)
class Fetched:
    """The API's answer as payload lines in `fmt` (X v2 lookup, Mastodon status, Jetstream-
    shaped event), or no lines when the network says the post does not exist."""

    fmt: Format
    lines: tuple[bytes, ...]


class FetchFailed(HashcartError):
    """The network could not be asked now (down, rate-limited): the sink tries later."""


class ParentFetcher(Protocol):
    def fetch(self, post_id: str) -> Fetched:
        """Fetch the post `post_id` (the id as triggers name it); raise FetchFailed."""
        ...
