"""Where a person can see a stored post on its network's website (each network's adapter
says, from parts of the shape its network really uses), and which URLs a page may link to
at all (`web_url`)."""

from __future__ import annotations

from hashcart.networks import registry
from hashcart.networks.safe_urls import web_url

__all__ = ["post_url", "web_url"]


def post_url(network: str, post_id: str, author_id: str, author_handle: str) -> str | None:
    """The post's page on its network, or None when the ids do not say where it is."""
    adapter = registry.find(network)
    if adapter is None:
        return None
    return adapter.post_url(post_id, author_id, author_handle)
