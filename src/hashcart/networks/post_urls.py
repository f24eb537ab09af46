"""Where a person can see a stored post on its network's website, and which URLs a page may
link to at all.

Everything here comes from strangers (ids, handles, account URIs from payloads), so each
rule builds a URL only from parts of the shape its network really uses, and `web_url` lets
through nothing but plain http(s) links: no `javascript:`, `data:` or the like.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_X_ID = re.compile(r"[0-9]{1,20}")
_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}")
# at://<did>/app.bsky.feed.post/<rkey>
_BLUESKY_POST = re.compile(
    r"at://(did:[a-z]+:[A-Za-z0-9._:%-]{1,2000})/app\.bsky\.feed\.post/([A-Za-z0-9._:~-]{1,512})"
)
_MASTODON_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_MASTODON_USER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def web_url(url: str | None) -> str | None:
    """`url` when a browser may safely follow it (http or https, with a host), else None."""
    if not url:
        return None
    candidate = url.strip()
    if any(ord(ch) < 0x21 for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return candidate


def post_url(network: str, post_id: str, author_id: str, author_handle: str) -> str | None:
    """The post's page on its network, or None when the ids do not say where it is."""
    if network == "x":
        return _x_url(post_id, author_handle)
    if network == "bluesky":
        return _bluesky_url(post_id)
    if network == "mastodon":
        return _mastodon_url(post_id, author_id, author_handle)
    return None


def _x_url(post_id: str, handle: str) -> str | None:
    if not _X_ID.fullmatch(post_id):
        return None
    # x.com redirects /i/web/status/<id> to the author's own path; use it when the handle
    # is not a real screen name.
    who = handle if _X_HANDLE.fullmatch(handle) else "i/web"
    return f"https://x.com/{who}/status/{post_id}"


def _bluesky_url(post_id: str) -> str | None:
    found = _BLUESKY_POST.fullmatch(post_id)
    if found is None:
        return None
    did, rkey = found.groups()
    return f"https://bsky.app/profile/{quote(did, safe=':')}/post/{quote(rkey, safe='')}"


def _mastodon_url(post_id: str, account_uri: str, acct: str) -> str | None:
    """Mastodon ids are the receiving server's own numbering (see domain.posts.Post), so the
    post's address is known only for an author local to that server (`acct` without a
    domain): then the account URI's host is that server, and `/@user/<id>` is the post."""
    if not _MASTODON_ID.fullmatch(post_id) or not _MASTODON_USER.fullmatch(acct):
        return None
    if web_url(account_uri) is None:
        return None
    parts = urlsplit(account_uri)
    if parts.scheme != "https" or parts.username or parts.password or not parts.hostname:
        return None
    return f"https://{parts.netloc}/@{acct}/{post_id}"
