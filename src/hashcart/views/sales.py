"""Live sales as the merchant reads them (`hashcart sales list|show`, the console): per item
its stock, units held and paid, the waitlist's length; per sale the units won, the revenue
paid (in all and per currency), the paid rate, the time to pay (median and p90 of an invoice's
paid_at minus its created_at); and the invoices as CSV.

"Held" is won and not paid yet; "paid" is paid through the shopper's invoice. Revenue is
what paid claims cost at the catalog's price.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from hashcart.store import schema as t
from hashcart.views.csv_cells import csv_cell

__all__ = [
    "INVOICE_COLUMNS",
    "invoice_of",
    "invoices_csv",
    "nearest_rank",
    "sale_report",
    "sales_list",
]

s, si, sc, sp, inv, p = (
    t.sales,
    t.sale_items,
    t.sale_claims,
    t.sale_posts,
    t.sale_invoices,
    t.products,
)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def sales_list(connection: Connection) -> list[dict[str, Any]]:
    """Every sale, newest first: `hashcart sales list --json`'s shape."""
    rows = connection.execute(select(s).order_by(s.c.id.desc())).all()
    counts: dict[int, int] = {
        row[0]: int(row[1])
        for row in connection.execute(select(sc.c.sale_id, func.count()).group_by(sc.c.sale_id))
    }
    items: dict[int, int] = {
        row[0]: int(row[1])
        for row in connection.execute(select(si.c.sale_id, func.count()).group_by(si.c.sale_id))
    }
    return [
        {
            "id": row.id,
            "name": row.name,
            "status": row.status,
            "hold_hours": float(row.hold_hours),
            "items": int(items.get(row.id, 0)),
            "claims": int(counts.get(row.id, 0)),
            "created_at": _when(row.created_at),
            "closed_at": _when(row.closed_at),
        }
        for row in rows
    ]


def sale_report(connection: Connection, name: str) -> dict[str, Any] | None:
    """One sale's board: `hashcart sales show NAME --json`'s shape; None: no such sale."""
    sale = connection.execute(select(s).where(s.c.name == name)).first()
    if sale is None:
        return None
    posts = connection.execute(
        select(sp.c.network, sp.c.post_id).where(sp.c.sale_id == sale.id).order_by(sp.c.id)
    ).all()
    items = connection.execute(
        select(si, p.c.title, p.c.price_amount, p.c.currency)
        .join(p, p.c.product_id == si.c.product_id, isouter=True)
        .where(si.c.sale_id == sale.id)
        .order_by(si.c.id)
    ).all()
    claims = connection.execute(
        select(
            sc.c.item_id,
            sc.c.status,
            sc.c.quantity,
            p.c.price_amount,
            p.c.currency,
        )
        .join(p, p.c.product_id == sc.c.product_id, isouter=True)
        .where(sc.c.sale_id == sale.id)
    ).all()
    units: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    revenue = Decimal("0")
    currencies: set[str] = set()
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for claim in claims:
        units[claim.item_id][claim.status] += claim.quantity
        units[claim.item_id]["claims"] += 1
        if claim.status == "paid" and claim.price_amount is not None:
            revenue += claim.price_amount * claim.quantity
            currencies.add(claim.currency or "")
            by_currency[claim.currency or ""] += claim.price_amount * claim.quantity
    board = []
    for item in items:
        counted = units[item.id]
        held, paid = counted["held"], counted["paid"]
        board.append(
            {
                "item": item.item_number,
                "product": item.product_id,
                "title": item.title,
                "price": None if item.price_amount is None else f"{item.price_amount:.2f}",
                "currency": item.currency,
                "stock": item.stock,
                "limit": item.per_shopper_limit,
                "held": held,
                "paid": paid,
                "free": max(0, item.stock - held - paid),
                "waitlist": sum(
                    1 for c in claims if c.item_id == item.id and c.status == "waitlisted"
                ),
                "provisional": counted["provisional"],
                "claims": counted["claims"],
            }
        )
    won = sum(line["held"] + line["paid"] for line in board)
    paid_units = sum(line["paid"] for line in board)
    invoices = connection.execute(
        select(inv.c.status, func.count()).where(inv.c.sale_id == sale.id).group_by(inv.c.status)
    ).all()
    by_status = {row[0]: int(row[1]) for row in invoices}
    paid_after = [
        (row.paid_at - row.created_at).total_seconds()
        for row in connection.execute(
            select(inv.c.created_at, inv.c.paid_at).where(
                inv.c.sale_id == sale.id, inv.c.status == "paid", inv.c.paid_at.is_not(None)
            )
        )
    ]
    return {
        "name": sale.name,
        "status": sale.status,
        "hold_hours": float(sale.hold_hours),
        "created_at": _when(sale.created_at),
        "closed_at": _when(sale.closed_at),
        "posts": [f"{row.network}:{row.post_id}" for row in posts],
        "items": board,
        "totals": {
            "claims": len(claims),
            "units": won,
            "units_paid": paid_units,
            "revenue": f"{revenue:.2f}",
            "currency": currencies.pop() if len(currencies) == 1 else None,
            "paid_rate": round(paid_units / won, 4) if won else None,
            "invoices": sum(by_status.values()),
            "invoices_paid": by_status.get("paid", 0),
            "revenue_by_currency": {
                currency: f"{amount:.2f}" for currency, amount in sorted(by_currency.items())
            },
            # Seconds from an invoice's making (its first won item) to its payment.
            "time_to_pay": {
                "median_seconds": nearest_rank(paid_after, 50),
                "p90_seconds": nearest_rank(paid_after, 90),
            },
        },
    }


