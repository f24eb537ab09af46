"""One Settings: a TOML file (`--config`, HASHCART_CONFIG), overridden by HASHCART_* variables."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hashcart.domain.kinds import KINDS, Grammar
from hashcart.domain.link_codes import LinkWords
from hashcart.domain.products import ShopHosts
from hashcart.domain.sales import ClaimWords
from hashcart.domain.shop_accounts import ShopAccount, parse_shop_accounts
from hashcart.domain.triggers import TriggerWords
from hashcart.errors import HashcartError
from hashcart.logs import LogFormat, LogLevel

DEFAULT_DATABASE_URL = "sqlite:///hashcart.db"
# A listener's name; which names exist is the network registry's to say (each adapter's
# listeners), checked when the application opens (bootstrap.open_app).
_LISTENER_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# One server of bus_url: nats:// or tls://, optionally NATS's `user:password@` or `token@`,
# a host (name, IPv4 or [IPv6]) and a port.
_BUS_SERVER = re.compile(
    r"(?:nats|tls)://(?:[^@/,\s\x00-\x1f\x7f]{1,200}@)?"
    r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):\d{1,5}"
)

# A Shopify shop's own host (https://shopify.dev/docs/api/admin-graphql#endpoints).
_MYSHOPIFY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com")

# A list of words; from the environment either `a,b` or a JSON list.
TagList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Everything hashcart can be told. Environment beats the TOML file beats these defaults."""

    model_config = SettingsConfigDict(env_prefix="HASHCART_", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    # Tags that put the parent's product in the cart / on the wish list (without '#').
    cart_tags: TagList = ("cart",)
    wishlist_tags: TagList = ("wishlist",)
    # Host names the shop's product links live on; empty means the hosts of the catalog's links.
    shop_hosts: TagList = ()
    # The shop's own social accounts, `network:account` (a handle without '@', or the account
    # id): only their posts are shoppable posts on the shop front and in the funnel. Empty:
    # every post with a shop product link. The engine acts on replies to any post either way.
    shop_accounts: TagList = ()
    max_quantity: int = Field(default=10, ge=1, le=1000)
    # Deleting a trigger post takes back the open cart line (or wish-list entry, or waiting
    # request) it made. Orders are never undone.
    undo_on_delete: bool = False
    # How long a trigger from an unlinked account waits for its link, from the trigger's own time.
    pending_expiry_days: float = Field(default=7.0, gt=0)
    # Posts committed per transaction on the ingest path (batching is what makes SQLite fast).
    ingest_batch_size: int = Field(default=1000, ge=1)
    # Check every line is well-formed JSON, not only those decoded (about 2 µs more a line).
    validate_every_line: bool = False
    shop_name: str = "hashcart demo shop"
    # Where shoppers reach the shop's web pages (link instructions in replies point here).
    public_url: str = "http://127.0.0.1:8000"
    # The shop front lives at /s/<shop_slug>.
    shop_slug: str = Field(default="demo", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    # Tags a shopper posts with their one-time code to link that account (`#cartlink K7Q2M9XD`).
    link_tags: TagList = ("cartlink",)
    # Tags a linked shopper posts, mentioning the shop, to hear privately how their latest
    # orders stand (`@shop #order`).
    order_status_tags: TagList = ("order",)
    # How long a one-time link code stays good, and how long a web session lasts.
    link_code_minutes: float = Field(default=30.0, gt=0)
    session_days: float = Field(default=14.0, gt=0)
    # Failed sign-ins allowed per account and per address in sign_in_window_minutes.
    sign_in_account_limit: int = Field(default=5, ge=1)
    sign_in_address_limit: int = Field(default=20, ge=1)
    sign_in_window_minutes: float = Field(default=15.0, gt=0)
    # Password hashes (sign-in, sign-up, reset) the web app runs at once; each Argon2id hash
    # takes 64 MiB, so this bounds their memory. More wait a moment, then get 429.
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    # Web processes `hashcart serve` runs on its one port (uvicorn's supervisor, each process
    # the web app only; the listeners, dispatcher and timers run once, in the supervisor).
    # More than 1 needs PostgreSQL. 1: one process, as before (README, Run at scale).
    web_processes: int = Field(default=1, ge=1, le=64)
    # Mail: always written to the outbox; also sent over SMTP when smtp_host is set.
    mail_from: str = "hashcart <shop@localhost>"
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False

    # --- Live networks (README: "Live networks" says where each value comes from). ---
    # Which listeners `hashcart listen` / `hashcart serve` run: x_stream, mastodon,
    # jetstream, bluesky_firehose (and any a registered network adds). Webhooks
    # (/webhooks/x, /webhooks/mastodon) need none.
    listeners: TagList = ()
    # Encrypts OAuth tokens and network sessions at rest (a Fernet key:
    # `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
    token_key: SecretStr | None = None
    # X: the app's OAuth 1.0a consumer secret and OAuth 2.0 client (webhook signatures, CRC,
    # shopper linking), the app-only bearer token (filtered stream, post lookup) and the shop
    # account's user token (replies, direct messages).
    x_api_url: str = "https://api.x.com"
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    x_consumer_secret: SecretStr | None = None
    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    x_bearer_token: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_refresh_token: SecretStr | None = None
    # The shop's X account: its numeric id (filters, "mentioned us") and handle (stream rules).
    x_shop_user_id: str | None = None
    x_shop_handle: str | None = None
    # Minutes of the filtered stream X sends again on a reconnect (`backfill_minutes`, 1-5,
    # Enterprise access only; 0: not asked). Mentions catch-up covers gaps on every plan.
    x_stream_backfill_minutes: int = Field(default=0, ge=0, le=5)
    # Mastodon: the shop's server and its account's token (streaming, replies), and the
    # secret of the admin webhook pointed at /webhooks/mastodon.
    mastodon_url: str | None = None
    mastodon_access_token: SecretStr | None = None
    mastodon_webhook_secret: SecretStr | None = None
    # Bluesky: the shop account (handle or DID) and an app password on its PDS; where to
    # listen (Jetstream, or a PDS's or relay's firehose) and whom to ask about identities.
    bluesky_pds_url: str = "https://bsky.social"
    bluesky_identifier: str | None = None
    bluesky_app_password: SecretStr | None = None
    bluesky_jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    bluesky_firehose_url: str = "wss://bsky.network/xrpc/com.atproto.sync.subscribeRepos"
    bluesky_plc_url: str = "https://plc.directory"
    bluesky_appview_url: str = "https://public.api.bsky.app"
    # Account linking by OAuth (X, Mastodon, Bluesky): let shoppers name servers on private,
    # loopback or link-local addresses, and over plain http. Only for tests on loopback.
    oauth_allow_private_servers: bool = False
    # Short-link hosts whose links are followed to find a product (never t.co: X expands it).
    shortener_hosts: TagList = (
        "bit.ly",
        "amzn.to",
        "amzn.eu",
        "amzn.asia",
        "a.co",
        "tinyurl.com",
        "buff.ly",
        "ow.ly",
    )
    # Parents fetched from a network's API (a trigger replying to a post no stream brought):
    # failed look-ups of one parent before it is not asked for again (retried after 1, 2,
    # 4… minutes, at most an hour apart), and the longest one look-up may take, name look-up
    # included, before it counts as failed (a bus worker's bound; the clients have their own).
    parent_fetch_attempts: int = Field(default=8, ge=1, le=100)
    parent_fetch_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    # The dispatcher: attempts before a message fails for good, and the backoff between them.
    dispatch_max_attempts: int = Field(default=8, ge=1, le=100)
    dispatch_base_delay_seconds: float = Field(default=2.0, gt=0)
    dispatch_max_delay_seconds: float = Field(default=3600.0, gt=0)

    # --- Payments with Stripe (issue 12; README "Payments with Stripe"). Without a secret key
    # the Stripe gateway is off and the test card and invoice gateways serve alone. ---
    # The account's secret key (sk_…, or a restricted rk_… key) and publishable key (pk_…,
    # for Stripe's card form on the account page).
    stripe_secret_key: SecretStr | None = None
    stripe_publishable_key: str | None = None
    # The signing secret (whsec_…) of the webhook endpoint `{public_url}/webhooks/stripe`.
    stripe_webhook_secret: SecretStr | None = None
    # Where Stripe's API is; tests point it at localstripe on loopback.
    stripe_api_base: str = "https://api.stripe.com"

    # --- Buy with a post (issue 12; README "Buy with a post"). ---
    # Tags a linked shopper replies under a product post to buy it with the saved card
    # (`#buy`, `#buy 2 red M`), and the tags of the confirm that follows (`#confirm K7QX`).
    buy_tags: TagList = ("buy",)
    confirm_tags: TagList = ("confirm",)
    # How long the code is good and the stock held; the quoted price binds as long.
    buy_confirm_minutes: float = Field(default=15.0, gt=0, le=1440)
    # What one shopper may spend by buying with posts in one UTC day, in the shop's currency
    # (the product's): it bounds what a taken-over social account with a saved card can
    # spend before the shopper notices, while leaving room for an ordinary purchase.
    buy_daily_limit: Decimal = Field(default=Decimal("250"), ge=0, le=Decimal("1000000"))
    # Off: `#buy` and `#confirm` are not acted on (a `#buy` gets no answer); the console's
    # settings page turns it off and on.
    buy_enabled: bool = True
    # One reminder of a cart line that waited this long without an order (issue 14), to
    # shoppers who asked for it on their account page, when the shop has it on (the
    # console's settings page switches `cart_reminders`).
    cart_reminders: bool = False
    cart_reminder_hours: float = Field(default=48.0, gt=0, le=24 * 365)

    # --- The merchant's own store (issue 16; README "Use your own store"). ---
    # Where the catalog, stock and checkout live: "builtin" (hashcart's own shop), or a store
    # the merchant runs ("vendure", "shopify": any name the stores registry knows).
    store: str = Field(default="builtin", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    # Vendure: the server (its Admin API at /admin-api, Shop API at /shop-api), and either an
    # Admin API bearer token or an administrator's username and password to sign in with.
    vendure_url: str | None = None
    vendure_admin_token: SecretStr | None = None
    vendure_admin_username: str | None = None
    vendure_admin_password: SecretStr | None = None
    # The merchant's storefront page where a handed-off order is finished: `{token}` is the
    # store's session token for the order, `{code}` its order code (Vendure).
    store_checkout_url: str | None = None
    # The storefront's product pages (`<this>/products/<slug>?variant=<id>`): the links
    # shoppers post. Empty: the scheme and host of store_checkout_url (else the store's URL).
    store_storefront_url: str | None = None
    # Minutes between scheduled catalog syncs (and polls for the store's orders) in `serve`.
    store_sync_minutes: float = Field(default=15.0, gt=0)
    # Stock truth: a reservation (a `#buy`, a live sale's won item, a checkout) reads the
    # store's live count of the variant first; each variant's is kept this many seconds.
    store_stock_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # With an external store, a `#buy` confirmation and a live-sale invoice finish at the
    # store too (a handoff link) instead of hashcart's own payment.
    checkout_at_store: bool = False

    # --- Live sales (issue 13; README "Live sales"). ---
    # The words of a claim in a reply to a sale post (`sold 12`, `claim 12 red M`; `12 red M`
    # needs none), of giving a held item back (`pass 12`) and of joining an item's waitlist
    # (`waitlist 12`), compared case-insensitively.
    sale_claim_words: TagList = ("sold", "claim")
    sale_pass_words: TagList = ("pass",)
    sale_waitlist_words: TagList = ("waitlist",)
    # A claim is settled this long after its own time (the network's): until then a claim
    # made earlier but delivered later still takes its place.
    claim_settle_seconds: float = Field(default=3.0, ge=0, le=3600)
    # An ingest batch settles what is due only if this process's last batch to settle did
    # so at least this long ago (by the clock), or at the same moment; otherwise the next
    # batch or the settle timer (every second) does. 0: every batch settles.
    claim_step_seconds: float = Field(default=0.25, ge=0, le=60)
    # An unlinked shopper's won item is held this long for them to link, then released.
    unlinked_hold_minutes: float = Field(default=30.0, gt=0, le=10_080)

    # Log lines of the long-running commands (serve, listen, dispatch, demo --serve), on
    # standard error: "text" (key=value after the message) or "json" (one object a line,
    # hashcart.logs). log_level is hashcart's own; other libraries log from WARNING.
    log_format: LogFormat = "text"
    log_level: LogLevel = "INFO"

    # --- Run at scale: the NATS JetStream bus (issue 15; README "Run at scale"). Empty
    # bus_url: no bus, one process does everything, as before. ---
    # The cluster's servers, `nats://host:port[,nats://host:port...]`.
    bus_url: str = ""
    # Subjects are `hashcart.posts.<network>.<partition>`, partition = a stable hash of the
    # author's account modulo this; one durable consumer each. Changing it re-partitions
    # accounts: drain the stream first (README "Run at scale").
    bus_partitions: int = Field(default=8, ge=1, le=256)
    # The stream's copies (3 on a three-node cluster), how long it keeps posts, and how long
    # a repeated `Nats-Msg-Id` (the network's post id) is stored only once.
    bus_replicas: int = Field(default=3, ge=1, le=5)
    bus_max_age_hours: float = Field(default=168.0, gt=0)
    bus_duplicate_window_seconds: float = Field(default=120.0, gt=0)
    # Posts a worker takes from a partition at once (one transaction), and how long the
    # stream waits for their acknowledgement before it redelivers them.
    bus_batch_size: int = Field(default=500, ge=1, le=10_000)
    bus_ack_wait_seconds: float = Field(default=60.0, gt=0)
    # Copies of each partition consumer's state (what was delivered and acknowledged); 0:
    # as many as the stream (bus_replicas). A replicated consumer sends each delivery only
    # after a majority stored it, and stores each acknowledgement on a majority too; one
    # copy does neither, but its partition stops while the node that holds it is down
    # (README, the settings table; docs/benchmarks.md "s27-bus").
    bus_consumer_replicas: int = Field(default=0, ge=0, le=5)
    # A worker's hold on a partition lapses this long after its last renewal (it renews every
    # third of it); then another worker takes the partition.
    bus_lease_seconds: float = Field(default=15.0, ge=1)
    # How long a publish waits for the stream's acknowledgement before it is sent again.
    bus_publish_timeout_seconds: float = Field(default=5.0, gt=0)
    # Publishes leave at most this often, together (0: each at once): a JetStream cluster's
    # cost is per wake-up of its servers, so posts arriving one by one cost it several times
    # more than the same posts a few at a time. Adds at most this much latency.
    bus_publish_linger_ms: float = Field(default=10.0, ge=0, le=1000)
    # Prometheus metrics of a long-running process (worker, dispatch, listen, serve) on
    # http://127.0.0.1:<port>/metrics; 0: none.
    metrics_port: int = Field(default=0, ge=0, le=65535)

    # --- The merchant's Shopify store (issue 16; README "Your Shopify store"). Without a
    # shop domain and an Admin token there is no Shopify store to read. ---
    # The shop's own myshopify.com name (`example.myshopify.com`), never its custom domain:
    # the Admin and Storefront APIs answer there.
    shopify_shop_domain: str = ""
    # A custom app's Admin API access token (shpat_…; read_products, read_inventory,
    # read_orders) and the Storefront API access token the cart handoff uses.
    shopify_admin_token: SecretStr | None = None
    shopify_storefront_token: SecretStr | None = None
    # The API version every request names (https://shopify.dev/docs/api/usage/versioning).
    shopify_api_version: str = "2025-10"
    # The app's client secret the webhooks to `{public_url}/webhooks/shopify` are signed
    # with; without it that endpoint does not exist.
    shopify_webhook_secret: SecretStr | None = None
    # Where the shop's APIs are, instead of https://<shopify_shop_domain>; tests point it at
    # their stand-in on loopback.
    shopify_api_base: str = ""

    # --- Product pictures (issue 14; README "Product pictures"): fetched once, checked,
    # resized and served from hashcart. ---
    image_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    image_max_pixels: int = Field(default=40_000_000, ge=10_000, le=200_000_000)
    image_fetch_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # How often `serve` and `listen` look for new pictures to fetch when none waits.
    image_fetch_every_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # Addresses (IP literals) pictures may be fetched from although they are not public.
    # Only for tests that serve pictures on loopback (127.0.0.1); never set it for a shop.
    image_fetch_allow_hosts: TagList = ()

    @field_validator(
        "cart_tags",
        "wishlist_tags",
        "shop_hosts",
        "shop_accounts",
        "link_tags",
        "order_status_tags",
        "buy_tags",
        "confirm_tags",
        "sale_claim_words",
        "sale_pass_words",
        "sale_waitlist_words",
        "listeners",
        "shortener_hosts",
        "image_fetch_allow_hosts",
        mode="before",
    )
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        """Let environment variables say `a,b` as well as a JSON list."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("shopify_shop_domain")
    @classmethod
    def _shopify_shop_domain_is_myshopify(cls, value: str) -> str:
        """Empty, or `<name>.myshopify.com`: the only hosts Shopify's APIs answer on, and
        never a private address."""
        value = value.strip().lower().removeprefix("https://").rstrip("/")
        if value and not _MYSHOPIFY.fullmatch(value):
            raise ValueError(f"shopify_shop_domain: {value[:100]!r} is not <name>.myshopify.com")
        return value

    @field_validator("shopify_api_version")
    @classmethod
    def _shopify_api_version_is_a_release(cls, value: str) -> str:
        """`YYYY-MM` (Shopify's quarterly releases) or `unstable`."""
        if not re.fullmatch(r"20\d\d-(01|04|07|10)|unstable", value):
            raise ValueError(f"shopify_api_version: {value[:20]!r} is not YYYY-MM")
        return value

    @field_validator("image_fetch_allow_hosts")
    @classmethod
    def _allowed_image_hosts_are_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                ipaddress.ip_address(text)
            except ValueError:
                raise ValueError(f"{text!r} is not an IP address (like 127.0.0.1)") from None
        return value

    @field_validator("bus_url")
    @classmethod
    def _bus_url_names_nats_servers(cls, value: str) -> str:
        """Empty, or comma-separated `nats://host:port` (or `tls://`) addresses."""
        value = value.strip()
        if not value:
            return value
        for server in value.split(","):
            if not _BUS_SERVER.fullmatch(server.strip()):
                raise ValueError(
                    f"bus_url: {server.strip()[:100]!r} is not nats://host:port (or tls://)"
                )
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _tags_and_hosts_are_usable(self) -> Settings:
        """Refuse at start-up what the engine would refuse later: `#cart` written with its
        hash, a tag in both lists, a link tag that is also a trigger tag, a host name that is
        no host name, a shop account that is not `network:account`."""
        words = TriggerWords.of(KINDS.tags_by_kind(self, Grammar.REPLY))
        LinkWords.of(self.link_tags, words)
        TriggerWords.of(KINDS.tags_by_kind(self))  # no tag asks for two kinds
        ShopHosts(self.shop_hosts)
        parse_shop_accounts(self.shop_accounts)
        self.claim_words()
        unusable = sorted(name for name in self.listeners if not _LISTENER_NAME.fullmatch(name))
        if unusable:
            raise ValueError(f"listeners {unusable} are not listener names")
        return self

    def claim_words(self) -> ClaimWords:
        """The live sales' claim, pass and waitlist words (checked at start)."""
        return ClaimWords(self.sale_claim_words, self.sale_pass_words, self.sale_waitlist_words)

    def parsed_shop_accounts(self) -> tuple[ShopAccount, ...]:
        """`shop_accounts` as accounts (checked at start, so this does not fail)."""
        return parse_shop_accounts(self.shop_accounts)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file named in model_config (see load_settings) ranks below the environment.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


class ConfigFileError(HashcartError, ValueError):
    """The settings file is missing or unreadable; the message says which and why."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config_file` (or HASHCART_CONFIG), the environment, then `overrides`."""
    named = config_file or os.environ.get("HASHCART_CONFIG")
    path = Path(named) if named else None
    if path is not None and not path.is_file():
        raise ConfigFileError(f"settings file not found: {path}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return FileSettings(**clean)
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(f"settings file {path} is not valid TOML: {error}") from error
