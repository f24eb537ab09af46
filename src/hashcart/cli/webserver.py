"""Serving the web app from the command line, shared by `hashcart serve` and
`hashcart demo --serve` (a module of its own so importing it registers no command)."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from hashcart.cli import console, fail, freeze_imports

if TYPE_CHECKING:
    from hashcart.bootstrap import App

# How long Ctrl-C waits for requests still running (the live board's streams never finish).
GRACEFUL_SHUTDOWN_SECONDS = 5

HostOption = Annotated[
    str, typer.Option("--host", help="Address to listen on (loopback unless you say otherwise).")
]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]


def base_url(host: str, port: int) -> str:
    """The address a browser on this machine opens (IPv6 literals in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def ensure_can_listen(host: str, port: int) -> None:
    """Fail with one line now, not after the demo is built, when the address is taken."""
    import socket  # only the commands that serve need it, not every command's start

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As uvicorn binds: a port in TIME_WAIT from a previous run is free to use.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        reason = error.strerror or str(error)
        fail(f"cannot listen on {host}:{port}: {reason} (choose another with --port or --host)")


def serve_web(
    hashcart: App,
    host: str,
    port: int,
    *,
    access_log: bool = True,
    also: Sequence[str] = (),
    demo: bool = False,
    processes: int = 1,
) -> None:
    """Print where the pages are (and the `also` lines: what runs beside them), then serve
    them until Ctrl-C (or SIGTERM): in this process, or in `processes` web processes on the
    one port (web_processes.py) while what runs beside them stays here, once."""
    import uvicorn

    from hashcart.web import create_app

    url = base_url(host, port)
    settings = hashcart.settings
    console.print(f"hashcart serving {settings.shop_name} on {url}", markup=False)
    console.print(f"  shop front:       {url}/s/{settings.shop_slug}", markup=False)
    console.print(f"  merchant console: {url}/merchant", markup=False)
    console.print(f"  API docs:         {url}/api/docs", markup=False)
    if demo:
        console.print(f"  demo mail:        {url}/demo/mail", markup=False)
    for line in also:
        console.print(line, markup=False)
    if processes > 1:
        console.print(
            f"  web processes:    {processes} (the work above runs once, in this one)",
            markup=False,
        )
    console.print("Press Ctrl-C to stop.", markup=False)
    if processes > 1:
        from hashcart.cli.web_processes import serve_in_processes

        serve_in_processes(
            settings,
            host,
            port,
            processes,
            url=url,
            access_log=access_log,
            demo=demo,
            graceful_seconds=GRACEFUL_SHUTDOWN_SECONDS,
        )
        console.print("hashcart stopped serving.", markup=False)
        return
    # log_config=None: uvicorn installs no handlers of its own, so its lines (startup,
    # errors, access) go through the command's logging (hashcart.logs), text or JSON.
    config = uvicorn.Config(
        create_app(hashcart, demo=demo),
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        log_config=None,
        # Open server-sent event streams (the live claim board) never end by themselves: on
        # Ctrl-C uvicorn would wait for them forever. After this many seconds they are cut
        # (browsers reconnect to the next server, from the last event they saw).
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    # Uvicorn shuts down gracefully on Ctrl-C or SIGTERM, then raises the signal again for
    # the default behaviour; turning that into an exception lets the caller's `finally`
    # (the live demo's thread) finish too, and the command end with status 0.
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    # Everything the pages run on is imported and built by now (about 185,000 objects that
    # live as long as the process): out of the collector's generations, a full collection
    # no longer rescans them. It did every few seconds under load, holding the GIL 100-360
    # ms at a time, and whatever request was in flight waited: the pages' p99 (issue 14).
    freeze_imports()
    try:
        uvicorn.Server(config).run()
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    console.print("hashcart stopped serving.", markup=False)


class _Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C does."""


def _raise_terminated(_signal: int, _frame: FrameType | None) -> None:
    raise _Terminated()
