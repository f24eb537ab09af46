"""The merchant console's first page: how the shop stands, with a way into each page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.responses import Response

from hashcart.views import console
from hashcart.views.funnel_keeping import kept_snapshot
from hashcart.views.funnel_kept import kept_shoppable_posts
from hashcart.views.unsettled_cleanups import unsettled_cleanups
from hashcart.views.unsettled_payments import unsettled_payments
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, render
from hashcart.web.no_sender import waiting_without_sender

if TYPE_CHECKING:
    from hashcart.bootstrap import App

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


@router.get("")
def dashboard(request: Request, viewer: SignedInMerchant) -> Response:
    app = hashcart_of(request)
    accounts = app.effective_settings().parsed_shop_accounts()
    now = app.clock.now()
    with kept_snapshot(app.engine, now) as (connection, fresh):
        kept = kept_shoppable_posts(connection, now, accounts, fresh=fresh)
        counts = console.dashboard(connection, accounts, shoppable_posts=kept)
        unsettled = unsettled_payments(connection)
        cleanups = unsettled_cleanups(connection)
        own_store = _own_store(app, connection)
    return render(
        request,
        "merchant/home.html",
        title="Console",
        counts=counts,
        unsettled=unsettled,
        cleanups=cleanups,
        no_sender=waiting_without_sender(app),
        own_store=own_store,
    )


def _own_store(app: App, connection: Connection) -> dict[str, Any] | None:
    """The merchant's own store's last sync, counts and error (issue 16); None with the
    built-in shop."""
    from hashcart.store.own_store import StoredStoreRecords
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore
    from hashcart.views.own_store import store_status

    if app.settings.store == "builtin":
        return None
    try:
        store = app.commerce_store()
        name, label = store.name, store.label
    except (StoreNotConfigured, UnknownStore) as error:
        return {"label": app.settings.store, "problem": str(error), "record": None}
    status = store_status(connection, name, label)
    status["record"] = StoredStoreRecords(connection).sync_record(name)
    return status
