"""One contract per network: everything hashcart needs to know of a network, in one value.

A network is a `NetworkAdapter` registered in one line (`networks.registry.register`). From
the registry, and nowhere else, come format detection and decoding (networks/formats), the
prefilter's per-shape rules (networks/prefilter), display names, post URLs, the senders the
dispatcher uses, the parent fetchers and listeners of the live sink, the OAuth sign-in of the
account page, the console's Networks form and the one webhook route `/webhooks/{network}`.

This module is the leaf of the package: the names other modules share (`Format`, `Line`)
live here. A network's parts are built from a `NetworkHost` (ports and the settings in
force, which bootstrap's App offers), never from the application object itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast, get_args

from hashcart.domain.posts import Event
from hashcart.networks.input_format import Format as Format
from hashcart.ports import (
    ClientRegistry,
    Clock,
    DeliveryLog,
    Listener,
    LiveSink,
    OAuthProvider,
    ParentFetcher,
    ProvenAccount,
    SealedSessions,
    Sender,
)

# `Line` is the prefilter's answer, a port now (ingest reads it); named here as before.
from hashcart.ports import Line as Line

if TYPE_CHECKING:
    # pydantic only for types here: `hashcart --help` reads this module and stays fast.
    from pydantic import BaseModel

    from hashcart.config import Settings

ModelT = TypeVar("ModelT", bound="BaseModel")


# One payload (a line, or a whole JSON document) in, the events it holds out; DecodeError
# (domain.posts) for a payload that is not valid in its format.
Decode = Callable[[bytes], list[Event]]


@dataclass(frozen=True)
class Sniff:
    """One rule of format detection (`formats.detect`): a line that `matches(head, line)`
    is in `format`. `head` is the line's first 32 bytes without leading blanks, so a rule on
    the first key costs no scan. Every network's rules are tried together, lowest `order`
    first, since shapes of different networks can share a key (the built-in ones use 10-70;
    see the X, Mastodon and Bluesky adapters)."""

    order: int
    format: str
    matches: Callable[[bytes, bytes], bool]


@dataclass(frozen=True)
class LineRule:
    """A cheap prefilter rule for lines of one shape, tried before the generic search (a
    stream of one shape is mostly events that are no posts at all): a line starting with
    `prefix` that lacks `must_hold` is NOT_A_POST; one that holds `wanted_if` is WANTED."""

    prefix: bytes
    must_hold: bytes | None = None
    wanted_if: bytes | None = None


Role = Literal["listen", "answer", "extra"]


@dataclass(frozen=True)
class SettingField:
    """One setting of a network as the console's Networks form shows it. `key` is the
    settings' field name; `secret` ones are sealed at rest and never shown back."""

    key: str
    label: str
    hint: str
    secret: bool = False


def setting_fields(model: type[BaseModel]) -> tuple[SettingField, ...]:
    """A network's settings model as the console's form shows it: each field in the order
    the model declares them, its `title` the label and its `description` the hint; a field
    typed `SecretStr` is a secret (sealed at rest, never shown back)."""
    from pydantic import SecretStr

    return tuple(
        SettingField(
            key,
            info.title or key,
            info.description or "",
            secret=info.annotation is SecretStr or SecretStr in get_args(info.annotation),
        )
        for key, info in model.model_fields.items()
    )


@dataclass(frozen=True)
class Need:
    """One thing hashcart can do on a network, and the values it takes: met when every
    value of one of `alternatives` is set (and `listener` is on, for a stream)."""

    what: str
    role: Role
    alternatives: tuple[tuple[str, ...], ...]
    listener: str | None = None


