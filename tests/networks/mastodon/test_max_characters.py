"""Messages to Mastodon are sized to the shop's server's own limit.

mastodon/documentation content/en/methods/instance.md (`GET /api/v2/instance`) and
content/en/entities/Instance.md: `configuration[statuses][max_characters]`, "The maximum
number of allowed characters per status" (Integer, 4.0.0), 500 in the documented example
(tests/oauth/mastodon_docs/instance_v2.json). The stand-in answers with a real server's
recorded instance (test_hashtag_tl.yaml), its `max_characters` set per test; a missing,
non-integer or absurd one, or no answer at all, leaves the documented 500.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hashcart.domain.messages import MAX_TITLE_CHARS, Reason, reference
from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import mastodon_length
from hashcart.networks.mastodon.api import MAX_PLAUSIBLE_CHARACTERS
from hashcart.services.notify import Notices
from tests.harness import Shop
from tests.networks.mastodon.conftest import Server
from tests.networks.mastodon.standin import Answer

DOCUMENTED = Path(__file__).parents[2] / "oauth" / "mastodon_docs" / "instance_v2.json"
# Eight products of the longest title a message quotes: the "which product?" message names
# them all, about 800 characters whole.
TITLES = [f"{i} " + "Hand-thrown stoneware mug with a speckled glaze " * 2 for i in range(8)]
TITLES = [title[:MAX_TITLE_CHARS] for title in TITLES]


def which_product(shop: Shop) -> str:
    notices = Notices(shop.app.shop())
    notices.tell(
        Network.MASTODON,
        "https://elsewhere.example/users/sam",
        "sam@elsewhere.example",
        "1101",
        Reason.WHICH_PRODUCT,
        None,
        options=TITLES,
    )
    return notices.messages[0].text


def added(shop: Shop) -> str:
    notices = Notices(shop.app.shop())
    notices.tell(
        Network.MASTODON,
        "https://elsewhere.example/users/sam",
        "sam@elsewhere.example",
        "1101",
        Reason.ADDED,
        None,
        title=TITLES[0],
    )
    return notices.messages[0].text


def test_the_documented_instance_body_has_the_field_we_read() -> None:
    body = json.loads(DOCUMENTED.read_text())
    assert body["configuration"]["statuses"]["max_characters"] == 500


def test_a_server_taking_1000_gets_the_whole_titles_past_500(server: Server, shop: Shop) -> None:
    server.stand_in.max_characters = 1000
    text = which_product(shop)
    assert 500 < mastodon_length(text) <= 1000
    assert all(title in text for title in TITLES)  # not one shortened
    assert text.endswith(f"(ref {reference('1101')})")


def test_a_server_taking_100_gets_the_title_shortened_to_fit(server: Server, shop: Shop) -> None:
    server.stand_in.max_characters = 100
    text = added(shop)
    assert mastodon_length(text) <= 100
    assert TITLES[0] not in text and "…" in text
    assert text.startswith("@sam@elsewhere.example Added ")
    assert text.endswith(f"(ref {reference('1101')})")


def test_the_server_is_asked_once_per_process(server: Server, shop: Shop) -> None:
    server.stand_in.max_characters = 1000
    which_product(shop)
    which_product(shop)  # a second App.shop(), as each ingest run loads one
    assert len(server.stand_in.requests("/api/v2/instance")) == 1


def test_a_shop_without_a_mastodon_server_asks_no_one(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'none.db'}")
    text = which_product(shop)
    assert mastodon_length(text) <= 500
    assert not all(title in text for title in TITLES)  # the stock 500 shortened them


HOSTILE: list[Any] = [
    "1000",  # a string
    1000.5,
    True,  # JSON's true, which Python would count as 1
    0,
    -1,
    MAX_PLAUSIBLE_CHARACTERS + 1,
    10**30,
    {"max": 1000},
    [1000],
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_an_implausible_limit_falls_back_to_500(server: Server, shop: Shop, value: Any) -> None:
    server.stand_in.max_characters = value
    assert server.api().max_characters() == 500
    text = which_product(shop)
    assert mastodon_length(text) <= 500
    assert not all(title in text for title in TITLES)


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b'{"configuration": null}',
        b'{"configuration": {"statuses": null}}',
        b'{"configuration": {"statuses": {}}}',
        b"[]",
        b'{"configuration": {"statuses": {"max_characters": 1000}}}\xff',
        b'"\\u0000"',
        Answer(500, "boom"),
        Answer(401, "The access token is invalid"),
    ],
    ids=repr,
)
def test_a_hostile_or_failing_instance_answer_falls_back_to_500(
    server: Server, shop: Shop, answer: Answer | bytes
) -> None:
    server.stand_in.instance_answer = answer
    assert server.api().max_characters() == 500
    assert mastodon_length(which_product(shop)) <= 500


def test_the_largest_plausible_limit_is_believed(server: Server) -> None:
    server.stand_in.max_characters = MAX_PLAUSIBLE_CHARACTERS
    assert server.api().max_characters() == MAX_PLAUSIBLE_CHARACTERS


def test_the_limit_is_asked_with_a_short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # It is asked while a message is composed, inside the batch's write transaction: a
    # server that does not answer must not hold that lock for the API's usual 15 s.
    from types import SimpleNamespace

    from pydantic import SecretStr

    from hashcart.networks.mastodon import wiring

    asked: list[dict[str, Any]] = []

    class Recorder:
        base_url = "https://limits.example"

        def __init__(self, url: str, token: str, **options: Any) -> None:
            asked.append(options)

        def max_characters(self) -> int:
            return 640

        def close(self) -> None:
            pass

    monkeypatch.setattr(wiring, "MastodonApi", Recorder)
    monkeypatch.setattr(wiring, "_MAX_CHARACTERS", {})
    settings = SimpleNamespace(
        mastodon_url="https://limits.example", mastodon_access_token=SecretStr("token")
    )
    host = SimpleNamespace(effective_settings=lambda: settings)

    assert wiring.max_characters(host) == 640  # type: ignore[arg-type]
    timeout = asked[0]["timeout"]
    assert timeout.connect <= 2.0 and timeout.read <= 3.0
