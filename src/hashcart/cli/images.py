"""`hashcart catalog images`: fetch the pictures the catalog names (README "Product pictures")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hashcart.cli import app_of, catalog_app, console, errors

if TYPE_CHECKING:
    from hashcart.services.images import ImagesReport


@catalog_app.command("images")
def catalog_images(
    ctx: typer.Context,
    retry: Annotated[
        bool, typer.Option("--retry", help="Try the pictures that failed before again too.")
    ] = False,
) -> None:
    """Fetch, check and resize the pictures catalog rows name (`image_link`,
    `additional_image_link`) and not fetched yet; `catalog import` does it too."""
    report = report_images(app_of(ctx).fetch_images(retry=retry))
    if not (report.ready or report.failed):
        console.print("no pictures to fetch" + (" or retry" if retry else ""))


def report_images(report: ImagesReport) -> ImagesReport:
    """One line per picture that failed (with why), then the counts, when there were any."""
    for url, reason in report.failed:
        errors.print(f"picture {url}: {reason}", markup=False)
    if report.ready or report.failed:
        line = f"pictures: {report.ready} ready, {len(report.failed)} failed"
        if report.waiting:
            line += f", {report.waiting} more waiting: run hashcart catalog images"
        console.print(line, markup=False)
    return report
