"""Keyset paging for every long list (issue 14, pages that stay fast on a big shop).

A page ends at the key of its last row (the values of the columns it is ordered by, the
last of them unique) and the next page starts after it: `WHERE key > last ORDER BY key
LIMIT n`, never an OFFSET, so page 1000 costs what page 1 does (the index is entered at the
key) and rows written meanwhile never shift a page. A page going back starts before the
key of the first row shown, read in the other direction and turned round.

The key travels as an opaque cursor (URL-safe base64 of a small JSON list): callers keep it
and give it back; a cursor that does not decode is refused (`BadCursor`), never guessed at.
The console's orders and customers (views/console_orders, console_customers) page the same
way with readable keys of their own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, false, or_
from sqlalchemy.sql import sqltypes

from hashcart.errors import HashcartError

T = TypeVar("T")

MAX_CURSOR = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadCursor(HashcartError, ValueError):
    """A cursor this list did not hand out (or one cut short)."""


def encode_cursor(values: Sequence[Any]) -> str:
    """The opaque cursor for a key (strings, integers, None and aware datetimes)."""
    plain = [
        {"t": (v.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)}
        if isinstance(v, datetime)
        else v
        for v in values
    ]
    text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(token: str, size: int) -> list[Any]:
    """The key `token` carries, of `size` values; BadCursor when it is none of ours."""
    token = token.strip()
    if not token or len(token) > MAX_CURSOR:
        raise BadCursor("the cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadCursor("the cursor is not one this list gave") from error
    if not isinstance(values, list) or len(values) != size:
        raise BadCursor("the cursor is not one this list gave")
    found: list[Any] = []
    for value in values:
        if isinstance(value, dict):
            micros = value.get("t")
            if set(value) != {"t"} or not isinstance(micros, int):
                raise BadCursor("the cursor is not one this list gave")
            try:
                found.append(_EPOCH + timedelta(microseconds=micros))
            except OverflowError as error:
                raise BadCursor("the cursor is not one this list gave") from error
        elif value is None or (isinstance(value, (str, int)) and not isinstance(value, bool)):
            found.append(value)
        else:
            raise BadCursor("the cursor is not one this list gave")
    return found


# (column, descending) pairs: the order of a list, its last column unique.
KeyOrder = Sequence[tuple[ColumnElement[Any], bool]]


def beyond(order: KeyOrder, values: Sequence[Any], *, backwards: bool = False) -> Any:
    """Rows after the key `values` in `order` (before it when `backwards`): for keys
    (a, b, c), `a > x OR (a = x AND (b > y OR (b = y AND c > z)))`, each `>` a `<` on a
    descending column. Key columns are never NULL (coalesce a nullable one)."""
    clause: Any = false()
    for (column, descending), value in reversed(list(zip(order, values, strict=True))):
        later = descending == backwards  # ascending forwards, or descending backwards
        step = column > value if later else column < value
        clause = or_(step, and_(column == value, clause))
    # The same bound on the first column alone, which a planner can seek an index to.
    (first, descending), value = order[0], values[0]
    bound = first >= value if descending == backwards else first <= value
    return and_(bound, clause)


def order_by(query: Select[Any], order: KeyOrder, *, backwards: bool = False) -> Select[Any]:
    return query.order_by(
        *(
            column.desc() if descending != backwards else column.asc()
            for column, descending in order
        )
    )


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list paged by key: its rows, the cursor the next page starts after
    (None on the last page), the cursor the previous page ends before (None on the first),
    and how many rows the whole list holds (None when the caller did not count)."""

    items: list[T]
    next_after: str | None
    previous_before: str | None
    total: int | None = None

    @property
    def first(self) -> bool:
        return self.previous_before is None


