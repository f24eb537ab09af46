"""How long a message is, as each network counts it, and whether it fits.

Each network counts differently, and each refuses a post over its limit:
- X: 280 *weighted* characters, as twitter-text counts them (docs.x.com/resources/
  fundamentals/counting-characters): most Latin, punctuation and symbols weigh 1, CJK and
  other scripts 2, an emoji sequence (a ZWJ family, a flag) 2 whatever its code points, and
  every URL 23 (t.co), all after NFC normalisation. Counted by twitter-text-parser, a port of
  twitter-text proven against twitter-text's own conformance suite
  (tests/integration/test_twitter_text_conformance.py, validate.yml's weighted cases).
- Bluesky: 300 graphemes (the `app.bsky.feed.post` lexicon: `text` maxGraphemes 300,
  maxLength 3000 bytes counted as UTF-8; bluesky-social/atproto
  lexicons/app/bsky/feed/post.json).
- Mastodon: the server's `configuration.statuses.max_characters` (GET /api/v2/instance,
  docs.joinmastodon.org/entities/Instance/#max_characters; 500 on a stock server), counted
  in grapheme clusters with every URL as `characters_reserved_per_url` (23) whatever its
  length (Mastodon's StatusLengthValidator).
"""

from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import regex

from hashcart.domain.posts import Network

X_MAX_WEIGHTED = 280
X_URL_WEIGHT = 23  # a URL's weight on X (t.co), whatever its length
BLUESKY_MAX_GRAPHEMES = 300
BLUESKY_MAX_BYTES = 3000
MASTODON_DEFAULT_MAX_CHARACTERS = 500
MASTODON_CHARACTERS_PER_URL = 23

_GRAPHEME = regex.compile(r"\X")
# What Mastodon counts as a URL in a status: a scheme and anything up to white space (its
# validator uses twitter-text's URL pattern; a link we write is always this shape).
_URL = regex.compile(r"https?://\S+")


@cache
def _parse_tweet() -> Any:
    # Imported on first use: twitter_text compiles its emoji table at import (about 0.2 s),
    # which every command that never measures an X message would pay. It reads that table
    # through pkg_resources (hence setuptools pinned below 81 in pyproject), whose
    # deprecation warning is not the user's business.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        from twitter_text import parse_tweet

    return parse_tweet


@cache
def _extract_urls() -> Any:
    _parse_tweet()  # the package, imported as it wants to be
    from twitter_text import extract_urls_with_indices

    return extract_urls_with_indices


def x_weighted_length(text: str) -> int:
    """The length X gives `text` (twitter-text's parseTweet, version 3 configuration)."""
    if text.isascii():
        return _ascii_x_weighted_length(text)
    return int(_parse_tweet()(text).weightedLength)


def _ascii_x_weighted_length(text: str) -> int:
    """parseTweet's count of ASCII text, without its emoji pass: every ASCII character
    weighs 1 (the configuration's first range, 0-4351), no emoji is all ASCII (each of
    twitter-text's sequences holds a code point above 127: a keycap's U+20E3, U+FE0F), and
    parseTweet reads the text with CR LF as one line ending. So only its URLs are asked for,
    each counting X_URL_WEIGHT. The emoji pass took about two thirds of a millisecond a
    message, and a live sale's winners' step composed thousands (docs/benchmarks.md,
    s27-settle); a hypothesis test holds this to parseTweet."""
    normalized = text.replace("\r\n", "\n")
    if "." not in normalized:
        # Every URL twitter-text extracts has a domain with a dot (its TLD, or an IPv4).
        return len(normalized)
    urls = _extract_urls()(normalized)
    return len(normalized) + sum(X_URL_WEIGHT - len(url["url"]) for url in urls)


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters, Unicode UAX #29)."""
    if text.isascii():
        # Every ASCII character is a cluster of its own but CR LF (UAX #29 rule GB3): no
        # ASCII character extends, prepends or joins. Most messages are ASCII, and the
        # regex took about a third of a millisecond each (a live sale's burst).
        return len(text) - text.count("\r\n")
    return len(_GRAPHEME.findall(text))


