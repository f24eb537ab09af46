"""What shoppers on X are told to write: `@shop #cart`.

Since February 2026 X lets a self-serve app reply only where the post's author summoned it
by mentioning the account or quoting it (xdevplatform/docs changelog.mdx, 2026-02-23;
x-api/posts/manage-tweets/introduction.mdx). A `#cart` without the mention still puts the
product in the cart; only the confirmation cannot be a reply on X, so it goes by email (the
outbox's fallback). The shop front and the account page say so.
"""

from __future__ import annotations

import re

# X handles: letters, digits and underscore, at most 15.
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")

REPLY_RULE = "X lets the shop answer you there only where you mention it"


def ask_with(shop_handle: str | None, tag: str) -> str | None:
    """`@shop #tag`, or None without a usable handle (then nothing is suggested)."""
    handle = (shop_handle or "").strip().removeprefix("@")
    return f"@{handle} #{tag}" if _HANDLE.fullmatch(handle) else None
