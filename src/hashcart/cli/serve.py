"""`hashcart serve`: the shop, the account pages, the merchant console and the API."""

from __future__ import annotations

from typing import Annotated

import typer

from hashcart.cli import app, app_of, console


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web shop and merchant console (loopback by default)."""
    import uvicorn

    from hashcart.web import create_app

    hashcart = app_of(ctx)
    console.print(
        f"hashcart serving {hashcart.settings.shop_name} on http://{host}:{port}", markup=False
    )
    uvicorn.run(create_app(hashcart), host=host, port=port, log_level="info")
