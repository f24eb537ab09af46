"""CSV cells a spreadsheet shows and never runs (the funnel's CSV, the sales' invoices)."""

from __future__ import annotations

import unicodedata

__all__ = ["csv_cell"]

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection), and
# reads their fullwidth and small forms (`＝`, `﹢`) as them: compared after NFKC.
# https://owasp.org/www-community/attacks/CSV_Injection
_FORMULA_STARTS = frozenset("=+-@")
# Nor may a cell start with what a spreadsheet skips before a formula: spaces (a no-break
# one too), tab, line breaks and other controls, invisible format characters.
_SKIPPED_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def csv_cell(value: object) -> str:
    """A cell a spreadsheet will show, never run: formula-like text gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text and _may_run(text[0]) else text


def _may_run(first: str) -> bool:
    if unicodedata.category(first) in _SKIPPED_CATEGORIES:
        return True
    return unicodedata.normalize("NFKC", first)[:1] in _FORMULA_STARTS
