"""`hashcart x webhook register|list|delete|check` and `hashcart x subscribe`: real processes
against a loopback stand-in that answers with the bodies of xdevplatform/docs
x-api/webhooks/quickstart.mdx and x-api/activity/quickstart.mdx (see webhooks_stand_in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback import LiveServer
from tests.networks.x.stand_in import APP_BEARER, USER_TOKEN, Scripted
from tests.networks.x.webhooks_stand_in import LISTED_NONE, WebhooksStandIn, refusal

SHOP_USER_ID = "2244994945"
HOOK_URL = "https://yourdomain.com/webhooks/twitter"


class Cli:
    def __init__(self, tmp_path: Path, stand_in: WebhooksStandIn, url: str) -> None:
        self.tmp_path = tmp_path
        self.x = stand_in
        self.env = {
            **os.environ,
            "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "HASHCART_X_API_URL": url,
            "HASHCART_X_BEARER_TOKEN": APP_BEARER,
            "HASHCART_X_ACCESS_TOKEN": USER_TOKEN,
            "HASHCART_X_SHOP_USER_ID": SHOP_USER_ID,
            "HASHCART_PUBLIC_URL": "https://shop.example",
            "COLUMNS": "300",
        }
        self.env.pop("HASHCART_CONFIG", None)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hashcart", *args],
            capture_output=True,
            cwd=self.tmp_path,
            env=self.env,
            check=False,
            timeout=120,
            text=True,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    stand_in = WebhooksStandIn()
    with LiveServer(stand_in.app) as server:
        runner = Cli(tmp_path, stand_in, server.url)
        assert runner("init").returncode == 0
        yield runner


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_register_posts_the_url_with_the_bearer_token_and_shows_the_webhook(cli: Cli) -> None:
    done = cli("x", "webhook", "register", HOOK_URL)
    assert done.returncode == 0, done.stderr
    assert "webhook 1234567890 registered: https://yourdomain.com/webhooks/twitter (valid)" in (
        done.stdout
    )
    assert cli.x.requests == [("POST", "/2/webhooks", APP_BEARER, {"url": HOOK_URL})]


def test_register_defaults_to_the_public_url_s_webhook(cli: Cli) -> None:
    assert cli("x", "webhook", "register", "--json").returncode == 0
    assert cli.x.requests[0][3] == {"url": "https://shop.example/webhooks/x"}


@pytest.mark.parametrize(
    ("reason", "meaning"),
    [
        ("CrcValidationFailed", "did not answer X's CRC check"),
        ("UrlValidationFailed", "does not meet X's requirements"),
        ("DuplicateUrlFailed", "already registered"),
        ("WebhookLimitExceeded", "number of webhooks"),
    ],
)
def test_a_documented_refusal_is_one_line_naming_the_reason(
    cli: Cli, reason: str, meaning: str
) -> None:
    cli.x.script.append(refusal(reason, "as X words it"))
    line = _one_line_error(cli("x", "webhook", "register", HOOK_URL))
    assert line.startswith("hashcart: error: X refused POST /2/webhooks: " + reason)
    assert meaning in line


def test_a_url_x_would_refuse_is_not_sent(cli: Cli) -> None:
    # Documented requirements (x-api/webhooks/introduction.mdx): HTTPS, no port.
    for url in ("http://shop.example/webhooks/x", "https://shop.example:8443/webhooks/x"):
        line = _one_line_error(cli("x", "webhook", "register", url))
        assert "not sent to X" in line
    assert cli.x.requests == []


def test_list_shows_url_validity_and_creation(cli: Cli) -> None:
    done = cli("x", "webhook", "list")
    assert done.returncode == 0, done.stderr
    assert "1234567890  https://yourdomain.com/webhooks/twitter  valid  created 2025-01-15" in (
        done.stdout
    )
    as_json = json.loads(cli("x", "webhook", "list", "--json").stdout)
    assert as_json == [
        {
            "id": "1234567890",
            "url": "https://yourdomain.com/webhooks/twitter",
            "valid": True,
            "created_at": "2025-01-15T12:00:00.000Z",
        }
    ]
    cli.x.listed = LISTED_NONE
    assert "no webhook registered" in cli("x", "webhook", "list").stdout


def test_delete_and_check_call_x_with_the_id(cli: Cli) -> None:
    assert "webhook 1234567890 deleted" in cli("x", "webhook", "delete", "1234567890").stdout
    assert "webhook 1234567890 is valid" in cli("x", "webhook", "check", "1234567890").stdout
    assert [(method, path) for method, path, _, _ in cli.x.requests] == [
        ("DELETE", "/2/webhooks/1234567890"),
        ("PUT", "/2/webhooks/1234567890"),
    ]
    cli.x.script.append(refusal("WebhookIdInvalid", "not found"))
    line = _one_line_error(cli("x", "webhook", "delete", "1234567891"))
    assert "WebhookIdInvalid: no webhook of this app has that id" in line
    cli.x.script.append(refusal("CrcValidationFailed", "Invalid response_token"))
    assert "CrcValidationFailed" in _one_line_error(cli("x", "webhook", "check", "1234567890"))


def test_a_hostile_webhook_id_never_reaches_a_url(cli: Cli) -> None:
    # (A NUL byte cannot reach a process's arguments; the console's form tests it.)
    for hostile in ("../../2/tweets", "1" * 40, "12 34", "１２３"):
        line = _one_line_error(cli("x", "webhook", "delete", hostile))
        assert "not an X webhook id" in line
    assert cli.x.requests == []


def test_subscribe_asks_for_replies_and_mentions_of_the_shop_with_its_user_token(
    cli: Cli,
) -> None:
    done = cli("x", "subscribe", "--account-activity")
    assert done.returncode == 0, done.stderr
    posted = [(path, token, body) for method, path, token, body in cli.x.requests]
    assert posted == [
        ("/2/webhooks", APP_BEARER, None),  # the only webhook, found by listing
        (
            "/2/activity/subscriptions",
            USER_TOKEN,
            {
                "event_type": "post.reply.create",
                "filter": {"user_id": SHOP_USER_ID},
                "tag": "hashcart",
                "webhook_id": "1234567890",
            },
        ),
        (
            "/2/activity/subscriptions",
            USER_TOKEN,
            {
                "event_type": "post.mention.create",
                "filter": {"user_id": SHOP_USER_ID},
                "tag": "hashcart",
                "webhook_id": "1234567890",
            },
        ),
        ("/2/account_activity/webhooks/1234567890/subscriptions/all", USER_TOKEN, None),
    ]
    assert "subscribed post.reply.create for user 2244994945 to webhook 1234567890" in (done.stdout)
    assert "Account Activity subscription: on" in done.stdout


def test_subscribe_without_a_webhook_says_to_register_one(cli: Cli) -> None:
    cli.x.listed = LISTED_NONE
    line = _one_line_error(cli("x", "subscribe"))
    assert "run hashcart x webhook register first" in line


def test_subscribe_refused_is_one_line(cli: Cli) -> None:
    cli.x.script.append(
        refusal("Forbidden", "the user has not authorized this app for post.reply.create", 403)
    )
    line = _one_line_error(cli("x", "subscribe", "--webhook", "1234567890"))
    assert line.startswith("hashcart: error: X refused POST /2/activity/subscriptions: HTTP 403")


def test_a_check_that_leaves_the_webhook_invalid_exits_non_zero(cli: Cli) -> None:
    # PUT /2/webhooks/:id's documented answer, with `valid` false (the CRC did not pass).
    cli.x.script.append(Scripted(200, {"data": {"valid": False}}))
    done = cli("x", "webhook", "check", "1234567890")
    assert done.returncode == 1
    assert "still not valid" in _one_line_error(done)
