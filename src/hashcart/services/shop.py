"""What the engine knows about the shop while it works: catalog, hosts, trigger words, wording."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from hashcart.config import Settings
from hashcart.domain.carts import UNAVAILABLE, cart_refusal
from hashcart.domain.kinds import KINDS, LINK, OFFER, Grammar
from hashcart.domain.link_codes import LinkWords
from hashcart.domain.messages import (
    MessageContext,
    Placed,
    Reason,
    SaleFacts,
    first_message_advice,
    mention_ask,
)
from hashcart.domain.posts import Network, Post, display_name
from hashcart.domain.products import Catalog, CatalogItem, ShopHosts
from hashcart.domain.sales import ClaimWords
from hashcart.domain.shop_accounts import ShopAccount
from hashcart.domain.text_lengths import TextLimit, limit_for
from hashcart.domain.triggers import TriggerWords, normalize_tag, strip_trigger_tags
from hashcart.domain.urls import extract_urls
from hashcart.domain.variants import Variant, VariantGroups, shared_title
from hashcart.host import Host
from hashcart.ports import ProductInfo, Repository, store_variant_id

__all__ = ["UNAVAILABLE", "Shop"]  # UNAVAILABLE's home is domain/carts


@dataclass(frozen=True)
class Shop:
    """The shop's rules, loaded once per run from the settings and the catalog."""

    name: str
    account_url: str
    words: TriggerWords
    max_quantity: int
    pending_expiry: timedelta
    hosts: ShopHosts
    catalog: Catalog
    # Tags that link an account by one-time code (`#cartlink K7Q2M9XD`); never trigger tags.
    link_words: LinkWords = field(
        default_factory=lambda: LinkWords.of(("cartlink",), TriggerWords())
    )
    products: dict[str, ProductInfo] = field(default_factory=dict)
    # Every registered kind's tags (domain/kinds), the post kinds' as well as the reply
    # kinds' (`words`); None: `words` and `link_words` are all there is.
    all_words: TriggerWords | None = None
    # The Mastodon server's `configuration.statuses.max_characters`, when known; its
    # documented default (500) otherwise.
    mastodon_max_characters: int | None = None
    # Asks a network's server for its limit (networks/registry.max_characters), when the
    # shop has one configured: only when a message to that network is composed, since it
    # costs a request (once per server and process) and most runs answer no one there.
    ask_max_characters: Callable[[Network], int | None] | None = field(
        default=None, compare=False, repr=False
    )
    _asked: dict[Network, int | None] = field(default_factory=dict, compare=False, repr=False)
    # Live sales' waitlisted replies rendered once a shop (`waitlisted_reply`).
    _placed: dict[tuple[Network, str, SaleFacts], Placed] = field(
        default_factory=dict, compare=False, repr=False
    )
    # --- issue 12: variants, undo on delete ---
    # The catalog's variant groups (item_group_id): a link to one names the group.
    variants: VariantGroups = field(default_factory=lambda: VariantGroups(()))
    # Deleting a trigger post takes back the open line or waiting request it made.
    undo_on_delete: bool = False
    # --- issue 11: the shop's own accounts, and the advice of a first message ---
    # The shop's own accounts on every network (`shop_accounts`, the X user id and handle,
    # the Bluesky identifier): their posts never act, whatever tags they carry.
    own_accounts: tuple[ShopAccount, ...] = ()
    # What a shopper's first message on a network adds (X: write `@shop #cart`).
    first_advice: dict[Network, str] = field(default_factory=dict)
    # --- order care (issue 12) ---
    # The shop's own handles per network, lower-case without '@' (shop_accounts' handles,
    # x_shop_handle, a bluesky_identifier that is a handle): an `#order` post from an
    # account no customer linked is answered only when it mentions one of them.
    own_handles: dict[str, frozenset[str]] = field(default_factory=dict)
    # --- buy with a post (issue 12) ---
    # How long a code is good (and the stock held), what a shopper may spend by buying with
    # posts in a UTC day (in the product's currency), and the tag a code is confirmed with
    # (the first of `confirm_tags`, as the answer quotes it).
    buy_confirm_minutes: float = 15.0
    buy_daily_limit: Decimal = Decimal("250")
    confirm_tag: str = "confirm"
    # --- offers by hashtag (issue 12) ---
    # The normal forms of the offer tags whose offers were over (expired, or every load
    # taken) when the shop was loaded: still answered (`offer_expired`, `offer_exhausted`),
    # but no stream asks its network for them (X bills every post a rule brings).
    closed_offer_tags: frozenset[str] = frozenset()

    # --- live sales (issue 13) ---
    # Every sale's posts, (network, post id) -> sale id: replies to them are read as claims.
    sale_posts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # The open sales' posts, (network, post id): the streams that must ask their network for
    # replies to them (X's stream rules) ask only while the sale is open.
    open_sale_posts: tuple[tuple[str, str], ...] = ()
    claim_words: ClaimWords = field(default_factory=ClaimWords)
    claim_settle: timedelta = timedelta(seconds=3)
    # How often an ingest batch settles at most (`settles_batch`), and when one last did.
    claim_step: timedelta = timedelta(seconds=0.25)
    _claim_steps: dict[str, datetime] = field(default_factory=dict, compare=False, repr=False)
    unlinked_hold: timedelta = timedelta(minutes=30)

    # The merchant's words over the default message texts, by template key (issue 14).
    templates: dict[str, str] = field(default_factory=dict)
    # The merchant's own store when buys and invoices finish there (`checkout_at_store` with
    # an external `store`, issue 16); None: hashcart takes the payment.
    checkout_store: str | None = None

    @classmethod
    def load(
        cls,
        settings: Settings,
        repo: Repository,
        ask_max_characters: Callable[[Network], int | None] | None = None,
        now: datetime | None = None,
    ) -> Shop:
        """The shop as `settings` and the catalog say; `now` (the engine's clock) tells which
        offers are over (without it, every offer not paused is heard)."""
        rows = list(repo.products())
        products = {
            pid: ProductInfo(pid, title, availability) for pid, title, _, availability in rows
        }
        items = [CatalogItem(product_id=pid, link=link) for pid, _, link, _ in rows]
        configured = settings.shop_hosts or tuple(ShopHosts.hosts_of(item.link for item in items))
        hosts = ShopHosts(configured)
        words = TriggerWords.of(
            KINDS.tags_by_kind(settings, Grammar.REPLY), KINDS.words_after(settings)
        )
        link_words = LinkWords.of(settings.link_tags, words)  # its own, clearer message first
        return cls(
            name=settings.shop_name,
            account_url=settings.public_url.rstrip("/") + "/account",
            words=words,
            link_words=link_words,
            all_words=TriggerWords.of(_with_offer_tags(KINDS.tags_by_kind(settings), repo)),
            max_quantity=settings.max_quantity,
            pending_expiry=timedelta(days=settings.pending_expiry_days),
            hosts=hosts,
            catalog=Catalog(items, hosts),
            products=products,
            ask_max_characters=ask_max_characters,
            variants=VariantGroups(Variant(*row) for row in repo.product_variants()),
            undo_on_delete=settings.undo_on_delete,
            own_accounts=_own_accounts(settings),
            first_advice=_first_advice(settings),
            own_handles=_own_handles(settings),
            buy_confirm_minutes=settings.buy_confirm_minutes,
            buy_daily_limit=settings.buy_daily_limit,
            confirm_tag=(settings.confirm_tags or ("confirm",))[0],
            closed_offer_tags=frozenset(
                normalize_tag(tag) for tag in ([] if now is None else repo.offers.closed_tags(now))
            ),
            sale_posts=repo.sales.post_sales(),
            open_sale_posts=repo.sales.open_posts(),
            claim_words=settings.claim_words(),
            claim_settle=timedelta(seconds=settings.claim_settle_seconds),
            claim_step=timedelta(seconds=settings.claim_step_seconds),
            unlinked_hold=timedelta(minutes=settings.unlinked_hold_minutes),
            templates=repo.message_templates(),
            checkout_store=(
                settings.store
                if settings.checkout_at_store and settings.store != "builtin"
                else None
            ),
        )

    def paid_at_store(self, product_id: str) -> bool:
        """Whether a buy of `product_id` is paid at the merchant's own store: the shop
        checks out there (`checkout_at_store`) and the product is that store's."""
        store = self.checkout_store
        return store is not None and store_variant_id(store, product_id) is not None

    def is_own(self, post: Post) -> bool:
        """Whether `post` is by one of the shop's own accounts."""
        return any(
            account.is_author(post.network, post.author_id, post.author_handle)
            for account in self.own_accounts
        )

    @property
    def every_word(self) -> TriggerWords:
        """The tags of every trigger kind, post kinds (link) as well as reply kinds."""
        if self.all_words is not None:
            return self.all_words
        return TriggerWords.of({**dict(self.words.by_kind), LINK.name: self.link_words.tags})

    @property
    def every_tag(self) -> tuple[str, ...]:
        """Every trigger kind's tags as written, in kind order, but for the tags of offers that
        are over: what the X stream rules and the Mastodon hashtag streams listen for (the
        prefilter hears `every_word`, so a late post of an offer that ended is answered)."""
        return tuple(
            tag
            for tag in self.every_word.every_tag
            if normalize_tag(tag) not in self.closed_offer_tags
        )

    @property
    def reply_tags(self) -> tuple[str, ...]:
        """The tags of the kinds that ask by replying under a product post."""
        return self.words.every_tag

    @property
    def post_tags(self) -> tuple[str, ...]:
        """The tags of the kinds that ask in a post on its own (`#cartlink CODE`), but for
        those that ask the shop itself (`addressed_tags`) and the offers' (`offer_tags`)."""
        left_out = set(self.words.normal_forms) | {
            normalize_tag(tag) for tag in (*self.addressed_tags, *self.offer_tags)
        }
        return tuple(tag for tag in self.every_tag if normalize_tag(tag) not in left_out)

    @property
    def addressed_tags(self) -> tuple[str, ...]:
        """The tags of the post kinds that ask the shop itself (`@shop #order`), which a
        stream asks its network for only in posts that mention the shop."""
        words = self.every_word
        return tuple(
            tag
            for kind in KINDS
            if kind.addressed and kind.grammar is Grammar.POST
            for tag in words.tags_of(kind.name)
        )

    @property
    def offer_tags(self) -> tuple[str, ...]:
        """The tags of the offers on now (not paused, not expired, loads left), which a
        stream asks its network for only in posts that reach the shop (X: replies to it or
        mentions of it), never every such post on the network."""
        return tuple(
            tag
            for tag in self.every_word.tags_of(OFFER.name)
            if normalize_tag(tag) not in self.closed_offer_tags
        )

    @property
    def public_url(self) -> str:
        """The shop's public address, without a trailing '/'."""
        return self.account_url.removesuffix("/account")

    def sanitize(self, text: str) -> str:
        """`text` without the signs of any trigger kind's tags: what we post can never act."""
        return strip_trigger_tags(text, self.every_word)

    def text_limit(self, network: Network) -> TextLimit | None:
        """How long a message to `network` may be, as that network counts."""
        maximum = self.mastodon_max_characters
        if maximum is None and network is Network.MASTODON and self.ask_max_characters:
            if network not in self._asked:
                self._asked[network] = self.ask_max_characters(network)
            maximum = self._asked[network]
        return limit_for(network, maximum)

    def message_context(self, handle: str, trigger_post_id: str) -> MessageContext:
        return MessageContext(
            handle=handle,
            trigger_post_id=trigger_post_id,
            shop_name=self.name,
            account_url=self.account_url,
            sanitize=self.sanitize,
            templates=self.templates,
        )

    def settles_batch(self, now: datetime) -> bool:
        """Whether an ingest batch of claims settles what is due (services/handlers/claim):
        when no batch of this shop's process did less than `claim_step` ago by the clock
        (one at the same moment does: a clock that stood still gains nothing by waiting).
        A burst's listeners hand over a batch every few milliseconds, and a settle step's
        own statements (the items locked, their claims, holds and waitlists read, the two
        transactions) cost more than its claims did at that pace; the claims a skipped
        batch leaves due wait for the next batch or the settle timer (every second), never
        past their window's rules: a claim is settled only after its window, as before."""
        last = self._claim_steps.get("ingest")
        if last is not None and last < now < last + self.claim_step:
            return False
        self._claim_steps["ingest"] = now
        return True

    def waitlisted_reply(self, network: Network, title: str, sale: SaleFacts) -> Placed:
        """A live sale item's `claim_waitlisted` reply to `network` (`sale` without the
        place), rendered once for as long as this shop is (a burst tells thousands)."""
        found = self._placed.get((network, title, sale))
        if found is None:
            context = self.message_context("", "")
            limit = self.text_limit(network)
            found = Placed(Reason.CLAIM_WAITLISTED, context, title, sale, limit)
            self._placed[(network, title, sale)] = found
        return found

    def shop_links(self, urls: tuple[str, ...], text: str) -> tuple[list[str], list[str]]:
        """(links on a shop host, the distinct products they name in order) for a post."""
        candidates = [*urls, *extract_urls(text)]
        on_shop = [url for url in candidates if self.hosts.matches_url(url)]
        return on_shop, self.catalog.resolve_all(on_shop)

    def availability(self, product_id: str) -> str | None:
        """The product's availability in the catalog; None when the catalog lacks it."""
        info = self.products.get(product_id)
        return None if info is None else info.availability

    def is_available(self, product_id: str) -> bool:
        """Whether the product may go in a cart now (domain/carts)."""
        return cart_refusal(self.availability(product_id)) is None

    def title(self, product_id: str) -> str:
        info = self.products.get(product_id)
        return info.title if info else product_id

    def group_title(self, product_id: str) -> str:
        """How to name a product with variants as a whole: what its variants' titles share
        ("Trailhead Tee" of "Trailhead Tee - Red / M"), else the product's own title."""
        members = self.variants.members(product_id)
        return shared_title([self.title(p) for p in members]) or self.title(product_id)