def mastodon_length(text: str, characters_per_url: int = MASTODON_CHARACTERS_PER_URL) -> int:
    """The length a Mastodon server gives a status: graphemes, a URL counting as
    `characters_per_url`."""
    urls = _URL.findall(text)
    return graphemes(_URL.sub("", text)) + characters_per_url * len(urls)


@dataclass(frozen=True, slots=True)
class TextLimit:
    """The longest message a network takes, in its own way of counting."""

    network: Network
    maximum: int
    characters_per_url: int = MASTODON_CHARACTERS_PER_URL

    def length(self, text: str) -> int:
        if self.network is Network.X:
            return x_weighted_length(text)
        if self.network is Network.MASTODON:
            return mastodon_length(text, self.characters_per_url)
        return graphemes(text)

    def fits(self, text: str) -> bool:
        if self.network is Network.BLUESKY and len(text.encode("utf-8")) > BLUESKY_MAX_BYTES:
            return False
        if self.network is Network.X and text.isascii():
            # Every ASCII character weighs 1 on X and a URL counts 23 whatever its length;
            # every URL twitter-text extracts holds a dot (its domain's, before the TLD), so
            # this bounds the weighted length from above and twitter-text (about a
            # millisecond a message: a live sale's burst queues thousands a second) is asked
            # only near the limit. Colons were counted too, which pushed a winner's reply
            # (a price, a time, a link: about 140 characters) over the bound.
            bound = len(text) + X_URL_WEIGHT * text.count(".")
            if bound <= self.maximum:
                return True
        elif self.network is Network.MASTODON:
            # No more graphemes than code points, and each URL (`https?://...`, so one
            # `://` at least) counts `characters_per_url` in place of its own characters:
            # a bound from above without the grapheme and URL passes, and every message a
            # post's reply composes is well under a server's 500.
            bound = len(text) + self.characters_per_url * text.count("://")
            if bound <= self.maximum:
                return True
        elif self.network is Network.BLUESKY and len(text) <= self.maximum:
            return True  # no more graphemes than code points (the bytes were checked above)
        return self.length(text) <= self.maximum


@cache
def limit_for(network: Network, mastodon_max_characters: int | None = None) -> TextLimit | None:
    """The limit of `network`'s posts; None for a network without a known one (one frozen
    object per answer: every message asks)."""
    if network is Network.X:
        return TextLimit(network, X_MAX_WEIGHTED)
    if network is Network.BLUESKY:
        return TextLimit(network, BLUESKY_MAX_GRAPHEMES)
    if network is Network.MASTODON:
        return TextLimit(network, mastodon_max_characters or MASTODON_DEFAULT_MAX_CHARACTERS)
    return None


# The longest grapheme a message quotes, in code points: an emoji ZWJ sequence with skin
# tones has about ten; more is "Zalgo" stacking of combining marks, which we drop, so that no
# title makes a message thousands of code points long (twitter-text's URL pattern takes
# time that grows quickly with a long dotted run).
MAX_GRAPHEME_CODE_POINTS = 16


def tame(text: str) -> str:
    """`text` with each grapheme cut to at most MAX_GRAPHEME_CODE_POINTS code points."""
    if len(text) <= MAX_GRAPHEME_CODE_POINTS:
        return text  # no grapheme can be longer than the text
    clusters = _GRAPHEME.findall(text)
    if max(map(len, clusters)) <= MAX_GRAPHEME_CODE_POINTS:
        return text
    return "".join(cluster[:MAX_GRAPHEME_CODE_POINTS] for cluster in clusters)


def shorten(text: str, keep: int) -> str:
    """`text` cut to at most `keep` graphemes, an ellipsis standing for what went; never
    splits a grapheme (an emoji ZWJ sequence, a letter with its combining marks)."""
    normalized = unicodedata.normalize("NFC", text)
    if len(normalized) <= keep:
        # No more clusters than code points: nothing to cut, and no grapheme pass (a regex
        # over the text) for what is surely short, such as the shop's name in every message.
        return text
    clusters = _GRAPHEME.findall(normalized)
    if len(clusters) <= keep:
        return text
    if keep <= 0:
        return ""
    return "".join(clusters[: keep - 1]).rstrip() + "…"
