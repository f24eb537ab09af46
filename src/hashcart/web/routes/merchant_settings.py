"""Merchant: the trigger tags, link tags and shop hosts the engine answers to, and the shop's
own accounts (whose posts the shop front and the funnel show).

Changes are stored in the database (store/shop_config) over the settings file and take
effect on the engine's next load of the shop (the shop's pages read them on every request);
"reset" goes back to the settings file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import SecretStr
from starlette.responses import Response

from hashcart.config import Settings
from hashcart.store import shop_config
from hashcart.web.context import (
    SignedInMerchant,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    unit_of_work,
)

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    hint: str
    is_tag: bool


FIELDS = (
    Field(
        "cart_tags", "Cart tags", "A reply with one of these puts the product in the cart.", True
    ),
    Field(
        "wishlist_tags",
        "Wish-list tags",
        "A reply with one of these puts the product on the wish list.",
        True,
    ),
    Field(
        "order_status_tags",
        "Order status tags",
        "A linked shopper who mentions your shop with one of these is told the status of "
        "their latest orders, privately. Empty: nobody is answered.",
        True,
    ),
    Field(
        "link_tags",
        "Link tags",
        "Shoppers post one of these with their one-time code to link a social account.",
        True,
    ),
    Field(
        "shop_hosts",
        "Shop hosts",
        "Host names of your product links (www. is implied). "
        "Empty: the hosts of the catalog's links.",
        False,
    ),
    Field(
        "shop_accounts",
        "Shop accounts",
        "Your own social accounts as network:account, the account being a handle without "
        "“@” or the account id (on Bluesky the DID, did:plc:…), e.g. x:trailhead or "
        "mastodon:trailhead@coffee.social. Only their posts show on the shop front and in "
        "the funnel; replies to anyone's post still work. "
        "Empty: every post with a shop product link.",
        False,
    ),
)
assert tuple(field.key for field in FIELDS) == shop_config.KEYS

_SEPARATORS = re.compile(r"[,\n]")


def split_list(text: str) -> tuple[str, ...]:
    """`cart, buyit` (or one a line) as a list; the checks come after, with their messages."""
    return tuple(part.strip() for part in _SEPARATORS.split(text) if part.strip())


# --- payments (issue 12: Stripe) -----------------------------------------------------------


@dataclass(frozen=True)
class PaymentSetting:
    key: str
    label: str
    is_set: bool


def stripe_settings(settings: Settings) -> list[PaymentSetting]:
    """Which of the Stripe settings are set, never their values (they come from the
    settings file or the environment only: secrets are not kept in the database)."""

    def given(value: SecretStr | str | None) -> bool:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return bool(value and value.strip())

    return [
        PaymentSetting("stripe_secret_key", "Secret key", given(settings.stripe_secret_key)),
        PaymentSetting(
            "stripe_publishable_key", "Publishable key", given(settings.stripe_publishable_key)
        ),
        PaymentSetting(
            "stripe_webhook_secret", "Webhook signing secret", given(settings.stripe_webhook_secret)
        ),
        PaymentSetting(
            "stripe_api_base",
            "API address other than Stripe's",
            settings.stripe_api_base.rstrip("/") != "https://api.stripe.com",
        ),
    ]


def _settings_page(
    request: Request,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    app = hashcart_of(request)
    with read_only(request) as connection:
        overrides = shop_config.stored(connection)
        switches = shop_config.stored_switches(connection)
    conflict = None
    try:
        effective = shop_config.apply(app.settings, overrides)
        in_force = overrides
    except shop_config.ShopConfigError as problem:
        # The engine ignores the console's values (see shop_config.effective_settings).
        effective, in_force, conflict = app.settings, {}, str(problem)
    rows = [
        {
            "field": field,
            "value": getattr(effective, field.key),
            "origin": shop_config.origin(app.settings, in_force, field.key),
            "stored": field.key in overrides,
            "file_value": getattr(app.settings, field.key),
        }
        for field in FIELDS
    ]
    in_effect = {field.key: ", ".join(getattr(effective, field.key)) for field in FIELDS}
    form = in_effect if form is None else {**in_effect, **form}
    catalog_hosts = sorted(app.shop().hosts.names) if not effective.shop_hosts else []
    return render(
        request,
        "merchant/settings.html",
        status_code,
        title="Settings",
        rows=rows,
        form=form,
        error=error,
        field_errors=field_errors or {},
        notice=notice,
        conflict=conflict,
        catalog_hosts=catalog_hosts,
        stripe_settings=stripe_settings(app.settings),
        buy_enabled=switches.get("buy_enabled", app.settings.buy_enabled),
        buy_origin=shop_config.switch_origin(app.settings, switches, "buy_enabled"),
        reminders_enabled=switches.get("cart_reminders", app.settings.cart_reminders),
        reminders_origin=shop_config.switch_origin(app.settings, switches, "cart_reminders"),
        reminder_hours=f"{app.settings.cart_reminder_hours:g}",
    )


@router.get("/settings")
def settings_page(
    request: Request, viewer: SignedInMerchant, saved: bool = False, reset: bool = False
) -> Response:
    notice = None
    if saved:
        # The engine reads these when it loads the shop (App.shop()), once per ingest run.
        notice = (
            "Saved. Every ingest that starts from now on uses the new values; "
            "a stream that is already running uses them once it restarts. "
            "The shop front and the funnel use the shop accounts at once."
        )
    elif reset:
        notice = "Back to the settings file."
    return _settings_page(request, notice=notice)


@router.post("/settings")
def settings_submit(
    request: Request,
    viewer: SignedInMerchant,
    cart_tags: Annotated[str, Form(max_length=2000)] = "",
    wishlist_tags: Annotated[str, Form(max_length=2000)] = "",
    link_tags: Annotated[str, Form(max_length=2000)] = "",
    shop_hosts: Annotated[str, Form(max_length=2000)] = "",
    shop_accounts: Annotated[str, Form(max_length=2000)] = "",
    # Not sent (a form from before it was on the page, a script): unchanged, never emptied.
    # The page marks that it showed the field, since an empty field arrives as not sent.
    order_status_tags: Annotated[str | None, Form(max_length=2000)] = None,
    order_status_tags_shown: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    form = {
        "cart_tags": cart_tags,
        "wishlist_tags": wishlist_tags,
        "link_tags": link_tags,
        "shop_hosts": shop_hosts,
        "shop_accounts": shop_accounts,
    }
    if order_status_tags is not None or order_status_tags_shown:
        form["order_status_tags"] = order_status_tags or ""
    changes = {key: split_list(text) for key, text in form.items()}
    try:
        with unit_of_work(request) as connection:
            shop_config.save(connection, hashcart_of(request).settings, changes)
    except shop_config.ShopConfigError as problem:
        said = f"Nothing was saved: {problem}."
        fields = {key: said for key in _fields_at_fault(str(problem), changes)}
        return _settings_page(request, 400, form=form, error=said, field_errors=fields)
    return RedirectResponse("/merchant/settings?saved=1", 303)


def _fields_at_fault(problem: str, changes: dict[str, tuple[str, ...]]) -> list[str]:
    """The fields a refusal is about, so it is shown beside them (issue 14): each field one
    of whose values the message quotes (a tag asked for twice is beside both lists), else
    the field the message names (no cart tag left)."""
    quoted = [
        key for key, values in changes.items() if any(repr(value) in problem for value in values)
    ]
    if quoted:
        return quoted
    return ["cart_tags"] if "cart trigger tag" in problem else []


def _switch(request: Request, key: str, value: str, anchor: str) -> Response:
    """Turn the console switch `key` on or off (`value`), then back to its section."""
    if value not in ("on", "off"):
        return _settings_page(request, 400, error="Say on or off.")
    with unit_of_work(request) as connection:
        shop_config.save_switch(connection, hashcart_of(request).settings, key, value == "on")
    return RedirectResponse(f"/merchant/settings?saved=1#{anchor}", 303)


@router.post("/settings/buying")
def settings_buying(
    request: Request,
    viewer: SignedInMerchant,
    buy_enabled: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Buying with a post on or off (`buy_enabled`): off, `#buy` and `#confirm` are no
    triggers; buys already confirmed are still paid for."""
    return _switch(request, "buy_enabled", buy_enabled, "buying")


@router.post("/settings/reminders")
def settings_reminders(
    request: Request,
    viewer: SignedInMerchant,
    cart_reminders: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Cart reminders on or off for the shop (`cart_reminders`, issue 14): on, shoppers who
    asked for one get one message about a cart that waited `cart_reminder_hours`."""
    return _switch(request, "cart_reminders", cart_reminders, "reminders")


@router.post("/settings/reset")
def settings_reset(
    request: Request,
    viewer: SignedInMerchant,
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Reset one setting (`key`) or, without a key, all of them to the settings file."""
    if key and key not in shop_config.KEYS:
        return _settings_page(request, 400, error=f"There is no setting {key!r}.")
    with unit_of_work(request) as connection:
        shop_config.reset(connection, (key,) if key else shop_config.KEYS)
    return RedirectResponse("/merchant/settings?reset=1", 303)
