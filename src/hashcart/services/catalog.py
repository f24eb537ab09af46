"""Catalog feeds in Google Merchant Center's column names: id, title, link, price, availability,
and for variants item_group_id, color and size (optional; GMC's limits: 50, 100 and 100
characters); and, optionally, `quantity`: the units on hand (Merchant Center's product feed
has no count column; its local inventory feed calls it `quantity`, an integer of 0 or more:
https://support.google.com/merchants/answer/13475891).

Pictures and words, optional too: `image_link` (one http(s) URL), `additional_image_link`
(several: comma-separated in one column, a column repeated, or a JSON list; Merchant
Center takes up to 10: https://support.google.com/merchants/answer/6324370) and
`description` (up to 5000 characters: https://support.google.com/merchants/answer/6324468).
A row without them leaves the stored ones as they were, as `quantity` does."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from hashcart.domain.stock import StockCountError, parse_stock_count
from hashcart.domain.variants import MAX_GROUP_ID_CHARS, MAX_VALUE_CHARS
from hashcart.errors import HashcartError

AVAILABILITY = frozenset({"in_stock", "out_of_stock", "preorder", "discontinued"})
REQUIRED = ("id", "title", "link", "availability")


class FeedError(HashcartError, ValueError):
    """The feed as a whole cannot be read (no header, unknown format)."""


@dataclass(frozen=True, slots=True)
class FeedRow:
    product_id: str
    title: str
    link: str
    price_amount: Decimal | None
    currency: str | None
    availability: str
    # Variants (domain/variants): rows sharing an item_group_id are one product's variants.
    item_group_id: str | None = None
    color: str | None = None
    size: str | None = None
    # The row's stock count, when it gives one (`quantity`): None there means "not counted".
    # A feed without the column, or a row with it empty, leaves the stored count alone.
    stock: int | None = None
    stock_given: bool = False
    # Pictures and words; None: the row gives none (the stored ones stay).
    image_link: str | None = None
    additional_image_links: tuple[str, ...] = ()
    description: str | None = None

    def as_values(self, now: datetime) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "title": self.title,
            "link": self.link,
            "price_amount": self.price_amount,
            "currency": self.currency,
            "availability": self.availability,
            "updated_at": now,
            "item_group_id": self.item_group_id,
            "color": self.color,
            "size": self.size,
            "image_link": self.image_link,
            "additional_image_links": "\n".join(self.additional_image_links) or None,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    reason: str


def parse_price(text: str) -> tuple[Decimal, str]:
    """'19.99 USD' (or 'USD 19.99') as an amount and an ISO currency code."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"price {text!r} is not like '19.99 USD'")
    amount_text, currency = parts if parts[1].isalpha() else parts[::-1]
    if not (len(currency) == 3 and currency.isalpha()):
        raise ValueError(f"price {text!r} has no three-letter currency code")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise ValueError(f"price {text!r} has no number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"price {text!r} is not a non-negative amount")
    return amount, currency.upper()


def _row(fields: dict[str, Any]) -> FeedRow:
    values = {
        key.strip().lower(): _field_text(value) for key, value in fields.items() if key is not None
    }
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise ValueError("missing " + ", ".join(missing))
    availability = values["availability"].lower().replace(" ", "_")
    if availability not in AVAILABILITY:
        raise ValueError(
            f"availability {values['availability']!r} is not one of "
            + ", ".join(sorted(AVAILABILITY))
        )
    link = values["link"]
    if not link.lower().startswith(("http://", "https://")):
        raise ValueError(f"link {link!r} is not an http(s) URL")
    amount, currency = parse_price(values["price"]) if values.get("price") else (None, None)
    quantity = values.get("quantity", "")
    try:
        stock = parse_stock_count(quantity) if quantity else None
    except StockCountError as error:
        raise ValueError(f"quantity: {error}") from None
    return FeedRow(
        values["id"],
        values["title"],
        link,
        amount,
        currency,
        availability,
        _variant_value(values, "item_group_id", MAX_GROUP_ID_CHARS),
        _variant_value(values, "color", MAX_VALUE_CHARS),
        _variant_value(values, "size", MAX_VALUE_CHARS),
        stock=stock,
        stock_given=bool(quantity),
        image_link=check_image_link(values.get("image_link", "")),
        additional_image_links=_additional_links(values.get("additional_image_link", "")),
        description=_description(values.get("description", "")),
    )


# Merchant Center's limits: a URL of up to 2000 characters, 10 additional images, a
# description of up to 5000 characters.
MAX_IMAGE_URL_CHARS = 2000
MAX_ADDITIONAL_IMAGES = 10
MAX_DESCRIPTION_CHARS = 5000


def check_image_link(text: str, name: str = "image_link") -> str | None:
    """An image link as a feed or the console gives it: None when empty; ValueError when it
    is no http(s) URL or longer than Merchant Center allows."""
    url = text.strip()
    if not url:
        return None
    if len(url) > MAX_IMAGE_URL_CHARS:
        raise ValueError(f"{name} is longer than {MAX_IMAGE_URL_CHARS} characters")
    if not url.lower().startswith(("http://", "https://")) or any(ord(c) < 0x21 for c in url):
        raise ValueError(f"{name} {url[:80]!r} is not an http(s) URL")
    return url


def _additional_links(text: str) -> tuple[str, ...]:
    links: list[str] = []
    for part in text.split(","):
        url = check_image_link(part, "additional_image_link")
        if url is not None and url not in links:
            links.append(url)
    if len(links) > MAX_ADDITIONAL_IMAGES:
        raise ValueError(f"more than {MAX_ADDITIONAL_IMAGES} additional_image_link URLs")
    return tuple(links)


def _description(text: str) -> str | None:
    if not text:
        return None
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise ValueError(f"description is longer than {MAX_DESCRIPTION_CHARS} characters")
    if "\x00" in text:
        raise ValueError("description holds a NUL character")
    return text


def _field_text(value: Any) -> str:
    """A field as text; a JSON list (repeated values, as `additional_image_link` may be)
    joined by commas."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(_field_text(item) for item in value)
    return str(value).strip()


def _variant_value(values: dict[str, str], name: str, most: int) -> str | None:
    """An optional variant column: None when empty; a clear problem when too long or when
    it holds a control or format character (a NUL, a zero-width space: a value nobody could
    type in a reply, and one PostgreSQL would refuse)."""
    value = values.get(name) or None
    if value is None:
        return None
    if len(value) > most:
        raise ValueError(f"{name} is longer than {most} characters")
    if any(unicodedata.category(char)[0] == "C" for char in value):
        raise ValueError(f"{name} {value[:40]!r} holds a control or invisible character")
    return value


def read_feed(data: bytes) -> Iterator[FeedRow | RowProblem]:
    """Each row of a CSV/TSV or JSON Lines feed, or the problem with it and its line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedError(f"the feed is not UTF-8 (byte {error.start})") from None
    if text.lstrip().startswith("{"):
        yield from _read_json_lines(text)
    else:
        yield from _read_delimited(text)


def _read_json_lines(text: str) -> Iterator[FeedRow | RowProblem]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            fields = msgspec.json.decode(line)
            if not isinstance(fields, dict):
                raise ValueError("not a JSON object")
            yield _row(fields)
        except (msgspec.DecodeError, ValueError) as error:
            yield RowProblem(number, str(error))


def _read_delimited(text: str) -> Iterator[FeedRow | RowProblem]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader, [])]
    absent = [name for name in REQUIRED if name not in header]
    if absent:
        raise FeedError(
            "the feed's header lacks "
            + ", ".join(absent)
            + " (Google Merchant Center names: id, title, link, price, availability)"
        )
    for cells in reader:
        if not cells:  # a blank line, as DictReader skips it
            continue
        try:
            yield _row(_by_name(header, cells))
        except ValueError as error:
            yield RowProblem(reader.line_num, str(error))


def _by_name(header: list[str], cells: list[str]) -> dict[str, list[str]]:
    """A row's cells by column name; a column repeated (Merchant Center's way of giving
    several `additional_image_link`s) keeps every value."""
    fields: dict[str, list[str]] = {}
    for name, cell in zip(header, cells, strict=False):
        fields.setdefault(name, []).append(cell)
    return fields
