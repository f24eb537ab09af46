"""Merchant: the outbox (what is queued, sent, failed and why, with retry) and dead letters
(input the engine could not read, with its reason)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.store import console_changes
from hashcart.views import console
from hashcart.web.context import (
    SignedInMerchant,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    safe_next,
    unit_of_work,
)
from hashcart.web.no_sender import waiting_without_sender

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

# Dead-letter excerpts are shown up to this many characters; the rest is counted, not shown.
EXCERPT_CHARS = 600


def _back_to_outbox(back: str, **outcome: str | int) -> Response:
    """After a retry, back to the outbox page as it was filtered, saying what happened."""
    target = urlsplit(safe_next(back, "/merchant/outbox"))
    path = target.path if target.path == "/merchant/outbox" else "/merchant/outbox"
    kept = [(key, value) for key, value in parse_qsl(target.query) if key in ("status", "channel")]
    query = urlencode([*kept, *outcome.items()])
    return RedirectResponse(f"{path}?{query}", 303)


@router.get("/outbox")
def outbox(
    request: Request,
    viewer: SignedInMerchant,
    status: str = "",
    channel: str = "",
    page: int = 1,  # the page number of old links: keyset paging starts them at the first
    done: str = "",
    count: int = 0,
    after: str = "",
    before: str = "",
) -> Response:
    status = status if status in console.OUTBOX_STATUSES else ""
    channel = channel.strip()[:16]
    with read_only(request) as connection:
        # Counted once per status; the page's total is their sum (or one of them).
        every = console.outbox_status_counts(connection, every=True)
        messages = console.outbox(connection, status, channel, after, before, status_counts=every)
        channels = console.outbox_channels(connection)
        counts = {name: console.shown_count(every.get(name, 0)) for name in console.OUTBOX_STATUSES}
    query = {key: value for key, value in (("status", status), ("channel", channel)) if value}
    notices = {
        "retried": "Queued again: it goes out with the next send.",
        "not-failed": "That message had not failed, so it was left as it is.",
        "retried-all": f"Queued {count} failed message{'' if count == 1 else 's'} again.",
        "none": "No failed messages to retry.",
    }
    notice = notices.get(done)
    return render(
        request,
        "merchant/outbox.html",
        title="Outbox",
        messages=messages,
        page=messages,
        status=status,
        channel=channel,
        channels=channels,
        statuses=console.OUTBOX_STATUSES,
        counts=counts,
        query=query,
        here="/merchant/outbox" + (f"?{urlencode(query)}" if query else ""),
        notice=notice,
        no_sender=waiting_without_sender(hashcart_of(request)),
    )


@router.post("/outbox/retry-failed")
def retry_failed(
    request: Request, viewer: SignedInMerchant, back: Annotated[str, Form()] = ""
) -> Response:
    with unit_of_work(request) as connection:
        count = console_changes.retry_all_failed(connection)
    if not count:
        return _back_to_outbox(back, done="none")
    return _back_to_outbox(back, done="retried-all", count=count)


@router.post("/outbox/{outbox_id}/retry")
def retry_one(
    request: Request,
    outbox_id: int,
    viewer: SignedInMerchant,
    back: Annotated[str, Form()] = "",
) -> Response:
    with unit_of_work(request) as connection:
        retried = console_changes.retry_message(connection, outbox_id)
    return _back_to_outbox(back, done="retried" if retried else "not-failed")


@router.get("/dead-letters")
def dead_letters(
    request: Request,
    viewer: SignedInMerchant,
    page: int = 1,  # the page number of old links: keyset paging starts them at the first
    after: str = "",
    before: str = "",
) -> Response:
    with read_only(request) as connection:
        letters = console.dead_letters(connection, after, before)
    return render(
        request,
        "merchant/dead_letters.html",
        title="Dead letters",
        letters=letters,
        page=letters,
        query={},
        excerpt_chars=EXCERPT_CHARS,
    )
