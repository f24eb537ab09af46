"""Ports: what the use cases ask of the world, and what the adapters (networks, listeners,
the store, the outbox) implement.

Only `domain` is imported here, so an adapter that types against these Protocols depends on
nothing but ports and domain. Each section is one seam; sections are kept apart so each can
grow on its own (a unit of work, a payment gateway…).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from hashcart.domain.carts import ListKind, can_be_bought
from hashcart.domain.messages import OutboundMessage
from hashcart.domain.offers import Offer, OfferTerms
from hashcart.domain.order_care import CustomerOrders, ShippingFacts
from hashcart.domain.posts import Network, Post
from hashcart.domain.stock import Shortage
from hashcart.errors import HashcartError

if TYPE_CHECKING:
    # Only the listeners' annotations name it: commands that never listen (`ingest`, `carts`)
    # need not load asyncio (about 20 ms) to import the ports (docs/benchmarks.md, "Start-up").
    import asyncio

    from pydantic import BaseModel

    from hashcart.domain.posts import Event
    from hashcart.domain.products import ShopHosts
    from hashcart.domain.triggers import TriggerWords

# --- clock ----------------------------------------------------------------------------------


class Clock(Protocol):
    """The one source of time; tests move theirs instead of sleeping."""

    def now(self) -> datetime: ...


# --- link resolving -------------------------------------------------------------------------

# (a post's links, its text) -> its links with short links' targets added (see shortlinks).
LinkResolver = Callable[[tuple[str, ...], str], tuple[str, ...]]


# --- live sink: where listeners and webhooks hand their payloads ------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a stream got to: `name` is the cursor's name in `stream_cursors` (a listener's
    name, or one per stream), `value` the stream's own position ("" forgets it)."""

    name: str
    value: str
    # A firehose's per-repository positions (DID, rev): each repository's newest commit
    # revision the batch carried, stored beside the cursor in the same transaction (issue 11,
    # atproto specs/sync). Empty for every other stream.
    revisions: tuple[tuple[str, str], ...] = ()


class IngestCounts(Protocol):
    """What one ingest call did, as a listener or a webhook reports it."""

    @property
    def lines(self) -> int: ...

    @property
    def posts(self) -> int: ...

    @property
    def triggers(self) -> int: ...

    @property
    def dead_letters(self) -> int: ...


class ShopTags(Protocol):
    """The tags the shop answers to now, for the streams that must ask their network for
    them (X stream rules, Mastodon hashtag streams)."""

    @property
    def every_tag(self) -> tuple[str, ...]:
        """Every registered kind's tags, link tags included."""
        ...

    @property
    def reply_tags(self) -> tuple[str, ...]:
        """The tags of kinds that act on a reply (`#cart`, `#wishlist`…)."""
        ...

    @property
    def post_tags(self) -> tuple[str, ...]:
        """The tags of kinds that act on a post of their own (`#cartlink CODE`), but for
        `addressed_tags`."""
        ...

    @property
    def addressed_tags(self) -> tuple[str, ...]:
        """The tags of post kinds that ask the shop itself (`@shop #order`, issue 12): asked
        for only in posts that mention the shop."""
        ...

    @property
    def offer_tags(self) -> tuple[str, ...]:
        """The tags of the offers on now (issue 12): asked for only in posts that reach the
        shop (replies to it, mentions of it); an offer that is over is left out of every
        property here."""
        ...

    @property
    def open_sale_posts(self) -> tuple[tuple[str, str], ...]:
        """(network, post id) of the open live sales' posts (issue 13): their replies are
        claims, which carry no tag, so a stream that asks its network for what it wants (X's
        rules) asks for those replies too while the sale is open."""
        ...


class LiveSink(Protocol):
    """The one door live payloads come in by."""

    def ingest(
        self,
        source: str,
        fmt: str,
        payloads: Sequence[bytes],
        *,
        fetch_parents: bool = True,
        cursor: Cursor | None = None,
    ) -> IngestCounts:
        """Ingest payloads (one JSON document each) in format `fmt` and commit; `cursor`, if
        given, is written in the same transaction as the batch's last commit, so a restart
        resumes exactly after what was kept. Parents triggers wait for are fetched after,
        unless `fetch_parents` is False (then the caller calls `fetch_parents`)."""
        ...

    def fetch_parents(self) -> IngestCounts: ...

    def read_cursor(self, name: str) -> str | None:
        """The cursor stored under `name`, None if there is none."""
        ...

    # --- repository revisions (issue 11) ---
    def read_revisions(self, dids: Sequence[str]) -> dict[str, str]:
        """The newest committed rev of each of `dids` that has one (a firehose's, stored
        with its cursor: `Cursor.revisions`)."""
        ...

    def current_tags(self) -> ShopTags: ...

    def needs_confirmation(self, post: Post) -> bool:
        """Whether `post` would change a cart or a link (an unsigned source must confirm it
        against the author's own repository before handing it over)."""
        ...

    def setting(self, key: str) -> str | None:
        """One network setting in force (the console's over the file's), None when unset."""
        ...

    def now(self) -> datetime: ...


class DeliveryLog(Protocol):
    """Webhook deliveries already taken: networks deliver at least once."""

    def was_delivered(self, source: str, event_id: str) -> bool: ...

    def mark_delivered(self, source: str, event_id: str) -> None:
        """Remember a delivery; called only after the sink committed it."""
        ...


# --- what network adapters keep: small store ports (implemented in store/) -----------------


class SealedSessions(Protocol):
    """A network's sessions of the shop's own account (an OAuth token set, a login), kept
    sealed with the token_key under a name: read, and replaced."""

    def read(self, name: str) -> str | None: ...

    def keep(self, name: str, sealed: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Resolution:
    """A short link's outcome: its `target`, or the `problem` that stopped us."""

    url: str
    target: str | None
    problem: str | None


class ResolvedLinks(Protocol):
    """The short-link cache: where each short link led, or why it could not be followed."""

    def lookup(self, url: str) -> Resolution | None: ...

    def record(self, resolution: Resolution) -> None: ...


# --- listeners ------------------------------------------------------------------------------


class Listener(Protocol):
    # Names the listener in logs and its cursor in `stream_cursors` (x_stream, jetstream…).
    name: str

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting with backoff after every failure; hand
        each batch to the sink (`await asyncio.to_thread(sink.ingest, …)`) with the cursor
        it reaches, so the two commit together."""
        ...


# --- parent fetching ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """The API's answer as payload lines in `fmt` (X v2 lookup, Mastodon status, Jetstream-
    shaped event), or no lines when the network says the post does not exist."""

    fmt: str
    lines: tuple[bytes, ...]


class FetchFailed(HashcartError):
    """The network could not be asked now (down, rate-limited): the sink tries later."""


class ParentFetcher(Protocol):
    def fetch(self, post_id: str) -> Fetched:
        """Fetch the post `post_id` (the id as triggers name it); raise FetchFailed."""
        ...


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxItem:
    """One claimed outbox row, as a sender sees it."""

    id: int
    network: str  # x | mastodon | bluesky | email | a registered network
    channel: Literal["reply", "private", "email"]
    account_id: str  # the shopper's account on `network` (an address for email)
    in_reply_to: str  # the trigger post the message answers ("" for email)
    reason: str
    text: str
    subject: str | None
    dedupe_key: str
    attempts: int  # attempts before this one
    # Set when an earlier attempt began and its end is unknown (a crash): a sender without
    # an idempotency key (X) looks for what it may have sent before sending again.
    attempt_started_at: datetime | None = None
    # Set when an earlier attempt began handing the message over in a way nobody can ask
    # about afterwards (SMTP's DATA) and its end is unknown: it may have been delivered, so
    # sending it again may deliver it twice.
    delivery_started_at: datetime | None = None
    # A private message only: an earlier one to the same account went out but may not have
    # been seen (`Sent.may_be_unseen`). A sender that finds the same cause again fails this
    # one for good, so that the dispatcher sends it by email instead.
    earlier_unseen: bool = False


@dataclass(frozen=True)
class Sent:
    """Delivered; `remote_id` is the network's id for it (a post id, an AT-URI…).
    `may_be_unseen`: why the shopper may never see it (a private message their own
    notification settings file away), for the console; None when nothing says so."""

    remote_id: str | None = None
    may_be_unseen: str | None = None


class SendFailed(HashcartError):
    """The message did not go. `permanent` failures are never retried: the dispatcher marks
    them failed with `reason` (the console shows it) and emails the shopper instead.
    Temporary ones are retried with backoff, not before `retry_at` when the network said when.
    `end_unknown`: the message may have gone all the same (the connection dropped after SMTP's
    DATA began), so the next attempt is told so. `account_gone`: the network says the
    recipient's account no longer exists (deleted, suspended); with `permanent`, the
    dispatcher forgets it (Repository.forget_network_account) once the email is queued."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_at: datetime | None = None,
        end_unknown: bool = False,
        account_gone: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_at = retry_at
        self.end_unknown = end_unknown
        self.account_gone = account_gone


class Sender(Protocol):
    """Sends one network's messages (`network` is the outbox's network column). A sender
    never touches the database; the dispatcher claims, retries, falls back and records."""

    network: str

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        """Send `item`; raise SendFailed when it did not go."""
        ...


# --- OAuth: linking a shopper's account by signing in at the network -------------------------


class OAuthUnavailable(HashcartError, RuntimeError):
    """The shop is not set up for this network's sign-in (no token_key, no client id)."""


class OAuthInputError(HashcartError, ValueError):
    """What the shopper typed cannot be used (no such server, a private address, …)."""


class OAuthFailed(HashcartError, RuntimeError):
    """The network did not complete the sign-in; the message says what it answered."""


@dataclass(frozen=True)
class StartInput:
    """What a provider needs to send the browser to the network."""

    state: str
    code_challenge: str
    redirect_uri: str
    entered: str  # the server (Mastodon) or handle (Bluesky) the shopper typed; "" for X


@dataclass(frozen=True)
class Authorization:
    url: str  # where the browser goes to sign in
    server: str | None = None  # the server this sign-in is with (Mastodon host, Bluesky issuer)
    secrets: dict[str, Any] = field(default_factory=dict)  # kept sealed with the state


