"""`hashcart serve`: the shop, the account pages, the merchant console and the API."""

from __future__ import annotations

import typer

from hashcart.cli import app, app_of
from hashcart.cli.webserver import HostOption, PortOption, ensure_can_listen, serve_web


@app.command()
def serve(ctx: typer.Context, host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Serve the web shop and merchant console (loopback by default)."""
    ensure_can_listen(host, port)
    serve_web(app_of(ctx), host, port)
