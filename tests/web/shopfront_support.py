"""Reading the shop front as a browser would: its post cards, their links and forms, and
every attribute a browser could follow (stdlib html.parser, nothing of ours)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Card:
    """One `<article class="front-post">`: its text (as shown), links and forms."""

    text: str = ""
    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # every element, to check nothing was injected


@dataclass
class Page:
    cards: list[Card]
    links: list[str]
    # (tag, attribute, value) of every attribute on the page.
    attributes: list[tuple[str, str, str]]
    tags: list[str]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cards: list[Card] = []
        self.links: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self._card: Card | None = None
        self._depth = 0  # open <article> elements inside the current card
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in values.items()]
        if tag == "article" and "front-post" in values.get("class", "").split():
            self._card, self._depth = Card(), 0
            self.cards.append(self._card)
        if self._card is not None:
            self._card.tags.append(tag)
            if tag == "article":
                self._depth += 1
        if tag == "a" and "href" in values:
            self.links.append(values["href"])
            if self._card is not None:
                self._card.links.append(values["href"])
        if tag == "form":
            self._form = Form(values.get("action", ""), values.get("method", "get").lower())
            if self._card is not None:
                self._card.forms.append(self._form)
        if tag == "input" and self._form is not None and "name" in values:
            self._form.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "article" and self._card is not None:
            self._depth -= 1
            if self._depth == 0:
                self._card = None

    def handle_data(self, data: str) -> None:
        if self._card is not None:
            self._card.text += data


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    for card in reader.cards:
        card.text = " ".join(card.text.split())
    return Page(reader.cards, reader.links, reader.attributes, reader.tags)
