"""Fetching a parent post no stream brought us, through the network's own API.

A trigger replies to a post hashcart never saw (the stream started later, or the post is
older than the shop's listener). Its network's fetcher asks the API for it and hands back
the answer as lines a decoder reads; the live sink ingests them, and the trigger acts.
The contract is the parent-fetching port (hashcart.ports), named here too."""

from __future__ import annotations

from hashcart.ports import Fetched, FetchFailed, ParentFetcher

__all__ = ["FetchFailed", "Fetched", "ParentFetcher"]
