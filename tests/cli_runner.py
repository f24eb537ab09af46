"""Running a `hashcart` command inside the test process, as a fresh process would run it.

    from tests.cli_runner import run_cli

    result = run_cli(["carts", "--json"], env={"HASHCART_DATABASE_URL": url}, cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    carts = json.loads(result.stdout)

`run_cli(args, env=None, input=None, cwd=None) -> Result(exit_code, stdout, stderr)` goes
through `hashcart.cli.main`, the console script's own entry point, so the one-line error
messages and the exit codes (2 for a usage problem, 1 for a HashcartError or an unusable
database) are the real ones; Typer's `CliRunner.invoke` on the bare app would skip that
mapping. A command that raises anything else lets it through: the test fails on the
traceback, where a real process would print it and exit 1.

What a new process starts without, the call starts without, and what the command leaves
behind is undone after it:

- environment: every `HASHCART_*` variable of the test process is removed for the call
  (settings come only from `env`, `--config` and `--db`), `COLUMNS` is 200 unless `env`
  says otherwise (wide enough that Rich tables do not wrap), and all is restored after;
  settings are not cached anywhere (`load_settings` reads the environment each call);
- standard input is `input` (bytes or text; empty if None), standard output and error are
  captured apart (Typer's `CliRunner.isolation`, which also answers prompts from `input`);
- the command line's Rich consoles, built when `hashcart.cli` was first imported, measure
  width and colour from the call's environment and streams, not the test process's;
- logging that a command configures (`hashcart.logs.configure_logging`) is undone;
- database engines the command opened are disposed (a process would close their
  connections by exiting), so no pooled SQLite or PostgreSQL connection outlives the call;
- `gc.freeze()` (ingest and demo call it) does nothing: frozen objects of the test process
  would never be collected;
- `cwd`, if given, is the working directory for the call.

Not for commands that run until a signal (`serve`, `listen`, `dispatch` without `--once`,
`demo --serve`): they install signal handlers and need a real process, as do tests of the
console script and of `python -m hashcart` themselves (tests/integration/test_cli*.py keep
those as subprocesses and say why). One call at a time: it swaps process-wide state.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, event
from typer.testing import CliRunner

from hashcart.cli import main

# Rich decides these when a Console is built, from the environment and the stream it writes
# to; a fresh process builds its consoles under the call's environment.
_CONSOLE_ENVIRONMENT = (
    "_width",
    "_height",
    "_force_terminal",
    "_color_system",
    "no_color",
    "is_interactive",
)


@dataclass(frozen=True)
class Result:
    """What a `hashcart` run gave: its exit code and what it wrote to each stream."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | str | None = None,
    cwd: Path | str | None = None,
) -> Result:
    """Run `hashcart ARGS...` in this process through the real entry point (module
    docstring); `env` adds to an environment without the test process's HASHCART_*."""
    call_env: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("HASHCART_")
    }
    call_env["COLUMNS"] = "200"
    call_env.update(env or {})
    with contextlib.ExitStack() as undo:
        stdout, stderr, _ = undo.enter_context(CliRunner().isolation(input=input, env=call_env))
        undo.enter_context(_consoles_built_for_this_call())
        undo.enter_context(_logging_restored())
        undo.enter_context(_engines_disposed())
        undo.enter_context(_gc_freeze_disabled())
        if cwd is not None:
            undo.enter_context(contextlib.chdir(cwd))
        try:
            main(list(args))
        except SystemExit as exited:
            code = _exit_code(exited.code)
        else:  # main() always exits (Click's standalone mode); reaching here is a bug
            raise AssertionError("hashcart.cli.main() returned instead of exiting")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        return Result(code, stdout.getvalue().decode(), stderr.getvalue().decode())


def _exit_code(code: object) -> int:
    """As the interpreter turns `SystemExit(code)` into a process's exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")  # sys.exit("message") prints it and exits 1
    return 1


@contextlib.contextmanager
def _consoles_built_for_this_call() -> Iterator[None]:
    consoles = _cli_consoles()
    saved = [{name: vars(console)[name] for name in _CONSOLE_ENVIRONMENT} for console in consoles]
    try:
        for console in consoles:
            fresh = Console(stderr=console.stderr)  # under the call's environment and streams
            for name in _CONSOLE_ENVIRONMENT:
                setattr(console, name, vars(fresh)[name])
        yield
    finally:
        for console, values in zip(consoles, saved, strict=True):
            for name, value in values.items():
                setattr(console, name, value)


def _cli_consoles() -> list[Console]:
    """The Rich consoles the command-line modules hold at module level."""
    found: dict[int, Console] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "hashcart.cli" or name.startswith("hashcart.cli.")):
            continue
        for value in vars(module).values():
            if isinstance(value, Console):
                found[id(value)] = value
    return list(found.values())


# The loggers hashcart.logs.configure_logging sets besides the root: made before the call
# (a logger's defaults), so that what the command sets on them is undone even when they
# did not exist yet.
_CONFIGURED_LOGGERS = ("hashcart", "uvicorn", "uvicorn.error", "uvicorn.access")


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """Undo what a command did to logging: each logger's handlers, level and propagation
    (loggers first made during the call, by an import, are left as that import made them)."""
    for name in _CONFIGURED_LOGGERS:
        logging.getLogger(name)
    loggers = [logging.getLogger(), *_existing_loggers()]
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate) for logger in loggers]
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            for handler in logger.handlers:
                if handler not in handlers:
                    handler.close()
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


def _existing_loggers() -> list[logging.Logger]:
    return [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]


@contextlib.contextmanager
def _engines_disposed() -> Iterator[None]:
    opened: dict[int, Engine] = {}

    def seen(connection: Any) -> None:
        opened[id(connection.engine)] = connection.engine

    event.listen(Engine, "engine_connect", seen)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", seen)
        for engine in opened.values():
            engine.dispose()


@contextlib.contextmanager
def _gc_freeze_disabled() -> Iterator[None]:
    freeze = gc.freeze
    gc.freeze = lambda: None
    try:
        yield
    finally:
        gc.freeze = freeze
