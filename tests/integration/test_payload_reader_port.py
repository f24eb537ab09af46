"""Ingest and the live sink read payloads only through the reader they are given
(ports.PayloadReader): here one defined in this test reads a shape no registered network
has (pipe-separated text, no JSON at all), and a `#cart` reply in it still becomes a cart
line, through Ingestor and through LiveIngest with its cursor. Neither names a network's
format, decoder or prefilter (the import-linter layers contract holds that; this shows the
seam works)."""

from __future__ import annotations

from typing import Any

import pytest

from hashcart.bootstrap import App
from hashcart.domain.posts import DecodeError, Event, Network, Post
from hashcart.domain.products import ShopHosts
from hashcart.domain.triggers import TriggerWords
from hashcart.ports import AUTO_FORMAT, Cursor, Line
from hashcart.services.ingest import Ingestor
from hashcart.services.live_ingest import LiveIngest
from hashcart.store.cursors import load_cursor
from tests.harness import PRODUCTS, Shop
from tests.payloads import BASE_TIME

PIPE = "pipe"  # no registered network reads it: only the reader below
SHOPPER_ID, SHOP_ID = "200", "100"
MUG_URL = PRODUCTS["mug"][1]


class WantsEverything:
    def classify(self, block: bytes, start: int, end: int, ascii_block: bool) -> Line:
        return Line.WANTED


class PipeReader:
    """ports.PayloadReader for `post id|author id|handle|replies to|text` lines."""

    def __init__(self) -> None:
        self.decoded: list[bytes] = []
        self.as_lines: list[bytes] = []

    def prefilter(self, words: TriggerWords, hosts: ShopHosts) -> WantsEverything:
        return WantsEverything()

    def format_named(self, name: str) -> str:
        if name not in (PIPE, AUTO_FORMAT):
            raise ValueError(f"{name!r} is not a format this reader knows")
        return name

    def decode(self, line: bytes, fmt: str) -> list[Event]:
        self.decoded.append(line)
        fields = line.decode("utf-8").split("|")
        if len(fields) != 5:
            raise DecodeError("not five fields")
        post_id, author_id, handle, reply_to, text = fields
        return [
            Post(
                network=Network.X,
                post_id=post_id,
                author_id=author_id,
                author_handle=handle,
                text=text,
                created_at=BASE_TIME,
                reply_to_id=reply_to or None,
            )
        ]

    def utf8_problem(self, data: bytes) -> str | None:
        return None

    def check_framing(self, line: bytes) -> str | None:
        return None

    def check_well_formed(self, line: bytes) -> str | None:
        return None

    def as_line(self, payload: bytes) -> bytes:
        self.as_lines.append(payload)
        return payload.strip()


class PipeHost:
    """The test's App, with the pipe reader in place of the registered networks'."""

    def __init__(self, app: App, reader: PipeReader) -> None:
        self._app = app
        self.payload_reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer("maya@example.com", (Network.X, SHOPPER_ID, "maya"))
    return shop


PARENT = f"9001|{SHOP_ID}|trailhead||New mug {MUG_URL}".encode()
REPLY = f"9100|{SHOPPER_ID}|maya|9001|@trailhead #cart".encode()


def test_ingest_reads_a_shape_no_network_has_through_the_reader_it_is_given(shop: Shop) -> None:
    reader = PipeReader()
    ingestor = Ingestor(shop.app.unit_of_work, shop.app.shop(), shop.clock, reader=reader, fmt=PIPE)

    ingestor.ingest_lines("pipe.txt", [PARENT, REPLY, b"half|a|line"])

    assert reader.decoded == [PARENT, REPLY, b"half|a|line"]
    assert shop.cart("maya@example.com") == [("mug", 1)]
    assert (ingestor.stats.triggers, ingestor.stats.dead_letters) == (1, 1)
    assert [letter["reason"] for letter in shop.dead_letters()] == ["not five fields"]


def test_the_live_sink_reads_through_its_host_s_reader_and_keeps_the_cursor(shop: Shop) -> None:
    reader = PipeReader()
    sink = LiveIngest(PipeHost(shop.app, reader))

    done = sink.ingest("pipe-stream", PIPE, [PARENT + b"\n", REPLY], cursor=Cursor("pipe", "2"))

    assert reader.as_lines == [PARENT + b"\n", REPLY]
    assert done.triggers == 1
    assert shop.cart("maya@example.com") == [("mug", 1)]
    assert load_cursor(shop.app.engine, "pipe") == "2"


def test_the_live_sink_refuses_a_format_its_reader_does_not_know_before_storing_anything(
    shop: Shop,
) -> None:
    sink = LiveIngest(PipeHost(shop.app, PipeReader()))
    with pytest.raises(ValueError, match="not a format"):
        sink.ingest("pipe-stream", "csv", [PARENT, REPLY], cursor=Cursor("pipe", "2"))
    assert load_cursor(shop.app.engine, "pipe") is None
    assert shop.dead_letters() == []


def test_the_apps_reader_refuses_an_unknown_format_as_before(shop: Shop) -> None:
    with pytest.raises(ValueError):
        LiveIngest(shop.app).ingest("x-stream", "no-such-format", [PARENT])
