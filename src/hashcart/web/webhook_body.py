"""Reading a webhook's body exactly as sent (signatures cover these bytes), refusing it
past a cap without reading the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request


def capped_body(max_bytes: int) -> Callable[[Request], Awaitable[bytes]]:
    """A FastAPI dependency giving the raw body, or 413 when it is over `max_bytes`."""
    too_large = f"a webhook body is at most {max_bytes} bytes"

    async def read(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise HTTPException(413, too_large)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise HTTPException(413, too_large)
        return bytes(body)

    return read