@dataclass(frozen=True)
class NetworkSettings:
    """What the console's Networks card of a network is generated from: its settings
    `model` (a pydantic model declaring the network's fields, secrets typed `SecretStr`),
    what each capability needs, and its listeners (name -> label), the names the
    `listeners` setting accepts.

    The built-in networks' fields are also `Settings` fields of the same names (documented
    settings, kept); a plugin's are stored by the console only."""

    # None: the network takes no settings.
    model: type[BaseModel] | None = None
    needs: tuple[Need, ...] = ()
    listeners: Mapping[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[SettingField, ...]:
        return () if self.model is None else setting_fields(self.model)

    @property
    def plain_keys(self) -> tuple[str, ...]:
        return tuple(one.key for one in self.fields if not one.secret)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        return tuple(one.key for one in self.fields if one.secret)


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook call as the network made it: the raw body (signatures cover these bytes),
    its headers and its query parameters."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]


@dataclass(frozen=True)
class WebhookAnswer:
    """What `/webhooks/{network}` answers: a status and a JSON body; `after` runs once the
    answer went (a network that wants its answer fast gets it before parents are fetched)."""

    status: int
    body: dict[str, Any]
    after: Callable[[], object] | None = None


class Webhook(Protocol):
    """A network's webhook receiver behind `/webhooks/{network}`."""

    # Larger bodies are refused (413) before they are read whole.
    max_body_bytes: int

    def challenge(self, request: WebhookRequest, settings: Settings) -> WebhookAnswer | None:
        """The answer to a GET (a subscription challenge), or None when the network never
        sends one (405)."""
        ...

    def deliver(
        self,
        request: WebhookRequest,
        settings: Settings,
        sink: Callable[[], LiveSink],
        deliveries: DeliveryLog,
    ) -> WebhookAnswer:
        """Verify a delivery, drop a repeat by its delivery key, hand the rest to the sink
        (`sink()` gives it, built on first use: a refused delivery builds nothing)."""
        ...


class NetworkHost(Protocol):
    """What a network's parts are built from: the clock, the settings in force (the file's
    with the console's on top, re-read at each call) and the store of the shop account's
    sealed sessions. The composition root offers it (bootstrap.App), built once; a network
    never sees the application object beyond these."""

    @property
    def clock(self) -> Clock: ...

    def effective_settings(self) -> Settings: ...

    def network_settings(self, model: type[ModelT]) -> ModelT:
        """`model` (a network's settings model) with the values in force: how a plugin
        network reads its own fields, which are no `Settings` fields."""
        ...

    def sealed_sessions(self) -> SealedSessions: ...


@dataclass(frozen=True)
class Wiring:
    """A network's parts as its `wiring` module builds them from the settings, the module
    imported only when a part is first built: registering a network loads none of its HTTP
    and streaming stack (`hashcart --help` and `ingest` stay fast)."""

    # e.g. "hashcart.networks.x.wiring": fetcher(host), sender(host), listeners(host, sink)
    module: str

    def fetcher(self, host: NetworkHost) -> ParentFetcher | None:
        return cast("ParentFetcher | None", importlib.import_module(self.module).fetcher(host))

    def sender(self, host: NetworkHost) -> Sender | None:
        return cast("Sender | None", importlib.import_module(self.module).sender(host))

    def listeners(self, host: NetworkHost, sink: LiveSink) -> list[Listener]:
        built = importlib.import_module(self.module).listeners(host, sink)
        return cast("list[Listener]", built)

    def max_characters(self, host: NetworkHost) -> int | None:
        return cast("int | None", importlib.import_module(self.module).max_characters(host))


@dataclass(frozen=True)
class SignInAsks:
    """What the account page's "Link <network>" form asks the shopper before sending them
    to sign in at the network: a Mastodon server, a Bluesky handle. `name` is the form
    field the start route reads (`server` or `handle`)."""

    name: Literal["server", "handle"]
    label: str
    placeholder: str
    autocomplete: str = "off"


@dataclass(frozen=True)
class ShopAccountValues:
    """What the shop's account connected by OAuth writes where the network's parts already
    read: Networks settings (`plain`, and `secrets` sealed with the token_key) and sealed
    sessions (`sessions`: network_sessions name -> the JSON to seal)."""

    plain: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    sessions: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ShopConnect:
    """Connecting the shop's own account by OAuth from the console's Networks page (issue
    14): the shopper's sign-in with the scopes the shop needs, and where its tokens go.

    `provider(host, clients, callback_path)` builds the sign-in; `values(proven, server,
    now)` says what the connected account writes; Disconnect clears `plain_keys`, `secret_keys`
    and `session_names` and revokes `revoke_session`'s tokens (else the access token in
    the `revoke_setting` setting)."""

    provider: Callable[[NetworkHost, ClientRegistry, str], OAuthProvider]
    values: Callable[[ProvenAccount, str | None, datetime], ShopAccountValues]
    plain_keys: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()
    session_names: tuple[str, ...] = ()
    revoke_session: str | None = None
    revoke_setting: str | None = None
    # What the Connect form asks first (the server, the handle), and the setting it starts
    # from (the shop's server or handle already set).
    asks: SignInAsks | None = None
    asks_setting: str | None = None


def _none(host: NetworkHost) -> None:
    return None


def _no_listeners(host: NetworkHost, sink: LiveSink) -> list[Listener]:
    return []


def _no_post_url(post_id: str, author_id: str, author_handle: str) -> str | None:
    return None


@dataclass(frozen=True)
class NetworkAdapter:
    """Everything hashcart knows of one network.

    The part builders take the host and read the settings in force from it
    (`host.effective_settings()`), answering None / nothing when those do not configure the
    part; they import their heavy modules when called, so registering costs nothing.
    """

    # The network's short name: outbox and posts' `network` column, /webhooks/<name>.
    name: str
    # As a person reads it ("Mastodon").
    display_name: str
    # Format name -> decoder, for every payload shape the network has.
    decoders: Mapping[str, Decode]
    sniffs: tuple[Sniff, ...] = ()
    line_rules: tuple[LineRule, ...] = ()
    settings: NetworkSettings = field(default_factory=NetworkSettings)
    fetcher: Callable[[NetworkHost], ParentFetcher | None] = _none
    sender: Callable[[NetworkHost], Sender | None] = _none
    listeners: Callable[[NetworkHost, LiveSink], list[Listener]] = _no_listeners
    # The longest post the shop's server takes, where the server says (Mastodon's
    # `configuration.statuses.max_characters`); None: the network's fixed limit holds.
    max_characters: Callable[[NetworkHost], int | None] = _none
    # The shopper's sign-in at the network (account linking), None when it has none; the
    # registry keeps hashcart's client registrations (one per server, for Mastodon).
    oauth: Callable[[NetworkHost, ClientRegistry], OAuthProvider] | None = None
    # What the account page's link form asks before that sign-in (None: nothing).
    sign_in_asks: SignInAsks | None = None
    # The shop's own account connected by the same sign-in from the console (None: no).
    connect: ShopConnect | None = None
    webhook: Webhook | None = None
    # (post id, author id, author handle) -> the post's page on the network, or None.
    post_url: Callable[[str, str, str], str | None] = _no_post_url
