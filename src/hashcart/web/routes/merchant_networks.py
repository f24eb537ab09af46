"""Merchant: setting up the networks (X, Mastodon, Bluesky, any registered) from the console.

One card a registered network, generated from its adapter's settings model (which marks
the secrets), says whether hashcart can listen and answer there, what is missing,
which listener runs and which webhook URL to register, and takes the values: plain ones
(accounts, servers, listeners) and secrets (API keys and tokens). Secrets are sealed with
the `token_key` before they reach the database and never come back to a page; a blank
secret field leaves the stored one alone. Everything is stored over the settings file
(store/network_config) and read through `App.effective_settings()`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.responses import Response

from hashcart.config import Settings
from hashcart.networks import registry
from hashcart.networks.base import Need, SettingField, ShopConnect
from hashcart.networks.setting_fields import NETWORK_SETTING_FIELDS as FIELDS
from hashcart.secretbox import NoTokenKey, SecretBox
from hashcart.store import network_config, shop_connections
from hashcart.store.shop_connections import ShopConnection
from hashcart.views.stream_gaps import last_gaps
from hashcart.web.context import (
    SignedInMerchant,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    unit_of_work,
)
from hashcart.web.form_problems import problems_summary
from hashcart.web.security import sign_in_form_policy

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


@dataclass(frozen=True)
class Network:
    """One network's card, generated from its adapter's settings model (networks/base)."""

    key: str
    name: str
    values: tuple[SettingField, ...]
    needs: tuple[Need, ...]
    listeners: tuple[str, ...]
    webhook: str | None = None
    connect: ShopConnect | None = None


def _networks() -> tuple[Network, ...]:
    return tuple(
        Network(
            adapter.name,
            adapter.display_name,
            adapter.settings.fields,
            adapter.settings.needs,
            tuple(adapter.settings.listeners),
            f"/webhooks/{adapter.name}" if adapter.webhook is not None else None,
            adapter.connect,
        )
        for adapter in registry.adapters()
    )


def _labels() -> dict[str, str]:
    return {value.key: value.label for network in _networks() for value in network.values}


def _listener_labels() -> dict[str, str]:
    return {
        name: label
        for adapter in registry.adapters()
        for name, label in adapter.settings.listeners.items()
    }


class NetworksForm(BaseModel):
    """What the page's one form sends: the listeners, the secrets to clear, and every
    registered network's fields by name (secrets blank unless typed). Networks can be
    registered after this module is imported, so their fields come as extra values, each
    checked by store/network_config when saved; values that are no registered field are
    ignored."""

    model_config = ConfigDict(extra="allow")

    listeners: list[str] = Field(default_factory=list, max_length=10)
    clear: list[str] = Field(default_factory=list, max_length=20)


def _is_set(settings: Settings, key: str, found: network_config.Stored | None = None) -> bool:
    """Whether `key` has a value in force; a plugin network's field (no `Settings` field)
    is set when the console stored it."""
    if not network_config.is_setting(key):
        return found is not None and (bool(found.plain.get(key)) or key in found.sealed)
    value = getattr(settings, key)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return bool(value)


@dataclass(frozen=True)
class NeedState:
    need: Need
    has_values: bool
    listener_on: bool
    missing: tuple[str, ...]

    @property
    def met(self) -> bool:
        return self.has_values and self.listener_on


@dataclass(frozen=True)
class Row:
    """One value on a card: what is in force (a secret's state, never the secret)."""

    value: SettingField
    origin: network_config.Origin
    shown: str
    stored: bool
    unreadable: bool = False


@dataclass(frozen=True)
class Card:
    network: Network
    status: str
    needs: list[NeedState]
    missing: list[str]
    rows: list[Row]
    listeners: list[tuple[str, str, str]]
    webhook_url: str | None
    connected: ShopConnection | None = None
    # What the Connect form starts from (the shop's server or handle already set).
    connect_entered: str = ""


def _cards(
    settings: Settings,
    effective: Settings,
    found: network_config.Stored,
    unreadable: list[str],
    connected: dict[str, ShopConnection],
) -> list[Card]:
    public_url = effective.public_url.rstrip("/")
    cards = []
    for network in _networks():
        account = connected.get(network.key)
        needs = [
            _need_state(effective, found, need, connected=account is not None)
            for need in network.needs
        ]
        listening = [state for state in needs if state.need.role == "listen"]
        answering = [state for state in needs if state.need.role == "answer"]
        can_listen = any(state.met for state in listening)
        can_answer = all(state.met for state in answering)
        if can_listen and can_answer:
            status = "set up"
        elif can_listen or any(state.met for state in answering):
            status = "partly set up"
        else:
            status = "not set up"
        cards.append(
            Card(
                network=network,
                status=status,
                needs=needs,
                missing=_summary(listening, answering, can_listen),
                rows=[_row(settings, effective, found, unreadable, v) for v in network.values],
                listeners=[_listener_state(name, needs) for name in network.listeners],
                webhook_url=f"{public_url}{network.webhook}" if network.webhook else None,
                connected=account,
                connect_entered=_connect_entered(effective, network.connect),
            )
        )
    return cards


def _connect_entered(effective: Settings, connect: ShopConnect | None) -> str:
    if connect is None or connect.asks_setting is None:
        return ""
    value = getattr(effective, connect.asks_setting, None)
    return value if isinstance(value, str) else ""


def _listener_state(name: str, needs: list[NeedState]) -> tuple[str, str, str]:
    """(name, label, what the listener does now): "runs", "off", or why it will not start."""
    state = next(state for state in needs if state.need.listener == name)
    label = _listener_labels()[name]
    if not state.listener_on:
        return name, label, "off"
    if not state.has_values:
        return name, label, f"on, but will not start: needs {', '.join(state.missing)}"
    return name, label, "runs"


def _need_state(
    settings: Settings, found: network_config.Stored, need: Need, *, connected: bool = False
) -> NeedState:
    """A need's state; a network whose shop account is connected (Networks page, Connect)
    can answer whatever the pasted values say."""
    if connected and need.role == "answer":
        return NeedState(need, True, True, ())
    labels = _labels()
    lacking = [
        [key for key in keys if not _is_set(settings, key, found)] for keys in need.alternatives
    ]
    has_values = any(not lacks for lacks in lacking)
    if has_values:
        missing: tuple[str, ...] = ()
    elif len(need.alternatives) > 1:
        missing = (" or ".join(labels.get(keys[0], keys[0]) for keys in need.alternatives),)
    else:
        missing = tuple(labels.get(key, key) for key in lacking[0])
    listener_on = need.listener is None or need.listener in settings.listeners
    return NeedState(need, has_values, listener_on, missing)


def _summary(listening: list[NeedState], answering: list[NeedState], can_listen: bool) -> list[str]:
    """What stands between this network and "set up", in words."""
    lines: list[str] = []
    if not can_listen:
        ways = []
        for state in listening:
            lacks = list(state.missing)
            if not state.listener_on and state.need.listener:
                label = _listener_labels()[state.need.listener]
                lacks.append(f"the {label} listener turned on")
            ways.append(f"{state.need.what}: {', '.join(lacks)}")
        lines.append("To listen, one of: " + "; ".join(ways))
    lines += [
        f"{state.need.what}: {', '.join(state.missing)}" for state in answering if not state.met
    ]
    return lines


def _row(
    settings: Settings,
    effective: Settings,
    found: network_config.Stored,
    unreadable: list[str],
    value: SettingField,
) -> Row:
    origin = network_config.origin(settings, found, value.key)
    if not value.secret:
        shown = _plain_value(effective, found, value.key)
        return Row(value, origin, shown, value.key in found.plain)
    stored = value.key in found.sealed
    if value.key in unreadable:
        state = "unreadable (from the console)"
        if _is_set(settings, value.key):
            state += "; the settings file's is used"
        return Row(value, origin, state, stored, unreadable=True)
    if origin == "console":
        state = "set (from the console)"
    elif _is_set(settings, value.key):
        state = "set (from the settings file)"
    else:
        state = "not set"
    return Row(value, origin, state, stored)


def _plain_value(effective: Settings, found: network_config.Stored, key: str) -> str:
    """A plain field's value in force: the settings' (console's on top), or for a plugin
    network's field the console's alone."""
    value = getattr(effective, key) if network_config.is_setting(key) else found.plain.get(key)
    return value if isinstance(value, str) else ""


def _form_values(effective: Settings, found: network_config.Stored) -> dict[str, object]:
    form: dict[str, object] = {
        key: _plain_value(effective, found, key)
        for key in network_config.plain_keys(networks=FIELDS)
        if key != "listeners"
    }
    form["listeners"] = tuple(effective.listeners)
    return form


def _token_key_problem(settings: Settings) -> str | None:
    try:
        SecretBox.of(settings)
    except NoTokenKey as problem:
        return str(problem)
    return None


def networks_response(
    request: Request,
    status_code: int = 200,
    form: dict[str, object] | None = None,
    error: str | None = None,
    notice: str | None = None,
    **extra: object,
) -> Response:
    """The page; `extra` is what another area adds to it (the X webhook's state)."""
    app = hashcart_of(request)
    with read_only(request) as connection:
        found = network_config.stored(connection, networks=FIELDS)
        gaps = last_gaps(connection)
        connected = shop_connections.connections(connection)
        effective = app.effective_settings()
    unreadable = network_config.open_secrets(app.settings, found.sealed).unreadable
    response = render(
        request,
        "merchant/networks.html",
        status_code,
        title="Networks",
        cards=_cards(app.settings, effective, found, unreadable, connected),
        form=form if form is not None else _form_values(effective, found),
        listener_labels=_listener_labels(),
        gaps=gaps,
        listeners_origin=network_config.origin(app.settings, found, "listeners"),
        unreadable=[_labels()[key] for key in unreadable],
        token_key_problem=_token_key_problem(app.settings),
        error=error,
        notice=notice,
        **extra,
    )
    # The Connect buttons post to a route that sends the browser on to the network.
    response.headers["Content-Security-Policy"] = sign_in_form_policy(
        effective.oauth_allow_private_servers
    )
    return response


@router.get("/networks")
def networks_page(request: Request, viewer: SignedInMerchant, saved: bool = False) -> Response:
    notice = None
    if saved:
        notice = (
            "Saved. Webhooks use the new values at once; listeners and the dispatcher "
            "use them when hashcart listen, dispatch or serve starts again."
        )
    return networks_response(request, notice=notice)


def _text(value: object) -> str:
    """A form value as text: a field left out is blank; anything but text (a file sent in
    its place) is no value either."""
    return value if isinstance(value, str) else ""


def _sentence(problem: str) -> str:
    return problem[:1].upper() + problem[1:] + ("" if problem.endswith(".") else ".")


@router.post("/networks")
def networks_submit(
    request: Request,
    viewer: SignedInMerchant,
    sent: Annotated[NetworksForm, Form()],
) -> Response:
    values = sent.model_dump()
    plain: dict[str, str | tuple[str, ...]] = {
        key: _text(values.get(key)).strip()
        for key in network_config.plain_keys(networks=FIELDS)
        if key != "listeners"
    }
    plain["listeners"] = tuple(values["listeners"])
    secrets = {key: _text(values.get(key)) for key in network_config.secret_keys(networks=FIELDS)}
    # Every wrong value at once, each beside its field (issue 14); nothing is saved.
    found = network_config.field_problems(plain, secrets, networks=FIELDS)
    if found:
        said = (
            f"Nothing was saved: {next(iter(found.values()))}."
            if len(found) == 1
            else f"Nothing was saved. {problems_summary(found)}"
        )
        return networks_response(
            request,
            400,
            form=dict(plain),
            error=said,
            field_errors={key: _sentence(problem) for key, problem in found.items()},
        )
    try:
        with unit_of_work(request) as connection:
            network_config.save(
                connection,
                hashcart_of(request).settings,
                plain,
                secrets,
                clear=tuple(values["clear"]),
                networks=FIELDS,
            )
    except network_config.NetworkConfigError as problem:
        # What was typed comes back, except the secrets: they are never put in a page.
        return networks_response(
            request, 400, form=dict(plain), error=f"Nothing was saved: {problem}."
        )
    return RedirectResponse("/merchant/networks?saved=1", 303)
