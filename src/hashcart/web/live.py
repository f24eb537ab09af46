"""The live sink behind the webhooks: one per web app, built on first use."""

from __future__ import annotations

import threading

from fastapi import Request

from hashcart.live import live_ingest
from hashcart.services.live_ingest import LiveIngest
from hashcart.web.context import hashcart_of

_lock = threading.Lock()


def live_sink(request: Request) -> LiveIngest:
    state = request.app.state
    with _lock:
        sink: LiveIngest | None = getattr(state, "live_sink", None)
        if sink is None:
            sink = live_ingest(hashcart_of(request))
            state.live_sink = sink
    return sink
