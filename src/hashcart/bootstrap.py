"""Wiring: settings → engine → shop, in one place for every entry point."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine

import hashcart.networks.builtin  # noqa: F401 (registers the built-in networks, at the root)
from hashcart import plugins
from hashcart.clock import Clock, SystemClock
from hashcart.config import Settings
from hashcart.networks import registry
from hashcart.networks.setting_fields import NETWORK_SETTING_FIELDS
from hashcart.store.database import is_current, make_engine, read_only_transaction, upgrade
from hashcart.store.unit_of_work import SqlUnitOfWork

if TYPE_CHECKING:
    from pydantic import BaseModel

    from hashcart.networks.images import HttpImageFetcher
    from hashcart.payments.stripe_cards import StripeCards
    from hashcart.payments.stripe_gateway import StripeGateway
    from hashcart.ports import (
        CommerceStore,
        PayloadReader,
        PaymentGateway,
        ProviderCleaner,
        SealedSessions,
        Sender,
        StoreChangeQueue,
        StoreCustomerSessions,
    )
    from hashcart.services.images import ImageLimits, ImagesReport, PictureFetch
    from hashcart.services.shop import Shop
    from hashcart.services.store_stock import LiveStock

# The shop and the console's settings are imported where they are read: they bring the
# engine's statements and every network's adapter, which reports such as `hashcart carts`
# do not use (docs/benchmarks.md, "Start-up").

ModelT = TypeVar("ModelT", bound="BaseModel")

# Networks and trigger kinds from other installed packages, after the built-in ones (a
# plugin that fails is one WARNING line; the rest load).
plugins.load_plugins()


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    # The merchant's store (issue 16), built on first use and kept (its session with it).
    _commerce_store: CommerceStore | None = field(default=None, init=False, repr=False)
    _live_reader: LiveStock | None = field(default=None, init=False, repr=False)
    # The settings in force, with the settings and the console's rows they were made of
    # (effective_settings): made again only when either changed.
    _effective: tuple[Settings, tuple[tuple[str, str], ...], Settings] | None = field(
        default=None, init=False, repr=False
    )

    # The background picture fetch `serve` and `listen` run (start_picture_fetch); None
    # elsewhere, where an import fetches its pictures before it answers.
    picture_fetch: PictureFetch | None = field(default=None, init=False, repr=False)

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A fresh unit of work on this database (ports.UnitsOfWork): the one way to write;
        `read_only` for one that only reads. With the merchant's own store, its reservations
        read the store's live stock first (issue 16)."""
        external = not read_only and self.settings.store != "builtin"
        return SqlUnitOfWork(
            self.engine, read_only=read_only, live_stock=self._live_stock if external else None
        )

    def _live_stock(self, product_id: str) -> int | None:
        """ports.LiveStockReader: the store's live count through a short cache, built on
        first use; None when the store's settings cannot build it."""
        if self._live_reader is None:
            from hashcart.services.store_stock import LiveStock
            from hashcart.stores.registry import StoreNotConfigured, UnknownStore

            try:
                store = self.commerce_store()
            except (StoreNotConfigured, UnknownStore):
                return None
            ttl = timedelta(seconds=self.settings.store_stock_cache_seconds)
            self._live_reader = LiveStock(store, self.clock, ttl)
        return self._live_reader(product_id)

    @property
    def payload_reader(self) -> PayloadReader:
        """The registered networks' prefilter, decoders and line checks, which ingest reads
        payloads with (ports.PayloadReader)."""
        from hashcart.networks.payload_reader import NETWORK_PAYLOADS

        return NETWORK_PAYLOADS

    def effective_settings(self) -> Settings:
        """The settings in force: the file's, with what the merchant changed in the console
        (trigger tags, link tags, shop hosts) on top. Read these, not `settings`, for those."""
        from hashcart.store import shop_config

        with read_only_transaction(self.engine) as connection:
            # What they are made of is a few rows; making them (validating the console's
            # values, opening its secrets) cost pages more than reading those rows.
            rows = shop_config.every_row(connection)
            kept = self._effective
            if kept is not None and kept[0] is self.settings and kept[1] == rows:
                return kept[2]
            effective = shop_config.effective_settings(
                self.settings, connection, networks=NETWORK_SETTING_FIELDS
            )
        self._effective = (self.settings, rows, effective)
        return effective

    def network_settings(self, model: type[ModelT]) -> ModelT:
        """A network's settings model with the values in force (networks/base.NetworkHost):
        the settings' fields, and a plugin network's own from the console."""
        from hashcart.store import network_config, shop_config

        with read_only_transaction(self.engine) as connection:
            effective = shop_config.effective_settings(
                self.settings, connection, networks=NETWORK_SETTING_FIELDS
            )
            return network_config.values_of(
                effective, connection, model, networks=NETWORK_SETTING_FIELDS
            )

    def sealed_sessions(self) -> SealedSessions:
        """The shop account's network sessions, sealed in the database (networks' wiring
        reads them through networks/base.NetworkHost, which App is)."""
        from hashcart.store.network_sessions import StoredSessions

        return StoredSessions(self.engine, self.clock)

    def shop(self) -> Shop:
        """The shop as the catalog and the console settings stand now (re-read, since
        imports and the console change them)."""
        from hashcart.services.shop import Shop
        from hashcart.store import shop_config
        from hashcart.store.repository import Repository

        with read_only_transaction(self.engine) as connection:
            settings = shop_config.effective_settings(
                self.settings, connection, networks=NETWORK_SETTING_FIELDS
            )
            return Shop.load(
                settings, Repository(connection), self._max_characters, now=self.clock.now()
            )

    def _max_characters(self, network: str) -> int | None:
        return registry.max_characters(network, self)

    # --- payment gateways (issue 12: Stripe) ---------------------------------------------
    # Stripe's library is imported only here, when a payment needs it.

    def payment_gateways(self) -> dict[str, PaymentGateway]:
        """The gateways a checkout may use: the built-in test card and invoice, and Stripe
        when `stripe_secret_key` is set."""
        from hashcart.services.payments import GATEWAYS

        gateways: dict[str, PaymentGateway] = dict(GATEWAYS)
        stripe = self.stripe_gateway()
        if stripe is not None:
            gateways[stripe.name] = stripe
        return gateways

    def stripe_gateway(self) -> StripeGateway | None:
        from hashcart.payments.stripe_gateway import StripeGateway

        client = self._stripe_client()
        return None if client is None else StripeGateway(client, self.unit_of_work, self.clock)

    def stripe_cards(self) -> StripeCards | None:
        """Saving shoppers' cards at Stripe; None without `stripe_secret_key`."""
        from hashcart.payments.stripe_cards import StripeCards

        client = self._stripe_client()
        return None if client is None else StripeCards(client, self.unit_of_work, self.clock)

    def provider_cleaners(self) -> dict[str, ProviderCleaner]:
        """The gateways that keep shoppers' cards and customers of their own, asked to
        forget them (services/saved_cards): Stripe when `stripe_secret_key` is set."""
        cards = self.stripe_cards()
        return {} if cards is None else {"stripe": cards}

    def _stripe_client(self) -> Any:
        key = self.settings.stripe_secret_key
        if key is None or not key.get_secret_value():
            return None
        from hashcart.payments.stripe_client import make_client

        return make_client(key.get_secret_value(), self.settings.stripe_api_base)

    # --- buy with a post (issue 12) ---------------------------------------------------------

    def settle_buys(self) -> int:
        """Pay for the buys `#confirm CODE` posts claimed (services/buying): after an ingest's
        batch commits, and in `serve`'s payment sweep. How many were settled."""
        from hashcart.services.buying import settle_confirmed

        gateways = self.payment_gateways()
        store = self.external_store() if self.settings.checkout_at_store else None
        accounts = None if store is None else self.store_accounts()
        return len(
            settle_confirmed(
                self.unit_of_work, self.clock, gateways.get, self.shop(), store, accounts
            )
        )

    # --- the merchant's own store (issue 16) -----------------------------------------------

    def commerce_store(self) -> CommerceStore:
        """The store the `store` setting names: the built-in shop (its own tables), or one
        the stores registry builds (stores/known); StoreNotConfigured / UnknownStore when it
        cannot be built from the settings."""
        if self._commerce_store is None:
            from hashcart.stores import known, registry

            del known  # imported for its registrations
            if self.settings.store == registry.BUILTIN:
                from hashcart.store.own_store import BuiltinStore

                checkout = f"{self.settings.public_url.rstrip('/')}/checkout"
                self._commerce_store = BuiltinStore(self.engine, checkout, self.settings.shop_name)
            else:
                self._commerce_store = registry.build(self.settings)
        return self._commerce_store

    def store_changes(self) -> StoreChangeQueue:
        """What the store's webhooks announced, waiting for the next sync."""
        from hashcart.store.store_changes import StoredStoreChanges

        return StoredStoreChanges(self.engine, self.clock)

    def store_accounts(self) -> StoreCustomerSessions | None:
        """Shoppers' linked accounts at the merchant's store, their sessions sealed with the
        token key; None without a token key (nothing can be kept sealed)."""
        from hashcart.secretbox import NoTokenKey, SecretBox
        from hashcart.store.store_accounts import StoredCustomerSessions

        try:
            box = SecretBox.of(self.settings)
        except NoTokenKey:
            return None
        return StoredCustomerSessions(self.engine, self.clock, box)

    def external_store(self) -> CommerceStore | None:
        """The merchant's own store when it is not the built-in shop, else None."""
        return None if self.settings.store == "builtin" else self.commerce_store()

    # --- a reminder of a waiting cart (issue 14) ---------------------------------------------

    def send_reminders(self) -> int:
        """Queue the cart reminders due now (services/reminders), when the shop has them on
        (`cart_reminders`, over the settings file from the console): `serve`'s timer and
        `hashcart reminders send`. How many were queued."""
        settings = self.effective_settings()
        if not settings.cart_reminders:
            return 0
        from hashcart.services.reminders import send_cart_reminders

        return send_cart_reminders(
            self.unit_of_work, self.clock, self.shop(), settings.cart_reminder_hours
        )

    # --- the outbox's senders (host.Host.network_senders) ---------------------------------

    def network_senders(self) -> dict[str, Sender]:
        """Each registered network's sender the settings in force configure: the
        dispatcher is given them here, and never looks in the network registry itself."""
        return registry.senders(self)

    # --- product pictures (issue 14) -------------------------------------------------------

    def fetch_images(self, *, retry: bool = False, batch: int | None = None) -> ImagesReport:
        """Fetch, check and store the pictures the catalog names and has not got yet (with
        `retry`, the failed ones again; at most `batch`). Pillow is loaded only here."""
        from hashcart.services.images import DEFAULT_BATCH, fetch_images

        fetcher = self.image_fetcher()
        try:
            return fetch_images(
                self.unit_of_work,
                fetcher,
                self.clock,
                self.image_limits(),
                retry=retry,
                batch=DEFAULT_BATCH if batch is None else batch,
            )
        finally:
            fetcher.close()

    def start_picture_fetch(self) -> PictureFetch:
        """Fetch the catalog's new pictures in the background, one at a time (`hashcart
        serve` and `hashcart listen`); stop() it when done."""
        from hashcart.services.images import PictureFetch

        fetch = PictureFetch(
            lambda: self.fetch_images(batch=1), self.settings.image_fetch_every_seconds
        )
        fetch.start()
        self.picture_fetch = fetch
        return fetch

    def image_fetcher(self) -> HttpImageFetcher:
        """The picture fetcher the settings configure; close() it when done."""
        from hashcart.networks.images import HttpImageFetcher

        return HttpImageFetcher(
            max_bytes=self.settings.image_max_bytes,
            timeout_seconds=self.settings.image_fetch_timeout_seconds,
            also_allowed=frozenset(
                ipaddress.ip_address(text) for text in self.settings.image_fetch_allow_hosts
            ),
        )

    def image_limits(self) -> ImageLimits:
        from hashcart.services.images import ImageLimits

        return ImageLimits(
            max_bytes=self.settings.image_max_bytes, max_pixels=self.settings.image_max_pixels
        )


def open_app(settings: Settings, clock: Clock | None = None, *, migrate: bool = True) -> App:
    """Connect to the database, bringing its schema up to date unless told not to.
    Refuses (registry.UnknownListeners) a `listeners` setting naming a listener no
    registered network has: the settings cannot know them, the registry does."""
    registry.check_listeners(settings.listeners)
    engine = make_engine(settings.database_url)
    if migrate and not is_current(engine):
        upgrade(engine)
    return App(settings=settings, engine=engine, clock=clock or SystemClock())
