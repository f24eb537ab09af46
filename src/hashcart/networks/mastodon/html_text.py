"""A status's `content` HTML as plain text and outbound links.

`content` is HTML: the post's text, its links and its hashtag links all live there. It is
read by libxml2's HTML parser through lxml's parser-target interface, which hands us start
tags, end tags and text as they come (as the standard library's `html.parser` did), in time
linear in the input: `html.parser` rescans an unterminated `<!--` from its start at every
step (80 KB of them took 2.7 s, 1 MB would take minutes). Since 2.14 libxml2's tokenizer
follows the HTML Standard; its element nesting is its own, simpler than the Standard's (a
`</p>` with no open `<p>` is dropped, where browsers make an empty paragraph of it; Mastodon
never writes one). An HTML5 tree builder is no cure: Lexbor's took 112 s for 1 MB of
`<b c=N>`, the Standard's list of active formatting elements being scanned at every one.
https://lxml.de/parsing.html#the-target-parser-interface,
https://gitlab.gnome.org/GNOME/libxml2/-/blob/v2.14.0/include/libxml/HTMLparser.h
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from hashcart.domain.posts import DecodeError
from hashcart.networks._json import unique

if TYPE_CHECKING:  # the parser-target protocol exists in types-lxml's stubs only
    from lxml import etree

    _Target = etree.ParserTarget[None]
else:
    _Target = object

# Links with these classes point at profiles and tag timelines, not at what was shared.
_SKIPPED_LINK_CLASSES = frozenset({"mention", "hashtag"})
# The class of the `RE: <link>` paragraph servers prepend to quote posts for old clients.
_QUOTE_INLINE = "quote-inline"


class _ContentReader(_Target):
    """Collects the plain text and the outbound links of a status's `content`.

    libxml2 closes every element it opens (void ones at once, unclosed ones where the
    HTML rules end them), so the events come balanced.
    """

    def __init__(self, hide_quote_inline: bool) -> None:
        self.reset(hide_quote_inline)

    def reset(self, hide_quote_inline: bool) -> None:
        """Ready for the next status (a reader and its parser are kept for the next)."""
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hide_quote_inline = hide_quote_inline
        self._hidden_depth = 0  # > 0 inside the `quote-inline` element being left out
        self._paragraph_pending = False
        self._text: list[str] = []  # one run of text, handed over in pieces (`&amp;` apart)

    def start(self, tag: str, attrib: dict[str, str], /) -> None:
        self._flush()
        if self._hidden_depth:
            self._hidden_depth += 1
            return
        classes = frozenset((attrib.get("class") or "").split())
        if self._hide_quote_inline and _QUOTE_INLINE in classes:
            self._hidden_depth = 1
            return
        if tag == "br":
            self.parts.append("\n")
            self._paragraph_pending = False
        elif tag == "p":
            self._paragraph_pending = bool(self.parts)
        elif tag == "a" and not (classes & _SKIPPED_LINK_CLASSES):
            href = attrib.get("href")
            if href and href[:8].lower().startswith(("http://", "https://")):
                self.links.append(href)

    def end(self, tag: str, /) -> None:
        self._flush()
        if self._hidden_depth:
            self._hidden_depth -= 1
            if not self._hidden_depth and tag not in _VOID_TAGS:
                self._paragraph_pending = bool(self.parts)
            return
        if tag == "p":
            self._paragraph_pending = bool(self.parts)

    def data(self, data: str, /) -> None:
        if not self._hidden_depth:
            self._text.append(data)

    def close(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if not self._text:
            return
        data = "".join(self._text)
        self._text.clear()
        if self._paragraph_pending:
            if not data.strip():
                return  # whitespace between paragraphs, e.g. "</p>\n<p>" from other servers
            self.parts.append("\n\n")
            self._paragraph_pending = False
        self.parts.append(data)


_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip


def read_content(html: str, hide_quote_inline: bool) -> tuple[str, tuple[str, ...]]:
    """(`html_to_text`, `content_links`) of `html`, from one reading."""
    # Imported on first use: lxml takes ~35 ms to load, which every command paid when
    # the decoders were imported (docs/benchmarks.md, "Start-up").
    reader, parser = _reading(hide_quote_inline)
    try:
        parser.feed(html)
        parser.close()
    except Exception as exc:  # libxml2 gives up only on what it cannot allocate
        _kept.pair = None  # a fresh parser for the next one
        raise DecodeError(f"unreadable content HTML: {exc!r}"[:200]) from None
    return "".join(reader.parts).strip(), unique(reader.links)


# A reader and its parser per thread, used again status after status (a parser is reusable
# once closed): making a parser with a target costs lxml an inspection of the target's
# methods, about as long as reading a short status (a live sale's burst reads thousands a
# second).
_kept = threading.local()


def _reading(hide_quote_inline: bool) -> tuple[_ContentReader, Any]:
    pair: tuple[_ContentReader, Any] | None = getattr(_kept, "pair", None)
    if pair is None:
        pair = _new_pair(hide_quote_inline)
        _kept.pair = pair
    reader, parser = pair
    reader.reset(hide_quote_inline)
    return reader, parser


def _new_pair(hide_quote_inline: bool) -> tuple[_ContentReader, Any]:
    from lxml import etree as lxml_etree

    reader = _ContentReader(hide_quote_inline)
    # recover: read broken markup as browsers do; no_network: never fetch a DTD.
    return reader, lxml_etree.HTMLParser(target=reader, recover=True, no_network=True)


def html_to_text(html: str, *, hide_quote_inline: bool = False) -> str:
    """The plain text of a status's HTML `content`.

    Tags are dropped, `<br>` becomes a newline and a new paragraph a blank line (the
    inverse of Mastodon's own formatter, so a local post reads as its author typed it),
    entities are unescaped. With `hide_quote_inline`, the `RE: <link>` paragraph that
    servers prepend to quote posts for old clients is left out, as Mastodon asks
    clients to do when a status has a `quote`. Raises DecodeError if the parser fails.
    """
    return read_content(html, hide_quote_inline)[0]


def content_links(html: str, *, hide_quote_inline: bool = False) -> tuple[str, ...]:
    """The http(s) `href`s of `<a>` elements in `content`, without mention and hashtag links.

    Mentions (`class="u-url mention"`) point at profiles and hashtags
    (`class="mention hashtag"`) at tag timelines; neither is a link the author shared.
    """
    return read_content(html, hide_quote_inline)[1]
