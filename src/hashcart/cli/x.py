"""`hashcart x`: register hashcart's X webhook and subscribe it to the shop's events.

The calls and their documented failure reasons live in networks/x/registration; a refusal
prints one line (`hashcart: error: X refused ...: CrcValidationFailed: ...`) and exits 1.
The settings are the ones in force (the console's over the file's), as `serve` uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hashcart.cli import app, app_of, console, fail, print_json

if TYPE_CHECKING:
    from hashcart.config import Settings
    from hashcart.networks.x.api import XApi

x_app = typer.Typer(help="X: the webhook and its event subscriptions.", no_args_is_help=True)
webhook_app = typer.Typer(
    help="hashcart's webhook at X (POST/GET/DELETE/PUT /2/webhooks, app bearer token).",
    no_args_is_help=True,
)
x_app.add_typer(webhook_app, name="webhook")
app.add_typer(x_app, name="x")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _settings(ctx: typer.Context) -> Settings:
    return app_of(ctx).effective_settings()


def _api(settings: Settings) -> XApi:
    from hashcart.networks.x.api import XApi

    return XApi.from_settings(settings)


def default_webhook_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/webhooks/x"


@webhook_app.command("register")
def webhook_register(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Argument(help="The webhook URL; default {public_url}/webhooks/x.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register the webhook; X sends it a CRC challenge at once (hashcart must be serving it)."""
    from hashcart.networks.x.registration import register_webhook

    settings = _settings(ctx)
    with _api(settings) as api:
        made = register_webhook(api, url or default_webhook_url(settings))
    if as_json:
        print_json(made.as_json())
        return
    state = "valid" if made.valid else "not valid yet"
    console.print(f"webhook {made.id} registered: {made.url} ({state})", markup=False)


@webhook_app.command("list")
def webhook_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The app's webhooks at X: id, URL, valid, created."""
    from hashcart.networks.x.registration import list_webhooks

    with _api(_settings(ctx)) as api:
        found = list_webhooks(api)
    if as_json:
        print_json([hook.as_json() for hook in found])
        return
    if not found:
        console.print("no webhook registered (hashcart x webhook register)")
    for hook in found:
        state = "valid" if hook.valid else "NOT VALID (hashcart x webhook check ID)"
        console.print(f"{hook.id}  {hook.url}  {state}  created {hook.created_at}", markup=False)


@webhook_app.command("delete")
def webhook_delete(
    ctx: typer.Context, webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")]
) -> None:
    """Delete a webhook: X stops delivering to it."""
    from hashcart.networks.x.registration import WebhookRefused, delete_webhook

    with _api(_settings(ctx)) as api:
        deleted = delete_webhook(api, webhook_id)
    if not deleted:
        raise WebhookRefused(f"X did not confirm deleting webhook {webhook_id}")
    console.print(f"webhook {webhook_id} deleted")


@webhook_app.command("check")
def webhook_check(
    ctx: typer.Context, webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")]
) -> None:
    """Ask X to run its CRC check now and re-enable the webhook if it passes."""
    from hashcart.networks.x.registration import WebhookRefused, check_webhook

    with _api(_settings(ctx)) as api:
        valid = check_webhook(api, webhook_id)
    if not valid:
        raise WebhookRefused(f"webhook {webhook_id} is still not valid: X's CRC check did not pass")
    console.print(f"webhook {webhook_id} is valid")


@x_app.command("subscribe")
def subscribe(
    ctx: typer.Context,
    webhook_id: Annotated[
        str | None,
        typer.Option("--webhook", help="The webhook's id; default the app's only webhook."),
    ] = None,
    account_activity: Annotated[
        bool,
        typer.Option(
            "--account-activity/--no-account-activity",
            help="Also the Account Activity API subscription (deprecated by X, ends 2027-01-01).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Subscribe the webhook to post.reply.create and post.mention.create on the shop's
    account (x_shop_user_id), with the shop's user token (x_access_token)."""
    from hashcart.networks.x.registration import (
        list_webhooks,
        subscribe_account_activity,
        subscribe_shop,
    )

    settings = _settings(ctx)
    if not settings.x_shop_user_id:
        fail("x subscribe needs the setting x_shop_user_id (the shop account's numeric id)")
    with _api(settings) as api:
        if webhook_id is None:
            found = list_webhooks(api)
            if len(found) != 1:
                fail(
                    "no webhook registered: run hashcart x webhook register first"
                    if not found
                    else "the app has several webhooks: say which with --webhook ID"
                )
            webhook_id = found[0].id
        made = subscribe_shop(api, webhook_id, settings.x_shop_user_id)
        aaa = subscribe_account_activity(api, webhook_id) if account_activity else None
    if as_json:
        print_json({"subscriptions": [item.as_json() for item in made], "account_activity": aaa})
        return
    for item in made:
        console.print(
            f"subscribed {item.event_type} for user {item.user_id} to webhook {webhook_id}"
            f" (subscription {item.id})",
            markup=False,
        )
    if aaa is not None:
        console.print(
            f"Account Activity subscription: {'on' if aaa else 'not confirmed by X'}",
            markup=False,
        )
