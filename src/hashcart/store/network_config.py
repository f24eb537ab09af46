"""The networks' values the merchant set in the console (accounts, servers, tokens, which
listeners run), stored in `shop_config` over the settings file.

Plain values are stored as JSON (a string, or a list for `listeners`); secrets are stored
sealed with the `token_key` (secretbox), as `{"sealed": "<Fernet token>"}`, so a copied
database gives no one the shop's API keys, and a page can say a secret is set without ever
holding it. As with the console's other settings, a value equal to the file's is no
override, and a blank field means "the settings file's value"."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar, get_args

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import Connection, delete, insert, select

from hashcart.config import Settings
from hashcart.errors import HashcartError
from hashcart.ports import NetworkSettingFields
from hashcart.secretbox import NoTokenKey, SecretBox, UnreadableSecret
from hashcart.store import schema as t

log = logging.getLogger(__name__)

MAX_VALUE_LENGTH = 2000


# Every function that must know the registered networks' fields takes them as `networks`
# (ports.NetworkSettingFields; bootstrap and the console's page pass the registry's).


def plain_keys(*, networks: NetworkSettingFields) -> tuple[str, ...]:
    """Plain values, in the order the networks page shows them: as every registered
    network's settings model says (networks/base), then `listeners`."""
    return (*networks.plain_keys(), "listeners")


def secret_keys(*, networks: NetworkSettingFields) -> tuple[str, ...]:
    """Secrets (sealed at rest, never shown back): the fields every registered network's
    settings model types SecretStr."""
    return networks.secret_keys()


def keys(*, networks: NetworkSettingFields) -> tuple[str, ...]:
    return plain_keys(networks=networks) + secret_keys(networks=networks)


Plain = str | tuple[str, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)
Origin = Literal["console", "settings file", "default"]


class NetworkConfigError(HashcartError, ValueError):
    """A value the networks cannot work with, or a secret that cannot be stored; the
    message says which and why."""


@dataclass
class Stored:
    """What the console holds: plain values, and secrets still sealed."""

    plain: dict[str, Plain] = field(default_factory=dict)
    sealed: dict[str, str] = field(default_factory=dict)


@dataclass
class Opened:
    """The console's secrets opened with the token_key, and those it could not open."""

    values: dict[str, str] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


def stored(connection: Connection, *, networks: NetworkSettingFields) -> Stored:
    """The console's network values. A row that is not what this module writes (edited by
    hand, say) is ignored with a warning rather than stopping the engine."""
    found = Stored()
    secret = secret_keys(networks=networks)
    rows = connection.execute(
        select(t.shop_config.c.key, t.shop_config.c.value).where(
            t.shop_config.c.key.in_(keys(networks=networks))
        )
    )
    for key, raw in rows:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if key in secret:
            if isinstance(value, dict) and isinstance(value.get("sealed"), str):
                found.sealed[key] = value["sealed"]
                continue
        else:
            try:
                found.plain[key] = check_plain(key, value, networks=networks)
                continue
            except (NetworkConfigError, TypeError):
                pass
        log.warning("shop_config %r is not a value hashcart wrote; ignored", key)
    return found


def open_secrets(settings: Settings, sealed: Mapping[str, str]) -> Opened:
    """The sealed secrets opened with the settings' token_key (all unreadable without one)."""
    opened = Opened()
    if not sealed:
        return opened
    try:
        box = SecretBox.of(settings)
    except NoTokenKey:
        opened.unreadable = sorted(sealed)
        return opened
    for key, token in sealed.items():
        try:
            value = box.open(token).get("value")
        except UnreadableSecret:
            value = None
        if isinstance(value, str):
            opened.values[key] = value
        else:
            opened.unreadable.append(key)
    return opened


