"""What a stream listener is: something that runs until told to stop, reconnecting itself."""

from __future__ import annotations

import asyncio
from typing import Protocol


class Listener(Protocol):
    # Names the listener in logs and its cursor in `stream_cursors` (x_stream, jetstream…).
    name: str

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting with backoff after every failure; hand
        each payload to the sink (`await asyncio.to_thread(sink.ingest, …)`) and save the
        cursor only after the sink returned."""
        ...
