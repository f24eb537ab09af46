"""axe-core (npm `axe-core`, pinned in tests/peers/axe, installed by `make axe-peer`) run in
the page under test. Its source is evaluated through the DevTools protocol, which the page's
CSP (script-src 'self') does not govern, so the page is checked exactly as served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE_SCRIPT = (
    Path(__file__).resolve().parents[1]
    / "peers"
    / "axe"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
SERIOUS = ("serious", "critical")
# Rules issue 14 saw broken that axe rates lower than serious (three tables with empty
# headers): each counts as serious here.
ALSO = ("empty-table-header",)


def axe_script() -> str:
    if not AXE_SCRIPT.is_file():
        pytest.skip("axe-core is not installed: run `make axe-peer` (npm ci in tests/peers/axe)")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def serious_violations(page: Any, script: str) -> list[str]:
    """Each serious or critical violation on the page (and each of ALSO's rules), as
    'rule: target' lines."""
    page.evaluate(script)
    found = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    return [
        f"{rule['id']} ({rule['impact']}): {', '.join(map(str, node['target']))}"
        for rule in found
        if rule["impact"] in SERIOUS or rule["id"] in ALSO
        for node in rule["nodes"]
    ]
