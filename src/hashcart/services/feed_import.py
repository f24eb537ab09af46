"""Importing a catalog feed in one go: the rows that can be stored go in together, in one
transaction; each row that cannot is reported with its line and why; a feed that cannot be
read at all (FeedError) changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hashcart.ports import Repository
from hashcart.services.catalog import FeedRow, RowProblem, read_feed

# What the products table holds: ids up to 200 characters, amounts below 10^10 (12 digits,
# 2 after the point). A longer id or a larger amount is that row's problem, not a crash.
MAX_PRODUCT_ID = 200
MAX_AMOUNT = Decimal(10) ** 10


@dataclass(frozen=True)
class SkippedRow:
    """A row not imported: its line when the reader knows it, and why."""

    line: int | None
    reason: str


@dataclass
class ImportReport:
    imported: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)


def _unstorable(row: FeedRow) -> SkippedRow | None:
    if len(row.product_id) > MAX_PRODUCT_ID:
        shown = row.product_id[:40] + "…"
        return SkippedRow(None, f"id {shown!r} is longer than {MAX_PRODUCT_ID} characters")
    if row.price_amount is not None and row.price_amount >= MAX_AMOUNT:
        return SkippedRow(None, f"price of {row.product_id!r} is too large: {row.price_amount}")
    return None


def import_feed(repo: Repository, data: bytes, now: datetime) -> ImportReport:
    """Read the whole feed first (FeedError if it cannot be read), then upsert its good rows.
    A product listed twice takes its last row, as a later feed would overwrite an earlier.
    A row's `quantity` sets its stock count; without one the count stays as it was."""
    report = ImportReport()
    rows: dict[str, FeedRow] = {}
    for parsed in read_feed(data):
        if isinstance(parsed, RowProblem):
            report.skipped.append(SkippedRow(parsed.line, parsed.reason))
            continue
        problem = _unstorable(parsed)
        if problem is not None:
            report.skipped.append(problem)
            continue
        rows[parsed.product_id] = parsed
    # In id order, as stock holds lock products (store/stock, in the database's order: the
    # same as Python's under the C collation), so that an import and a checkout over the
    # same products on PostgreSQL wait for each other rather than deadlock (PostgreSQL
    # would abort one of the two, whole).
    report.imported = repo.upsert_products(rows[pid].as_values(now) for pid in sorted(rows))
    repo.set_stock_counts({pid: row.stock for pid, row in rows.items() if row.stock_given})
    return report
