"""Setting up a shop: the database, the catalog, customers and their linked accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hashcart.cli import (
    app,
    app_of,
    catalog_app,
    console,
    customers_app,
    errors,
    fail,
    links_app,
    print_json,
    settings_of,
)
from hashcart.cli.images import report_images
from hashcart.domain.posts import Network


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database (Alembic migrations)."""
    from hashcart.bootstrap import open_app
    from hashcart.store.database import upgrade

    current = open_app(settings_of(ctx), migrate=False)
    upgrade(current.engine)
    console.print(f"database ready: {current.settings.database_url}")


@catalog_app.command("import")
def catalog_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV/TSV or JSON Lines feed (Google Merchant Center "
            "names: id, title, link, price, availability)."
        ),
    ],
) -> None:
    """Import or update products from a feed; bad rows are reported and skipped."""
    from hashcart.services.catalog import FeedError
    from hashcart.services.feed_import import import_feed

    if not file.is_file():
        fail(f"no such file: {file}")
    hashcart = app_of(ctx)
    # The console's import, so both skip the same rows (an id too long, a price too large)
    # and a product listed twice takes its last row; a feed that cannot be read changes nothing.
    try:
        with hashcart.unit_of_work() as uow:
            report = import_feed(uow.repository, file.read_bytes(), hashcart.clock.now())
    except FeedError as error:
        fail(f"{file}: {error}")
    for skipped in report.skipped:
        where = f"{file}:{skipped.line}" if skipped.line is not None else f"{file}"
        errors.print(f"{where}: skipped: {skipped.reason}", markup=False)
    problems = len(report.skipped)
    console.print(
        f"imported {report.imported} products" + (f", skipped {problems} rows" if problems else "")
    )
    # The pictures the feed names, fetched once each (`hashcart catalog images` for the rest).
    report_images(hashcart.fetch_images())


@customers_app.command("add")
def customers_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The customer's email address.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
) -> None:
    """Add a customer (a shop account)."""

    if "@" not in email or email.startswith("@") or email.endswith("@"):
        fail(f"not an email address: {email!r}")
    hashcart = app_of(ctx)
    with hashcart.unit_of_work() as uow:
        repo = uow.repository
        added = repo.add_customer(email.strip().lower(), name, hashcart.clock.now())
    console.print(f"customer {'added' if added else 'already exists'}: {email}", markup=False)


@links_app.command("add")
def links_add(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="The customer's email.")],
    network: Annotated[Network, typer.Option("--network", help="x, mastodon or bluesky.")],
    account: Annotated[
        str,
        typer.Option(
            "--account", help="The stable account id: X user id, Mastodon account URI, Bluesky DID."
        ),
    ],
    handle: Annotated[str | None, typer.Option("--handle", help="The account's handle.")] = None,
) -> None:
    """Link a social account to a customer; waiting requests from it are applied now."""
    from hashcart.services.linking import LinkError, link_account

    hashcart = app_of(ctx)
    shop = hashcart.shop()
    try:
        with hashcart.unit_of_work() as uow:
            repo = uow.repository
            result = link_account(
                repo, shop, customer.strip().lower(), network, account, handle, hashcart.clock.now()
            )
    except LinkError as error:
        fail(str(error))
    state = "linked" if result.created else "already linked"
    console.print(
        f"{state}: {network} {account} → {customer}; applied {result.applied} "
        f"waiting requests, {result.expired} had expired",
        markup=False,
    )


@links_app.command("check")
def links_check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Ask the shop's Mastodon server whether each linked Mastodon account still exists, and
    forget those deleted or suspended (their links, tokens and stored posts; orders stay)."""
    from hashcart.networks.mastodon.account_check import check_accounts
    from hashcart.networks.mastodon.wiring import account_api
    from hashcart.store.account_data import links_on

    hashcart = app_of(ctx)
    api = account_api(hashcart.effective_settings())
    if api is None:
        fail("links check needs mastodon_url and mastodon_access_token")
    with hashcart.engine.connect() as connection:
        accounts = links_on(connection, Network.MASTODON.value)
    try:
        found = check_accounts(api, accounts)
    finally:
        api.close()
    for uri in found.gone:
        # One transaction each: a failure part-way keeps what was forgotten.
        with hashcart.unit_of_work() as uow:
            uow.repository.forget_network_account(Network.MASTODON, uri)
    if as_json:
        print_json({"checked": len(accounts), **found.as_json()})
    else:
        console.print(
            f"checked {len(accounts) - found.not_asked} of {len(accounts)} Mastodon accounts: "
            f"{len(found.gone)} gone and forgotten, {found.live} live, "
            f"{found.unknown} the server could not tell",
            markup=False,
        )
    if found.stopped is not None:
        from hashcart.errors import HashcartError

        # One line, exit 1 (cli.main): a later run asks about the rest.
        raise HashcartError(
            f"stopped with {found.not_asked} not asked (run it again later): {found.stopped}"
        )