def _own_handles(settings: Settings) -> dict[str, frozenset[str]]:
    """The shop's handles by network, from the settings that name them (ids left out)."""
    found: dict[str, set[str]] = {}
    for account in settings.parsed_shop_accounts():
        name = account.account
        if not (name.isdigit() or name.startswith(("did:", "http://", "https://"))):
            found.setdefault(account.network.value, set()).add(name.lower())
    if settings.x_shop_handle:
        found.setdefault("x", set()).add(settings.x_shop_handle.strip().lstrip("@").lower())
    identifier = (settings.bluesky_identifier or "").strip().lstrip("@")
    if identifier and not identifier.startswith("did:"):
        found.setdefault("bluesky", set()).add(identifier.lower())
    return {network: frozenset(names) for network, names in found.items()}


class ShopHost(Host, Protocol):
    """The host (hashcart.host) with the shop as the catalog and the console's settings
    stand now: what the live sink and OAuth linking run on (bootstrap.App is one)."""

    def shop(self) -> Shop: ...


def _own_accounts(settings: Settings) -> tuple[ShopAccount, ...]:
    """`shop_accounts`, and the accounts the network settings name as the shop's."""
    named = [
        (Network.X, settings.x_shop_user_id),
        (Network.X, settings.x_shop_handle),
        (Network.BLUESKY, settings.bluesky_identifier),
    ]
    found = dict.fromkeys(settings.parsed_shop_accounts())
    for network, account in named:
        account = (account or "").strip().removeprefix("@")
        if account:
            found.setdefault(ShopAccount(network, account))
    return tuple(found)


def _first_advice(settings: Settings) -> dict[Network, str]:
    """X answers only those who mention the shop (networks/x/guidance): a shopper's first
    message there says how, when the shop's handle is known."""
    ask = mention_ask(settings.x_shop_handle, settings.cart_tags[0]) if settings.cart_tags else None
    return {Network.X: first_message_advice(ask, display_name(Network.X))} if ask else {}


# --- offers by hashtag (issue 12) ---


def _with_offer_tags(
    tags: dict[str, tuple[str, ...]], repo: Repository
) -> dict[str, tuple[str, ...]]:
    """Every kind's tags, the offer kind's being the tags of the offers not paused (data,
    read once per shop load: the prefilter and the streams then hear them at no cost per
    post). An offer tag another kind has since been given (the console changed `cart_tags`)
    is left to that kind, so a setting can never be broken by an offer."""
    taken = {normalize_tag(tag) for kind, written in tags.items() for tag in written}
    offered: dict[str, str] = {}
    for tag in repo.offers.listened_tags():
        key = normalize_tag(tag)
        if key not in taken:
            offered.setdefault(key, tag)
    return {**tags, OFFER.name: tuple(offered.values())}
