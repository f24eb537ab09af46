"""Reading a webhook's body exactly as sent (signatures cover these bytes), refusing it
past a cap without reading the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request


def capped_body(max_bytes: int) -> Callable[[Request], Awaitable[bytes]]:
    """A FastAPI dependency giving the raw body, or 413 when it is over `max_bytes`."""

    async def read(request: Request) -> bytes:
        return await read_capped(request, max_bytes)

    return read


async def read_capped(request: Request, max_bytes: int) -> bytes:
    """The raw body, or HTTPException 413 when it is over `max_bytes` (by its declared
    length, or once that much was read)."""
    too_large = f"a webhook body is at most {max_bytes} bytes"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise HTTPException(413, too_large)
    return bytes(body)
