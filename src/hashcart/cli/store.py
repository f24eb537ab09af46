"""`hashcart store`: the merchant's own store (issue 16; README "Use your own store"): sync
its catalog and stock into hashcart's, and see how the last sync went."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hashcart.cli import app, app_of, console, errors, fail, print_json

if TYPE_CHECKING:
    from hashcart.bootstrap import App
    from hashcart.ports import CommerceStore

store_app = typer.Typer(
    help="The merchant's own store (Vendure, ...): catalog sync and its status.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("sync")
def store_sync(
    ctx: typer.Context,
    full: Annotated[
        bool,
        typer.Option("--full", help="List the whole catalog (finds variants gone from it)."),
    ] = False,
) -> None:
    """Bring the store's catalog, prices and stock into hashcart's catalog, then collect the
    orders placed there for carts handed to it."""
    from hashcart.services.store_sync import poll_orders, sync_catalog

    hashcart = app_of(ctx)
    store = _external_store(hashcart)
    record = sync_catalog(
        hashcart.unit_of_work, store, hashcart.clock, full=full, changes=hashcart.store_changes()
    )
    orders = poll_orders(hashcart.unit_of_work, store, hashcart.clock)
    console.print(
        f"synced {store.label}: {record.seen} variants listed, {record.changed} written, "
        f"{record.withdrawn} withdrawn{' (full)' if record.full else ''}; "
        f"{orders} new orders from handoffs",
        markup=False,
        highlight=False,
    )


@store_app.command("status")
def store_status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The last sync (when, counts, error), the store's products, handoffs and the orders
    that came back (asked for now)."""
    from hashcart.ports import StoreRefused, StoreUnreachable
    from hashcart.services.store_sync import poll_orders
    from hashcart.views.own_store import store_status as status_of

    hashcart = app_of(ctx)
    store = _external_store(hashcart)
    try:
        poll_orders(hashcart.unit_of_work, store, hashcart.clock)
    except (StoreUnreachable, StoreRefused) as error:
        errors.print(f"hashcart: orders not collected: {error}", markup=False, highlight=False)
    with hashcart.engine.connect() as connection:
        status = status_of(connection, store.name, store.label)
    if as_json:
        print_json(status)
        return
    sync = status["last_sync"]
    lines = [f"store: {status['label']} ({status['store']})"]
    if sync is None:
        lines.append("last sync: never (run `hashcart store sync`)")
    else:
        outcome = f"failed: {sync['error']}" if sync["error"] else "ok"
        lines.append(
            f"last sync: {sync['started_at']} {outcome}; {sync['seen']} listed, "
            f"{sync['changed']} written, {sync['withdrawn']} withdrawn"
        )
    revenue = ", ".join(f"{amount} {currency}" for currency, amount in status["revenue"].items())
    lines.append(
        f"products: {status['products']} ({status['withdrawn']} withdrawn); handoffs: "
        f"{status['handoffs']}; orders back: {status['orders']}"
        + (f" ({revenue})" if revenue else "")
    )
    console.print("\n".join(lines), markup=False, highlight=False)


def _external_store(hashcart: App) -> CommerceStore:
    """The merchant's store the settings name; a usage problem (exit 2) when it is the
    built-in shop (nothing to sync) or its settings are missing."""
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore

    if hashcart.settings.store == "builtin":
        fail(
            "store is 'builtin': the catalog is hashcart's own, there is no store to sync "
            '(set store = "vendure" and its settings, README "Use your own store")'
        )
    try:
        return hashcart.commerce_store()
    except (StoreNotConfigured, UnknownStore) as error:
        fail(f"invalid settings: {error}")
