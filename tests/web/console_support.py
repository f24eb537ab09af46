"""Reading merchant console pages as a browser would (stdlib html.parser, nothing of ours):
the dashboard's figures, table rows, and whether hostile text stayed text."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from html.parser import HTMLParser

HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_IMG = '"><img src=x onerror=alert(1)>'
HOSTILE_LINK = "javascript:alert(1)"


@dataclass
class Parsed:
    tags: list[str] = field(default_factory=list)
    # (tag, attribute, value) of every attribute on the page.
    attributes: list[tuple[str, str, str]] = field(default_factory=list)
    text: str = ""
    # Text inside <pre> elements, as a browser shows it.
    pre: list[str] = field(default_factory=list)
    # Table rows: the text of each cell, whitespace collapsed.
    rows: list[list[str]] = field(default_factory=list)
    # Each named <input>'s value (the last of a name wins).
    inputs: dict[str, str] = field(default_factory=dict)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parsed = Parsed()
        self._pre_depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parsed.tags.append(tag)
        self.parsed.attributes += [(tag, name, value or "") for name, value in attrs]
        values = {name: value or "" for name, value in attrs}
        if tag == "input" and "name" in values:
            self.parsed.inputs[values["name"]] = values.get("value", "")
        if tag == "pre":
            self._pre_depth += 1
            self.parsed.pre.append("")
        if tag == "tr":
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = []
        if tag in ("br", "div", "p") and self._cell is not None:
            self._cell.append(" ")  # a line break reads as a space

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._pre_depth -= 1
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.parsed.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.parsed.text += data
        if self._pre_depth:
            self.parsed.pre[-1] += data
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Parsed:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.parsed


def assert_inert(html: str) -> None:
    """Nothing a stranger wrote became markup: no script or img element, no event handler
    attribute, no javascript: link; the page has no script at all (the console needs none)."""
    page = parse(html)
    assert "script" not in page.tags
    assert "img" not in page.tags
    assert not [name for _, name, _ in page.attributes if name.startswith("on")]
    for _, name, value in page.attributes:
        if name in ("href", "src", "action", "formaction"):
            assert not value.strip().lower().startswith("javascript:"), value


def stat(html: str, label: str) -> str:
    """The figure the dashboard shows above `label`."""
    found = re.search(
        r'<span class="value">\s*((?:(?!</span>).)*?)\s*</span><span class="label">'
        + re.escape(label)
        + "<",
        html,
        re.S,
    )
    assert found, f"no {label!r} figure on the page"
    return found.group(1)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released), for a refused SMTP connect."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
