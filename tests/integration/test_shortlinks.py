"""Short links: a post carrying only `https://bit.ly/x` is shoppable once the link is
followed, and following a stranger's link never reaches the server's own network.

The shortener is a real HTTP server on loopback (uvicorn, tests/loopback.LiveServer) that
answers as bit.ly does: HEAD and GET with a 301/302 and a Location. Loopback is refused in
production, so each resolver here that must reach it is built with
`AddressPolicy.allowing("127.0.0.1")`: that one address, and nothing else private."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from hashcart.bootstrap import App
from hashcart.config import Settings
from hashcart.domain.posts import Network
from hashcart.live import link_resolver as resolver
from hashcart.networks.formats import Format
from hashcart.networks.shortlinks import (
    AddressPolicy,
    ShortLinkResolver,
    shortener_hosts,
    system_lookup,
)
from hashcart.services.live_ingest import LiveIngest
from hashcart.store import schema as t
from hashcart.store.resolved_links import StoredResolutions
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.payloads import SHOP_DID, jetstream_post, mastodon_status, post_uri

ALICE = "did:plc:alice0000000000000000000"
MUG = PRODUCTS["mug"][1]
BEANS = PRODUCTS["beans"][1]
LOOPBACK_ONLY = AddressPolicy.allowing("127.0.0.1")


@dataclass(frozen=True)
class Answer:
    """What the stand-in shortener answers on one path."""

    status: int = 301
    location: str | None = None
    head_status: int | None = None  # HEAD answers this instead (405: HEAD refused)
    endless_body: bool = False  # GET streams a body that never ends
    hold: bool = False  # answer only once the test releases it
    set_cookie: str | None = None


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    host: str
    cookie: str | None


class Shortener:
    """A tiny shortener: `answers` by path (404 elsewhere); every request is recorded."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self.app = Starlette(routes=[Route("/{path:path}", self._answer, methods=["GET", "HEAD"])])

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        self.seen.append(
            Seen(request.method, path, request.headers["host"], request.headers.get("cookie"))
        )
        answer = self.answers.get(path)
        if answer is None:
            return Response("no such link", status_code=404)
        if answer.hold:
            await asyncio.to_thread(self.release.wait, 30)
        headers = {"location": answer.location} if answer.location else {}
        if answer.set_cookie:
            headers["set-cookie"] = answer.set_cookie
        if request.method == "HEAD" and answer.head_status is not None:
            return Response(status_code=answer.head_status)
        if answer.endless_body and request.method == "GET":
            return StreamingResponse(_forever(), status_code=answer.status, headers=headers)
        return Response(status_code=answer.status, headers=headers)

    def requests(self) -> list[tuple[str, str]]:
        return [(seen.method, seen.path) for seen in self.seen]


async def _forever() -> AsyncIterator[bytes]:
    while True:
        yield b"x" * 65536
        await asyncio.sleep(0)


@pytest.fixture
def shortener() -> Iterator[tuple[Shortener, str]]:
    """The stand-in shortener and its base URL (http://127.0.0.1:PORT)."""
    stand_in = Shortener()
    with LiveServer(stand_in.app) as server:
        try:
            yield stand_in, server.url
        finally:
            stand_in.release.set()


@pytest.fixture
def shop(tmp_path: Any) -> Iterator[Shop]:
    shop = Shop(f"sqlite:///{tmp_path / 'shortlinks.db'}")
    yield shop
    shop.app.engine.dispose()


