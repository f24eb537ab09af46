"""`hashcart serve --web-processes N`: N web processes share one port, under uvicorn's own
supervisor (uvicorn.supervisors.Multiprocess, as `uvicorn --workers N` runs).

The supervisor is the serve process itself: it binds N sockets to the port with
SO_REUSEPORT (`SocketEach`; one shared socket where the platform lacks it), starts N
processes (multiprocessing "spawn": fresh interpreters, none of this process's threads)
that each accept on their own socket and run the web app only, and keeps them alive: one
that dies is replaced on its socket (uvicorn logs "Child process [pid] died"), SIGHUP is
ignored, and SIGINT/SIGTERM stops them all (each finishes its requests,
GRACEFUL_SHUTDOWN_SECONDS at most) before serve returns. A socket each because on one
shared socket the process that wakes first accepts a whole burst of connections (asyncio
takes all that wait): 8 clients starting together were all served by one process in 12 of
30 routes of the pages bench (docs/benchmarks.md); the kernel spreads connections over
SO_REUSEPORT sockets by a hash of each. The price: connections the kernel gives a socket
whose process died wait there for its replacement (a few seconds). What runs beside the
pages (listeners, dispatcher, sweep, settle timer, pictures, funnel keeper) stays in the
supervisor's threads: exactly once.

A web process gets the settings as loaded here (token key included) through the spawn
pipe, pickled with the factory (`WebProcess`): not through its environment or a file.
Everything the web app shares between requests lives in the database (sessions and their
CSRF tokens, sign-in attempts, OAuth states, the sale board's stream and the live chart,
which poll it, the funnel's kept figures), so any process can answer any request. What
each process keeps for itself: its password-hashing slots (password_hash_concurrency per
process), its webhook sink's shop (re-read every 2 s: services/live_ingest.SHOP_REFRESH)
and the store's stock cache (store_stock_cache_seconds).

Each response carries `X-Hashcart-Process: <pid>` so an operator (and the tests) can see
which process answered."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import SIGNALS, Multiprocess, Process
from uvicorn.supervisors.multiprocess import logger as uvicorn_log

from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from hashcart.config import Settings

log = logging.getLogger(__name__)

PROCESS_HEADER = b"x-hashcart-process"


class WebProcessesFailed(HashcartError):
    """A web process could not start (its app or its database): serve stops, exit 1."""


@dataclass(frozen=True)
class WebProcess:
    """The app factory each web process calls (uvicorn `factory=True`): the hashcart App on
    the supervisor's settings, without the schema step (the supervisor did it) and without
    anything that runs beside the pages."""

    settings: Settings
    demo: bool = False

    def __call__(self) -> ASGIApp:
        from hashcart.bootstrap import open_app
        from hashcart.logs import configure_logging
        from hashcart.web import create_app

        configure_logging(self.settings.log_format, self.settings.log_level)
        try:
            hashcart = open_app(self.settings, migrate=False)
            app = create_app(hashcart, demo=self.demo)
        except Exception:
            # A start that fails fails the same way again: uvicorn's supervisor stops on
            # this exit code instead of restarting the process forever.
            log.exception("web process %d could not start", os.getpid())
            sys.exit(STARTUP_FAILURE)
        # What the process runs on, out of the collector's generations (as cli.freeze_imports
        # does for `serve`: a full collection otherwise rescans it and holds every request up).
        gc.freeze()
        return ProcessHeader(app)


class ProcessHeader:
    """ASGI middleware: every HTTP response says which process answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.value = str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_process(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (PROCESS_HEADER, self.value)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_process)


def portable(settings: Settings) -> Settings:
    """The same values as a plain `Settings`, which pickles: load_settings makes a class of
    its own for the file it reads, and a class made inside a function cannot be pickled."""
    from hashcart.config import Settings

    values = {name: getattr(settings, name) for name in Settings.model_fields}
    return Settings.model_construct(settings.model_fields_set, **values)


def serve_in_processes(
    settings: Settings,
    host: str,
    port: int,
    processes: int,
    *,
    url: str,
    access_log: bool,
    demo: bool,
    graceful_seconds: int,
) -> None:
    """Serve until SIGINT or SIGTERM with `processes` web processes (`url`: where, as the
    log says it); raise
    WebProcessesFailed when one could not start (then the others are stopped too)."""
    config = uvicorn.Config(
        WebProcess(portable(settings), demo),
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_level="info",
        access_log=access_log,
        log_config=None,  # each process logs through hashcart.logs (WebProcess)
        timeout_graceful_shutdown=graceful_seconds,
    )
    previous: dict[int, Any] = {number: signal.getsignal(number) for number in SIGNALS}
    if hasattr(socket, "SO_REUSEPORT"):
        listening = _sockets_of_their_own(host, port, processes)
        running = f"Uvicorn running on {url}, {processes} processes"
        uvicorn_log.info(f"{running}, a socket each (Press CTRL+C to quit)")
        supervisor = SocketEach(config, listening)
    else:  # one socket shared by all (as uvicorn --workers)
        listening = [config.bind_socket()]
        supervisor = SocketEach(config, listening * processes)
    try:
        supervisor.run()
    finally:
        for each in listening:
            each.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise WebProcessesFailed("a web process could not start (its error is logged above)")


def _sockets_of_their_own(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to the one address with SO_REUSEPORT: the kernel spreads new
    connections over them by a hash of each connection, where on one shared socket the
    process that wakes first takes a whole burst of connections."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    made: list[socket.socket] = []
    for _ in range(count):
        each = socket.socket(family, socket.SOCK_STREAM)
        made.append(each)
        each.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        each.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        each.bind((host, port))
        each.set_inheritable(True)
    return made


class SocketEach(Multiprocess):
    """uvicorn's supervisor, web process i on socket i of `slots` (its own, or one shared
    by all): a replacement takes over its predecessor's socket, and what waits in it."""

    def __init__(self, config: uvicorn.Config, slots: list[socket.socket]) -> None:
        super().__init__(config, sockets=[])
        self.slots = slots

    def _start(self, slot: int) -> Process:
        process = Process(self.config, [self.slots[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._start(slot) for slot in range(len(self.slots))]

    def keep_subprocess_alive(self) -> None:
        # As uvicorn's: a process that stops answering is killed and replaced, unless it
        # failed before it started serving (then every start would).
        for slot, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                uvicorn_log.error(f"Child process [{process.pid}] failed to start, stopping.")
                self.should_exit.set()
                return
            uvicorn_log.info(f"Child process [{process.pid}] died")
            self.processes[slot] = self._start(slot)

    def handle_hup(self) -> None:
        # uvicorn replaces its processes on SIGHUP; here the new ones would run new code
        # beside the serve process's old background work: restart serve instead.
        uvicorn_log.info("SIGHUP ignored: restart serve to reload hashcart.")

    def handle_ttin(self) -> None:
        uvicorn_log.info("The web processes are --web-processes: restart serve to change it.")

    handle_ttou = handle_ttin
