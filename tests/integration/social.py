"""One shopper on each of the three networks, in the networks' real payload shapes: a shop's
product post, a reply to it, and the reply's deletion. Tests of trigger grammar that must
hold on every network run through these (tests/integration/test_remove_by_reply.py,
test_undo_on_delete.py, test_variants.py).

Shapes:
- Bluesky: Jetstream v1 commit events (bluesky-social/jetstream internal/subscribe/testdata/
  golden_v1.jsonl, ../shared/fixtures/bluesky-jetstream); a delete commit has no record
  and no cid (jetstream README, "commit" events).
- X: v1.1 tweets (../shared/fixtures/x-v1.1/original_format_examples.json); deletions as
  the Account Activity API delivers them, `tweet_delete_events` (xdevplatform/docs,
  account-activity data objects; sample in ../shared/research/social-network-apis.md).
- Mastodon: Status entities (../shared/fixtures/mastodon/test_status_reply.yaml); a
  deletion is the streaming `delete` event, whose payload is the status id as a plain
  string (mastodon/documentation content/en/methods/streaming.md).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from itertools import count

from hashcart.domain.posts import Network
from tests.payloads import (
    SHOP_DID,
    jetstream_delete,
    jetstream_post,
    mastodon_status,
    post_uri,
    x_tweet,
)

_numbers = count(1)


@dataclass(frozen=True)
class Shopper:
    """A shopper's account on one network, and how that network writes their posts."""

    network: Network
    account_id: str
    handle: str

    def parent(self, key: str, links: tuple[str, ...]) -> bytes:
        """The shop's post `key` carrying `links`."""
        text = "New in: " + " ".join(links)
        if self.network is Network.BLUESKY:
            return jetstream_post(SHOP_DID, key, text, links=links)
        if self.network is Network.X:
            return x_tweet(key, "900", "trailhead", text, links=links)
        anchors = " ".join(
            f'<a href="{html.escape(link)}">{html.escape(link)}</a>' for link in links
        )
        return mastodon_status(
            key, "https://social.example/users/trailhead", "trailhead", f"<p>New in: {anchors}</p>"
        )

    def reply(self, key: str, parent: str, text: str, minutes: float = 5) -> bytes:
        """This shopper's post `key` replying `text` (its first word a tag) to `parent`."""
        tags = tuple(word[1:] for word in text.split() if word.startswith("#"))
        if self.network is Network.BLUESKY:
            return jetstream_post(
                self.account_id,
                key,
                text,
                reply_to=post_uri(SHOP_DID, parent),
                minutes=minutes,
            )
        if self.network is Network.X:
            return x_tweet(
                key,
                self.account_id,
                self.handle,
                f"@trailhead {text}",
                reply_to=parent,
                hashtags=tags,
                minutes=minutes,
            )
        words = []
        for word in text.split():
            if word.startswith("#"):
                words.append(
                    f'<a href="https://social.example/tags/{word[1:]}" class="mention hashtag" '
                    f'rel="tag">#<span>{html.escape(word[1:])}</span></a>'
                )
            else:
                words.append(html.escape(word))
        return mastodon_status(
            key,
            self.account_id,
            self.handle,
            f"<p>{' '.join(words)}</p>",
            reply_to=parent,
            tags=tags,
            minutes=minutes,
        )

    def delete(self, key: str, minutes: float = 9) -> bytes:
        """This shopper deleting their post `key`, as the network says so."""
        if self.network is Network.BLUESKY:
            return jetstream_delete(self.account_id, key, minutes=minutes)
        if self.network is Network.X:
            envelope = {
                "for_user_id": "900",
                "tweet_delete_events": [
                    {
                        "status": {"id": key, "user_id": self.account_id},
                        "timestamp_ms": "1432228155593",
                    }
                ],
            }
            return json.dumps(envelope).encode()
        return json.dumps({"stream": ["user"], "event": "delete", "payload": key}).encode()

    def post_id(self, key: str) -> str:
        """The id the network gives this shopper's post `key`."""
        return post_uri(self.account_id, key) if self.network is Network.BLUESKY else key

    def key(self) -> str:
        """A fresh post key this network accepts (a Bluesky rkey, a numeric id)."""
        number = next(_numbers)
        if self.network is Network.BLUESKY:
            return f"3mmtest{number:06d}"
        return str(5_000_000 + number)


SHOPPERS = {
    "bluesky": Shopper(Network.BLUESKY, "did:plc:alice0000000000000000000", "alice.bsky.social"),
    "x": Shopper(Network.X, "2002", "alice_x"),
    "mastodon": Shopper(Network.MASTODON, "https://social.example/users/alice", "alice"),
}
UNLINKED = {
    "bluesky": Shopper(Network.BLUESKY, "did:plc:bob000000000000000000000", "bob.bsky.social"),
    "x": Shopper(Network.X, "3003", "bob_x"),
    "mastodon": Shopper(Network.MASTODON, "https://social.example/users/bob", "bob"),
}
