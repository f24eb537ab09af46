"""CPU seconds of processes, read from /proc (Linux): what a bench reports beside its
wall-clock figures, since those move with the machine's load and CPU seconds far less.

The PostgreSQL server's are those of its postmaster and every process under it: the
postmaster's own, those of its children still running, and those of the children it has
already reaped (a backend's CPU moves to its parent's `cutime`/`cstime` when it exits, so a
connection closed during the run is still counted)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["postgres_cpu_seconds", "postmaster_of", "process_cpu_seconds"]

_PROC = Path("/proc")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name (state first), or None."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _seconds(ticks: int) -> float:
    return ticks / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of one process so far, or None when it is gone."""
    fields = _stat(pid)
    if fields is None:
        return None
    return _seconds(int(fields[11]) + int(fields[12]))


def postmaster_of(url: str) -> int | None:
    """The pid of the postmaster serving `url` (psycopg's form) when it runs on this machine
    and its processes are visible here; None otherwise (a server elsewhere, a container)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        if row is None:
            return None
        backend = int(row[0])
        fields = _stat(backend)  # read while the backend is alive: this connection's
    if fields is None:
        return None
    parent = int(fields[1])
    try:
        command = (_PROC / str(parent) / "cmdline").read_bytes()
    except OSError:
        return None
    # A pid of another namespace could name an unrelated process here.
    return parent if b"postgres" in command else None


def postgres_cpu_seconds(postmaster: int) -> float | None:
    """CPU seconds of the server so far: the postmaster's with its reaped children's, and
    each running child's."""
    fields = _stat(postmaster)
    if fields is None:
        return None
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    wanted = str(postmaster)
    for folder in _PROC.glob("[0-9]*"):
        child = _stat(folder.name)
        if child is not None and child[1] == wanted:
            ticks += int(child[11]) + int(child[12])
    return _seconds(ticks)