@dataclass(frozen=True)
class PendingSignIn:
    """A started sign-in, as its callback finds it again."""

    server: str | None
    code_verifier: str
    redirect_uri: str
    secrets: dict[str, Any]


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None = None
    expires_in: float | None = None
    scope: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # kept sealed too (a DPoP key, …)


@dataclass(frozen=True)
class ProvenAccount:
    """Who signed in, by the network's stable id, and the tokens that prove it."""

    account_id: str
    handle: str | None
    tokens: TokenSet


class OAuthProvider(Protocol):
    network: Network

    def authorize(self, start: StartInput) -> Authorization:
        """Prepare the sign-in (register, push the request…) and say where to send the browser."""
        ...

    def exchange(
        self, code: str, callback: Mapping[str, str], pending: PendingSignIn
    ) -> ProvenAccount:
        """Trade the code for tokens and learn the account; raise OAuthFailed if refused."""
        ...

    def revoke(self, server: str | None, secrets: Mapping[str, Any]) -> None:
        """Ask the network to forget the tokens; raise OAuthFailed if it could not be asked."""
        ...


@dataclass(frozen=True)
class RegisteredApp:
    """hashcart's registration as a client on one server."""

    client_id: str
    client_secret: str | None


class ClientRegistry(Protocol):
    """Where hashcart keeps its registrations (one per Mastodon server)."""

    def find(self, network: Network, server: str) -> RegisteredApp | None: ...

    def keep(self, network: Network, server: str, app: RegisteredApp) -> RegisteredApp:
        """Store a new registration; returns the one in force (an earlier one wins)."""
        ...


# --- unit of work: one transaction, and the repositories use cases write through ----------
#
# A use case opens one unit of work (`with units() as uow:`), reads and writes through its
# repositories, and everything commits together when the block ends cleanly, or not at all
# when it raises. The store implements it (store/unit_of_work.SqlUnitOfWork); bootstrap's App
# makes them (`App.unit_of_work`). The engine's rules that make exactly-once a database fact
# (unique constraints) live behind these methods: each says whether it changed anything.


@dataclass(frozen=True, slots=True)
class StoredPost:
    network: Network
    post_id: str
    author_id: str
    author_handle: str
    created_at: datetime
    has_shop_link: bool
    parent_id: str | None
    list_kind: str | None
    quantity: int | None
    position: int | None
    # The trigger's choice words (domain/triggers), which may pick a variant.
    words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A cart line or wish-list entry to add, and the trigger post it came from."""

    list_kind: ListKind
    customer_id: int
    product_id: str
    quantity: int
    network: Network
    post_id: str


@dataclass(frozen=True, slots=True)
class ProductInfo:
    product_id: str
    title: str
    availability: str


@dataclass(frozen=True, slots=True)
class PendingIntent:
    id: int
    network: Network
    account_id: str
    account_handle: str
    trigger_post_id: str
    list_kind: str
    product_id: str
    quantity: int
    trigger_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach a customer: their email and how they chose to hear from us."""

    customer_id: int
    email: str
    notify_by: str  # public_reply | private_message | email_only


@dataclass(frozen=True, slots=True)
class WaitingCart:
    """A cart whose oldest line has waited long enough for its one reminder (issue 14):
    whom to tell, the cart's key (`after_order`: the customer's last order id, 0 before
    any), that line, and the customer's account on the line's network (None: not linked
    there, or a line added on the web: email then)."""

    contact: Contact
    after_order: int
    product_title: str
    quantity: int
    network: str
    post_id: str
    account: tuple[str, str] | None  # (account id, handle)


@dataclass(frozen=True, slots=True)
class StoredLinkCode:
    code: str
    customer_id: int
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class Email:
    """One email to queue in the outbox (the dispatcher sends it)."""

    to: str
    subject: str
    text: str
    # Why it is sent (order_confirmed, password_reset, …), as the console shows it.
    reason: str
    # The same key twice queues one email: a retried request does not mail twice.
    dedupe_key: str


# The outbox's network for email: a channel of its own beside the social networks.
EMAIL_NETWORK = "email"


