"""A form's problems, each shown beside its field (templates/_field_error.html; issue 14),
and what the top of the form says about them."""

from __future__ import annotations


def problems_summary(fields: dict[str, str]) -> str | None:
    """The one problem as it is, or how many there are; None when there is none."""
    if len(fields) <= 1:
        return next(iter(fields.values()), None)
    return f"There are {len(fields)} problems with the form: each is shown beside its field."
