"""`/webhooks/{network}`: the one webhook route, for every registered network that takes
webhooks (X at /webhooks/x, Mastodon at /webhooks/mastodon, …).

GET is the network's subscription challenge (405 for a network that sends none); POST is a
delivery. The body is read raw (signatures cover these bytes) up to the network's cap, and
the network's receiver (its adapter's `webhook`) verifies it, drops a repeat and hands the
rest to the live sink. The receivers are synchronous, like the sink: they run in the thread
pool. What a receiver asks to run after answering runs as a background task.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hashcart.networks import registry
from hashcart.networks.base import Webhook, WebhookAnswer, WebhookRequest
from hashcart.ports import LiveSink
from hashcart.store.webhook_deliveries import StoredDeliveries
from hashcart.web.context import hashcart_of
from hashcart.web.live import live_sink
from hashcart.web.webhook_body import read_capped

router = APIRouter()


def _webhook_of(network: str) -> Webhook:
    adapter = registry.find(network)
    if adapter is None or adapter.webhook is None:
        raise HTTPException(404, "Not Found")
    return adapter.webhook


def _answer(answer: WebhookAnswer, later: BackgroundTasks) -> JSONResponse:
    if answer.after is not None:
        later.add_task(answer.after)
    return JSONResponse(answer.body, status_code=answer.status)


@router.get("/webhooks/{network}", include_in_schema=False)
def challenge(request: Request, network: str, later: BackgroundTasks) -> Any:
    webhook = _webhook_of(network)
    settings = hashcart_of(request).effective_settings()
    asked = WebhookRequest(b"", request.headers, request.query_params)
    answer = webhook.challenge(asked, settings)
    if answer is None:
        return JSONResponse(
            {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "POST"}
        )
    return _answer(answer, later)


@router.post("/webhooks/{network}", include_in_schema=False)
async def delivery(request: Request, network: str, later: BackgroundTasks) -> Any:
    webhook = _webhook_of(network)
    body = await read_capped(request, webhook.max_body_bytes)
    delivered = WebhookRequest(body, request.headers, request.query_params)
    app = hashcart_of(request)

    def sink() -> LiveSink:
        return live_sink(request)

    def deliver() -> WebhookAnswer:
        settings = app.effective_settings()
        return webhook.deliver(delivered, settings, sink, StoredDeliveries(app.engine, app.clock))

    return _answer(await run_in_threadpool(deliver), later)
