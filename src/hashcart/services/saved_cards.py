"""Removing a shopper's saved card, and the clean-ups that leave nothing at the provider.

A removed card is forgotten in hashcart at once: the row goes, so nothing that reads the
saved method (checkout, buying with a post) can charge it again. The same transaction owes
the provider the card's detachment (`ports.OwedCleanup`), which is then asked outside any
transaction; while the provider does not answer, the payment sweep asks again
(`hashcart serve` every minute, `hashcart payments retry`), on the same schedule as an owed
capture. Deleting an account owes the provider customer's deletion the same way
(store/account_data.erase_customer); both are settled here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hashcart.ports import (
    LOCAL_GATEWAYS,
    CleanupRefused,
    GatewayUnreachable,
    OwedCleanup,
    ProviderCleaner,
    SavedPaymentMethod,
    UnitsOfWork,
)
from hashcart.services.payment_steps import CLAIM_FOR, SWEEP_BATCH, kept_text, next_attempt_at

log = logging.getLogger(__name__)

CleanerFinder = Callable[[str], ProviderCleaner | None]


@dataclass(frozen=True)
class RemovedCard:
    card: SavedPaymentMethod
    cleanups: tuple[int, ...]  # the clean-ups owed for it (none for a local test card)


@dataclass(frozen=True)
class CleanupOutcome:
    """One owed clean-up asked about, for the command's report and the page's notice."""

    cleanup: OwedCleanup
    done: bool
    message: str


def remove_saved_card(units: UnitsOfWork, customer_id: int, now: datetime) -> RemovedCard | None:
    """Forget the shopper's saved card and owe its detachment; None when none is saved."""
    with units() as uow:
        card = uow.gateway_records.forget_method(customer_id)
        if card is None:
            return None
        owed: tuple[int, ...] = ()
        if card.gateway not in LOCAL_GATEWAYS:
            owed = (
                uow.gateway_records.owe_cleanup(
                    card.gateway, "detach_payment_method", card.method_id, now
                ),
            )
    return RemovedCard(card, owed)


def settle_cleanups(
    units: UnitsOfWork,
    cleaner_for: CleanerFinder,
    now: datetime,
    ids: Sequence[int] | None = None,
    limit: int = SWEEP_BATCH,
) -> list[CleanupOutcome]:
    """Ask the provider for every owed clean-up that is due (only `ids`, when given), each
    at most once and by one asker at a time (a claim), recording what became of it."""
    if ids is not None and not ids:
        return []
    with units() as uow:
        due = uow.gateway_records.cleanups_due(now, limit, ids)
    outcomes = []
    for owed in due:
        with units() as uow:
            if not uow.gateway_records.claim_cleanup(owed.id, now, now + CLAIM_FOR):
                continue  # another asker took it a moment ago
        outcomes.append(_attempt(units, cleaner_for(owed.gateway), owed, now))
    return outcomes


def _attempt(
    units: UnitsOfWork, cleaner: ProviderCleaner | None, owed: OwedCleanup, now: datetime
) -> CleanupOutcome:
    try:
        if cleaner is None:
            raise CleanupRefused(f"the gateway {owed.gateway!r} is not configured")
        if owed.action == "detach_payment_method":
            cleaner.detach_payment_method(owed.object_id)
        else:
            cleaner.delete_customer(owed.object_id)
    except (GatewayUnreachable, CleanupRefused) as failure:
        message = kept_text(str(failure) or type(failure).__name__)
    except Exception as failure:  # a bug or a surprise must not stop the other clean-ups
        log.exception("%s %s at %s failed", owed.action, owed.object_id, owed.gateway)
        message = kept_text(f"{type(failure).__name__}: {failure}")
    else:
        with units() as uow:
            uow.gateway_records.cleanup_done(owed.id, now)
        return CleanupOutcome(owed, True, "")
    retry_at = next_attempt_at(owed.attempts + 1, now)
    with units() as uow:
        after = uow.gateway_records.cleanup_failed(owed.id, message, now, retry_at)
    log.warning(
        "%s %s at %s not done (attempt %d%s): %s",
        owed.action,
        owed.object_id,
        owed.gateway,
        after.attempts,
        ", stopped" if after.stopped else "",
        message,
    )
    return CleanupOutcome(after, False, message)
