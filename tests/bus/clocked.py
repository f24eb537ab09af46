"""`hashcart` as its own process on a clock the test moves: `python -m tests.bus.clocked
ARGS...` runs the command line with every App's clock reading the time written in the file
HASHCART_TEST_CLOCK_FILE names (ISO 8601), instead of the wall clock. A test moves the time
of workers it started by writing that file, and never sleeps to let time pass (live sales'
settle window: tests/bus/test_sale_claims_on_the_bus.py)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

CLOCK_FILE = "HASHCART_TEST_CLOCK_FILE"


class FileClock:
    """The time in a file: read at every call, so a write moves every process reading it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def set_clock(path: Path, moment: datetime) -> None:
    """Move the clocks of the processes reading `path` to `moment` (written whole at once)."""
    fresh = path.with_suffix(".new")
    fresh.write_text(moment.isoformat())
    fresh.replace(path)


def main() -> None:
    import hashcart.bootstrap
    from hashcart.cli import main as hashcart_main

    path = Path(os.environ[CLOCK_FILE])
    # open_app gives every App a SystemClock() when it is given none: this one instead.
    hashcart.bootstrap.SystemClock = lambda: FileClock(path)  # type: ignore[assignment,misc]
    hashcart_main()


if __name__ == "__main__":
    main()
