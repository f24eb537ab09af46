"""What shoppers on X are told to write: `@shop #cart`.

Since February 2026 X lets a self-serve app reply only where the post's author summoned it
by mentioning the account or quoting it (xdevplatform/docs changelog.mdx, 2026-02-23;
x-api/posts/manage-tweets/introduction.mdx). A `#cart` without the mention still puts the
product in the cart; only the confirmation cannot be a reply on X, so it goes by email (the
outbox's fallback). The shop front and the account page say so, and so does hashcart's first
message to each X account (services/notify: it reaches them by email when X refuses it).
"""

from __future__ import annotations

from hashcart.domain.messages import mention_ask

REPLY_RULE = "X lets the shop answer you there only where you mention it"


def ask_with(shop_handle: str | None, tag: str) -> str | None:
    """`@shop #tag`, or None without a usable handle (then nothing is suggested)."""
    return mention_ask(shop_handle, tag)
