"""One transaction idiom (issue 10, part 6): every write begins in
store/database.write_transaction, under the unit of work. A module that opens its own
`engine.begin()` bypasses it (and with it the one place SQLite's BEGIN IMMEDIATE and busy
timeout are set for writers); the outbox's records were the last to do so."""

from __future__ import annotations

import re
from pathlib import Path

import hashcart

SOURCE = Path(hashcart.__file__).parent
# The one module where a write begins.
WRITE_TRANSACTION = Path("store") / "database.py"
_OWN_BEGIN = re.compile(r"\bengine\.begin\(\)")


def modules_beginning_their_own_writes(root: Path) -> list[str]:
    """Modules under `root`, but the write transaction's own, whose code calls engine.begin()."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root) == WRITE_TRANSACTION:
            continue
        code = (line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
        if any(_OWN_BEGIN.search(line) for line in code):
            found.append(str(path.relative_to(root)))
    return found


def test_no_module_begins_a_write_of_its_own() -> None:
    assert modules_beginning_their_own_writes(SOURCE) == []


def test_a_module_that_begins_its_own_write_is_found(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "database.py").write_text("with engine.begin() as c:\n    pass\n")
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "records.py").write_text("    with engine.begin() as connection:\n")
    (tmp_path / "outbox" / "notes.py").write_text("# not engine.begin() but the unit of work\n")

    assert modules_beginning_their_own_writes(tmp_path) == ["outbox/records.py"]