def nearest_rank(values: list[float], percent: int) -> float | None:
    """The `percent`th percentile by nearest rank (one of the values, never between two);
    None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


INVOICE_COLUMNS = (
    "invoice",
    "email",
    "status",
    "items",
    "units",
    "total",
    "currency",
    "created_at",
    "paid_at",
    "link",
)


def invoices_csv(connection: Connection, name: str, public_url: str) -> str | None:
    """The sale's invoices as CSV, one row each (INVOICE_COLUMNS); None: no such sale."""
    sale = connection.execute(select(s.c.id).where(s.c.name == name)).first()
    if sale is None:
        return None
    rows = connection.execute(
        select(inv, t.customers.c.email)
        .join(t.customers, t.customers.c.id == inv.c.customer_id, isouter=True)
        .where(inv.c.sale_id == sale.id)
        .order_by(inv.c.id)
    ).all()
    lines = connection.execute(
        select(
            sc.c.invoice_id,
            si.c.item_number,
            sc.c.product_id,
            sc.c.quantity,
            p.c.price_amount,
            p.c.currency,
        )
        .join(si, si.c.id == sc.c.item_id)
        .join(p, p.c.product_id == sc.c.product_id, isouter=True)
        .where(sc.c.sale_id == sale.id, sc.c.status.in_(("held", "paid")))
        .order_by(sc.c.posted_at, sc.c.id)
    ).all()
    by_invoice: dict[int, list[Any]] = defaultdict(list)
    for line in lines:
        by_invoice[line.invoice_id].append(line)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(INVOICE_COLUMNS)
    for row in rows:
        mine = by_invoice.get(row.id, [])
        total = sum(
            (line.price_amount * line.quantity for line in mine if line.price_amount is not None),
            Decimal("0"),
        )
        currencies = {line.currency for line in mine if line.currency}
        writer.writerow(
            [
                row.id,
                csv_cell(row.email or ""),
                row.status,
                csv_cell("; ".join(f"#{x.item_number} {x.product_id} x{x.quantity}" for x in mine)),
                sum(line.quantity for line in mine),
                f"{total:.2f}",
                currencies.pop() if len(currencies) == 1 else "",
                _when(row.created_at),
                _when(row.paid_at) or "",
                f"{public_url.rstrip('/')}/orders/invoice/{row.id}",
            ]
        )
    return out.getvalue()


def invoice_of(connection: Connection, customer_id: int, invoice_id: int) -> dict[str, Any] | None:
    """A shopper's sale invoice (their own only; None otherwise): its sale, status, the items
    won and still held or paid, the total and when to pay by (the earliest hold's end)."""
    row = connection.execute(
        select(inv, s.c.name)
        .join(s, s.c.id == inv.c.sale_id)
        .where(inv.c.id == invoice_id, inv.c.customer_id == customer_id)
    ).first()
    if row is None:
        return None
    lines = connection.execute(
        select(
            si.c.item_number,
            sc.c.quantity,
            sc.c.hold_until,
            sc.c.status,
            p.c.title,
            p.c.price_amount,
            p.c.currency,
        )
        .join(si, si.c.id == sc.c.item_id)
        .join(p, p.c.product_id == sc.c.product_id, isouter=True)
        .where(sc.c.invoice_id == invoice_id, sc.c.status.in_(("held", "paid")))
        .order_by(sc.c.posted_at, sc.c.id)
    ).all()
    total = sum(
        (line.price_amount * line.quantity for line in lines if line.price_amount is not None),
        Decimal("0"),
    )
    currencies = {line.currency for line in lines if line.currency}
    holds = [line.hold_until for line in lines if line.status == "held" and line.hold_until]
    return {
        "id": row.id,
        "sale": row.name,
        "status": row.status,
        "lines": [
            {
                "item": line.item_number,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": line.price_amount,
                "line_total": None
                if line.price_amount is None
                else line.price_amount * line.quantity,
                "currency": line.currency,
            }
            for line in lines
        ],
        "total": total,
        "currency": currencies.pop() if len(currencies) == 1 else None,
        "pay_by": min(holds) if holds else None,
        "paid_at": row.paid_at,
        "order_id": row.order_id,
    }
