"""Live sales (issue 13): claims recorded as they arrive, settled in platform-time order.

A claim is recorded provisional in the ingest's transaction (once per network and post id:
a redelivered reply changes nothing). `settle` then settles every claim whose own time plus
the settle window (`claim_settle_seconds`) has passed: per sale item, under the item's row
lock (store/sales.lock_item), it reads the item's claims afresh and serves the due ones in
rank order (domain/sales.rank_key) with the allocation rule (domain/sales.allocate). A
claim arriving late but inside its window takes its place; one arriving after its slot was
handed out finds the units gone and joins the waitlist, and is told so.

Winners get a hold (a stock reservation on the product, store/stock) until the sale's
`hold_hours`, an invoice (one per shopper and sale) and a `claim_won` reply; an unlinked
winner's hold lasts `unlinked_hold_minutes` with one link prompt, and becomes theirs when they
link before it runs out. Units freed by a `pass`, an unpaid hold running out or an unlinked
hold lapsing go to the waitlist, first by platform time (`claim_promoted`).

Runs inside the ingest batch that recorded claims (services/handlers/claim) and on its own
(`hashcart sales settle`, serve's timer: `settle_sales`). Both commit a step's winners
first and write the claims it waitlisted at its end in a second transaction
(`settle_winners_first`, `Losers.write`): in a burst those are thousands, and the winners'
replies no longer wait for them. Until then they are provisional and due, as if not settled
yet (a crash between the two leaves them to the next pass).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hashcart.clock import Clock
from hashcart.domain.messages import Reason, SaleFacts
from hashcart.domain.posts import Network
from hashcart.domain.sales import (
    Claim,
    ClaimAction,
    Outcome,
    RankedClaim,
    SaleInputError,
    allocate,
    rank_key,
)
from hashcart.domain.variants import Options
from hashcart.ports import (
    Contact,
    NewClaim,
    NewSaleItem,
    Repository,
    Sale,
    SaleItem,
    SaleRecords,
    StoredClaim,
    UnitsOfWork,
)
from hashcart.services.beats import Beat
from hashcart.services.notify import Notices
from hashcart.services.settle_first import SettleFirst
from hashcart.services.shop import Shop

__all__ = [
    "ClaimAsk",
    "Losers",
    "SettleCounts",
    "SettleTimer",
    "close_sale",
    "invoice_url",
    "open_sale",
    "record_claims",
    "sale_posts_now",
    "settle",
    "settle_sales",
    "settle_winners_first",
]

# How many of a sale's items a `claim_unknown_item` reply lists before "and N more".
MAX_LISTED_ITEMS = 8
# A won item is held unpaid at most this long (a month).
MAX_HOLD_HOURS = 24 * 31
HELD = ("held", "paid")


@dataclass(frozen=True, slots=True)
class ClaimAsk:
    """A reply to a sale post that names an item, as the claim kind's handler read it."""

    sale_id: int
    network: Network
    post_id: str
    account_id: str
    handle: str
    posted_at: datetime
    claim: Claim


