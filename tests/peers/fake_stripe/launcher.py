"""Runs localstripe (PyPI `localstripe`, GPL-3.0, a test-only tool) on 127.0.0.1 for the tests.

The package's own `localstripe --port N` command listens on every interface and pickles its
whole store to a fixed file in the temp folder after every write (and reloads it at start):
this launcher serves the same aiohttp app on loopback only, with the pickle turned off, on a
port the OS picks, and prints that port as its first line of output.

It also takes `off_session` on a PaymentIntent's confirm (Stripe does; localstripe refused
it), and adds what Stripe documents and localstripe lacks, for the tests that need it: the
`Idempotency-Key` header (https://docs.stripe.com/api/idempotent_requests: a repeated key
answers with the first request's answer and `Idempotent-Replayed: true`; the same key with
other parameters is a 400 `idempotency_error`). It is off by default, as localstripe is,
so hashcart's own key -> PaymentIntent record is what the tests prove; a test turns it on
with `POST /_config/idempotency` (`enabled=true`). `DELETE /_config/data` wipes the store,
the registered webhooks and the remembered keys, and turns the keys off again.

Run: `python -m tests.peers.fake_stripe.launcher`.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from localstripe import resources

# No pickle file: every run starts empty and nothing is written outside the test's process.
resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]


def _confirm_taking_off_session(id: str, off_session: Any = None, **kwargs: Any) -> Any:
    """Stripe's confirm takes `off_session` (https://docs.stripe.com/api/payment_intents/
    confirm); localstripe's refuses it as unexpected. It changes nothing in localstripe,
    which never asks for authentication on confirm anyway."""
    return resources.PaymentIntent._api_confirm(id, **kwargs)


resources.extra_apis[:] = [
    (
        method,
        url,
        _confirm_taking_off_session
        if url.endswith("/confirm") and "payment_intents" in url
        else func,
    )
    for method, url, func in resources.extra_apis
]

from localstripe import server, webhooks  # noqa: E402  (after the store is patched)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class _Answer:
    fingerprint: str
    status: int
    body: bytes


class _Keys:
    enabled = False
    answers: dict[tuple[str, str], _Answer] = {}  # noqa: RUF012 (one server, one state)


@web.middleware
async def idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "DELETE" and request.path == "/_config/data":
        _Keys.enabled = False
        _Keys.answers.clear()
        webhooks._webhooks.clear()  # localstripe's wipe keeps them; a test registers its own
        return await handler(request)
    key = request.headers.get("Idempotency-Key")
    if not _Keys.enabled or key is None or request.method != "POST":
        return await handler(request)
    body = await request.read()  # aiohttp keeps it for the handler
    fingerprint = hashlib.sha256(request.path.encode() + b"\0" + body).hexdigest()
    slot = (request.headers.get("Authorization", ""), key)
    earlier = _Keys.answers.get(slot)
    if earlier is not None:
        if earlier.fingerprint != fingerprint:
            error = {
                "error": {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with.",
                }
            }
            return web.json_response(error, status=400)
        return web.Response(
            body=earlier.body,
            status=earlier.status,
            content_type="application/json",
            headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
        )
    response = await handler(request)
    # Stripe keeps every answer but a 5xx (it may be retried); localstripe answers JSON.
    if response.status < 500 and isinstance(response, web.Response) and response.body:
        _Keys.answers[slot] = _Answer(fingerprint, response.status, bytes(response.body))
    return response


async def configure_keys(request: web.Request) -> web.Response:
    form: Any = await request.post()
    _Keys.enabled = str(form.get("enabled", "")).lower() == "true"
    return web.json_response({"enabled": _Keys.enabled})


def main() -> None:
    app = server.app
    app.middlewares.insert(0, idempotency)
    app.router.add_post("/_config/idempotency", configure_keys)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
    web.run_app(app, sock=listener, print=None, access_log=None)


if __name__ == "__main__":
    sys.exit(main())