def overlay(
    settings: Settings, connection: Connection, *, networks: NetworkSettingFields
) -> Settings:
    """`settings` with the console's network values on top; a secret the token_key cannot
    open is left out (the file's value stays in force) and logged."""
    found = stored(connection, networks=networks)
    opened = open_secrets(settings, found.sealed)
    for key in opened.unreadable:
        log.warning("console secret %s cannot be read with this token_key; ignored", key)
    if not found.plain and not opened.values:
        return settings
    return settings.model_copy(update=_as_settings_values(found.plain, opened.values))


def values_of(
    effective: Settings,
    connection: Connection,
    model: type[ModelT],
    *,
    networks: NetworkSettingFields,
) -> ModelT:
    """A network's settings model filled with the values in force: a `Settings` field's
    from `effective` (the file's with the console's on top), a plugin network's own field
    from the console (its secret opened with the token_key; one it cannot open is unset)."""
    found = stored(connection, networks=networks)
    opened = open_secrets(effective, found.sealed).values
    values: dict[str, object] = {}
    for key in model.model_fields:
        if is_setting(key):
            values[key] = getattr(effective, key)
        elif key in found.plain:
            values[key] = found.plain[key]
        elif key in opened:
            values[key] = opened[key]
    return model.model_validate(values)


def is_setting(key: str) -> bool:
    """Whether a network's field is also a `Settings` field (the built-in networks' are:
    documented settings); a plugin network's fields are the console's only."""
    return key in Settings.model_fields


def _as_settings_values(
    plain: Mapping[str, Plain], secrets: Mapping[str, str]
) -> dict[str, object]:
    update: dict[str, object] = {key: value for key, value in plain.items() if is_setting(key)}
    for key, value in secrets.items():
        if not is_setting(key):
            continue
        # x_client_id is no secret to X (it is in every authorize URL), but the console keeps
        # it with the client secret; Settings holds it as a plain string.
        update[key] = SecretStr(value) if _is_secret_str(key) else value
    return update


def _is_secret_str(key: str) -> bool:
    return SecretStr in get_args(Settings.model_fields[key].annotation)


def save(
    connection: Connection,
    settings: Settings,
    plain: Mapping[str, str | tuple[str, ...]],
    secrets: Mapping[str, str],
    clear: tuple[str, ...] = (),
    *,
    networks: NetworkSettingFields,
) -> None:
    """Store what the merchant typed: `plain` values (checked; blank or equal to the file's
    means no override), `secrets` (non-blank ones are sealed; blank ones leave the stored
    secret as it is) and `clear` (secrets to forget). Refuses everything, writing nothing,
    when one value is wrong or a secret is given without a usable token_key."""
    checked: dict[str, Plain | None] = {}
    known_plain, known_secret = plain_keys(networks=networks), secret_keys(networks=networks)
    for key, value in plain.items():
        if key not in known_plain:
            raise NetworkConfigError(f"not a network setting the console can change: {key}")
        checked[key] = (
            None
            if value in ("", ()) and key != "listeners"
            else check_plain(key, value, networks=networks)
        )
    given = {key: value.strip() for key, value in secrets.items() if value.strip()}
    unknown = sorted((set(given) | set(clear)) - set(known_secret))
    if unknown:
        raise NetworkConfigError("not a secret the console can store: " + ", ".join(unknown))
    for key, value in given.items():
        _check_secret(key, value)
    sealed: dict[str, str] = {}
    if given:
        try:
            box = SecretBox.of(settings)
        except NoTokenKey as error:
            raise NetworkConfigError(f"no secret was stored: {error}") from None
        sealed = {key: box.seal({"value": value}) for key, value in given.items()}

    for key, checked_value in checked.items():
        _delete(connection, key)
        if checked_value is not None and checked_value != _file_value(settings, key):
            as_json = list(checked_value) if isinstance(checked_value, tuple) else checked_value
            _insert(connection, key, json.dumps(as_json))
    for key in clear:
        if key not in sealed:
            _delete(connection, key)
    for key, token in sealed.items():
        _delete(connection, key)
        _insert(connection, key, json.dumps({"sealed": token}))