@dataclass
class SettleCounts:
    settled: int = 0
    won: int = 0
    waitlisted: int = 0
    promoted: int = 0
    released: int = 0
    refused: int = 0
    messages: int = 0
    # Items (and claims naming no item) left to the settler that held them (skip_busy).
    busy: int = 0

    def add(self, other: SettleCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def record_claims(repo: Repository, asks: Sequence[ClaimAsk], now: datetime) -> int:
    """Record the claims, provisional; how many were new."""
    return repo.sales.add_claims(
        [
            NewClaim(
                sale_id=ask.sale_id,
                network=ask.network,
                post_id=ask.post_id,
                account_id=ask.account_id,
                handle=ask.handle,
                action=ask.claim.action,
                item_number=ask.claim.item,
                words=ask.claim.words,
                quantity=ask.claim.quantity,
                posted_at=ask.posted_at,
            )
            for ask in asks
        ],
        now,
    )


def settle_sales(
    units: UnitsOfWork,
    shop: Shop,
    clock: Clock,
    *,
    skip_busy: bool = False,
    first: SettleFirst | None = None,
) -> SettleCounts:
    """Settle what is due now (see `settle` for skip_busy): the winners in a unit of work
    of their own, the step's last waitlisted in the next (`settle_winners_first`).
    `first`: the process's live sink waits while the winners are decided and committed."""
    with first.settling() if first is not None else nullcontext():
        now = clock.now()
        with units() as uow:
            counts, losers = settle_winners_first(uow.repository, shop, now, skip_busy=skip_busy)
    if losers:
        with units() as uow:
            counts.add(losers.write(uow.repository))
    return counts


def settle(repo: Repository, shop: Shop, now: datetime, *, skip_busy: bool = False) -> SettleCounts:
    """Settle every due claim and review every hold that needs it (see the module's text),
    in the caller's transaction; the messages are queued in it too (the outbox rule).

    `skip_busy`: an item another transaction is settling is left to it instead of waited
    for (SKIP LOCKED). The passes run on a beat by several processes at once (`hashcart
    worker`s, `serve`) take it, so each item is settled by one of them at a time and none
    queues behind another to find nothing left to do; what the holder did not see yet, and
    the items after a busy one, the next beat settles. An ingest batch waits instead: the
    claims it records are settled in its own transaction when due."""
    return _Settling(repo, shop, now, skip_busy).run()


def settle_winners_first(
    repo: Repository, shop: Shop, now: datetime, *, skip_busy: bool = False
) -> tuple[SettleCounts, Losers]:
    """`settle`, but the claims it waitlists at its end are left provisional (neither
    written nor told): the caller commits the winners (their holds, invoices and replies)
    and then writes those in a transaction of its own (`Losers.write`), so the winners'
    replies are not held back by the losers' bulk. Left provisional they are still due: if
    that second transaction never comes (a crash), the next pass settles them afresh."""
    settling = _Settling(repo, shop, now, skip_busy, defer_waitlisted=True)
    counts = settling.run()
    return counts, settling.losers


@dataclass
class Losers:
    """A settle step's last waitlisted claims, decided under their items' locks and not
    written yet (`settle_winners_first`)."""

    shop: Shop
    now: datetime
    skip_busy: bool
    # Claim id -> (its item, the product it waits for).
    claims: dict[int, tuple[int, str]] = field(default_factory=dict)
    tells: list[_Tell] = field(default_factory=list)
    # The step's accounts as it read them (linked: their contact; else None), so their
    # replies are routed without reading them again a few milliseconds later.
    contacts: dict[tuple[Network, str], Contact] = field(default_factory=dict)
    customers: dict[tuple[str, str], int | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.claims)

    def write(self, repo: Repository) -> SettleCounts:
        """Write them, with their board lines and replies, in the caller's transaction: an
        item's all as decided if they are all still provisional under its lock (no settler
        took the item since: any settle pass on it settles them, all due), none otherwise
        (that settler has settled them, or the next will). What was written is counted."""
        records = repo.sales
        items = sorted({item_id for item_id, _ in self.claims.values()})
        locked = {item.id for item in records.lock_items(items, skip_locked=self.skip_busy)}
        still = records.provisional_among(list(self.claims))
        gone = {item_id for claim, (item_id, _) in self.claims.items() if claim not in still}
        kept = {
            claim: product
            for claim, (item_id, product) in self.claims.items()
            if item_id in locked and item_id not in gone
        }
        records.waitlist_claims(kept, self.now)
        settling = _Settling(repo, self.shop, self.now, self.skip_busy)
        settling._contacts, settling._customers = self.contacts, self.customers
        settling.tells = [told for told in self.tells if told.claim.id in kept]
        settling.counts.settled = settling.counts.waitlisted = len(kept)
        settling._send()
        return settling.counts


def sale_posts_now(units: UnitsOfWork) -> dict[tuple[str, str], int]:
    """Every sale's posts as the database has them now: a long-running process compares
    them with its shop's (`Shop.sale_posts`) to learn a sale opened since it read the shop,
    before the replies to it are read (a claim carries no tag; only its parent names it).
    `units`: read-only ones where there are (on SQLite they never wait for the writer)."""
    with units() as uow:
        return uow.repository.sales.post_sales()


def invoice_url(shop: Shop, invoice_id: int) -> str:
    return f"{shop.public_url}/orders/invoice/{invoice_id}"


def _rank(claim: StoredClaim) -> tuple[datetime, str, str]:
    return rank_key(claim.posted_at, claim.post_id, claim.network)


@dataclass
class _Tell:
    claim: StoredClaim
    reason: Reason
    title: str
    facts: SaleFacts
    # A waitlisted claim's place, apart from `facts` (whose place is 0 then): its reply is
    # its item's rendering (`Notices.tell_placed`), and its facts are one object an item.
    place: int = 0


@dataclass
class _Settling:
    repo: Repository
    shop: Shop
    now: datetime
    skip_busy: bool = False
    # The waitlisted of the step's end left to a transaction of their own (`losers`).
    defer_waitlisted: bool = False
    counts: SettleCounts = field(default_factory=SettleCounts)
    tells: list[_Tell] = field(default_factory=list)
    losers: Losers = field(init=False)
    _sales: dict[int, Sale] = field(default_factory=dict)
    _customers: dict[tuple[str, str], int | None] = field(default_factory=dict)
    _contacts: dict[tuple[Network, str], Contact] = field(default_factory=dict)
    # Read once a step: a product's price as messages say it, a shopper's sale invoice.
    _prices: dict[str, str | None] = field(default_factory=dict)
    _invoices: dict[tuple[int, int], int] = field(default_factory=dict)
    # A waitlisted claim's facts but its place, one object an item number (`_waitlist`).
    _waitlisted_facts: dict[str, SaleFacts] = field(default_factory=dict)
    # Claims waitlisted in this step (claim id -> the product it waits for), not written yet.
    _waitlisted: dict[int, str] = field(default_factory=dict)
    # Held claims waiting for their invoice and their row's write (`_attach`, `_write`).
    _attaching: list[tuple[StoredClaim, int, Sale, SaleItem, bool, dict[str, Any]]] = field(
        default_factory=list
    )
    # Changes of claims' rows not written yet: (claim id, columns).
    _updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def records(self) -> SaleRecords:
        return self.repo.sales

    def run(self) -> SettleCounts:
        records = self.records
        cutoff = self.now - self.shop.claim_settle
        review = records.holds_to_review(self.now)
        for claim in sorted(records.due_without_item(cutoff), key=_rank):
            # No item to lock: the claim's own row decides who answers it.
            if records.take_claim(claim.id, skip_locked=self.skip_busy):
                self._no_such_item(claim)
            else:
                self.counts.busy += 1
        due_items = records.due_items(cutoff)
        items = sorted(due_items | {c.item_id for c in review if c.item_id is not None})
        # In id order: two settlers lock items in the same order and never deadlock. A pass
        # that skips a busy item stops there (the rest waits for the next beat): taking a
        # later item while another transaction holds an earlier one would lock out of order
        # (two items of one product: the product's stock row), and could deadlock.
        # All in a few statements (the items locked together, their claims and waitlists
        # read together, the waitlisted written together), not a few per item: a burst
        # has claims due on every item at every pass.
        locked = records.lock_items(items, skip_locked=self.skip_busy)
        self.counts.busy += len(items) - len(locked)
        # An item without a per-shopper limit needs its quiet holds' units only, unless a
        # `pass` among its due claims gives a shopper's back (`_pass` reads them then).
        summed = [item.id for item in locked if item.limit is None]
        claims, quiet = records.claims_to_settle_summing(
            [item.id for item in locked], cutoff, self.now, summed
        )
        passing = [
            item_id
            for item_id in summed
            if any(
                c.action == ClaimAction.PASS and c.status == "provisional" for c in claims[item_id]
            )
        ]
        if passing:
            for claim in records.quiet_holds_of(passing, self.now):
                assert claim.item_id is not None
                claims[claim.item_id].append(claim)
            for item_id in passing:
                quiet[item_id] = 0
        self._know_customers([claim for item in locked for claim in claims[item.id]])
        due = {
            item.id: sorted((c for c in claims[item.id] if c.status == "provisional"), key=_rank)
            for item in locked
        }
        records.open_holds({item.product_id for item in locked}, self.now)
        # What places a due claim on its item's waitlist, counted by the database at once.
        moments = sorted({(item_id, c.posted_at) for item_id, cs in due.items() for c in cs})
        totals, after = records.waitlist_places([item.id for item in locked], moments)
        later: dict[int, dict[datetime, tuple[int, list[tuple[str, str]]]]] = defaultdict(dict)
        for (item_id, at), counted in zip(moments, after, strict=True):
            later[item_id][at] = counted
        for item in locked:
            waiting = _Waitlist(records, item.id, totals[item.id], later[item.id])
            self._settle_item(item, claims[item.id], due[item.id], waiting, quiet.get(item.id, 0))
        self.losers = Losers(self.shop, self.now, self.skip_busy)
        if self.defer_waitlisted and self._waitlisted:
            self._defer()
        self._write()
        records.write_holds()
        self._send()
        return self.counts

    def _defer(self) -> None:
        """The claims waitlisted since the last write, and their replies, to `losers`:
        left provisional here (not counted either: `Losers.write` counts them)."""
        waitlisted, self._waitlisted = self._waitlisted, {}
        self.losers.contacts, self.losers.customers = self._contacts, self._customers
        tells: list[_Tell] = []
        for told in self.tells:
            claim = told.claim
            if claim.id in waitlisted and told.reason is Reason.CLAIM_WAITLISTED:
                assert claim.item_id is not None
                self.losers.claims[claim.id] = (claim.item_id, waitlisted[claim.id])
                self.losers.tells.append(told)
            else:
                tells.append(told)
        self.tells = tells
        self.counts.settled -= len(waitlisted)
        self.counts.waitlisted -= len(waitlisted)

    # --- one item, under its lock ---

    def _settle_item(
        self,
        item: SaleItem,
        claims: list[StoredClaim],
        due: list[StoredClaim],
        waiting: _Waitlist,
        quiet: int,
    ) -> None:
        """Settle the locked item: its held and paid claims and its due ones (`claims`),
        the due ones in rank order (`due`), its waitlist (`waiting`); `quiet`: the units of
        its holds left out of `claims` (none of them changes here, and with no per-shopper
        limit and no `pass`, who holds them does not matter)."""
        sale = self._sale(item.sale_id)
        held = [c for c in claims if c.status in HELD]
        free = item.stock - quiet - sum(c.quantity for c in held)
        kept: list[StoredClaim] = []
        for claim in held:
            freed = self._review(claim, sale, item)
            if freed:
                free += freed
            else:
                kept.append(claim)
        held_by: dict[str, int] = defaultdict(int)
        for claim in kept:
            held_by[self._shopper(claim)] += claim.quantity
        for claim in due:
            self.counts.settled += 1
            if sale.closed_at is not None and claim.posted_at > sale.closed_at:
                self._refuse(claim, Reason.SALE_CLOSED, "sale_closed", item, sale=sale.name)
            elif claim.action == ClaimAction.PASS:
                freed, shopper = self._pass(claim, kept, waiting, item)
                free += freed
                held_by[shopper] -= freed
            else:
                product = self._variant(item, claim)
                if product is None:
                    continue
                if item.limit is None and claim.quantity > free:
                    # What `allocate` answers without a limit when the claim does not fit:
                    # once an item's units are gone, the rest of a burst's due claims.
                    self._waitlist(claim, product, item, waiting)
                    continue
                shopper = self._shopper(claim)
                ranked = RankedClaim(claim.id, shopper, claim.quantity, _rank(claim))
                outcome = allocate([ranked], free, item.limit, held_by).outcomes[claim.id]
                if outcome is Outcome.LIMIT:
                    self._refuse(claim, Reason.CLAIM_LIMIT, "limit", item, limit=item.limit or 0)
                elif outcome is Outcome.WON and self._hold(claim, product, sale, item):
                    free -= claim.quantity
                    held_by[shopper] += claim.quantity
                    kept.append(claim)
                else:
                    self._waitlist(claim, product, item, waiting)
        self._promote(waiting, free, held_by, sale, item)

    def _review(self, claim: StoredClaim, sale: Sale, item: SaleItem) -> int:
        """A held claim's hold: linked meanwhile, run out, or owed its reminder. The units
        it frees (0: it still holds them)."""
        if claim.status != "held":
            return 0
        assert claim.hold_until is not None
        if claim.customer_id is None:
            customer = self._customer(claim)
            if customer is not None:
                self._attach(claim, customer, sale, item)
                return 0
            if claim.hold_until <= self.now:
                return self._release(claim, item, "this account was not linked in time")
            return 0
        if claim.hold_until <= self.now:
            return self._release(claim, item, "not paid in time")
        if claim.remind_at is not None and claim.remind_at <= self.now:
            self.records.update_claim(claim.id, remind_at=None)
            self._tell(claim, Reason.INVOICE_DUE, item, claim.product_id, **self._pay(claim))
        return 0

    def _pass(
        self,
        claim: StoredClaim,
        held: list[StoredClaim],
        waitlist: _Waitlist,
        item: SaleItem,
    ) -> tuple[int, str]:
        """`pass 12`: the shopper's holds of the item (not paid ones) and their place on its
        waitlist go; the units freed."""
        self._write()
        shopper = self._shopper(claim)
        freed = 0
        # Not paid: held before this settle step, or won in it (still "provisional" here).
        for mine in [c for c in held if c.status != "paid" and self._shopper(c) == shopper]:
            held.remove(mine)
            freed += self._release(mine, item, "", tell=False)
        waiting = waitlist.whole()
        self._know_customers(waiting)
        for mine in [c for c in waiting if self._shopper(c) == shopper]:
            waiting.remove(mine)
            self.records.update_claim(mine.id, status="released", settled_at=self.now)
        self.records.update_claim(claim.id, status="done", settled_at=self.now)
        if freed:
            self._tell(claim, Reason.CLAIM_RELEASED, item, item.product_id, why="as you asked")
        return freed, shopper

    def _promote(
        self,
        waitlist: _Waitlist,
        free: int,
        held_by: dict[str, int],
        sale: Sale,
        item: SaleItem,
    ) -> None:
        """Freed units to the waitlist, first by platform time (first fit)."""
        if free <= 0:
            return
        waiting = waitlist.whole()
        self._know_customers(waiting)
        for claim in list(waiting):
            if free <= 0:
                return
            if claim.id in self._waitlisted:
                self._write()  # waitlisted in this step: written before it changes again
            shopper = self._shopper(claim)
            ranked = RankedClaim(claim.id, shopper, claim.quantity, _rank(claim))
            outcome = allocate([ranked], free, item.limit, held_by).outcomes[claim.id]
            if outcome is Outcome.LIMIT:
                waiting.remove(claim)
                self._refuse(claim, Reason.CLAIM_LIMIT, "limit", item, limit=item.limit or 0)
            elif outcome is Outcome.WON:
                product = claim.product_id or item.product_id
                if self._hold(claim, product, sale, item, promoted=True):
                    waiting.remove(claim)
                    free -= claim.quantity
                    held_by[shopper] += claim.quantity

    # --- the steps of a claim ---

    def _hold(
        self,
        claim: StoredClaim,
        product: str,
        sale: Sale,
        item: SaleItem,
        *,
        promoted: bool = False,
    ) -> bool:
        """The claim wins: the product's units held, the claim in the shopper's invoice (an
        unlinked shopper's for `unlinked_hold` only, and a link prompt). False: the product's
        own stock count has too few left."""
        hold = timedelta(hours=sale.hold_hours)
        reserve_until = self.now + hold + self.shop.unlinked_hold
        if not self.records.hold_stock(claim.id, product, claim.quantity, self.now, reserve_until):
            return False
        customer = self._customer(claim)
        values: dict[str, Any] = {"status": "held", "product_id": product}
        if claim.status == "provisional":
            values["settled_at"] = self.now
        held = StoredClaim(**{**_fields(claim), "product_id": product})
        if customer is None:
            until = self.now + self.shop.unlinked_hold
            self._updates.append((claim.id, {"hold_until": until, **values}))
            minutes = self.shop.unlinked_hold.total_seconds() / 60
            self._tell(
                held, Reason.LINK_NEEDED, item, product, minutes=minutes, **self._price(product)
            )
        else:
            # One write with `_attach`'s: a burst's winners are the settle step's round trips.
            self._attach(held, customer, sale, item, promoted=promoted, **values)
        if promoted:
            self.counts.promoted += 1
        else:
            self.counts.won += 1
        return True

    def _attach(
        self,
        claim: StoredClaim,
        customer: int,
        sale: Sale,
        item: SaleItem,
        *,
        promoted: bool = False,
        **values: Any,
    ) -> None:
        """The held claim becomes its linked shopper's: in their invoice, held for the sale's
        `hold_hours` from now, reminded when a quarter of that is left (`values`: more of the
        claim's columns to write with these). Done at `_write`, with the others: the
        shoppers' invoices looked up or made together, the claims' rows written together."""
        self._attaching.append((claim, customer, sale, item, promoted, values))

    def _attached(
        self,
        claim: StoredClaim,
        customer: int,
        sale: Sale,
        item: SaleItem,
        promoted: bool,
        values: dict[str, Any],
    ) -> None:
        hold = timedelta(hours=sale.hold_hours)
        until = self.now + hold
        invoice = self._invoices[(sale.id, customer)]
        self._updates.append(
            (
                claim.id,
                {
                    "customer_id": customer,
                    "invoice_id": invoice,
                    "hold_until": until,
                    "remind_at": until - hold / 4,
                    **values,
                },
            )
        )
        attached = StoredClaim(
            **{
                **_fields(claim),
                "invoice_id": invoice,
                "hold_until": until,
                "customer_id": customer,
            }
        )
        reason = Reason.CLAIM_PROMOTED if promoted else Reason.CLAIM_WON
        self._tell(attached, reason, item, claim.product_id, **self._pay(attached))

    def _release(self, claim: StoredClaim, item: SaleItem, why: str, *, tell: bool = True) -> int:
        self.records.release_stock(claim.id, self.now)
        self.records.update_claim(claim.id, status="released", remind_at=None)
        self.counts.released += 1
        if tell:
            self._tell(claim, Reason.CLAIM_RELEASED, item, claim.product_id, why=why)
        return claim.quantity

    def _waitlist(
        self, claim: StoredClaim, product: str, item: SaleItem, waitlist: _Waitlist
    ) -> None:
        # Written together (`_write`): a burst waitlists thousands a second.
        self._waitlisted[claim.id] = product
        self.counts.waitlisted += 1
        place = waitlist.add(claim)
        title = self.shop.title(product) if product else ""  # as `_tell` says it
        facts = self._waitlisted_facts.get(item.number)
        if facts is None:
            facts = self._waitlisted_facts[item.number] = SaleFacts(item=item.number)
        self.tells.append(_Tell(claim, Reason.CLAIM_WAITLISTED, title, facts, place))

    def _write(self) -> None:
        """The claims waitlisted and held so far, written (before anything that reads or
        changes them: a `pass`, a promotion; else once at the end of the step): a burst
        settles thousands a second, and a few statements a claim were its cost."""
        if self._attaching:
            attaching, self._attaching = self._attaching, []
            wanted: dict[int, set[int]] = defaultdict(set)
            for _, customer, sale, *_ in attaching:
                if (sale.id, customer) not in self._invoices:
                    wanted[sale.id].add(customer)
            for sale_id, customers in wanted.items():
                found = self.records.invoices_for(sale_id, sorted(customers), self.now)
                for customer, invoice in found.items():
                    self._invoices[(sale_id, customer)] = invoice
            for attach in attaching:
                self._attached(*attach)
        # The winners first: the board's stream shows a step's winners before its waitlist.
        if self._updates:
            self.records.update_each_claim(self._updates)
            self._updates = []
        if self._waitlisted:
            self.records.waitlist_claims(self._waitlisted, self.now)
            self._waitlisted = {}

    def _refuse(
        self, claim: StoredClaim, reason: Reason, why: str, item: SaleItem | None, **facts: Any
    ) -> None:
        self.records.update_claim(claim.id, status="refused", refusal=why, settled_at=self.now)
        self.counts.refused += 1
        self._tell(claim, reason, item, item.product_id if item else None, **facts)

    def _no_such_item(self, claim: StoredClaim) -> None:
        """A claim naming an item number the sale lacks: what the sale has."""
        self.counts.settled += 1
        sale = self._sale(claim.sale_id)
        if sale.closed_at is not None and claim.posted_at > sale.closed_at:
            self._refuse(claim, Reason.SALE_CLOSED, "sale_closed", None, sale=sale.name)
            return
        listed = [f"#{i.number} {self.shop.group_title(i.product_id)}" for i in sale.items]
        more = len(listed) - MAX_LISTED_ITEMS
        exists = ", ".join(listed[:MAX_LISTED_ITEMS]) + (f" and {more} more" if more > 0 else "")
        self._refuse(claim, Reason.CLAIM_UNKNOWN_ITEM, "unknown_item", None, exists=exists)

    def _variant(self, item: SaleItem, claim: StoredClaim) -> str | None:
        """The product the claim's words pick (the item's own when it has no variants); None
        when they pick none, and the shopper is told which exist."""
        chosen = self.shop.variants.choose(item.product_id, claim.words)
        if not isinstance(chosen, Options):
            return chosen
        parts = []
        if chosen.colors:
            parts.append("colours " + ", ".join(chosen.colors))
        if chosen.sizes:
            parts.append("sizes " + ", ".join(chosen.sizes))
        title = self.shop.group_title(item.product_id)
        exists = f"#{item.number} {title} in " + "; ".join(parts)
        self._refuse(
            claim,
            Reason.CLAIM_UNKNOWN_ITEM,
            "unknown_variant",
            item,
            variant=" ".join(claim.words),
            exists=exists,
        )
        return None

    # --- who, and what we tell them ---

    def _know_customers(self, claims: Sequence[StoredClaim]) -> None:
        """Who the claims' unlinked-so-far accounts belong to, read in one go."""
        keys = {
            (Network(c.network), c.account_id)
            for c in claims
            if c.customer_id is None and (c.network, c.account_id) not in self._customers
        }
        if not keys:
            return
        contacts = self.repo.contacts_for_accounts(sorted(keys))
        self._contacts.update(contacts)
        for key in keys:
            contact = contacts.get(key)
            self._customers[key] = contact.customer_id if contact is not None else None

    def _customer(self, claim: StoredClaim) -> int | None:
        if claim.customer_id is not None:
            return claim.customer_id
        key = (claim.network, claim.account_id)
        if key not in self._customers:
            self._customers[key] = self.repo.customer_for_account(
                Network(claim.network), claim.account_id
            )
        return self._customers[key]

    def _shopper(self, claim: StoredClaim) -> str:
        """One key per shopper: their customer when linked, else their account."""
        customer = self._customer(claim)
        return f"c:{customer}" if customer is not None else f"a:{claim.network}:{claim.account_id}"

    def _sale(self, sale_id: int) -> Sale:
        if sale_id not in self._sales:
            found = self.records.of_id(sale_id)
            assert found is not None, f"sale {sale_id} has claims but no row"
            self._sales[sale_id] = found
        return self._sales[sale_id]

    def _price(self, product_id: str | None) -> dict[str, Any]:
        if not product_id:
            return {}
        if product_id not in self._prices:
            priced = self.repo.buys.priced(product_id)
            self._prices[product_id] = (
                None
                if priced is None or priced.price is None
                else f"{priced.price:.2f} {priced.currency or ''}".rstrip()
            )
        price = self._prices[product_id]
        return {} if price is None else {"price": price}

    def _pay(self, claim: StoredClaim) -> dict[str, Any]:
        facts = self._price(claim.product_id)
        if claim.hold_until is not None:
            facts["pay_by"] = f"{claim.hold_until:%a %d %b %H:%M} UTC"
        if claim.invoice_id is not None:
            facts["link"] = invoice_url(self.shop, claim.invoice_id)
        return facts

    def _tell(
        self,
        claim: StoredClaim,
        reason: Reason,
        item: SaleItem | None,
        product_id: str | None,
        **facts: Any,
    ) -> None:
        title = self.shop.title(product_id) if product_id else ""
        number = item.number if item is not None else claim.item_number
        self.tells.append(_Tell(claim, reason, title, SaleFacts(item=number, **facts)))

    def _send(self) -> None:
        if not self.tells:
            return
        keys = {(Network(t.claim.network), t.claim.account_id) for t in self.tells}
        # Read in this step already: linked accounts with their contact, unlinked ones.
        known = {
            key
            for key in keys
            if key in self._contacts or (key in self._customers and self._customers[key] is None)
        }
        contacts = {key: self._contacts[key] for key in known if key in self._contacts}
        contacts.update(self.repo.contacts_for_accounts(sorted(keys - known)))
        notices = Notices(self.shop)
        for told in self.tells:
            claim = told.claim
            network = Network(claim.network)
            if told.place:
                contact = contacts.get((network, claim.account_id))
                placed = self.shop.waitlisted_reply(network, told.title, told.facts)
                notices.tell_placed(
                    network,
                    claim.account_id,
                    claim.handle,
                    claim.post_id,
                    contact,
                    placed,
                    told.place,
                )
                continue
            notices.tell(
                network,
                claim.account_id,
                claim.handle,
                claim.post_id,
                told.reason,
                contacts.get((network, claim.account_id)),
                title=told.title,
                sale=told.facts,
            )
        self.counts.messages += notices.flush(self.repo, self.now)
        self.tells = []


class _Waitlist:
    """An item's waitlist in rank order, read only as far as a settle step needs it: a
    new waitlisted claim's place is the count of stored ones ranked before it (all of them
    less those made after it, counted by the database: `SaleRecords.waitlist_places`)
    plus its rank among those added in this step; the whole list is read only for a `pass`
    or for freed units to promote. A burst's item waits for thousands of claims; reading
    them back for every step was the settle step's cost."""

    def __init__(
        self,
        records: SaleRecords,
        item_id: int,
        stored: int,
        later: dict[datetime, tuple[int, list[tuple[str, str]]]],
    ) -> None:
        self.records = records
        self.item_id = item_id
        # As the step began: how many were waitlisted; per due claim's time, how many of
        # them were made after it, and the (network, post id) of those made at it.
        self.stored = stored
        self.later = later
        # The claims waitlisted in this step (perhaps written already), and their keys.
        self.added: list[StoredClaim] = []
        self.keys: list[tuple[datetime, str, str]] = []
        self._whole: list[StoredClaim] | None = None

    def whole(self) -> list[StoredClaim]:
        """Every waitlisted claim, in rank order (the list itself: callers remove from it)."""
        if self._whole is None:
            stored = self.records.waitlist(self.item_id) if self.stored else []
            ids = {claim.id for claim in stored}
            added = [claim for claim in self.added if claim.id not in ids]
            self._whole = sorted([*stored, *added], key=_rank)
        return self._whole

    def add(self, claim: StoredClaim) -> int:
        """Put a due claim of this step on the list; its place (1: first)."""
        if self._whole is not None:
            bisect.insort(self._whole, claim, key=_rank)
            return self._whole.index(claim) + 1
        key = _rank(claim)
        if claim.posted_at not in self.later:
            moment = [(self.item_id, claim.posted_at)]
            self.later[claim.posted_at] = self.records.waitlist_places((), moment)[1][0]
        after, ties = self.later[claim.posted_at]
        at = claim.posted_at
        after += sum(1 for network, post_id in ties if rank_key(at, post_id, network) > key)
        self.added.append(claim)
        bisect.insort(self.keys, key)
        return self.stored - after + bisect.bisect_left(self.keys, key) + 1


def _fields(claim: StoredClaim) -> dict[str, Any]:
    return {name: getattr(claim, name) for name in claim.__dataclass_fields__}


# --- the merchant's sales (`hashcart sales`, the console) ---

MAX_NAME_CHARS = 100


def open_sale(
    units: UnitsOfWork,
    name: str,
    posts: Sequence[tuple[str, str]],
    items: Sequence[NewSaleItem],
    hold_hours: float,
    at: datetime,
) -> Sale:
    """Open a sale on `posts` selling `items`; SaleInputError / SaleExists say what is wrong."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise SaleInputError(f"a sale's name is 1 to {MAX_NAME_CHARS} printable characters")
    if not posts:
        raise SaleInputError("a sale runs on at least one post: --post NETWORK:POST_ID")
    if not items:
        raise SaleInputError("a sale sells at least one item: --item 12=PRODUCT_ID[:STOCK]")
    numbers = [item.number for item in items]
    if len(set(numbers)) != len(numbers):
        raise SaleInputError("each item number is given once")
    if not 0 < hold_hours <= MAX_HOLD_HOURS:
        raise SaleInputError(f"hold hours are more than 0 and at most {MAX_HOLD_HOURS}")
    with units() as uow:
        return uow.repository.sales.open(name, hold_hours, list(dict.fromkeys(posts)), items, at)


def close_sale(units: UnitsOfWork, name: str, at: datetime) -> Sale | None:
    """Close the sale: claims made after now are answered `sale_closed`; holds and invoices
    stay payable."""
    with units() as uow:
        return uow.repository.sales.close(name, at)


class SettleTimer(Beat):
    """The settle step for live sales of `hashcart serve`, `hashcart listen` and each
    `hashcart worker`, in a daemon thread, so a claim is settled soon after its window even
    when no new reply comes (ingest settles as claims arrive). Several processes
    run it side by side: each pass skips the items another is settling (`settle`'s
    skip_busy). The shop is read again every `reload` seconds (a sale opened meanwhile, the
    console's settings).

    While claims fall due the passes come every `claim_step` (0.25 s); after an idle pass,
    the next comes when the earliest provisional claim falls due (at most `every` later):
    a second's beat was most of the winners' budget past their window (`pause`).
    `first`: shared with the process's live sink, whose calls wait while a pass decides its
    winners (services/settle_first)."""

    name = "hashcart-sales"
    failure = "settling live sales failed; it runs again in %.0f s"

    def __init__(
        self,
        units: UnitsOfWork,
        shop_of: Callable[[], Shop],
        clock: Clock,
        every: float = 1.0,
        reload: float = 30.0,
        first: SettleFirst | None = None,
    ) -> None:
        super().__init__(every, first_at_once=False)
        self.units = units
        self.shop_of = shop_of
        self.clock = clock
        self.reload = reload
        self.first = first
        self._shop: Shop | None = None
        self._since_load = 0.0
        # Whether the last pass settled claims or left items to another settler; after an
        # idle one, when the earliest provisional claim falls due.
        self._busy = False
        self._next_due: datetime | None = None

    def describe(self) -> str:
        """Its line in `hashcart serve`'s banner."""
        every = f"{self.every:g}"
        return f"  live sales:       claims settled as they fall due (looked for every {every} s)"

    def beat(self) -> None:
        self._since_load += self.pause()
        if self._shop is None or self._since_load >= self.reload:
            self._shop, self._since_load = self.shop_of(), 0.0
        self._busy, self._next_due = False, None
        counts = settle_sales(self.units, self._shop, self.clock, skip_busy=True, first=self.first)
        self._busy = bool(counts.settled or counts.busy)
        if not self._busy:
            with self.units() as uow:
                first = uow.repository.sales.first_provisional_at()
            self._next_due = None if first is None else first + self._shop.claim_settle

    def pause(self) -> float:
        """After a pass that settled claims (or left items to another settler): the shop's
        `claim_step`, as a burst's batches settled, so that each pass has a slice worth its
        own statements (passes as soon as the next claim fell due, a few milliseconds
        apart, doubled PostgreSQL's CPU in a burst). After an idle pass: until the earliest
        provisional claim falls due (a sale's first winners), at most `every`."""
        if self._shop is None:
            return self.every
        step = self._shop.claim_step.total_seconds()
        busy = step if 0 < step < self.every else self.every
        if self._busy:
            return busy
        if self._next_due is None:
            return self.every
        until = (self._next_due - self.clock.now()).total_seconds()
        # Due already (it fell due as the pass ended): as while busy, never a loop at once.
        return min(until, self.every) if until > 0 else busy
