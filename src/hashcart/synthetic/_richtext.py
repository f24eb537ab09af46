"""Post text as segments (plain text, hashtags, links, mentions), so each network can
render the same words its own way: X entities with code-point indices, Mastodon HTML,
Bluesky facets with UTF-8 byte offsets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hashcart.synthetic._people import Persona


@dataclass(frozen=True, slots=True)
class Seg:
    kind: str  # "text" | "tag" | "link" | "mention"
    value: str  # the text; the tag without its hash; the URL; the mentioned name
    hash: str = "#"  # "#" or the fullwidth "＃" (U+FF03)
    who: Persona | None = None  # for mentions


RichText = tuple[Seg, ...]

_TOKEN = re.compile(
    r"(?P<link>https?://[^\s)]*[^\s).,!?;:'\"])"
    r"|(?<![\w&/])(?P<hash>[#＃])(?P<tag>\w+)"
    r"|(?<![\w/])@(?P<mention>\w+)"
)


def parse(text: str, people: Mapping[str, Persona] | None = None) -> RichText:
    """Split `text` into segments. `@name` becomes a mention only when `people` knows the
    name; otherwise it stays plain text."""
    segs: list[Seg] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "mention" and (people is None or match["mention"] not in people):
            continue
        if match.start() > pos:
            segs.append(Seg("text", text[pos : match.start()]))
        if kind == "link":
            segs.append(Seg("link", match["link"]))
        elif kind == "tag":
            segs.append(Seg("tag", match["tag"], hash=match["hash"]))
        else:
            assert people is not None
            segs.append(Seg("mention", match["mention"], who=people[match["mention"]]))
        pos = match.end()
    if pos < len(text):
        segs.append(Seg("text", text[pos:]))
    return tuple(segs)


def plain(segs: RichText) -> str:
    """The text as the author typed it."""
    out = []
    for seg in segs:
        if seg.kind == "tag":
            out.append(seg.hash + seg.value)
        elif seg.kind == "mention":
            out.append("@" + seg.value)
        else:
            out.append(seg.value)
    return "".join(out)


def tags(segs: RichText) -> list[str]:
    return [seg.value for seg in segs if seg.kind == "tag"]


def links(segs: RichText) -> list[str]:
    return [seg.value for seg in segs if seg.kind == "link"]


def html_escape(text: str) -> str:
    """Mastodon's HTML escaping of plain text."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def x_escape(text: str) -> str:
    """X escapes only `&`, `<` and `>` in tweet text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