class Repository(Protocol):
    """The engine's store (posts, actions, lists, links, pending intents, link codes, the
    catalog, the outbox, dead letters), bound to one open transaction."""

    def serialize_writers(self) -> None:
        """Make concurrent engine writers take turns until this transaction ends."""
        ...

    def take_post_turns(
        self, posts: Sequence[tuple[Network, str]], parents: Sequence[tuple[Network, str]]
    ) -> None:
        """Share the writers' turn with other batches, holding only these posts (the ones
        stored alone, the awaited parents shared) until this transaction ends."""
        ...

    # posts
    def add_posts(
        self, rows: Sequence[dict[str, Any]], products: dict[tuple[Network, str], list[str]]
    ) -> set[tuple[Network, str]]: ...

    def products_of_posts(
        self, keys: Sequence[tuple[Network, str]]
    ) -> dict[tuple[Network, str], list[str]]: ...

    def existing_posts(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]: ...

    def deleted_among(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]: ...

    def triggers_waiting_for_any(
        self, keys: Sequence[tuple[Network, str]]
    ) -> dict[tuple[Network, str], list[StoredPost]]: ...

    def record_deletion(self, network: Network, post_id: str) -> None: ...

    def forget_network_account(self, network: Network, account_id: str) -> object:
        """The account is gone (deleted, taken down, the app revoked): its link, tokens,
        stored posts and waiting requests go; carts and orders stay. What went, for logs."""
        ...

    # actions and lists
    def claim_actions(
        self, keys: Sequence[tuple[Network, str]], at: datetime
    ) -> set[tuple[Network, str]]: ...

    def set_action_outcomes(self, outcomes: Sequence[dict[str, Any]]) -> None: ...

    def acted_among(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]: ...

    def record_actions(
        self, outcomes: Sequence[dict[str, Any]], at: datetime
    ) -> set[tuple[Network, str]]: ...

    def acted_and_products(
        self, triggers: Sequence[tuple[Network, str]], parents: Sequence[tuple[Network, str]]
    ) -> tuple[set[tuple[Network, str]], dict[tuple[Network, str], list[str]]]: ...

    def add_list_entries(
        self, entries: Sequence[ListEntry], at: datetime
    ) -> set[tuple[ListKind, int, str]]: ...

    # customers and links
    def customer_for_account(self, network: Network, account_id: str) -> int | None: ...

    def contacts_for_accounts(
        self, keys: Sequence[tuple[Network, str]]
    ) -> dict[tuple[Network, str], Contact]: ...

    def contacts_of_customers(self, customer_ids: Iterable[int]) -> dict[int, Contact]: ...

    def customer_id(self, email: str) -> int | None: ...

    def add_customer(self, email: str, name: str | None, at: datetime) -> bool: ...

    def add_link(
        self, customer_id: int, network: Network, account_id: str, handle: str | None, at: datetime
    ) -> bool: ...

    # pending intents
    def add_pending_intents(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def waiting_intents(self, network: Network, account_id: str) -> list[PendingIntent]: ...

    def set_intent_status(self, intent_id: int, status: str) -> None: ...

    def claim_link_notices(
        self, keys: Sequence[tuple[Network, str, int]]
    ) -> set[tuple[Network, str, int]]: ...

    # one-time link codes
    def add_link_code(
        self, code: str, customer_id: int, at: datetime, expires_at: datetime
    ) -> bool: ...

    def forget_unused_link_codes(self, customer_id: int) -> None: ...

    def link_codes_among(self, codes: Iterable[str]) -> dict[str, StoredLinkCode]: ...

    def use_link_code(self, code: str, now: datetime) -> bool: ...

    # catalog
    def products(self) -> Iterator[tuple[str, str, str, str]]: ...

    def upsert_products(self, rows: Iterable[dict[str, Any]]) -> int: ...

    # stock counts (i10-stock): the merchant's count of units on hand; holds are checkout's
    def set_stock_count(self, product_id: str, stock: int | None) -> bool:
        """Set a product's count (None: not counted, no limit); False if no such product.
        Live holds are kept even above a lowered count."""
        ...

    def set_stock_counts(self, counts: Mapping[str, int | None]) -> None:
        """Set many products' counts at once (a feed); ids with no product are passed over."""
        ...

    # outbox and dead letters
    def queue_messages(self, messages: Sequence[OutboundMessage], at: datetime) -> int: ...

    def queue_emails(self, emails: Sequence[Email], at: datetime) -> int: ...

    # --- issue 11: a shopper's first message on a network carries advice ---
    def messaged_accounts(self, network: str, account_ids: Iterable[str]) -> set[str]:
        """Those of `account_ids` on `network` the outbox holds a message to."""
        ...

    def add_dead_letter(
        self,
        source: str,
        line: int,
        reason: str,
        excerpt: str,
        at: datetime,
        dedupe_key: str | None = None,
    ) -> bool: ...

    # --- issue 12: remove by reply, undo on delete, variants ---
    def remove_list_entries(
        self, list_kind: ListKind, keys: Sequence[tuple[int, str]]
    ) -> set[tuple[int, str]]:
        """Take these (customer, product) entries off `list_kind`; those that were there."""
        ...

    def cancel_waiting_intents(
        self, network: Network, account_id: str, list_kind: str, product_id: str
    ) -> int:
        """An unlinked account takes back its waiting requests for a product: marked
        `removed`, never applied. How many there were."""
        ...

    def undo_triggers(self, keys: Sequence[tuple[Network, str]]) -> int:
        """What these trigger posts did and is still open goes: their cart lines and
        wish-list entries, and their waiting requests (marked `removed`). Orders stay.
        How many rows went."""
        ...

    def product_variants(self) -> Iterator[tuple[str, str, str | None, str | None]]:
        """(product_id, item_group_id, color, size) of the catalog's rows in a group."""

    def waiting_carts(self, waited_since: datetime, limit: int) -> list[WaitingCart]:
        """Up to `limit` carts of customers who asked for reminders whose oldest line was
        added at or before `waited_since`, and that have had no reminder yet (issue 14)."""
        ...

    def claim_cart_reminder(self, customer_id: int, after_order: int, at: datetime) -> bool:
        """Take the cart's one reminder; False when it was taken already (the unique key)."""
        ...

    def message_templates(self) -> dict[str, str]:
        """The message and email templates the merchant rewrote, by key (issue 14); the rest
        are the defaults in domain/message_templates and domain/email_templates."""
        ...

    # --- order care (issue 12): `#order` answers (store/order_care) ---
    def recent_orders(self, customer_ids: Iterable[int], limit: int) -> dict[int, CustomerOrders]:
        """Each customer's `limit` newest orders and their count (none: left out)."""
        ...

    # --- buy with a post (issue 12): the handlers' buy requests (section at the end) ---
    @property
    def buys(self) -> BuyRecords: ...
    # --- offers by hashtag (issue 12): the offers and their loads (store/offers) ---
    @property
    def offers(self) -> OfferRecords:
        """The offers and their loads, in this transaction."""
        ...

    # --- live sales (issue 13): sales, claims and invoices (store/sales) ---
    @property
    def sales(self) -> SaleRecords: ...


class StreamCursors(Protocol):
    """Where each stream got to (`stream_cursors`), written in the transaction of the batch it
    follows so a restart resumes exactly after what was kept."""

    def read(self, name: str) -> str | None:
        """The cursor stored under `name`, None if there is none."""
        ...

    def write(self, cursor: Cursor, at: datetime) -> None:
        """Set the cursor, and store its `revisions` where they are newer than the stored."""
        ...

    # --- repository revisions (issue 11: the Bluesky firehose's revs survive a restart) ---

    def read_revisions(self, dids: Sequence[str]) -> dict[str, str]:
        """The stored newest rev of each of `dids` that has one."""
        ...


class UnitOfWork(Protocol):
    """One transaction: begun on entering, committed when the block ends cleanly, rolled back
    (every write of it) when it raises. Not reentrant: one block, one transaction. One opened
    to read only (App.unit_of_work(read_only=True)) refuses every write and, on SQLite, reads
    beside a writer instead of waiting for the write lock."""

    @property
    def repository(self) -> Repository: ...

    @property
    def cursors(self) -> StreamCursors: ...

    @property
    def payments(self) -> PaymentRecords: ...

    @property
    def orders(self) -> OrderRecords: ...

    @property
    def parent_fetches(self) -> ParentFetches: ...

    @property
    def oauth(self) -> OAuthRecords: ...

    # checkout's repositories (the section "checkout" below)
    @property
    def stock(self) -> StockHolds: ...

    @property
    def carts(self) -> CartLines: ...

    # issue 12 (Stripe): saved payment methods and gateway references
    @property
    def gateway_records(self) -> GatewayRecords: ...

    # The outbox as the dispatcher claims and records its rows (section "outbox" below).
    @property
    def outbox(self) -> OutboxRecords: ...

    # issue 12: buy with a post (section at the end)
    @property
    def buys(self) -> BuyRecords: ...

    # issue 16: the merchant's own store (section at the end)
    @property
    def store_records(self) -> StoreRecords: ...

    # issue 14: product pictures (section at the end)
    @property
    def images(self) -> ImageRecords: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


# Makes a fresh unit of work each call (App.unit_of_work): a use case that commits more than
# once (ingest, a batch at a time) takes this.
UnitsOfWork = Callable[[], UnitOfWork]


# --- payments (issue 10, part 5): PaymentGateway --------------------------------------
#
# A payment is authorised (the money is held or promised), then captured once the order
# exists, or voided when it cannot be placed; a captured payment can be refunded. Every
# step is keyed by hashcart's own idempotency key, the checkout form's key: a gateway must
# answer the same key and step with the same outcome and never move money twice for it
# (real gateways take it as their idempotency key). hashcart also keeps its own record of
# key -> authorisation (services/payments.py), so a retried checkout does not ask again.


@dataclass(frozen=True)
class PaymentDetails:
    """What the checkout form sent for the payment step, and the facts a gateway needs."""

    fields: Mapping[str, str]
    idempotency_key: str
    today: date
    customer_email: str = ""


@dataclass(frozen=True)
class Authorisation:
    """A gateway's answer to "may we take this amount?"."""

    approved: bool
    reference: str
    # For the shopper: why a payment was declined, or how to pay (invoice).
    message: str
    # True when capturing takes the money (card), False when it is owed (invoice).
    paid: bool = False


@dataclass(frozen=True)
class AuthorisedPayment:
    """An earlier approved authorisation, as a gateway needs it to capture, void or refund."""

    idempotency_key: str
    reference: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PaymentStep:
    """The outcome of a capture, void or refund: done, or refused with the gateway's reason."""

    done: bool
    message: str


PaymentStatus = Literal["authorising", "authorised", "declined", "captured", "voided", "refunded"]
# The steps after an authorisation that hashcart may owe the gateway and retry.
PaymentStepName = Literal["capture", "void"]


@dataclass(frozen=True)
class PaymentRecord:
    """hashcart's own record of a checkout key's payment (store/payments)."""

    checkout_key: str
    gateway: str
    amount: Decimal
    currency: str
    status: PaymentStatus
    reference: str
    message: str
    paid: bool
    order_id: int | None
    last_error: str | None
    # A capture or void hashcart still owes the gateway, how many times it was refused
    # (or its outcome was unknown), and when the payment sweep asks again (None: it stopped).
    pending_step: PaymentStepName | None = None
    step_attempts: int = 0
    retry_at: datetime | None = None

    @property
    def step_stopped(self) -> bool:
        """A step is owed and will not be asked again by itself: an operator must look."""
        return self.pending_step is not None and self.retry_at is None

    @property
    def answered(self) -> bool:
        """The gateway's answer to the authorisation is known."""
        return self.status != "authorising"

    @property
    def authorisation(self) -> Authorisation:
        return Authorisation(
            approved=self.status not in ("authorising", "declined"),
            reference=self.reference,
            message=self.message,
            paid=self.paid,
        )

    @property
    def authorised(self) -> AuthorisedPayment:
        return AuthorisedPayment(self.checkout_key, self.reference, self.amount, self.currency)


class PaymentRecords(Protocol):
    """The payment record of each checkout key, in the unit of work's transaction. Every
    change of status names the statuses it expects (a compare and set)."""

    def start(
        self, checkout_key: str, gateway: str, amount: Decimal, currency: str, now: datetime
    ) -> PaymentRecord:
        """The key's record, made `authorising` now if it had none."""
        ...

    def record_authorisation(
        self, checkout_key: str, answer: Authorisation, now: datetime
    ) -> PaymentRecord:
        """Write the gateway's answer unless another request wrote one first."""
        ...

    def move(
        self,
        checkout_key: str,
        *,
        expected: Collection[PaymentStatus],
        to: PaymentStatus,
        now: datetime,
        order_id: int | None = None,
        error: str | None = None,
    ) -> bool:
        """Change the status from one of `expected` to `to`; False when it was not in one."""
        ...

    def note_refusal(self, checkout_key: str, error: str, now: datetime) -> None: ...

    def find(self, checkout_key: str) -> PaymentRecord | None: ...

    def of_order(self, order_id: int) -> PaymentRecord | None: ...

    # checkout (the section "checkout" below)
    def link_order(self, checkout_key: str, order_id: int) -> None:
        """The order the key's payment pays for (written in the order's transaction)."""
        ...

    # capture and void, owed and retried (services/payment_retry.py)
    def owe(self, checkout_key: str, step: PaymentStepName, retry_at: datetime) -> bool:
        """Record that `step` is owed on an authorised payment, to be asked again from
        `retry_at` if it is not done by then. A capture is owed once the order exists; a
        void only while no order is linked. False (nothing changed) when the payment is not
        authorised or owes another step."""
        ...

    def step_failed(
        self,
        checkout_key: str,
        step: PaymentStepName,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> PaymentRecord:
        """`step` was refused or its outcome is unknown: it is owed (if it was not), one more
        attempt counted, `error` kept, asked again from `retry_at` (None: stop asking)."""
        ...

    def steps_due(self, now: datetime, limit: int) -> list[PaymentRecord]:
        """Authorised payments whose owed step may be asked again now, oldest first."""
        ...

    def claim_step(self, checkout_key: str, now: datetime, until: datetime) -> bool:
        """Take a due step for one attempt (another sweep then skips it until `until`);
        False when it is not due any more."""
        ...

    def restart_stopped(self, now: datetime) -> int:
        """Ask every stopped step again now, its attempts counted from zero; how many."""
        ...


class OrderRecords(Protocol):
    """Orders, as the payment use cases change them."""

    def set_status(self, order_id: int, status: str) -> None: ...

    # checkout (the section "checkout" below)
    def with_key(self, checkout_key: str) -> KeyedOrder | None:
        """The order a checkout key made already, None when it made none."""
        ...

    def add(self, order: NewOrder) -> int:
        """Write the order and its lines; its id."""
        ...

    # --- order care (issue 12): shipping (store/order_care) ---
    def shipping_facts(self, order_id: int) -> ShippingFacts | None:
        """What marking the order shipped needs; None when there is no such order."""
        ...

    def mark_shipped(
        self, order_id: int, tracking_url: str | None, at: datetime, carrier: str | None = None
    ) -> bool:
        """Mark it shipped at `at` by `carrier`; False when it already was (the first marking
        stands) or was cancelled."""
        ...

    # --- orders and fulfilment (issue 14): cancelling (store/order_care) ---
    def cancel(self, order_id: int, at: datetime) -> bool:
        """Mark it cancelled at `at`; False when it was shipped, refunded or cancelled."""
        ...


class GatewayUnreachable(HashcartError, RuntimeError):
    """A gateway did not answer (network, timeout, its own 5xx): the outcome is unknown, so
    nothing may be recorded as declined; asking again with the same key is safe."""


class PaymentGateway(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def fields(self) -> tuple[str, ...]:
        """The form fields this gateway reads (the checkout page shows them for it)."""
        ...

    def authorise(
        self, amount: Decimal, currency: str, details: PaymentDetails
    ) -> Authorisation: ...

    def capture(self, payment: AuthorisedPayment) -> PaymentStep: ...

    def void(self, payment: AuthorisedPayment) -> PaymentStep: ...

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep: ...


# --- end of payments -------------------------------------------------------------------


# --- live ingest, parent fetches, OAuth records (issue 10, points 1-2: the live slice) -------
#
# What the use cases of services/ingest.py, services/live_ingest.py and services/oauth_links.py
# ask of the adapters: reading a network's payloads (the registered networks' decoders and
# prefilter, networks/payload_reader.py), and the tables of parent fetches and of OAuth
# (store/parent_fetches.py, store/oauth.py), reached through the unit of work.

# The format name that asks for detection line by line (networks/input_format.Format.AUTO).
AUTO_FORMAT = "auto"


class Line(Enum):
    """What the prefilter makes of a line."""

    WANTED = "may matter: decode it"
    QUIET = "a post that cannot matter"
    NOT_A_POST = "an event that is no post (a like, a follow, an identity change)"


class LinePrefilter(Protocol):
    """Which lines are worth decoding at all (networks/prefilter.Prefilter)."""

    def classify(self, block: bytes, start: int, end: int, ascii_block: bool) -> Line:
        """What the line at block[start:end] is, read in place; `ascii_block` says the whole
        block is ASCII."""
        ...


class PayloadReader(Protocol):
    """The registered networks' payloads as ingest reads them: a prefilter for the shop's
    tags and hosts, the decoders (by format name, AUTO_FORMAT to detect), and the cheap checks
    for the lines nobody decodes. Ingest knows no network's JSON; this does."""

    def prefilter(self, words: TriggerWords, hosts: ShopHosts) -> LinePrefilter: ...

    def format_named(self, name: str) -> str:
        """The format called `name` (AUTO_FORMAT included); ValueError when no registered
        network reads it."""
        ...

    def decode(self, line: bytes, fmt: str) -> list[Event]:
        """The events of one line in format `fmt`; DecodeError (domain.posts) when it is not
        valid in it."""
        ...

    def utf8_problem(self, data: bytes) -> str | None:
        """None if `data` is valid UTF-8, else where it is not."""
        ...

    def check_framing(self, line: bytes) -> str | None:
        """The cheap check for a line nobody decodes (UTF-8, braced like one JSON object)."""
        ...

    def check_well_formed(self, line: bytes) -> str | None:
        """None if `line` is one JSON object in valid UTF-8, else the reason it is not."""
        ...

    def as_line(self, payload: bytes) -> bytes:
        """One payload (a webhook body, an API answer) as one line for ingest."""
        ...


class ParentFetches(Protocol):
    """The parents asked of a network's API (`parent_fetches`), once each."""

    def waiting_parents(self, limit: int) -> set[tuple[Network, str]]:
        """Parents that stored triggers still wait for (no action yet, the parent not stored)
        and that were never asked for."""
        ...

    def asked_among(self, keys: Collection[tuple[Network, str]]) -> set[tuple[Network, str]]:
        """Those of `keys` asked for before (found or not)."""
        ...

    def record(self, network: Network, post_id: str, found: bool, at: datetime) -> None:
        """Remember that a parent was asked for, and whether the network had it."""
        ...

    def record_unanswered(self, network: Network, post_id: str, at: datetime) -> None:
        """Remember that asking for a parent failed every time it was tried (no answer, a
        rate limit, a server error): it is not asked for again, as one the network lacks."""
        ...


@dataclass(frozen=True)
class PendingState:
    """A sign-in under way, as taken back (and so used up) by its callback."""

    customer_id: int
    network: str
    server: str | None
    secret_data: str
    expires_at: datetime


@dataclass(frozen=True)
class RegisteredClient:
    """hashcart's own registration as a client of one server, its secret still sealed."""

    client_id: str
    sealed_secret: str | None


@dataclass(frozen=True)
class StoredTokens:
    """A link's tokens, still sealed."""

    network: str
    server: str | None
    secret_data: str


class OAuthRecords(Protocol):
    """OAuth bookkeeping (store/oauth.py): sign-in states (kept as their hash), hashcart's
    registrations as a client, and linked accounts' tokens. Secrets arrive sealed."""

    def add_state(
        self,
        state_hash: str,
        customer_id: int,
        network: str,
        server: str | None,
        secret_data: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None: ...

    def take_state(self, state_hash: str, customer_id: int, network: str) -> PendingState | None:
        """The state, used up (it works once); None if unknown, used or someone else's."""
        ...

    def forget_expired_states(self, now: datetime) -> int: ...

    def find_client(self, network: str, server: str) -> RegisteredClient | None: ...

    def add_client(
        self,
        network: str,
        server: str,
        client_id: str,
        sealed_secret: str | None,
        now: datetime,
    ) -> RegisteredClient:
        """Keep a registration; the one kept first wins (two sign-ins may race)."""
        ...

    def link_id_of(self, network: str, account_id: str) -> int | None: ...

    def save_tokens(
        self,
        link_id: int,
        server: str | None,
        secret_data: str,
        scope: str | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> None: ...

    def tokens_of_link(self, customer_id: int, link_id: int) -> StoredTokens | None: ...


class NetworkSettingFields(Protocol):
    """The registered networks' settings fields, as the console stores them
    (store/network_config): implemented over the network registry by
    networks/setting_fields.py and handed in by the composition root."""

    def plain_keys(self) -> tuple[str, ...]:
        """Plain fields, network by network, as each settings model orders them."""
        ...

    def secret_keys(self) -> tuple[str, ...]:
        """Fields kept sealed (each settings model types them SecretStr)."""
        ...

    def model_with(self, key: str) -> type[BaseModel] | None:
        """The settings model of the network whose plain field `key` is; None if none."""
        ...

    def listener_names(self) -> tuple[str, ...]:
        """Every listener a registered network has (the `listeners` setting's choices)."""
        ...


# --- end of live ingest, parent fetches, OAuth records ----------------------------------


# --- checkout (issue 10, points 4-6): stock holds, orders, the cart it buys -------------
#
# Checkout (services/checkout.py) holds the stock, has the payment authorised, places the
# order and has it captured, each step through a unit of work. The value types below were
# the store's (store/stock, store/orders, store/shopping re-export them).


class OutOfStock(HashcartError):
    """Some lines could not be held; the caller's transaction must roll back (holds taken
    for the other lines in it are undone with it)."""

    def __init__(self, shortages: Sequence[Shortage]) -> None:
        super().__init__(", ".join(f"{s.product_id}: {s.wanted} > {s.left}" for s in shortages))
        self.shortages = tuple(shortages)


@dataclass(frozen=True)
class StockLevel:
    product_id: str
    stock: int | None
    reserved: int

    @property
    def free(self) -> int | None:
        return None if self.stock is None else max(0, self.stock - self.reserved)


class StockHolds(Protocol):
    """Stock and its holds (reservations), never below zero under concurrent writers."""

    def reserve(
        self,
        holder: str,
        wanted: Mapping[str, int],
        *,
        reason: str,
        now: datetime,
        until: datetime,
    ) -> None:
        """Hold `wanted` (product id -> quantity) for `holder` until `until`, all or nothing;
        raise OutOfStock naming every line there is not enough of."""
        ...

    def release(self, holder: str, now: datetime) -> int:
        """End `holder`'s live holds; the units freed."""
        ...

    def restock(self, holder: str, now: datetime) -> int:
        """Give `holder`'s sold units (an order cancelled before it shipped) back to stock,
        once; the units given back."""
        ...

    def convert(
        self,
        holder: str,
        new_holder: str,
        wanted: Mapping[str, int],
        *,
        reason: str,
        now: datetime,
    ) -> None:
        """Turn `holder`'s holds into a sale held by `new_holder`; raise OutOfStock when a
        hold ran out and its units went to someone else."""
        ...

    def level(self, product_id: str) -> StockLevel | None: ...

    def sweep(self, product_ids: Sequence[str], now: datetime) -> int:
        """End the products' holds whose time ran out (giving their units back); how many
        units came free."""
        ...


# The merchant's own store's live sellable count of a catalog product (issue 16, stock
# truth), read at reservation time: None when it is not known (not the store's product, not
# counted there, or the store did not answer), and the catalog's count stands.
LiveStockReader = Callable[[str], "int | None"]


@dataclass(frozen=True)
class Origin:
    """Where a line came from: a reply on a network, or the shop's own pages; and the
    shoppable post behind it, when known (its network, id and author)."""

    via: Literal["reply", "shop"]
    network: str | None = None
    post_id: str | None = None
    author_id: str | None = None
    author_handle: str | None = None
    # A reply's own post (the trigger), kept on the order line for order care (issue 12).
    trigger_post_id: str | None = None


@dataclass(frozen=True)
class ListItem:
    """One cart line or wish-list entry, with its product as the catalog says now."""

    id: int
    product_id: str
    title: str
    link: str
    price: Decimal | None
    currency: str | None
    availability: str
    quantity: int
    origin: Origin
    added_at: datetime

    @property
    def available(self) -> bool:
        return can_be_bought(self.availability)

    @property
    def line_total(self) -> Decimal | None:
        return None if self.price is None else self.price * self.quantity


class CartLines(Protocol):
    """A shopper's cart and wish list, as checkout reads and empties them."""

    def items(self, kind: ListKind, customer_id: int) -> list[ListItem]:
        """The customer's lines, oldest first, each with its product as it is now."""
        ...

    def remove_products(self, customer_id: int, product_ids: Sequence[str]) -> None:
        """Take these products out of the customer's cart (they were ordered)."""
        ...


class Buyer(Protocol):
    """Who checks out (the web's signed-in shopper, store.accounts.Person, is one)."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str | None: ...


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    line2: str
    city: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    title: str
    unit_price: Decimal
    currency: str
    quantity: int
    # The shoppable post the line came from (None when it came from none).
    network: str | None
    post_id: str | None
    # The trigger post (the shopper's reply on `network`) that put it in the cart, if any.
    trigger_post_id: str | None = None

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class NewOrder:
    customer_id: int
    checkout_key: str
    status: str  # placed | paid (| refunded, later)
    email: str
    address: Address
    payment_gateway: str
    payment_reference: str
    total_amount: Decimal
    currency: str
    created_at: datetime
    lines: Sequence[OrderLine]
    # Offers by hashtag (issue 12): the offer the order redeemed and what it took off
    # (`total_amount` is after it).
    offer_id: int | None = None
    discount_amount: Decimal | None = None


@dataclass(frozen=True)
class KeyedOrder:
    """The order a checkout key already made, and whose it is."""

    id: int
    customer_id: int | None


# --- end of checkout ---------------------------------------------------------------------


# --- saved payment methods and gateway references (issue 12: Stripe) ---------------------
#
# A shopper keeps one payment method for paying without typing a card (buy with a post, the
# web checkout's "saved card"): hashcart stores only the gateway's ids for it, its brand and
# its last four digits, never a card number. A gateway that keeps customers of its own
# (Stripe) is told which of them is which shopper. A gateway that creates an object per
# payment (a Stripe PaymentIntent) records key -> object id before moving any money, so a
# retried key finds its object even where the provider forgets the key. A provider's webhook
# events are taken once each.


@dataclass(frozen=True)
class SavedPaymentMethod:
    """A shopper's saved payment method, as hashcart keeps it."""

    customer_id: int
    gateway: str  # the gateway that charges it (stripe, test_card)
    method_id: str  # the gateway's id for it (Stripe `pm_…`); never a card number
    brand: str  # Visa, Mastercard…
    last4: str
    saved_at: datetime


class GatewayRecords(Protocol):
    """What the payment gateways keep in hashcart, in the unit of work's transaction."""

    def customer_with_email(self, email: str) -> int | None: ...

    def provider_customer(self, customer_id: int, gateway: str) -> str | None:
        """The gateway's own customer id for the shopper (Stripe `cus_…`), if made."""
        ...

    def keep_provider_customer(
        self, customer_id: int, gateway: str, provider_id: str, now: datetime
    ) -> str:
        """Record the shopper's provider customer unless one is recorded; the one kept."""
        ...

    def customer_of_provider(self, gateway: str, provider_id: str) -> int | None: ...

    def save_method(self, method: SavedPaymentMethod) -> None:
        """The shopper's saved method from now on (it replaces the one before)."""
        ...

    def saved_method(self, customer_id: int) -> SavedPaymentMethod | None: ...

    def intent_of(self, idempotency_key: str) -> str | None:
        """The provider's object made for the key (a PaymentIntent id), if recorded."""
        ...

    def keep_intent(self, idempotency_key: str, gateway: str, intent_id: str, now: datetime) -> str:
        """Record key -> object unless the key has one already; the one kept."""
        ...

    def payment_with_reference(self, gateway: str, reference: str) -> PaymentRecord | None: ...

    def first_sight_of_event(self, source: str, event_id: str, now: datetime) -> bool:
        """Note a provider's webhook event; False when it was noted before (a repeat)."""
        ...

    # -- removing a card, deleting a shopper: clean-ups owed to the provider (i12-cards) --

    def forget_method(self, customer_id: int) -> SavedPaymentMethod | None:
        """Forget the shopper's saved method (nothing reads it any more); the one forgotten."""
        ...

    def owe_cleanup(
        self, gateway: str, action: CleanupAction, object_id: str, now: datetime
    ) -> int:
        """Owe the provider a clean-up of its object, due now (owed once per object); its id."""
        ...

    def cleanups_due(
        self, now: datetime, limit: int, ids: Sequence[int] | None = None
    ) -> list[OwedCleanup]:
        """Owed clean-ups due by `now`, oldest first; only those of `ids` when given."""
        ...

    def claim_cleanup(self, cleanup_id: int, now: datetime, until: datetime) -> bool:
        """Take a due clean-up for one attempt (a compare-and-set: one asker at a time)."""
        ...

    def cleanup_done(self, cleanup_id: int, now: datetime) -> None: ...

    def restart_stopped_cleanups(self, now: datetime) -> int:
        """Stopped clean-ups due again now, their attempts from zero; how many."""
        ...

    def cleanup_known(self, gateway: str, action: CleanupAction, object_id: str) -> bool:
        """Whether that clean-up was ever owed (a removed card, done or not yet)."""
        ...

    def cleanup_failed(
        self, cleanup_id: int, message: str, now: datetime, retry_at: datetime | None
    ) -> OwedCleanup: ...


# --- provider clean-ups owed (issue 12, i12-cards) -----------------------------------------
#
# A removed card and a deleted shopper are forgotten in hashcart at once, in one transaction
# that also owes the provider the matching clean-up (detach the card, delete the customer);
# the clean-up is then asked outside any transaction, and asked again by the payment sweep
# while the provider does not answer. So a card is never left attached to a forgotten
# shopper without hashcart knowing it still has to be detached.

CleanupAction = Literal["detach_payment_method", "delete_customer"]
# Gateways that keep nothing at a provider: their saved card is gone once hashcart forgets it.
LOCAL_GATEWAYS = frozenset({"test_card"})


@dataclass(frozen=True)
class OwedCleanup:
    id: int
    gateway: str
    action: CleanupAction
    object_id: str  # the provider's id: `pm_…` or `cus_…`
    attempts: int  # attempts that failed so far
    stopped: bool  # no attempt is due any more: a person looks
    last_error: str | None


class ProviderCleaner(Protocol):
    """A gateway that keeps shoppers' objects of its own, asked to forget them. Already
    gone counts as done; an unanswered request raises GatewayUnreachable, a refusal
    CleanupRefused."""

    def detach_payment_method(self, method_id: str) -> None: ...

    def delete_customer(self, provider_id: str) -> None: ...


class CleanupRefused(HashcartError):
    """The provider answered, and did not do the clean-up; the message says why."""


# --- end of saved payment methods -----------------------------------------------------------


# --- outbox: the one dispatcher's rows (issue 10, parts 6 and 7) -----------------------------
#
# Every message, email included, waits in the outbox until the dispatcher (outbox/) sends it.
# The dispatcher claims due rows, sends each outside any transaction, and records what became
# of it, each step in a short unit of work of its own, through `uow.outbox`. A record names the
# claim it closes (the row still `sending`, claimed at `claimed_at`) and says whether it closed
# it: a send that outlived its lease, its row claimed again by another dispatcher, changes
# nothing rather than undoing the newer claim.

# The console note of a sent private message that may never be seen starts with this; later
# private messages to the same account are handed to their sender with `earlier_unseen`.
MAY_BE_UNSEEN = "May not be seen: "


@dataclass(frozen=True)
class LinkedAccount:
    """An account a shopper linked: where a refused message may reach them instead."""

    network: str
    account_id: str
    handle: str  # as the network wrote it when linked ("" when it gave none)


class OutboxRecords(Protocol):
    """The outbox as the dispatcher works it, in the unit of work's transaction."""

    def claim_due(
        self, networks: Collection[str], now: datetime, *, limit: int, lease: timedelta
    ) -> list[OutboxItem]:
        """Mark up to `limit` due rows of `networks` `sending` at `now` (oldest first) and
        return them; rows other dispatchers are claiming at this moment are skipped. Due: a
        queued row whose retry time has come, or a row still `sending` longer than `lease`
        after its claim (its dispatcher died mid-send): its item's `attempt_started_at` says
        when that earlier attempt began."""
        ...

    def mark_delivery_started(self, item: OutboxItem, claimed_at: datetime, now: datetime) -> bool:
        """The sender is about to hand the message over where nobody can ask afterwards whether
        it arrived (SMTP's DATA): a claim after a crash then knows it may have gone."""
        ...

    def mark_sent(
        self,
        item: OutboxItem,
        claimed_at: datetime,
        sent: Sent,
        now: datetime,
        *,
        note: str | None = None,
    ) -> bool:
        """Sent; `note` is kept for the console (possibly twice, may not be seen)."""
        ...

    def mark_retry(
        self,
        item: OutboxItem,
        claimed_at: datetime,
        reason: str,
        retry_at: datetime,
        *,
        end_unknown: bool = False,
    ) -> bool:
        """Queued again, due at `retry_at`, one attempt more. `end_unknown`: the attempt may
        have delivered the message, so the next one is told when this one began and a
        delivery mark it wrote stays; otherwise the mark goes back to what the claim found.
        Either way an earlier attempt of unknown end stays on record."""
        ...

    def mark_failed(self, item: OutboxItem, claimed_at: datetime, reason: str) -> bool:
        """Failed for good with `reason` (the console shows it; nobody retries it)."""
        ...

    def release(self, item: OutboxItem, claimed_at: datetime, until: datetime) -> bool:
        """Put back unsent, due at `until`, its attempts untouched."""
        ...

    def hold_network(self, network: str, now: datetime, until: datetime) -> int:
        """The network said to wait until `until`: its due queued rows wait until then.
        How many were held back."""
        ...

    def linked_email(self, network: str, account_id: str) -> str | None:
        """The email address of the customer who linked this account, if anyone did."""
        ...

    def earlier_unseen(self, item: OutboxItem) -> bool:
        """Whether another private message to `item`'s account was sent with a note that it
        may not be seen (MAY_BE_UNSEEN)."""
        ...

    def next_due_at(
        self, networks: Collection[str], now: datetime, lease: timedelta
    ) -> datetime | None:
        """When the next row of `networks` falls due (a retry's time, a claim's lease running
        out); `now` if one is due already, None if none waits."""
        ...

    def waiting_without_sender(self, networks: Collection[str]) -> dict[str, int]:
        """Queued rows of networks other than `networks` (those with no sender), by network.
        (The console counts its own, capped: views/console.queued_up_to_cap.)"""
        ...

    def other_links(
        self, network: str, account_id: str, networks: Collection[str]
    ) -> list[LinkedAccount]:
        """The accounts on `networks` (other than `network`) linked by the customer who
        linked `account_id` on `network`; none when nobody linked it."""
        ...

    def queue_private(
        self, to: LinkedAccount, *, reason: str, text: str, dedupe_key: str, at: datetime
    ) -> bool:
        """Queue a private message to `to` unless `dedupe_key` is queued already; True if it
        is new."""
        ...


# --- end of outbox ---------------------------------------------------------------------


# --- buy with a post (issue 12) ----------------------------------------------------------
#
# A `#buy` is quoted and its stock held in the ingest's transaction (services/buying); its
# `#confirm CODE` claims it there too, by a conditional update, so two confirms at once make
# one claim. The payment runs after that transaction, outside any, under the request's own
# key (`buy_key`), and the order is placed in a unit of work of its own.


@dataclass(frozen=True)
class PricedProduct:
    """A product as a buy quotes it; no price: it cannot be bought with a post."""

    product_id: str
    title: str
    price: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class BuyingCustomer:
    """Whose buy it is (a ports.Buyer)."""

    id: int
    email: str
    name: str | None


@dataclass(frozen=True)
class NewBuyRequest:
    network: str
    account_id: str
    account_handle: str
    customer_id: int
    product_id: str
    title: str
    quantity: int
    unit_price: Decimal
    currency: str
    code: str
    buy_key: str
    gateway: str
    method_id: str
    card_last4: str
    created_at: datetime
    expires_at: datetime
    source_post_id: str
    trigger_post_id: str
    # --- buy with a post, offers (issue 12): the loaded offer the quote took off. The
    # request holds the load while open or confirmed (OfferRecords.unredeemed skips it),
    # so the web checkout never redeems the load a quote promised; bought, it is redeemed
    # by the buy's order, declined or expired, it is free for the next order again.
    offer_id: int | None = None
    offer_load_id: int | None = None
    discount_amount: Decimal | None = None
    offer_label: str | None = None

    @property
    def total(self) -> Decimal:
        """What is charged: the quoted price less the quoted offer (never below zero)."""
        return max(self.unit_price * self.quantity - (self.discount_amount or 0), Decimal(0))


@dataclass(frozen=True)
class BuyRequest(NewBuyRequest):
    id: int = 0
    status: str = "open"  # open | confirmed | bought | declined | expired
    confirm_post_id: str | None = None
    order_id: int | None = None
    message: str | None = None


class BuyRecords(Protocol):
    """Buy requests and what a buy needs of the store, in the open transaction."""

    def priced(self, product_id: str) -> PricedProduct | None: ...

    def parent_of(self, network: str, post_id: str) -> str | None:
        """The post the stored post `post_id` replied to (a `#buy`'s product post)."""
        ...

    def saved_method(self, customer_id: int) -> SavedPaymentMethod | None: ...

    def customer(self, customer_id: int) -> BuyingCustomer | None: ...

    def shipping_address(self, customer_id: int) -> Address | None:
        """Where the shopper's buys ship: the address saved on their account page, else
        where their latest order went; None when there is neither (`address_needed`)."""
        ...

    def save_address(self, customer_id: int, address: Address, at: datetime) -> None:
        """Save (or replace) the address the shopper's buys ship to (the account page's)."""
        ...

    def spent(self, customer_id: int, currency: str, since: datetime, until: datetime) -> Decimal:
        """The totals of the shopper's buys made in [since, until) in `currency` that are
        open, confirmed or bought (declined and expired ones spent nothing)."""
        ...

    def codes_in_use(self, codes: Collection[str]) -> set[str]:
        """Those of `codes` an open or confirmed request has."""
        ...

    def add(self, request: NewBuyRequest) -> BuyRequest | None:
        """Record the request (status open); None when its trigger made one already."""
        ...

    def hold(
        self, holder: str, product_id: str, quantity: int, now: datetime, until: datetime
    ) -> None:
        """Hold the units (raises OutOfStock); a holder that holds them keeps its hold."""
        ...

    def release(self, holder: str, now: datetime) -> int: ...

    def with_code(self, code: str) -> list[BuyRequest]:
        """The requests given `code`, newest first (the open one, if any, among them)."""
        ...

    def claim_confirm(
        self, request_id: int, network: str, account_id: str, confirm_post_id: str, now: datetime
    ) -> bool:
        """open -> confirmed, only for the request's own account and before it expires: one
        conditional update, so of two confirms at once one wins. True: this one did."""
        ...

    def expire(self, request_id: int, now: datetime) -> bool:
        """open -> expired (its code freed); True when it was open."""
        ...

    def expire_due(self, now: datetime) -> list[BuyRequest]:
        """Every open request whose window has passed -> expired; those."""
        ...

    def due_to_settle(self, now: datetime, limit: int) -> list[BuyRequest]:
        """Confirmed requests no settling process holds (settle_after passed)."""
        ...

    def claim_settle(self, request_id: int, now: datetime, until: datetime) -> bool:
        """Take a confirmed request to pay for until `until` (another process may take it
        after): a conditional update."""
        ...

    def finish(
        self,
        request_id: int,
        status: str,
        now: datetime,
        *,
        order_id: int | None = None,
        message: str | None = None,
    ) -> bool:
        """confirmed -> bought | declined (code freed); True when it was confirmed."""
        ...

    def find(self, request_id: int) -> BuyRequest | None: ...

    def with_trigger(self, network: str, trigger_post_id: str) -> BuyRequest | None: ...


# --- end of buy with a post ----------------------------------------------------------------
# --- offers by hashtag (issue 12) ----------------------------------------------------------
#
# An offer is data, not a setting: the merchant adds it (`hashcart offers add`, the console)
# and shoppers load it by posting its tag. The store keeps offers and loads; a load is
# redeemed by one order at most, by a compare-and-set in that order's transaction.


class OfferTagTaken(HashcartError, ValueError):
    """Another offer has this tag already (in any case or width)."""


@dataclass(frozen=True)
class OfferLoad:
    """One account's load of an offer."""

    id: int
    offer_id: int
    network: str
    account_id: str
    customer_id: int | None
    status: str  # loaded | pending | expired | refused
    trigger_post_id: str
    parent_post_id: str | None
    posted_at: datetime
    expires_at: datetime | None
    redeemed_order_id: int | None


@dataclass(frozen=True)
class OfferCounts:
    """An offer with how many loaded it (pending ones apart) and how many orders redeemed it."""

    offer: Offer
    loads: int
    pending: int
    redemptions: int
    discounted: Decimal  # what its redemptions took off, in the offer's orders' currencies


class OfferRecords(Protocol):
    def add(self, terms: OfferTerms, at: datetime) -> Offer:
        """Store a new offer; OfferTagTaken when its tag is another offer's."""
        ...

    def all(self) -> list[OfferCounts]:
        """Every offer, newest first, with its loads and redemptions counted."""
        ...

    def find(self, offer_id: int) -> Offer | None: ...

    def catalog_currencies(self) -> set[str]:
        """The currencies of the catalog's prices (an amount off is in the shop's one)."""
        ...

    def set_paused(self, offer_id: int, paused: bool) -> bool:
        """Pause or resume; False when there is no such offer."""
        ...

    def listened_tags(self) -> list[str]:
        """The tags of the offers that are not paused, oldest first: what streams hear."""
        ...

    def closed_tags(self, at: datetime) -> list[str]:
        """Of `listened_tags`, those of the offers over at `at`: expired, or all their loads
        taken. Posts with them are still answered (`offer_expired`, `offer_exhausted`), but
        no stream asks its network for them any more (ShopTags)."""
        ...

    def by_tags(self, tags: Iterable[str]) -> dict[str, Offer]:
        """Normal form of a tag -> its offer, for the tags that have one."""
        ...

    def lock(self, offer_ids: Collection[int]) -> None:
        """Hold these offers' rows until the transaction ends (PostgreSQL FOR UPDATE), so
        concurrent loaders count the same loads."""
        ...

    def loads_of_accounts(
        self, offer_ids: Collection[int], accounts: Collection[tuple[str, str]]
    ) -> dict[tuple[int, str, str], OfferLoad]:
        """(offer, network, account) -> the load, for these offers and accounts."""
        ...

    def loads_of_customers(
        self, offer_ids: Collection[int], customer_ids: Collection[int]
    ) -> set[tuple[int, int]]:
        """(offer, customer) pairs already loaded (through any account)."""
        ...

    def loaded_counts(self, offer_ids: Collection[int]) -> dict[int, int]:
        """How many accounts loaded each offer (pending loads are not counted)."""
        ...

    def add_load(
        self,
        *,
        offer_id: int,
        network: str,
        account_id: str,
        customer_id: int | None,
        status: str,
        trigger_post_id: str,
        parent_post_id: str | None,
        posted_at: datetime,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> bool:
        """Add a load; False when the account (or customer) has one for the offer already."""
        ...

    def pending_of_account(self, network: str, account_id: str) -> list[OfferLoad]:
        """The account's pending loads, oldest post first."""
        ...

    def settle_pending(
        self, load_id: int, status: str, customer_id: int | None, at: datetime
    ) -> bool:
        """Turn a pending load into `loaded` (on `customer_id`) or `expired`; False when it
        was not pending any more, or the customer has the offer already."""
        ...

    def unredeemed(
        self, customer_id: int, at: datetime | None = None
    ) -> list[tuple[OfferLoad, Offer]]:
        """The customer's loaded offers no order redeemed yet, oldest load first (paused ones
        included: an offer loaded before the pause still applies). With `at`, a load a buy
        request quoted is left out while that request holds it (confirmed, or open with its
        window not passed at `at`): buy with a post's quote binds."""
        ...

    def redeem(self, load_id: int, order_id: int, at: datetime) -> bool:
        """Mark the load redeemed by `order_id`; False when an order redeemed it already."""
        ...


# --- end of offers ---------------------------------------------------------------------------


# --- the merchant's own store (issue 16) -----------------------------------------------------
#
# A merchant who already runs a store (Vendure, Shopify, ...) keeps its catalog, stock and
# checkout there: hashcart reads the catalog and stock from it (paged, changes since a time),
# reads one variant's live price and stock before it reserves, and hands a shopper's lines over
# to finish at the store. The built-in shop implements the same port, so the use cases never
# ask which store is behind it. Adapters live in `stores/<name>/` (the built-in one in `store/`).


class StoreUnreachable(HashcartError, RuntimeError):
    """The store did not answer (network, timeout, its own 5xx, throttling past the retries):
    nothing is known, so nothing may be recorded as changed; asking again is safe."""


class StoreRefused(HashcartError, ValueError):
    """The store answered and refused (a GraphQL `userErrors` / `errors` answer, an unknown
    variant, a bad credential): asking again the same way will not help. The message is the
    store's own words, for the merchant."""


@dataclass(frozen=True)
class StoreVariant:
    """One purchasable variant as the store states it. Prices are in the store's currency;
    `stock` is the store's sellable count (None: the store does not track it)."""

    variant_id: str  # the store's own id (Vendure ProductVariant id, Shopify variant gid)
    product_id: str  # the store's product id; variants of one product share it (item group)
    title: str  # the product's name, with the variant's words where it has several
    price: Decimal
    currency: str  # ISO 4217
    stock: int | None
    url: str  # the product page shoppers post (resolves a social link to this variant)
    sku: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # e.g. {"color": "Red", "size": "M"}
    image_url: str | None = None
    description: str | None = None
    updated_at: datetime | None = None
    enabled: bool = True  # False: withdrawn from sale at the store (kept, not sellable)


@dataclass(frozen=True)
class StorePage:
    """One page of a catalog listing; `next_cursor` is None on the last page."""

    variants: tuple[StoreVariant, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class HandoffLine:
    variant_id: str  # the store's variant id
    quantity: int
    # What the store charged a unit (with its taxes), on lines of an order that came back.
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class Handoff:
    """Where the shopper finishes: the store's checkout (or cart) URL, and the store's
    reference for what was created there (order code, cart id), kept to match orders later."""

    checkout_url: str
    reference: str


@dataclass(frozen=True)
class StoreOrder:
    """An order placed at the store, as it comes back (webhook or polling): enough for the
    funnel to count orders and revenue per post through the handoff it finished."""

    reference: str  # the store's order id/code
    handoff_reference: str | None  # the Handoff.reference it came from, when the store knows
    state: str  # the store's own word (Vendure `PaymentAuthorized`, Shopify `PAID`, ...)
    total: Decimal
    currency: str
    placed_at: datetime | None
    lines: tuple[HandoffLine, ...] = ()
    email: str | None = None  # the shopper's, as they gave it at the store


class CommerceStore(Protocol):
    """The store the catalog, stock and checkout live in (setting `store`)."""

    @property
    def name(self) -> str:
        """The `store` setting's value for it: "builtin", "vendure", "shopify"."""
        ...

    @property
    def label(self) -> str:
        """What the shopper reads on the button: "Check out at <label>"."""
        ...

    def list_variants(self, cursor: str | None, changed_since: datetime | None) -> StorePage:
        """One page of the catalog, from `cursor` (None: the first page); with
        `changed_since`, only variants changed since then where the store can say so."""
        ...

    def read_variant(self, variant_id: str) -> StoreVariant | None:
        """The variant's live price and stock now; None when the store has no such variant."""
        ...

    def hand_off(
        self, lines: Sequence[HandoffLine], shopper_email: str | None, reference: str
    ) -> Handoff:
        """Create the shopper's order or cart at the store with these lines and say where they
        finish. `reference` is hashcart's own key for this handoff: asking twice with the same
        reference must not create a second order where the store lets us say so."""
        ...

    def orders_since(self, since: datetime | None) -> Sequence[StoreOrder]:
        """Orders placed at the store since `since` (polling, for stores without webhooks)."""
        ...


# Which catalog product a store's variant is: "<store>:<variant id>" (the built-in store's own
# products keep their ids), so that two stores' ids never meet and carts keep pointing at rows.
STORE_PRODUCT_SEPARATOR = ":"


def store_product_id(store: str, variant_id: str) -> str:
    return f"{store}{STORE_PRODUCT_SEPARATOR}{variant_id}"


def store_variant_id(store: str, product_id: str) -> str | None:
    """The store's variant id of a catalog product, None when the product is not that store's."""
    prefix = f"{store}{STORE_PRODUCT_SEPARATOR}"
    return product_id[len(prefix) :] if product_id.startswith(prefix) else None


@dataclass(frozen=True)
class SyncRecord:
    """The last catalog sync with a store, for the console and `hashcart store status`."""

    store: str
    started_at: datetime | None
    finished_at: datetime | None
    full: bool
    seen: int  # variants the store listed
    changed: int  # catalog rows written
    withdrawn: int  # catalog rows made unsellable (gone or disabled at the store)
    error: str | None  # the last sync's error; None when it went through
    errors: int  # syncs that failed in a row
    last_success_at: datetime | None  # when the last good sync began ("changes since")
    last_full_at: datetime | None
    orders_polled_at: datetime | None  # orders are asked for since then


@dataclass(frozen=True)
class HandoffSource:
    """One handed-off line and the cart line it came from (its post, for the funnel)."""

    product_id: str
    quantity: int
    network: str | None
    post_id: str | None
    trigger_post_id: str | None = None


@dataclass(frozen=True)
class StoredHandoff:
    id: int
    store: str
    reference: str  # hashcart's own key for it
    store_reference: str  # the store's (Handoff.reference: Vendure's order code)
    customer_id: int | None
    checkout_url: str
    order_id: int | None  # hashcart's record of the store order, once it came back
    lines: tuple[HandoffSource, ...]


class StoreRecords(Protocol):
    """What hashcart keeps about the merchant's own store: syncs and handoffs."""

    def sync_record(self, store: str) -> SyncRecord | None: ...

    def save_sync(self, record: SyncRecord) -> None: ...

    def store_product_ids(self, store: str) -> set[str]:
        """Every catalog product of that store that is still sellable."""
        ...

    def withdraw(self, product_ids: Sequence[str], at: datetime) -> int:
        """Make these products unsellable (never deleted: carts and orders point at them)."""
        ...

    def add_handoff(
        self,
        store: str,
        reference: str,
        handoff: Handoff,
        customer_id: int | None,
        lines: Sequence[HandoffSource],
        at: datetime,
    ) -> int: ...

    def handoff(self, store: str, store_reference: str) -> StoredHandoff | None: ...

    def set_handoff_order(self, handoff_id: int, order_id: int, state: str) -> None: ...

    def product_titles(self, product_ids: Sequence[str]) -> dict[str, str]: ...

    def invoice_lines(self, customer_id: int, invoice_id: int) -> list[HandoffSource]:
        """The items the shopper won and has not paid for on their open live-sale invoice
        (each with the sale's post on the claim's network, and the claim), for a handoff;
        empty when the invoice is not theirs, not open, or holds nothing."""
        ...


class CustomerSessionLapsed(StoreRefused):
    """The store no longer knows a linked shopper's session (it lapsed, or they signed
    out everywhere): they link their store account again."""


@runtime_checkable
class StoreCustomerAccounts(Protocol):
    """A store whose customers hashcart can sign in for (Vendure's Shop API): a shopper who
    linked their store account gets the handed-off lines in their own active order there."""

    def sign_in_customer(self, email: str, password: str) -> str:
        """The customer's session at the store (its token); StoreRefused in the store's
        words when it refuses the email and password."""
        ...

    def hand_off_to_customer(
        self, lines: Sequence[HandoffLine], session: str, reference: str
    ) -> Handoff:
        """Add the lines to the signed-in customer's own active order; CustomerSessionLapsed
        when the store no longer knows the session."""
        ...


@dataclass(frozen=True)
class LinkedStoreAccount:
    store: str
    email: str  # what they signed in to the store with
    linked_at: datetime


class StoreCustomerSessions(Protocol):
    """Shoppers' linked store accounts, their sessions kept sealed (store/store_accounts)."""

    def linked(self, store: str, customer_id: int) -> LinkedStoreAccount | None: ...

    def session(self, store: str, customer_id: int) -> str | None:
        """The session token, unsealed; None when none is kept (or it cannot be opened)."""
        ...

    def keep(self, store: str, customer_id: int, email: str, session: str) -> None: ...

    def forget(self, store: str, customer_id: int) -> bool: ...


# --- end of the merchant's own store ---------------------------------------------------------


# --- what a store's webhooks say changed (issue 16) --------------------------------------------
#
# A store that announces its changes (Shopify's `products/update`, `inventory_levels/update`,
# `orders/create` webhooks) hands each verified delivery, once, to a sink the web app is built
# with: the sync reads what changed from it instead of waiting for its next run.


@dataclass(frozen=True)
class StoreChange:
    """One delivery of a store's webhook: which variants (or inventory items, for a stock
    change the store names by item) to read again, or the order placed."""

    store: str  # the `store` setting's value: "shopify"
    delivery_id: str  # the store's id of this delivery (X-Shopify-Webhook-Id): taken once
    topic: str  # the store's own word: "products/update", "orders/create", ...
    product_ids: tuple[str, ...] = ()
    variant_ids: tuple[str, ...] = ()
    inventory_item_ids: tuple[str, ...] = ()
    order: StoreOrder | None = None


# Takes one store change (recording it for the sync, or syncing at once); raises to have the
# store deliver it again.
StoreChangeSink = Callable[[StoreChange], None]


class StoreChangeQueue(Protocol):
    """The changes a store's webhooks announced, waiting for the sync (store/store_changes):
    the sync reads them, applies them, and only then marks them taken."""

    def waiting(self, store: str) -> list[StoreChange]: ...

    def mark_taken(self, store: str, delivery_ids: Iterable[str]) -> None: ...


@runtime_checkable
class InventoryItemReader(Protocol):
    """A store that names stock changes by inventory item (Shopify's
    `inventory_levels/update`) and can say which variants those items are."""

    def variants_of_inventory_items(self, item_ids: Sequence[str]) -> Sequence[StoreVariant]: ...


# --- live sales (issue 13) -----------------------------------------------------------------
#
# Claims are recorded in the ingest's transaction (once per network and post id), and settled
# by services/sales under a lock on each sale item's row: the settle step reads the item's
# claims only after it holds that lock, so concurrent settlers take turns per item and none
# hands out a unit another already handed out.


@dataclass(frozen=True)
class NewSaleItem:
    """An item as the merchant opens it: no `stock` takes the product's free units."""

    number: str
    product_id: str
    stock: int | None
    limit: int | None = None


@dataclass(frozen=True)
class SaleItem:
    number: str
    product_id: str
    stock: int
    limit: int | None
    id: int
    sale_id: int


@dataclass(frozen=True)
class Sale:
    id: int
    name: str
    status: str  # open | closed
    hold_hours: float
    created_at: datetime
    closed_at: datetime | None
    posts: tuple[tuple[str, str], ...]
    items: tuple[SaleItem, ...]

    def item(self, number: str) -> SaleItem | None:
        return next((item for item in self.items if item.number == number), None)


@dataclass(frozen=True)
class NewClaim:
    """A reply to a sale post that names an item, as ingest read it."""

    sale_id: int
    network: str
    post_id: str
    account_id: str
    handle: str
    action: str  # claim | pass | waitlist (domain/sales.ClaimAction)
    item_number: str
    words: tuple[str, ...]
    quantity: int
    posted_at: datetime


@dataclass(frozen=True)
class StoredClaim(NewClaim):
    id: int = 0
    item_id: int | None = None
    status: str = "provisional"
    customer_id: int | None = None
    product_id: str | None = None
    hold_until: datetime | None = None
    remind_at: datetime | None = None
    invoice_id: int | None = None


@dataclass(frozen=True)
class SaleInvoice:
    """A shopper's sale invoice as its payment reads it: `lines` are the claims it pays for,
    held and not run out at the time asked (each a ListItem: `id` is the claim's id, the
    origin the sale post and the claim's reply), priced as the catalog says now."""

    id: int
    sale_id: int
    sale_name: str
    customer_id: int | None
    status: str  # open | paid
    order_id: int | None
    lines: tuple[ListItem, ...]


class SaleExists(HashcartError, ValueError):
    """A sale of that name exists, or one of its posts runs another sale already."""


class SaleRecords(Protocol):
    """Sales, their items, claims and invoices, in the open transaction (store/sales)."""

    def open(
        self,
        name: str,
        hold_hours: float,
        posts: Sequence[tuple[str, str]],
        items: Sequence[NewSaleItem],
        at: datetime,
    ) -> Sale:
        """A new open sale; SaleExists when the name or one of the posts is taken,
        domain/sales.SaleInputError for a product the catalog lacks or an item without a
        stock whose product is not counted."""
        ...

    def close(self, name: str, at: datetime) -> Sale | None:
        """Close the sale (claims made after `at` are refused); None: no such sale."""
        ...

    def named(self, name: str) -> Sale | None: ...

    def of_id(self, sale_id: int) -> Sale | None: ...

    def every(self) -> list[Sale]: ...

    def post_sales(self) -> dict[tuple[str, str], int]:
        """(network, post id) -> sale id, for every sale's posts (closed ones answer
        `sale_closed`)."""
        ...

    def open_posts(self) -> tuple[tuple[str, str], ...]:
        """(network, post id) of the open sales' posts, in the order they were added."""
        ...

    def add_claims(self, claims: Sequence[NewClaim], at: datetime) -> int:
        """Record claims, provisional; one already recorded (same network and post id) is left
        as it is. How many were new."""
        ...

    def due(self, cutoff: datetime) -> list[StoredClaim]:
        """Provisional claims made at or before `cutoff`, in no particular order."""
        ...

    def due_items(self, cutoff: datetime) -> set[int]:
        """The items with provisional claims made at or before `cutoff`."""
        ...

    def first_provisional_at(self) -> datetime | None:
        """The platform time of the earliest provisional claim (None: there is none)."""
        ...

    def due_without_item(self, cutoff: datetime) -> list[StoredClaim]:
        """Provisional claims made at or before `cutoff` naming an item the sale lacks."""
        ...

    def claims_to_settle(self, item_id: int, cutoff: datetime) -> list[StoredClaim]:
        """The item's held and paid claims and its provisional ones made at or before
        `cutoff` (not its waitlist: `waitlist`, `waitlist_count`)."""
        ...

    def claims_to_settle_of(
        self, item_ids: Collection[int], cutoff: datetime
    ) -> dict[int, list[StoredClaim]]:
        """`claims_to_settle` of several items in one go, by item (every item a key)."""
        ...

    def claims_to_settle_summing(
        self, item_ids: Collection[int], cutoff: datetime, now: datetime, summed: Collection[int]
    ) -> tuple[dict[int, list[StoredClaim]], dict[int, int]]:
        """`claims_to_settle_of`, except that of the items in `summed` the quiet holds (paid,
        or held by a linked shopper, not run out at `now` and owed no reminder: a settle
        step changes nothing of them) are not read, only their units counted, by item
        (every item of `summed` a key)."""
        ...

    def quiet_holds_of(self, item_ids: Collection[int], now: datetime) -> list[StoredClaim]:
        """The items' quiet holds (`claims_to_settle_summing`) themselves."""
        ...

    def waitlist_places(
        self, item_ids: Collection[int], moments: Sequence[tuple[int, datetime]]
    ) -> tuple[dict[int, int], list[tuple[int, list[tuple[str, str]]]]]:
        """What places a claim on a waitlist, counted by the database: how many claims
        each item (of `item_ids` and `moments`) has waitlisted, every item a key; and for
        each (item, moment), how many of them were made after it and the (network, post
        id) of those made at it, in `moments`' order."""
        ...

    def waitlist(
        self, item_id: int, since: datetime | None = None, before: datetime | None = None
    ) -> list[StoredClaim]:
        """The item's waitlisted claims made at or after `since` and before `before` (either
        bound left out: no bound), in no particular order."""
        ...

    def holds_to_review(self, now: datetime) -> list[StoredClaim]:
        """Held claims that need the settle step: ran out, unlinked, or owed a reminder."""
        ...

    def lock_item(self, item_id: int) -> SaleItem:
        """The item, its row locked against other settlers until the transaction ends (FOR
        NO KEY UPDATE on PostgreSQL: claims recorded meanwhile pass; SQLite's writer lock is
        held already)."""
        ...

    def lock_items(self, item_ids: Sequence[int], *, skip_locked: bool = False) -> list[SaleItem]:
        """`lock_item` for several items in one statement, in id order. With `skip_locked`,
        the items before the first one another transaction holds (SKIP LOCKED on
        PostgreSQL), none after it: a settle pass that finds an item busy stops there."""
        ...

    def try_lock_item(self, item_id: int) -> SaleItem | None:
        """`lock_item`, or None at once when another transaction holds the item (SKIP LOCKED
        on PostgreSQL): a settle pass that finds an item being settled leaves it to that one."""
        ...

    def take_claim(self, claim_id: int, *, skip_locked: bool = False) -> bool:
        """Lock a provisional claim's row for settling outside an item's lock (one naming no
        item); False when it is provisional no more (another settler settled it meanwhile)
        or, with `skip_locked`, another transaction holds it."""
        ...

    def claims_of_item(self, item_id: int, statuses: Collection[str]) -> list[StoredClaim]: ...

    def update_claim(self, claim_id: int, **values: Any) -> None:
        """Set the claim's columns (status, refusal, item_id, customer_id, product_id,
        settled_at, hold_until, remind_at, invoice_id)."""
        ...

    def update_claims(self, claim_ids: Sequence[int], **values: Any) -> None:
        """`update_claim` for many claims given the same values (a batch of waitlisted ones)."""
        ...

    def update_each_claim(self, updates: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """`update_claim` for each (claim id, columns), in as few statements as can be."""
        ...

    def provisional_among(self, claim_ids: Collection[int]) -> set[int]:
        """Which of these claims are still provisional (not settled by anyone yet)."""
        ...

    def waitlist_claims(self, products: Mapping[int, str], at: datetime) -> None:
        """Claims settled onto their item's waitlist at `at` (claim id -> the product it
        waits for), with their lines on the claim board, in as few statements as can be."""
        ...

    def invoices_for(
        self, sale_id: int, customer_ids: Sequence[int], at: datetime
    ) -> dict[int, int]:
        """`invoice_for` for several shoppers in a few statements: customer id -> invoice."""
        ...

    def invoice_for(self, sale_id: int, customer_id: int, at: datetime) -> int:
        """The shopper's invoice for the sale (made on first use: one per shopper and sale)."""
        ...

    def open_holds(self, product_ids: Collection[str], now: datetime) -> None:
        """Make the products ready for many holds (a settle step's winners): locked, their
        expired holds swept and their free units read now, so that `hold_stock` decides a
        hold of them on that count (exactly as the guarded counter would, under the same
        lock) and writes it with the others at `write_holds`, not a few statements a hold.
        A release (`release_stock`) writes them and ends it."""
        ...

    def write_holds(self) -> None:
        """Write the holds `hold_stock` decided since `open_holds` (before the transaction
        commits), and end it: later holds are made one by one."""
        ...

    def hold_stock(
        self, claim_id: int, product_id: str, quantity: int, now: datetime, until: datetime
    ) -> bool:
        """The product's units held for the claim (a stock reservation); False: the product's
        own count has too few left, and nothing was held."""
        ...

    def release_stock(self, claim_id: int, now: datetime) -> int: ...

    def invoice(self, invoice_id: int, at: datetime, *, lock: bool = False) -> SaleInvoice | None:
        """The invoice with the lines it pays for at `at`; None: no such invoice. `lock`:
        first take the row locks of its items (lock_item, in id order), so no settle step
        releases or promotes on them until the transaction ends."""
        ...

    def mark_invoice_paid(
        self,
        invoice_id: int,
        at: datetime,
        order_id: int | None,
        claims: Collection[int] | None = None,
    ) -> bool:
        """The invoice and its held claims still held at `at` (only `claims`, when given: the
        ones paid for) are paid (once: False if it was not open); their stock holds become
        sold units (held by the order, when there is one)."""
        ...


# --- product pictures (issue 14): fetched once per URL, kept as hashcart's own copies --------


class ImageFetchFailed(HashcartError):
    """A picture could not be fetched; the message is the reason the merchant reads (a
    private address, a redirect to one, an answer too large, a 5xx, a timeout)."""


class ImageFetcher(Protocol):
    """Fetches a picture's bytes from where a catalog row says it is: http(s) only, public
    addresses only (redirects included), within a size cap and a deadline."""

    def fetch(self, url: str) -> bytes:
        """The picture's bytes; ImageFetchFailed (with the reason) when it cannot be had."""
        ...


@dataclass(frozen=True)
class ImageRenditions:
    """A checked picture, as stored: the original's format and size, and its renditions."""

    source_type: str
    width: int
    height: int
    content_type: str
    large: bytes
    thumb: bytes


class ImageRecords(Protocol):
    """The `images` table: each picture URL once, with its renditions or its reason."""

    def wanted_urls(self, retry: bool) -> list[str]:
        """Picture URLs the catalog names that were never fetched (with `retry`, the failed
        ones too), in a fixed order."""
        ...

    def record_ready(self, source_url: str, renditions: ImageRenditions, at: datetime) -> int:
        """Store a checked picture (the row's reason cleared); its id."""
        ...

    def record_failed(self, source_url: str, reason: str, at: datetime) -> None:
        """Remember why the picture could not be had."""
        ...

    def set_product_image(self, product_id: str, image_link: str) -> bool:
        """Make `image_link` the product's main picture; False when there is no product."""
        ...
