"""Recordings over invention: every X answer the tests give says where it comes from.

Next to each body the X stand-in or a test answers with: "recorded" (a real answer),
"documented" (a sample from docs.x.com, xdevplatform/docs) or "hand-built: no documented
sample for ...". A new answer without its provenance fails here, so an invented body can
never pass for X's own.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
FILES = [
    *(path for path in sorted(HERE.glob("*.py")) if path.name != Path(__file__).name),
    HERE.parent.parent / "integration" / "test_serve_x.py",
]
LABELS = ("recorded", "documented", "hand-built")
# An answer: a Scripted(...) or JSONResponse(...) call (not the class or its annotations).
ANSWER = re.compile(r"(?<![\w.])(Scripted|JSONResponse)\(")
CONSTANT = re.compile(r"(?:Scripted\(\s*\d+,\s*|JSONResponse\()([A-Z][A-Z_]+)\b")
# How far above an answer its label may sit (a comment over a multi-line call).
WINDOW = 3


def _labelled(lines: list[str], index: int) -> bool:
    nearby = lines[max(0, index - WINDOW) : index + 1]
    return any(label in line for line in nearby for label in LABELS)


def _labelled_constants() -> set[str]:
    found = set()
    for path in FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            match = re.match(r"([A-Z][A-Z_]+) = ", line)
            if match and _labelled(lines, index):
                found.add(match.group(1))
    return found


def test_every_x_answer_in_the_tests_says_where_it_comes_from() -> None:
    constants = _labelled_constants() | {"RESTRICTION_ANSWER"}  # stand_in's, renamed
    unlabelled = []
    for path in FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if not ANSWER.search(line) or line.lstrip().startswith(("class ", "def ", "#")):
                continue
            named = CONSTANT.search(line)
            if named is not None and named.group(1) in constants:
                continue
            if not _labelled(lines, index):
                unlabelled.append(f"{path.name}:{index + 1}: {line.strip()}")
    assert unlabelled == []


def test_the_label_check_catches_an_unlabelled_answer() -> None:
    lines = ["x = 1", "y = 2", "z = 3", "w = 4", 'Scripted(500, {"status": 500})']
    assert not _labelled(lines, 4)
    assert _labelled([*lines[:1], "# hand-built: no documented sample for 5xx", *lines[2:]], 4)
