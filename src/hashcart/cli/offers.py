"""`hashcart offers add TAG --percent P | --amount A`, `offers list [--json]`, `offers pause
OFFER` and `offers resume OFFER` (issue 12, offers by hashtag)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hashcart.cli import app, app_of, console, fail, print_json

offers_app = typer.Typer(
    help="Offers shoppers load by posting their hashtag: add, list, pause, resume.",
    no_args_is_help=True,
)
app.add_typer(offers_app, name="offers")


@offers_app.command("add")
def add(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="The offer's hashtag, with or without '#'.")],
    percent: Annotated[
        str | None, typer.Option("--percent", help="Percent off (above 0, at most 100).")
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Amount off, in the shop's currency.")
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option("--currency", help="The amount's currency (default: the catalog's one)."),
    ] = None,
    products: Annotated[
        str | None,
        typer.Option("--products", help="Only these product ids, comma-separated (default: all)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most this many shoppers load it.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="When it ends, ISO-8601 (no zone: UTC)."),
    ] = None,
) -> None:
    """Add an offer: a linked shopper who posts its tag loads it onto their account, and it
    comes off their next order with an eligible product."""
    from hashcart.ports import OfferTagTaken
    from hashcart.services.offers import OfferInputError, add_offer

    hashcart = app_of(ctx)
    try:
        offer = add_offer(
            hashcart.unit_of_work,
            hashcart.effective_settings(),
            hashcart.clock.now(),
            tag=tag,
            percent=percent,
            amount=amount,
            currency=currency,
            products=products,
            limit=limit,
            expires=expires,
        )
    except (OfferInputError, OfferTagTaken) as problem:
        fail(str(problem))
    from hashcart.domain.offers import describe

    console.print(
        f"offer {offer.id} added: #{offer.tag}, {describe(offer)}", markup=False, highlight=False
    )


@offers_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """The offers, newest first, with how many loaded and redeemed each."""
    from hashcart.services.offers import list_offers, offer_json

    hashcart = app_of(ctx)
    now = hashcart.clock.now()
    found = [offer_json(counted, now) for counted in list_offers(hashcart.unit_of_work)]
    if as_json:
        print_json(found)
        return
    _print_table(found)


def _print_table(found: list[dict[str, Any]]) -> None:
    table = Table(title="offers")
    for column in ("id", "tag", "off", "products", "limit", "ends", "state", "loads", "redeemed"):
        table.add_column(column, overflow="fold")
    for offer in found:
        ends = offer["expires_at"]
        state = "paused" if offer["paused"] else "ended" if offer["expired"] else "on"
        table.add_row(
            str(offer["id"]),
            "#" + offer["tag"],
            offer["describe"],
            "all" if offer["products"] is None else ", ".join(offer["products"]),
            "" if offer["limit"] is None else str(offer["limit"]),
            ends.strftime("%Y-%m-%d %H:%M") if ends else "",
            state,
            str(offer["loads"]) + (f" (+{offer['pending']} waiting)" if offer["pending"] else ""),
            str(offer["redemptions"]),
        )
    console.print(table)


def _set_paused(ctx: typer.Context, offer: str, paused: bool) -> None:
    from hashcart.services.offers import find_offer_id, set_paused

    hashcart = app_of(ctx)
    offer_id = find_offer_id(hashcart.unit_of_work, offer)
    if offer_id is None or not set_paused(hashcart.unit_of_work, offer_id, paused):
        fail(f"no offer {offer[:70]!r} (give its id or its tag: `hashcart offers list`)")
    console.print(
        f"offer {offer_id} {'paused' if paused else 'resumed'}", markup=False, highlight=False
    )


@offers_app.command("pause")
def pause(
    ctx: typer.Context,
    offer: Annotated[str, typer.Argument(help="The offer's id or tag.")],
) -> None:
    """Pause an offer: posts of its tag load nothing and get no answer until it resumes;
    offers loaded already still apply."""
    _set_paused(ctx, offer, True)


@offers_app.command("resume")
def resume(
    ctx: typer.Context,
    offer: Annotated[str, typer.Argument(help="The offer's id or tag.")],
) -> None:
    """Resume a paused offer."""
    _set_paused(ctx, offer, False)
