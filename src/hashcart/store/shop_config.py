"""What the merchant changed in the console (trigger tags, link tags, shop hosts, the shop's
own accounts), stored in `shop_config` as key → JSON list, over the settings file.

The settings file stays the base: the console stores only the values that differ from it,
and "reset" deletes them. Every combination is checked the way `Settings` checks its own
(`TriggerWords`, `ShopHosts`, `parse_shop_accounts`), so what the console saves, the engine
and the shop's pages can run with."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Literal

from sqlalchemy import Connection, delete, insert, select

from hashcart.config import Settings
from hashcart.domain.kinds import KINDS, Grammar
from hashcart.domain.link_codes import LinkWords
from hashcart.domain.products import ShopHosts
from hashcart.domain.shop_accounts import parse_shop_accounts
from hashcart.domain.triggers import TriggerWords
from hashcart.errors import HashcartError
from hashcart.ports import NetworkSettingFields
from hashcart.store import network_config
from hashcart.store import schema as t

log = logging.getLogger(__name__)

# The settings the console may change, in the order the settings page shows them.
KEYS = (
    "cart_tags",
    "wishlist_tags",
    # `@shop #order`: a linked shopper's orders, told privately (issue 12, i12-cards).
    "order_status_tags",
    "link_tags",
    "shop_hosts",
    "shop_accounts",
)

Values = dict[str, tuple[str, ...]]
Origin = Literal["console", "settings file", "default"]


class ShopConfigError(HashcartError, ValueError):
    """The values cannot work together; the message says which and why."""


def stored(connection: Connection) -> Values:
    """The console's overrides. A row that is no list of strings (written by hand, say) is
    ignored with a warning rather than stopping the engine."""
    found: Values = {}
    for key, raw in connection.execute(select(t.shop_config.c.key, t.shop_config.c.value)):
        if key not in KEYS:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            log.warning("shop_config %r is not a list of strings; ignored", key)
            continue
        found[key] = tuple(value)
    return found


def apply(settings: Settings, overrides: Mapping[str, tuple[str, ...]]) -> Settings:
    """`settings` with `overrides`, refused with ShopConfigError if they cannot work."""
    unknown = sorted(set(overrides) - set(KEYS))
    if unknown:
        raise ShopConfigError("not a setting the console can change: " + ", ".join(unknown))
    merged = {key: tuple(overrides.get(key, getattr(settings, key))) for key in KEYS}
    check(merged)
    return settings.model_copy(update=merged)


def check(values: Mapping[str, tuple[str, ...]]) -> None:
    """Refuse what Settings refuses, with its validators' messages (a tag with its '#', a
    tag in both lists, a link tag that is also a trigger tag, a host name that is none, a
    shop account that is not `network:account`), and an empty cart tag list, which the
    console would otherwise make too easy."""
    try:
        words = TriggerWords.of(KINDS.tags_by_kind(values, Grammar.REPLY))
        LinkWords.of(values["link_tags"], words)
        TriggerWords.of(KINDS.tags_by_kind(values))  # no tag asks for two kinds
        ShopHosts(values["shop_hosts"])
        parse_shop_accounts(values["shop_accounts"])
    except ValueError as error:
        raise ShopConfigError(str(error)) from None
    if not values["cart_tags"]:
        raise ShopConfigError("give at least one cart trigger tag")


def every_row(connection: Connection) -> tuple[tuple[str, str], ...]:
    """Every (key, value) the console keeps, in key order: all `effective_settings` reads
    of the database (the lists, the switches and the networks' values)."""
    rows = connection.execute(
        select(t.shop_config.c.key, t.shop_config.c.value).order_by(t.shop_config.c.key)
    )
    return tuple((str(key), str(value)) for key, value in rows)


def effective_settings(
    settings: Settings, connection: Connection, *, networks: NetworkSettingFields
) -> Settings:
    """The settings the engine runs with: the file's, with the console's changes on top.

    If the settings file changed since so that the two no longer fit together (the file
    now has the console's cart tag as a wish-list tag, say), the file wins and the console
    page says why; the engine never stops over it. The networks' values (accounts,
    servers, sealed tokens, listeners) come on top too, as `networks` (the registered
    networks' fields) name them: see store/network_config."""
    overrides = stored(connection)
    effective = settings
    if overrides:
        try:
            effective = apply(settings, overrides)
        except ShopConfigError as error:
            log.warning("console settings ignored, they no longer fit the settings file: %s", error)
    switches = stored_switches(connection)
    if switches:
        effective = effective.model_copy(update=switches)
    return network_config.overlay(effective, connection, networks=networks)


def save(
    connection: Connection, settings: Settings, changes: Mapping[str, tuple[str, ...]]
) -> None:
    """Store `changes` over the existing overrides, if the result works; a value equal to
    the settings file's is no override, so it is removed rather than stored."""
    overrides = {**stored(connection), **{key: tuple(value) for key, value in changes.items()}}
    apply(settings, overrides)  # raises before anything is written
    for key, value in overrides.items():
        connection.execute(delete(t.shop_config).where(t.shop_config.c.key == key))
        if value != tuple(getattr(settings, key)):
            connection.execute(insert(t.shop_config).values(key=key, value=json.dumps(list(value))))


def reset(connection: Connection, keys: tuple[str, ...] = KEYS) -> None:
    """Back to the settings file for `keys` (all of them by default)."""
    connection.execute(delete(t.shop_config).where(t.shop_config.c.key.in_(keys)))


def origin(settings: Settings, overrides: Mapping[str, tuple[str, ...]], key: str) -> Origin:
    """Where the value in force for `key` comes from ("settings file" includes HASHCART_*
    environment variables: both are how the operator configures the shop)."""
    if key in overrides:
        return "console"
    return "settings file" if key in settings.model_fields_set else "default"


# --- switches the console turns on and off (issue 12: buy with a post) ---------------------
#
# Stored in `shop_config` beside the lists, as the JSON `true` or `false`; like them, only a
# value that differs from the settings file is kept. They cannot conflict with anything.

SWITCHES = ("buy_enabled", "cart_reminders")


def stored_switches(connection: Connection) -> dict[str, bool]:
    """The console's on/off values (a row that is no JSON boolean is ignored, with a warning)."""
    found: dict[str, bool] = {}
    rows = connection.execute(
        select(t.shop_config.c.key, t.shop_config.c.value).where(t.shop_config.c.key.in_(SWITCHES))
    )
    for key, raw in rows:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, bool):
            log.warning("shop_config %r is not true or false; ignored", key)
            continue
        found[key] = value
    return found


def save_switch(connection: Connection, settings: Settings, key: str, value: bool) -> None:
    """Turn `key` on or off over the settings file (the file's own value stores nothing)."""
    if key not in SWITCHES:
        raise ShopConfigError(f"not a switch the console can change: {key}")
    connection.execute(delete(t.shop_config).where(t.shop_config.c.key == key))
    if value != bool(getattr(settings, key)):
        connection.execute(insert(t.shop_config).values(key=key, value=json.dumps(value)))


def switch_origin(settings: Settings, switches: Mapping[str, bool], key: str) -> Origin:
    if key in switches:
        return "console"
    return "settings file" if key in settings.model_fields_set else "default"