class KeysetStatements:
    """A list's three statements -- its first page, the page after a key, the page before
    one -- with the key as bound parameters (`cursor_0`, `cursor_1`, ...), each built when
    first used. A caller that keeps them (views/funnel_kept) builds them, and SQLAlchemy
    derives their cache keys, once instead of on every page: at 50 rows a page, building
    the statement cost about as much CPU as reading its rows."""

    def __init__(self, query: Select[Any], order: KeyOrder, *, limit: int) -> None:
        """`query` (not yet ordered) paged by `order`, `limit` rows a page."""
        self.query = query
        self.order = order
        self.limit = limit
        self.size = len(order)
        self._key = [
            bindparam(f"cursor_{index}", type_=column.type)
            for index, (column, _) in enumerate(order)
        ]

    @cached_property
    def first(self) -> Select[Any]:
        return order_by(self.query, self.order).limit(self.limit + 1)

    @cached_property
    def after(self) -> Select[Any]:
        query = self.query.where(beyond(self.order, self._key))
        return order_by(query, self.order).limit(self.limit + 1)

    @cached_property
    def before(self) -> Select[Any]:
        query = self.query.where(beyond(self.order, self._key, backwards=True))
        return order_by(query, self.order, backwards=True).limit(self.limit + 1)

    def bound(self, values: Sequence[Any]) -> dict[str, Any]:
        """The key as the statements' parameters; BadCursor for a value of another kind than
        its column (a forged cursor: the database would refuse it, a 500, or compare a text
        with a time)."""
        for (column, _), value in zip(self.order, values, strict=True):
            if not _fits(column, value):
                raise BadCursor("the cursor is not one this list gave")
        return {f"cursor_{index}": value for index, value in enumerate(values)}


def _fits(column: ColumnElement[Any], value: Any) -> bool:
    """Whether a cursor's value is of its key column's kind (None: as a NULL, never a key)."""
    kind = column.type
    kind = getattr(kind, "impl_instance", kind)  # a TypeDecorator: the type it stores as
    if value is None:
        return True
    if isinstance(kind, sqltypes.DateTime):
        return isinstance(value, datetime)
    if isinstance(kind, sqltypes.Integer):
        return isinstance(value, int)
    if isinstance(kind, sqltypes.String):
        return isinstance(value, str)
    return True


def keyset_page(
    connection: Connection,
    query: Select[Any],
    order: KeyOrder,
    key_of: Callable[[Any], Sequence[Any]],
    *,
    after: str = "",
    before: str = "",
    limit: int,
) -> tuple[list[Any], str | None, str | None]:
    """The rows of `query` (not yet ordered) after the cursor `after`, or before the cursor
    `before`, at most `limit`; and the cursors of the next and the previous page."""
    statements = KeysetStatements(query, order, limit=limit)
    return keyset_page_of(connection, statements, key_of, after=after, before=before)


def keyset_page_of(
    connection: Connection,
    statements: KeysetStatements,
    key_of: Callable[[Any], Sequence[Any]],
    *,
    after: str = "",
    before: str = "",
) -> tuple[list[Any], str | None, str | None]:
    """`keyset_page` on statements built already (and kept: `KeysetStatements`)."""
    size, limit = statements.size, statements.limit
    if before:
        key = decode_cursor(before, size)
        rows = list(connection.execute(statements.before, statements.bound(key)).all())
        more_before = len(rows) > limit
        rows = rows[:limit][::-1]
        later = encode_cursor(key_of(rows[-1])) if rows else encode_cursor(key)
        earlier = encode_cursor(key_of(rows[0])) if more_before and rows else None
        return rows, later, earlier
    if after:
        bound = statements.bound(decode_cursor(after, size))
        rows = list(connection.execute(statements.after, bound).all())
    else:
        rows = list(connection.execute(statements.first).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = encode_cursor(key_of(rows[-1])) if more and rows else None
    previous = encode_cursor(key_of(rows[0])) if after and rows else None
    if after and not rows:
        previous = after  # past the end: back to the rows before where this page began
    return rows, next_after, previous
