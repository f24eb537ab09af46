"""Real servers on loopback for tests: an ASGI app (the shop, or a network's stand-in that
replays recorded answers) served by uvicorn in a thread, on a port the OS picks."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

STARTUP_DEADLINE_SECONDS = 20


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a thread; use as a context manager."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)  # polling a condition with a deadline, not waiting for time
        return self

    @property
    def url(self) -> str:
        socket = self.server.servers[0].sockets[0]
        host, port = socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
