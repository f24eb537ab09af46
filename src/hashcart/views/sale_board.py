"""The live claim board's stream (issue 13): the sale's claims as they settle or change, from
the `sale_claim_events` log, newest first on the page and in id order on the server-sent
events; and a cheap mark that says whether the board's numbers may have changed.

Each line says who (the handle and network as the claim stated them: escape when shown),
which item and how many, what happened (won, promoted, waitlisted, released, refused, passed,
paid) and the post's own time as the network stated it (the claim's rank)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from hashcart.store import schema as t
from hashcart.store.known_handles import known_handles

__all__ = [
    "BoardMark",
    "board_mark",
    "claim_events",
    "duration",
    "recent_claim_events",
    "revenue_text",
]

ev, sc = t.sale_claim_events, t.sale_claims

# What the board says for each kind of line.
KIND_WORDS = {
    "won": "won",
    "promoted": "promoted from the waitlist",
    "waitlisted": "waitlisted",
    "released": "released",
    "refused": "refused",
    "passed": "passed",
    "paid": "paid",
}

# (the newest claim's id of any sale, the sale's newest line's id): both are index lookups. A
# claim on another sale changes the mark too; the stream then finds the board unchanged.
BoardMark = tuple[int, int]


def _lines(connection: Connection, where: Any, newest_first: bool, limit: int) -> Sequence[Any]:
    order = (ev.c.id.desc(),) if newest_first else (ev.c.id,)
    return connection.execute(
        select(
            ev.c.id,
            ev.c.kind,
            sc.c.network,
            sc.c.account_id,
            sc.c.handle,
            sc.c.item_number,
            sc.c.quantity,
            sc.c.posted_at,
            sc.c.refusal,
        )
        .join(sc, sc.c.id == ev.c.claim_id)
        .where(where)
        .order_by(*order)
        .limit(limit)
    ).all()


def _shaped(connection: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The lines as shown. A claim whose post named no handle (Jetstream's posts carry only
    the author's DID) shows the handle the shop knows, else the account id itself."""
    unnamed = [(row.network, row.account_id) for row in rows if not row.handle]
    known = known_handles(connection, unnamed) if unnamed else {}
    return [
        _shape(row, row.handle or known.get((row.network, row.account_id)) or row.account_id)
        for row in rows
    ]


def _shape(row: Any, handle: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "words": KIND_WORDS.get(row.kind, row.kind),
        "network": row.network,
        "handle": handle,
        "item": row.item_number,
        "quantity": row.quantity,
        "posted_at": row.posted_at.isoformat(),
        "refusal": row.refusal,
    }


def recent_claim_events(connection: Connection, sale_id: int, limit: int) -> list[dict[str, Any]]:
    """The sale's last `limit` lines, newest first (the page as served)."""
    return _shaped(connection, _lines(connection, ev.c.sale_id == sale_id, True, limit))


def claim_events(
    connection: Connection, sale_id: int, after: int, limit: int
) -> list[dict[str, Any]]:
    """The sale's lines with an id above `after`, oldest first, at most `limit`."""
    where = (ev.c.sale_id == sale_id) & (ev.c.id > after)
    return _shaped(connection, _lines(connection, where, False, limit))


def board_mark(connection: Connection, sale_id: int) -> BoardMark:
    """Changes whenever a claim arrives or a line is logged (a payment logs one too)."""
    newest_claim = connection.execute(select(func.max(sc.c.id))).scalar_one()
    last = connection.execute(select(func.max(ev.c.id)).where(ev.c.sale_id == sale_id))
    return int(newest_claim or 0), int(last.scalar_one() or 0)


def duration(seconds: float | None) -> str:
    """ "45 s", "4 min 10 s", "2 h 05 min", "1 d 3 h"; "-" for none."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def revenue_text(report: dict[str, Any]) -> str:
    """A sale's revenue as "48.00 EUR, 12.00 USD" (each currency apart); "0.00" for none."""
    paid = report["totals"]["revenue_by_currency"]
    return ", ".join(f"{amount} {currency}".rstrip() for currency, amount in paid.items()) or "0.00"