class RecordingLookup:
    """The system resolver, or fixed answers for made-up names, noting every question."""

    def __init__(self, answers: dict[str, Sequence[str]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int, seconds: float) -> Sequence[str]:
        self.asked.append(host)
        if host in self.answers:
            return self.answers[host]
        return system_lookup(host, port, seconds)


def loopback_resolver(
    app: App,
    hosts: Sequence[str] = ("127.0.0.1",),
    policy: AddressPolicy = LOOPBACK_ONLY,
    **options: Any,
) -> ShortLinkResolver:
    return ShortLinkResolver(
        StoredResolutions(app.engine, app.clock),
        hosts,
        is_shop_url=app.shop().hosts.matches_url,
        address_policy=policy,
        **options,
    )


def cached(app: App, url: str) -> tuple[str | None, str | None] | None:
    with app.engine.connect() as connection:
        row = connection.execute(
            select(t.resolved_links.c.target, t.resolved_links.c.problem).where(
                t.resolved_links.c.url == url
            )
        ).first()
    return None if row is None else (row.target, row.problem)


def shop_post(rkey: str, text: str, links: tuple[str, ...]) -> bytes:
    return jetstream_post(SHOP_DID, rkey, text, links=links)


def cart_reply(rkey: str, parent_rkey: str) -> bytes:
    return jetstream_post(ALICE, rkey, "#cart", reply_to=post_uri(SHOP_DID, parent_rkey), minutes=5)


# --- the whole path: a short link makes a shoppable post ---------------------------------


def test_a_post_with_only_a_short_link_is_shoppable_and_a_cart_reply_adds_the_product(
    database_url: str, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/mug"] = Answer(301, MUG)
    shop = Shop(database_url)
    try:
        shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
        lookup = RecordingLookup()
        resolve = loopback_resolver(shop.app, lookup=lookup)
        sink = LiveIngest(shop.app, resolve_links=resolve, extra_hosts=("127.0.0.1",))
        short = f"{base}/mug"

        sink.ingest(
            "jetstream", Format.JETSTREAM, [shop_post("3shop1", f"Our mug {short}", (short,))]
        )
        stats = sink.ingest("jetstream", Format.JETSTREAM, [cart_reply("3reply1", "3shop1")])

        assert stats.actions.lines_added == 1
        assert shop.cart("alice@example.com") == [("mug", 1)]
        assert shop.reasons() == ["added"]
        assert cached(shop.app, short) == (MUG, None)
        assert stand_in.requests() == [("HEAD", "/mug")]
        # The walk ended on the shop's own host: the shop's page was never asked for.
        assert lookup.asked == ["127.0.0.1"]
    finally:
        shop.app.engine.dispose()


def test_without_the_resolver_the_same_post_names_no_product(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/mug"] = Answer(301, MUG)
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    sink = LiveIngest(shop.app, extra_hosts=("127.0.0.1",))
    short = f"{base}/mug"
    sink.ingest("jetstream", Format.JETSTREAM, [shop_post("3shop1", f"Our mug {short}", (short,))])
    sink.ingest("jetstream", Format.JETSTREAM, [cart_reply("3reply1", "3shop1")])
    assert shop.cart("alice@example.com") == []
    assert stand_in.requests() == []


def test_a_short_link_written_in_plain_text_is_followed(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/beans"] = Answer(302, BEANS)
    resolve = loopback_resolver(shop.app)
    status = mastodon_status(
        "110", "https://social.example/users/shop", "shop", f"<p>Fresh beans: {base}/beans</p>"
    )
    sink = LiveIngest(shop.app, resolve_links=resolve, extra_hosts=("127.0.0.1",))
    sink.ingest("mastodon", Format.MASTODON, [status])
    assert cached(shop.app, f"{base}/beans") == (BEANS, None)
    with shop.app.engine.connect() as connection:
        has_link = connection.scalar(
            select(t.posts.c.has_shop_link).where(t.posts.c.post_id == "110")
        )
    assert has_link is True


# --- hops --------------------------------------------------------------------------------


def test_three_redirects_are_followed(shop: Shop, shortener: tuple[Shortener, str]) -> None:
    stand_in, base = shortener
    stand_in.answers.update(
        {"/a": Answer(301, "/b"), "/b": Answer(302, f"{base}/c"), "/c": Answer(307, MUG)}
    )
    assert loopback_resolver(shop.app)((f"{base}/a",), "") == (f"{base}/a", MUG)


def test_four_redirects_are_refused(shop: Shop, shortener: tuple[Shortener, str]) -> None:
    stand_in, base = shortener
    stand_in.answers.update(
        {
            "/a": Answer(301, "/b"),
            "/b": Answer(301, "/c"),
            "/c": Answer(301, "/d"),
            "/d": Answer(301, MUG),
        }
    )
    resolve = loopback_resolver(shop.app)
    assert resolve((f"{base}/a",), "") == (f"{base}/a",)
    assert cached(shop.app, f"{base}/a") == (None, "more than 3 redirects")
    assert stand_in.requests() == [("HEAD", "/a"), ("HEAD", "/b"), ("HEAD", "/c"), ("HEAD", "/d")]


def test_a_redirect_onward_to_another_page_ends_where_the_redirects_end(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers.update({"/a": Answer(301, "/landing"), "/landing": Answer(200)})
    assert loopback_resolver(shop.app)((f"{base}/a",), "") == (f"{base}/a", f"{base}/landing")


def test_a_short_link_that_does_not_redirect_is_a_recorded_problem(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    _, base = shortener
    assert loopback_resolver(shop.app)((f"{base}/gone",), "") == (f"{base}/gone",)
    assert cached(shop.app, f"{base}/gone") == (None, "the short link does not redirect (HTTP 404)")


def test_when_head_is_refused_get_is_used_and_its_body_is_not_read(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/nohead"] = Answer(302, MUG, head_status=405, endless_body=True)
    # The GET's body never ends: reading it would run into the time limit instead.
    assert loopback_resolver(shop.app)((f"{base}/nohead",), "") == (f"{base}/nohead", MUG)
    assert stand_in.requests() == [("HEAD", "/nohead"), ("GET", "/nohead")]


def test_no_cookie_is_carried_from_one_hop_to_the_next(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers.update(
        {"/a": Answer(302, "/b", set_cookie="track=1; Path=/"), "/b": Answer(302, MUG)}
    )
    assert loopback_resolver(shop.app)((f"{base}/a",), "")[-1] == MUG
    assert [seen.cookie for seen in stand_in.seen] == [None, None]


# --- where a walk may not go -------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "refused"),
    [
        ("http://127.0.0.2:{port}/x", "127.0.0.2 is loopback"),
        ("http://10.0.0.1/x", "10.0.0.1 is private"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://[::1]:{port}/x", "::1 is loopback"),
        ("http://[::ffff:10.0.0.1]/x", "::ffff:a00:1 is private (it carries 10.0.0.1)"),
        ("http://0.0.0.0:{port}/x", "0.0.0.0 is unspecified"),
        ("http://224.0.0.1/x", "224.0.0.1 is multicast"),
    ],
)
def test_a_redirect_to_a_non_public_address_is_refused(
    shop: Shop, shortener: tuple[Shortener, str], location: str, refused: str
) -> None:
    stand_in, base = shortener
    port = base.rsplit(":", 1)[1]
    stand_in.answers["/evil"] = Answer(302, location.format(port=port))
    assert loopback_resolver(shop.app)((f"{base}/evil",), "") == (f"{base}/evil",)
    found = cached(shop.app, f"{base}/evil")
    assert found is not None and found[0] is None
    assert found[1] is not None and found[1].startswith("refused: ")
    assert found[1].endswith(refused)
    assert stand_in.requests() == [("HEAD", "/evil")]


def test_loopback_is_refused_under_the_production_policy(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/mug"] = Answer(301, MUG)
    resolve = loopback_resolver(shop.app, policy=AddressPolicy())
    assert resolve((f"{base}/mug",), "") == (f"{base}/mug",)
    assert cached(shop.app, f"{base}/mug") == (
        None,
        "refused: 127.0.0.1 resolves to 127.0.0.1 is loopback",
    )
    assert stand_in.requests() == []


def test_a_name_that_resolves_to_loopback_is_refused(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    port = base.rsplit(":", 1)[1]
    resolve = loopback_resolver(shop.app, hosts=("localhost",), policy=AddressPolicy())
    url = f"http://localhost:{port}/mug"
    assert resolve((url,), "") == (url,)
    problem = cached(shop.app, url)
    assert problem is not None and problem[1] is not None
    assert problem[1].startswith("refused: localhost resolves to ")
    assert stand_in.requests() == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(shop: Shop) -> None:
    lookup = RecordingLookup({"sho.rt": ["93.184.215.14", "10.1.2.3"]})
    resolve = loopback_resolver(shop.app, hosts=("sho.rt",), policy=AddressPolicy(), lookup=lookup)
    assert resolve(("https://sho.rt/x",), "") == ("https://sho.rt/x",)
    assert cached(shop.app, "https://sho.rt/x") == (
        None,
        "refused: sho.rt resolves to 10.1.2.3 is private",
    )


def test_the_connection_goes_to_the_address_that_was_checked(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    """The name is looked up once; the connection is made to that address while the
    request still names the host, so a second DNS answer could not redirect it."""
    stand_in, base = shortener
    port = base.rsplit(":", 1)[1]
    stand_in.answers["/mug"] = Answer(301, MUG)
    lookup = RecordingLookup({"sho.rt": ["127.0.0.1"]})
    resolve = loopback_resolver(shop.app, hosts=("sho.rt",), lookup=lookup)
    url = f"http://sho.rt:{port}/mug"
    assert resolve((url,), "") == (url, MUG)
    assert lookup.asked == ["sho.rt"]
    assert [seen.host for seen in stand_in.seen] == [f"sho.rt:{port}"]


def test_a_redirect_to_another_scheme_is_refused(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/file"] = Answer(302, "file:///etc/passwd")
    assert loopback_resolver(shop.app)((f"{base}/file",), "") == (f"{base}/file",)
    assert cached(shop.app, f"{base}/file") == (None, "refused: a redirect to a file: URL")


def test_a_short_link_httpx_cannot_parse_is_one_log_line_with_the_reason(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    # 0177.0.0.1 is 127.0.0.1 written in octal (inet_aton reads it so); httpx refuses the
    # spelling. That is a stranger's bad link, not a fault of ours: no traceback.
    url = "http://0177.0.0.1/x"
    resolve = loopback_resolver(shop.app, hosts=("0177.0.0.1",), policy=AddressPolicy())
    with caplog.at_level(logging.DEBUG, logger="hashcart.networks.shortlinks"):
        assert resolve.resolve(url) is None
    [record] = caplog.records
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == (
        f"short link {url} not followed: refused: no usable URL "
        "(Invalid IPv4 address: '0177.0.0.1')"
    )
    assert cached(shop.app, url) == (
        None,
        "refused: no usable URL (Invalid IPv4 address: '0177.0.0.1')",
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:192.168.0.1",
        "2002:a00:1::",
    ],
)
def test_the_production_policy_refuses_non_public_addresses(address: str) -> None:
    import ipaddress

    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "151.101.1.195", "2606:4700::6810:84e5", "::ffff:8.8.8.8"]
)
def test_the_production_policy_allows_public_addresses(address: str) -> None:
    import ipaddress

    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_the_test_policy_opens_exactly_the_named_address() -> None:
    import ipaddress

    policy = AddressPolicy.allowing("127.0.0.1")
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.2")) is not None
    assert policy.refusal(ipaddress.ip_address("::1")) is not None


# --- which links are followed at all -----------------------------------------------------


def test_a_host_not_on_the_allowlist_is_never_fetched(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/mug"] = Answer(301, MUG)
    lookup = RecordingLookup()
    resolve = loopback_resolver(shop.app, hosts=("bit.ly",), lookup=lookup)
    links = (f"{base}/mug",)
    assert resolve(links, f"see {base}/mug and {MUG}") == links
    assert stand_in.requests() == []
    assert lookup.asked == []
    assert cached(shop.app, f"{base}/mug") is None


def test_t_co_is_never_followed_even_when_configured(shop: Shop) -> None:
    lookup = RecordingLookup({"t.co": ["127.0.0.1"]})
    resolve = loopback_resolver(shop.app, hosts=("t.co", "bit.ly"), lookup=lookup)
    assert resolve(("https://t.co/abcdefghij",), "https://t.co/abcdefghij") == (
        "https://t.co/abcdefghij",
    )
    assert lookup.asked == []
    assert shortener_hosts(["T.CO", "Bit.ly.", " amzn.to "]) == {"bit.ly", "amzn.to"}


def test_short_links_are_found_in_link_metadata_and_in_text_even_without_a_scheme(
    shop: Shop,
) -> None:
    resolve = loopback_resolver(shop.app, hosts=("bit.ly", "amzn.to"))
    found = resolve.short_links(
        ("HTTPS://Bit.LY/Abc#top", "https://shop.example/products/enamel-mug"),
        "New! bit.ly/Abc and amzn.to/xyz9 (not www.bit.ly.evil.test/x)",
    )
    assert found == ["https://bit.ly/Abc", "https://amzn.to/xyz9"]


def test_a_short_link_with_credentials_is_not_followed(shop: Shop) -> None:
    lookup = RecordingLookup()
    resolve = loopback_resolver(shop.app, hosts=("bit.ly",), lookup=lookup)
    assert resolve(("https://user:pw@bit.ly/x",), "") == ("https://user:pw@bit.ly/x",)
    assert lookup.asked == []


# --- once each ---------------------------------------------------------------------------


def test_a_short_link_is_followed_once_for_every_post_that_carries_it(
    shop: Shop, shortener: tuple[Shortener, str]
) -> None:
    stand_in, base = shortener
    stand_in.answers["/mug"] = Answer(301, MUG)
    short = f"{base}/mug"
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    sink = LiveIngest(
        shop.app, resolve_links=loopback_resolver(shop.app), extra_hosts=("127.0.0.1",)
    )
    sink.ingest("jetstream", Format.JETSTREAM, [shop_post("3shop1", f"Mug {short}", (short,))])
    sink.ingest("jetstream", Format.JETSTREAM, [shop_post("3shop2", f"Again {short}", (short,))])
    # Another process (a fresh resolver) reads the same cache.
    again = loopback_resolver(shop.app)
    assert again((short,), "") == (short, MUG)
    assert stand_in.requests() == [("HEAD", "/mug")]
    sink.ingest("jetstream", Format.JETSTREAM, [cart_reply("3reply2", "3shop2")])
    assert shop.cart("alice@example.com") == [("mug", 1)]


def test_a_timeout_is_a_recorded_problem(shop: Shop, shortener: tuple[Shortener, str]) -> None:
    stand_in, base = shortener
    stand_in.answers["/slow"] = Answer(301, MUG, hold=True)
    resolve = loopback_resolver(shop.app, total_timeout=0.3)
    assert resolve((f"{base}/slow",), "") == (f"{base}/slow",)
    assert cached(shop.app, f"{base}/slow") == (None, "timed out (allowed 0.3 s)")
    stand_in.release.set()
    # Recorded: the next post with it does not wait again.
    assert resolve((f"{base}/slow",), "") == (f"{base}/slow",)
    assert stand_in.requests() == [("HEAD", "/slow")]


# --- built from the settings -------------------------------------------------------------


def test_the_resolver_comes_from_the_settings(tmp_path: Any) -> None:
    from hashcart.bootstrap import open_app

    none = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", shortener_hosts=()))
    assert resolver(none) is None
    app = open_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", shortener_hosts=("t.co", "bit.ly"))
    )
    built = resolver(app)
    assert isinstance(built, ShortLinkResolver)
    assert built.hosts == {"bit.ly"}
    assert built.address_policy == AddressPolicy()
    for opened in (none, app):
        opened.engine.dispose()
