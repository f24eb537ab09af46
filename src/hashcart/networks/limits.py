"""What a decoded post may hold: the networks' documented limits, and what the store keeps.

A payload can be well-formed JSON and still carry what no network would send and no database
keeps: a NUL character (PostgreSQL refuses it in text), an id longer than the id columns, an
X id that is not a number. Checked once, right after decode, so such a post is dead-lettered
with a reason instead of failing the transaction of the batch it sits in.

The limits, by network:
- X: post and user ids are 64-bit integers sent as decimal strings (`id_str`,
  docs.x.com/x-api/fundamentals/data-dictionary: "id ... The unique identifier of the
  requested Post"; v1.1 "id_str ... string representation of the unique identifier").
- Mastodon: a status id is a string "cast from an integer, but not guaranteed to be a number"
  (docs.joinmastodon.org/entities/Status/#id); the account's `uri` is its ActivityPub id, a URL.
- Bluesky: a post is `at://<DID>/app.bsky.feed.post/<record key>`; a DID is
  `did:<method>:<id>` of at most 2 KB, a record key 1 to 512 characters of
  `A-Za-z0-9 . - _ : ~`, never `.` or `..` (atproto.com/specs/did, /specs/record-key,
  /specs/at-uri-scheme).
- Other registered networks: only the store's limits below.
- The store: ids of posts and accounts live in `String(300)` columns (store/schema.py), so
  anything longer is refused with that reason even where a network would allow it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hashcart.domain.posts import AccountGone, Event, Network, Post, PostDeleted
from hashcart.domain.storable import UNSTORABLE

MAX_ID_CHARS = 300  # posts.post_id, posts.author_id, posts.parent_id, links.account_id
MAX_HANDLE_CHARS = 320  # a Mastodon `user@domain` (30 + 1 + 253) or a Bluesky handle (253)
# Nothing was posted on any of these networks before X began (2006); earlier is impossible.
EARLIEST_POST = datetime(2006, 1, 1, tzinfo=UTC)

_X_ID = re.compile(r"[0-9]{1,19}")
# White space as str.isspace says it (the regex engine asks the same Unicode table: every
# code point checked): one search instead of a generator over each account id's characters.
_SPACE = re.compile(r"\s")
_MASTODON_ID = re.compile(r"[0-9A-Za-z_.~-]+")
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._-]")
_RECORD_KEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")
_AT_URI = re.compile(r"at://([^/]+)/([A-Za-z0-9.-]+)/([^/]+)")


def problem_of(event: Event) -> str | None:
    """Why `event` cannot be kept as it is, or None when it can."""
    if isinstance(event, Post):
        return _post_problem(event)
    if isinstance(event, PostDeleted):
        return _id_problem(event.network, "post id", event.post_id)
    if isinstance(event, AccountGone):
        return _account_problem(event.network, event.account_id)
    return None


def _post_problem(post: Post) -> str | None:
    network = post.network
    checks = (
        _id_problem(network, "post id", post.post_id),
        _account_problem(network, post.author_id),
        _id_problem(network, "reply-to id", post.reply_to_id),
        _id_problem(network, "quoted post id", post.quote_of_id),
        _text_problem("handle", post.author_handle, MAX_HANDLE_CHARS),
        _text_problem("text", post.text, None),
    )
    for problem in checks:
        if problem is not None:
            return problem
    for name, values in (("tag", post.tags or ()), ("link", post.urls)):
        for value in values:
            problem = _text_problem(name, value, None)
            if problem is not None:
                return problem
    if post.created_at < EARLIEST_POST:
        return f"impossible date: created {post.created_at.date().isoformat()}"
    return None


def _text_problem(name: str, value: str, max_chars: int | None) -> str | None:
    found = UNSTORABLE.search(value)
    if found is not None:
        what = "a NUL character" if found.group() == "\x00" else "an unpaired surrogate"
        return f"{name} contains {what}"
    if max_chars is not None and len(value) > max_chars:
        return f"{name} longer than {max_chars} characters"
    return None


def _id_problem(network: Network, name: str, value: str | None) -> str | None:
    if value is None:
        return None
    problem = _text_problem(name, value, MAX_ID_CHARS)
    if problem is not None:
        return problem
    if network is Network.X:
        ok = _X_ID.fullmatch(value) is not None
        shape = "a decimal number of at most 19 digits"
    elif network is Network.MASTODON:
        ok = _MASTODON_ID.fullmatch(value) is not None
        shape = "letters, digits and - _ . ~"
    elif network is Network.BLUESKY:
        ok = _bluesky_post_uri_ok(value)
        shape = "at://<did>/<collection>/<record key>"
    else:
        return None  # another registered network: its decoder vouches for its ids' shape
    return None if ok else f"{name} {_shown(value)} is not {shape}"


def _account_problem(network: Network, value: str) -> str | None:
    problem = _text_problem("author id", value, MAX_ID_CHARS)
    if problem is not None:
        return problem
    if not value:
        return "author id is empty"
    if network is Network.X and _X_ID.fullmatch(value) is None:
        return f"author id {_shown(value)} is not a decimal number of at most 19 digits"
    if network is Network.BLUESKY and _DID.fullmatch(value) is None:
        return f"author id {_shown(value)} is not a DID"
    if network is Network.MASTODON and _SPACE.search(value) is not None:
        return f"author id {_shown(value)} contains white space"
    return None


def _bluesky_post_uri_ok(value: str) -> bool:
    match = _AT_URI.fullmatch(value)
    if match is None:
        return False
    did, _collection, record_key = match.groups()
    return (
        _DID.fullmatch(did) is not None
        and _RECORD_KEY.fullmatch(record_key) is not None
        and record_key not in (".", "..")
    )


def _shown(value: str) -> str:
    """A stranger's id, short enough for a reason line."""
    return repr(value if len(value) <= 60 else value[:57] + "...")
