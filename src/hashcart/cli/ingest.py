"""`hashcart ingest`: payload files in, with a progress bar on a terminal and a summary after."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum, EnumType
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer
from rich.table import Table

from hashcart.cli import app, console, errors, fail, freeze_imports, open_with, settings_of
from hashcart.networks.input_format import Format
from hashcart.services.counts import IngestStats
from hashcart.sources import open_source

if TYPE_CHECKING:
    from rich.progress import Progress

    from hashcart.config import Settings
    from hashcart.services.ingest import Ingestor


class _EveryFormat(EnumType):
    def __iter__(cls) -> Iterator[Any]:
        # Format's own, not the registry's: every command builds every option, and asking
        # the registry would import each network's adapter at every start. Plugins' formats
        # are offered too: their networks are loaded first, only when a package declares one.
        from hashcart.plugins import load_plugins

        load_plugins()
        return iter(Format.every())


class RegisteredFormat(Enum, metaclass=_EveryFormat):
    """The choices of `--format`: `auto`, the built-in formats (x, x-v2, mastodon,
    jetstream) and every format a registered network declared, read when the command is
    built, so a network registered after this module was imported is offered too (Typer
    lists an Enum annotation's members; these are `Format`s)."""


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
    to_bus: Annotated[
        bool,
        typer.Option(
            "--to-bus",
            help="Publish the lines that may matter to the bus (bus_url) for `hashcart worker`.",
        ),
    ] = False,
) -> None:
    """Turn trigger replies in the given payload files into cart lines and queued messages."""
    missing = [name for name in files if name != "-" and not Path(name).is_file()]
    if missing:
        fail("no such file: " + ", ".join(missing))
    if to_bus:
        from hashcart.cli.to_bus import ingest_to_bus

        ingest_to_bus(settings_of(ctx), files, Format(fmt.value))
        return
    from hashcart.store.schema_version import sqlite_file_is_current

    opening = IngestorOpening(settings_of(ctx), Format(fmt.value), validate_all)
    if not sqlite_file_is_current(opening.settings.database_url):
        opening.ingestor()  # connect, migrate or report the database's problem now, as ever
    started, opened_before = time.perf_counter(), opening.seconds
    run_ingest(opening, files)
    elapsed = time.perf_counter() - started - (opening.seconds - opened_before)
    show_summary(opening.stats(), elapsed)
    if strict and opening.stats().dead_letters:
        raise typer.Exit(1)


class IngestorOpening:
    """The ingestor, opened (engine, shop, prefilter) when the input first has a block to
    read, or at once when the schema is not known to be current.

    Opening costs more than everything else `hashcart ingest` does at start: SQLAlchemy
    and the engine take about 100 ms to import. Input that has nothing in it (an empty file,
    a rotated log) then costs only the start of Python, Typer and the settings
    (docs/benchmarks.md, "Start-up")."""

    def __init__(self, settings: Settings, fmt: Format, validate_all: bool) -> None:
        self.settings = settings
        self.fmt = fmt
        self.validate_all = validate_all
        # Time spent opening, left out of the posts-per-second figure as it always was.
        self.seconds = 0.0
        self._ingestor: Ingestor | None = None

    def ingestor(self) -> Ingestor:
        if self._ingestor is None:
            started = time.perf_counter()
            from dataclasses import replace
            from datetime import timedelta

            from hashcart.services.ingest import Ingestor

            hashcart = open_with(self.settings)
            self._ingestor = Ingestor(
                hashcart.unit_of_work,
                # Every batch settles the live-sale claims due by then: no settle timer runs
                # beside this command to take what a skipped batch would leave (Shop.settles_batch).
                replace(hashcart.shop(), claim_step=timedelta(0), _claim_steps={}),
                hashcart.clock,
                reader=hashcart.payload_reader,
                fmt=self.fmt,
                batch_size=self.settings.ingest_batch_size,
                validate_all=self.validate_all or self.settings.validate_every_line,
                # A `#confirm CODE` in the file is paid for once its batch commits.
                settle_buys=hashcart.settle_buys,
            )
            freeze_imports()
            self.seconds += time.perf_counter() - started
        return self._ingestor

    def stats(self) -> IngestStats:
        return self._ingestor.stats if self._ingestor is not None else IngestStats()


def run_ingest(opening: IngestorOpening, files: list[str]) -> None:
    from hashcart.sources import read_blocks

    with progress_bar() as progress:
        for name in files:
            with open_source(name) as (stream, size):
                advance: Callable[[int], None] | None = None
                if progress is not None:
                    task = progress.add_task(name if name != "-" else "stdin", total=size)

                    def advance(done: int, task: Any = task) -> None:
                        progress.update(task, completed=done)

                blocks = read_blocks(stream)
                first = next(blocks, None)
                if first is None:
                    # Nothing to read: ingesting no blocks changes nothing and commits
                    # nothing, so there is no need to open the ingestor for it.
                    continue
                opening.ingestor().ingest_blocks(
                    name,
                    chain((first,), blocks),
                    progress=advance,
                    live=not _is_regular_file(stream),
                )


@contextmanager
def progress_bar() -> Iterator[Progress | None]:
    """A progress bar on standard error when it is a terminal, else None: then there is
    nothing to show, and Rich's progress and live display need not be loaded."""
    if not errors.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=errors,
    ) as progress:
        yield progress


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
    # Issue 12's outcomes, shown only when they happened (earlier summaries stay as they were).
    for label, value in [
        ("lines removed by reply", stats.actions.removed),
        ("asked which variant", stats.actions.which_variant),
        ("undone by deletion", stats.actions.undone),
    ]:
        if value:
            table.add_row(label, f"{value:,}")
    if elapsed is not None:
        rate = stats.lines / elapsed if elapsed > 0 else 0.0
        table.add_row("posts per second", f"{rate:,.0f}")
    console.print(table)