def reset(
    connection: Connection,
    keys: tuple[str, ...] | None = None,
    *,
    networks: NetworkSettingFields,
) -> None:
    """Back to the settings file for `keys` (the plain values by default)."""
    chosen = plain_keys(networks=networks) if keys is None else keys
    connection.execute(delete(t.shop_config).where(t.shop_config.c.key.in_(chosen)))


def origin(settings: Settings, found: Stored, key: str) -> Origin:
    """Where the value in force for `key` comes from ("settings file" includes HASHCART_*
    variables)."""
    if key in found.plain or key in found.sealed:
        return "console"
    return "settings file" if key in settings.model_fields_set else "default"


def _file_value(settings: Settings, key: str) -> Plain | None:
    value = getattr(settings, key, None)
    return tuple(value) if isinstance(value, tuple | list) else value


def _delete(connection: Connection, key: str) -> None:
    connection.execute(delete(t.shop_config).where(t.shop_config.c.key == key))


def _insert(connection: Connection, key: str, value: str) -> None:
    connection.execute(insert(t.shop_config).values(key=key, value=value))


# --- what each value must look like ------------------------------------------------------

# Secrets are pasted: spaces or control characters in one are a bad paste.
_BLANK_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def field_problems(
    plain: Mapping[str, str | tuple[str, ...]],
    secrets: Mapping[str, str],
    *,
    networks: NetworkSettingFields,
) -> dict[str, str]:
    """Every value `save` would refuse, by its key, with the reason (all of them at once, so
    a form shows each beside its field)."""
    problems: dict[str, str] = {}
    known_plain = plain_keys(networks=networks)
    for key, value in plain.items():
        if key in known_plain and value not in ("", ()):
            try:
                check_plain(key, value, networks=networks)
            except NetworkConfigError as problem:
                problems[key] = str(problem)
    for key, value in secrets.items():
        if value.strip():
            try:
                _check_secret(key, value.strip())
            except NetworkConfigError as problem:
                problems[key] = str(problem)
    return problems


def check_plain(key: str, value: object, *, networks: NetworkSettingFields) -> Plain:
    """`value` for `key` in the form stored, or NetworkConfigError saying what is wrong: the
    listeners by the registry's names, any other value by the settings model of the network
    it belongs to (its validators normalise it: a handle without '@', a server's address)."""
    if key == "listeners":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise NetworkConfigError("listeners must be a list of names")
        known = networks.listener_names()
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise NetworkConfigError(
                f"unknown listeners {', '.join(unknown)}: choose from {', '.join(known)}"
            )
        return tuple(name for name in known if name in value)
    model = networks.model_with(key)
    if model is None:
        raise NetworkConfigError(f"not a network setting the console can change: {key}")
    if not isinstance(value, str):
        raise NetworkConfigError(f"{key} must be text")
    text = value.strip()
    if len(text) > MAX_VALUE_LENGTH:
        raise NetworkConfigError(f"{key} is longer than {MAX_VALUE_LENGTH} characters")
    try:
        checked = getattr(model.model_validate({key: text}), key)
    except ValidationError as error:
        raise NetworkConfigError(_reason(error)) from None
    if not isinstance(checked, str) or _CONTROL.search(checked):
        raise NetworkConfigError(f"{key} has control characters")
    return checked


def _reason(error: ValidationError) -> str:
    """The sentence a validator refused a value with (pydantic's own words otherwise)."""
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    return str(cause) if isinstance(cause, ValueError) else str(first["msg"])


def _check_secret(key: str, value: str) -> None:
    if len(value) > MAX_VALUE_LENGTH:
        raise NetworkConfigError(f"{key} is longer than {MAX_VALUE_LENGTH} characters")
    if _BLANK_OR_CONTROL.search(value):
        raise NetworkConfigError(f"{key} has spaces or control characters; paste it again")
