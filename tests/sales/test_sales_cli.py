"""`hashcart sales open|close|list|show|settle` (issue 13): the merchant's commands, their JSON
and CSV, and one-line usage errors with exit code 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from tests.cli_runner import run_cli
from tests.sales.support import SaleShop, claim, key, link_everyone, sale_post_id

NETWORK = "mastodon"


def test_open_claim_settle_show_and_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hashcart.db'}"
    env = {"HASHCART_DATABASE_URL": url, "HASHCART_PUBLIC_URL": "https://shop.example"}
    shop = SaleShop(url)
    # The command runs on the system clock: the shop's starts there, so holds made while
    # ingesting have not run out when `sales settle` looks.
    shop.at(datetime.now(UTC))
    link_everyone(shop, NETWORK, 3)
    opened = run_cli(
        [
            "sales",
            "open",
            "Friday live",
            "--post",
            f"{NETWORK}:{sale_post_id(NETWORK)}",
            "--item",
            "12=mug:2",
            "--item",
            "14=tee-red-m:1",
            "--limit",
            "1",
            "--hold-hours",
            "48",
        ],
        env=env,
    )
    assert opened.exit_code == 0, opened.stderr
    assert "#12 mug (2)" in opened.stdout
    shop.ingest([claim(NETWORK, n, key(NETWORK, n), "sold 12", seconds=n) for n in range(3)])
    settled = run_cli(["sales", "settle", "--json"], env=env)
    assert settled.exit_code == 0, settled.stderr
    assert json.loads(settled.stdout)["settled"] == 0  # ingest settled them as they came

    shown = run_cli(["sales", "show", "Friday live", "--json"], env=env)
    assert shown.exit_code == 0, shown.stderr
    report = json.loads(shown.stdout)
    twelve = report["items"][0]
    assert (twelve["item"], twelve["stock"], twelve["held"], twelve["paid"]) == ("12", 2, 2, 0)
    assert (twelve["free"], twelve["waitlist"], twelve["claims"]) == (0, 1, 3)
    assert report["totals"]["units"] == 2 and report["totals"]["paid_rate"] == 0
    assert report["hold_hours"] == 48 and report["posts"] == [f"{NETWORK}:{sale_post_id(NETWORK)}"]

    board = run_cli(["sales", "show", "Friday live"], env=env)
    assert board.exit_code == 0 and "units won 2, paid 0 (0%)" in board.stdout
    assert "revenue 0.00;" in board.stdout and "time to pay: median -, p90 -" in board.stdout

    invoices = list(
        csv.DictReader(
            io.StringIO(run_cli(["sales", "show", "Friday live", "--csv"], env=env).stdout)
        )
    )
    assert [row["items"] for row in invoices] == ["#12 mug x1", "#12 mug x1"]
    assert invoices[0]["total"] == "24.00" and invoices[0]["link"].startswith(
        "https://shop.example/orders/invoice/"
    )

    listed = json.loads(run_cli(["sales", "list", "--json"], env=env).stdout)
    assert [(s["name"], s["status"], s["claims"]) for s in listed] == [("Friday live", "open", 3)]
    closed = run_cli(["sales", "close", "Friday live"], env=env)
    assert closed.exit_code == 0
    assert json.loads(run_cli(["sales", "list", "--json"], env=env).stdout)[0]["status"] == "closed"


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hashcart.db'}"
    env = {"HASHCART_DATABASE_URL": url}
    SaleShop(url)
    base = ["sales", "open", "Live", "--post", "x:1"]
    cases = {
        "--item 12": [*base, "--item", "12"],
        "unknown product": [*base, "--item", "12=nope:1"],
        "uncounted product": [*base, "--item", "12=mug"],
        "bad network": ["sales", "open", "Live", "--post", "myspace:1", "--item", "12=mug:1"],
    }
    for case, args in cases.items():
        result = run_cli(args, env=env)
        assert result.exit_code == 2, case
        assert len(result.stderr.strip().splitlines()) == 1, (case, result.stderr)
    assert run_cli([*base, "--item", "12=mug:1"], env=env).exit_code == 0
    again = run_cli([*base, "--item", "12=mug:1"], env=env)
    assert again.exit_code == 2 and "exists already" in again.stderr
    for args in (["sales", "show", "nope"], ["sales", "close", "nope"]):
        missing = run_cli(args, env=env)
        assert missing.exit_code == 2 and "no sale 'nope'" in missing.stderr
