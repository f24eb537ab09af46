"""Mastodon `content` HTML: hostile markup costs time linear in its size.

The standard library's `html.parser` rescans an unterminated `<!--` from its start at every
step: `<p>#cart</p>` and then 80 KB of `<!--` took 2.7 s here, 1 MB would take minutes.
Each shape below is 1 MB after a real trigger; each must decode, through the whole status
decoder, within a generous budget: 2 s, or 10 times what 1 MB of well-formed Mastodon
markup takes in the same run on a slow machine. The shapes are those that make HTML
parsers slow: unterminated comments (html.parser), formatting elements with distinct
attributes (the HTML Standard's "Noah's Ark" scan of the list of active formatting
elements, https://html.spec.whatwg.org/multipage/parsing.html#push-onto-the-list-of-active-formatting-elements),
deep nesting, many attributes on one tag, and unclosed quote-inline paragraphs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from hashcart.domain.posts import Post
from hashcart.networks.mastodon.decode import decode, html_to_text

SIZE = 1024 * 1024
BUDGET_SECONDS = 2.0
TRIGGER = (
    '<p><a href="https://h.example/tags/cart" class="mention hashtag">#<span>cart</span></a></p>'
)


def _repeat(piece: str) -> str:
    return piece * (SIZE // len(piece))


HOSTILE: dict[str, Callable[[], str]] = {
    "unterminated comments": lambda: _repeat("<!--"),
    "formatting elements, each with other attributes": lambda: "".join(
        f"<b c={i}>" for i in range(SIZE // 12)
    ),
    "deep nesting": lambda: _repeat("<span>"),
    "many attributes on one tag": lambda: "<a " + " ".join(f"a{i}=1" for i in range(SIZE // 8)),
    "unclosed quote-inline paragraphs": lambda: _repeat('<p class="quote-inline">'),
    "lone angle brackets": lambda: _repeat("<"),
}


def _well_formed() -> str:
    """1 MB of what Mastodon writes: paragraphs, line breaks, links with hidden parts."""
    return _repeat(
        '<p>more <a href="https://shop.example/p/1" rel="nofollow noopener" target="_blank">'
        '<span class="invisible">https://</span><span class="">shop.example/p/1</span>'
        '<span class="invisible"></span></a><br>words &amp; words</p>'
    )


def _status_line(content: str) -> bytes:
    status = {
        "id": "109348677773283527",
        "created_at": "2022-11-15T16:06:48.410Z",
        "account": {"acct": "shopper", "uri": "https://fosstodon.org/users/shopper"},
        "content": content,
        "quote": {"quoted_status_id": "1"},  # quote-inline paragraphs are then left out
    }
    return json.dumps(status).encode()


def _decode_seconds(content: str) -> tuple[float, Post]:
    line = _status_line(content)
    started = time.perf_counter()
    [post] = decode(line)
    elapsed = time.perf_counter() - started
    assert isinstance(post, Post)
    return elapsed, post


def test_hostile_content_of_a_megabyte_decodes_within_the_budget() -> None:
    baseline, _ = _decode_seconds(TRIGGER + _well_formed())
    budget = max(BUDGET_SECONDS, 10 * baseline)
    slow = {}
    for shape, make in HOSTILE.items():
        elapsed, post = _decode_seconds(TRIGGER + make())
        assert post.text.startswith("#cart"), shape
        if elapsed > budget:
            slow[shape] = round(elapsed, 2)
    assert not slow, f"over {budget:.2f} s (well-formed: {baseline:.3f} s): {slow}"


def test_markup_declarations_that_open_no_comment_are_read_as_browsers_do() -> None:
    # `<![` outside SVG and MathML opens a bogus comment up to `>` (or the end): no text.
    # https://html.spec.whatwg.org/multipage/parsing.html#markup-declaration-open-state
    # (html.parser raised on this one instead.)
    assert html_to_text("<p>#cart</p><![bogus[ x") == "#cart"
    assert html_to_text("<p>#cart <![if !IE]>2</p>") == "#cart 2"
