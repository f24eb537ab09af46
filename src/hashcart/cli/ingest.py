"""`hashcart ingest`: payload files in, with a progress bar on a terminal and a summary after."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum, EnumType
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn
from rich.table import Table

from hashcart.cli import app, app_of, console, errors, fail, freeze_imports
from hashcart.networks.formats import Format

if TYPE_CHECKING:
    from hashcart.services.ingest import Ingestor, IngestStats


@contextmanager
def open_source(name: str) -> Iterator[tuple[BinaryIO, int | None]]:
    if name == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(name)
    with path.open("rb") as stream:
        yield stream, path.stat().st_size


class _EveryFormat(EnumType):
    def __iter__(cls) -> Iterator[Any]:
        import hashcart.networks.builtin  # noqa: F401 (the built-in networks, registered)
        from hashcart.networks import registry

        return iter((Format.AUTO, *(Format(name) for name in registry.formats())))


class RegisteredFormat(Enum, metaclass=_EveryFormat):
    """The choices of `--format`: `auto` and every registered network's formats (the
    built-in ones: x, x-v2, mastodon, jetstream), read from the network registry when the
    command is built, so a network registered after this module was imported is offered
    too (Typer lists an Enum annotation's members; these are `Format`s)."""


@app.command()
def ingest(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Argument(help="Files of payloads, one JSON per line; '-' reads standard input."),
    ],
    fmt: Annotated[
        RegisteredFormat,
        typer.Option("--format", help="Payload format; auto detects per line."),
    ] = Format.AUTO,  # type: ignore[assignment]
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any line was dead-lettered.")
    ] = False,
    validate_all: Annotated[
        bool,
        typer.Option(
            "--validate-all",
            help="Parse every line as JSON, not only the lines that may matter (slower).",
        ),
    ] = False,
) -> None:
    """Turn trigger replies in the given payload files into cart lines and queued messages."""
    missing = [name for name in files if name != "-" and not Path(name).is_file()]
    if missing:
        fail("no such file: " + ", ".join(missing))
    from hashcart.services.ingest import Ingestor

    hashcart = app_of(ctx)
    ingestor = Ingestor(
        hashcart.unit_of_work,
        hashcart.shop(),
        hashcart.clock,
        fmt=Format(fmt.value),
        batch_size=hashcart.settings.ingest_batch_size,
        validate_all=validate_all or hashcart.settings.validate_every_line,
    )
    freeze_imports()
    started = time.perf_counter()
    run_ingest(ingestor, files)
    elapsed = time.perf_counter() - started
    show_summary(ingestor.stats, elapsed)
    if strict and ingestor.stats.dead_letters:
        raise typer.Exit(1)


def run_ingest(ingestor: Ingestor, files: list[str]) -> None:
    from hashcart.sources import read_blocks

    show_progress = errors.is_terminal
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=not show_progress,
    ) as progress:
        for name in files:
            with open_source(name) as (stream, size):
                task = progress.add_task(name if name != "-" else "stdin", total=size)

                def advance(done: int, task: Any = task) -> None:
                    progress.update(task, completed=done)

                ingestor.ingest_blocks(
                    name,
                    read_blocks(stream),
                    progress=advance if show_progress else None,
                    live=not _is_regular_file(stream),
                )


def _is_regular_file(stream: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):  # no file descriptor: treat it as live
        return False


def show_summary(stats: IngestStats, elapsed: float | None) -> None:
    table = Table(title="ingest summary", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    # The first four add up: every line read is a post line, a skipped line (no post in
    # it) or a dead letter.
    for label, value in [
        ("lines read", stats.lines),
        ("posts read", stats.posts),
        ("skipped", stats.skipped),
        ("dead-lettered", stats.dead_letters),
        ("triggers", stats.triggers),
        ("lines added", stats.actions.lines_added),
        ("pending", stats.actions.pending),
        ("messages queued", stats.actions.messages),
        ("waiting for parent", stats.waiting_for_parent),
        ("no shop product", stats.actions.no_product),
        ("duplicates", stats.duplicates),
        ("edits and reposts", stats.edits_and_reposts),
        ("other events", stats.other_events),
    ]:
        table.add_row(label, f"{value:,}")
    if elapsed is not None:
        rate = stats.lines / elapsed if elapsed > 0 else 0.0
        table.add_row("posts per second", f"{rate:,.0f}")
    console.print(table)
