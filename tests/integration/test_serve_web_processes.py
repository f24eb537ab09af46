"""`hashcart serve --web-processes N`: N web processes on one port, what runs beside them
once. A real `hashcart serve --web-processes 2` on PostgreSQL on a loopback port: requests
land on both processes (the `X-Hashcart-Process` header names the one that answered), a
console session made on one works on the other, a claim ingested reaches the sale board's
server-sent events on either, the dispatcher sends the queued email once, a web process
killed is replaced, and SIGTERM stops them all. On SQLite, more than one is refused; a web
process that cannot start exits so that serve stops instead of starting it again."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse
from uvicorn.config import STARTUP_FAILURE

from hashcart.bootstrap import open_app
from hashcart.cli.web_processes import WebProcess, portable
from hashcart.cli.webserver import serve_web
from hashcart.config import Settings, load_settings
from hashcart.services.mail import Email, queue_email
from hashcart.store.database import make_engine, upgrade
from hashcart.store.repository import transaction
from tests.databases import drop_postgres_database, fresh_postgres_database
from tests.integration.test_cli_live import DEADLINE_SECONDS, Running, run, smtp_env
from tests.polling import wait_until
from tests.sales.board_support import BoardShop
from tests.sales.support import claim, key, link_everyone
from tests.smtp_support import SMTPServer, free_port, smtp_server
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD

__all__ = ["smtp_server"]  # a fixture, used by name

NETWORK = "mastodon"
PROCESS = "x-hashcart-process"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def shop(postgres_server: str) -> Iterator[BoardShop]:
    """A live-sale shop on a fresh PostgreSQL database with a merchant account, an open sale
    and one email waiting in the outbox."""
    url = fresh_postgres_database(postgres_server)
    shop = BoardShop(url, public_url="https://shop.example")
    link_everyone(shop, NETWORK, 2)
    shop.open(NETWORK, {"12": ("mug", 2)})
    with transaction(shop.app.engine) as repo:
        email = Email("sam@example.com", "Your order", "Thank you", "order_confirmed", "wp-1")
        queue_email(repo, email, shop.clock.now())
    yield shop
    shop.close()
    drop_postgres_database(postgres_server, url)


def _fresh_connections(base: str, cookies: httpx.Cookies | None = None) -> httpx.Client:
    """A client that opens a new connection for every request, so the kernel hands each
    one to whichever web process accepts first."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(base_url=base, cookies=cookies, limits=limits, timeout=10)


def _answered_by(ask: Callable[[], httpx.Response], wanted: Callable[[int], bool]) -> int:
    """Ask until a process `wanted` answers (each asking is a new connection); its pid."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            response = ask()
        except httpx.TransportError:  # a process killed with the connection open
            continue
        pid = int(response.headers[PROCESS])
        if wanted(pid):
            return pid
    raise AssertionError("no such web process answered in time")


def _sign_in(client: httpx.Client) -> int:
    """Sign the merchant in (CSRF cookie and form token); the pid that made the session."""
    page = client.get("/merchant/sign-in")
    token = _CSRF.search(page.text)
    assert token, page.text
    fields = {"csrf_token": token.group(1), "email": MERCHANT_EMAIL, "password": PASSWORD}
    signed_in = client.post("/merchant/sign-in", data=fields)
    assert signed_in.status_code == 303, signed_in.text
    return int(signed_in.headers[PROCESS])


def _first_claim(events: Iterator[ServerSentEvent]) -> ServerSentEvent:
    return next(event for event in events if event.event == "claim")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_web_processes_share_the_port_the_database_and_one_dispatcher(
    shop: BoardShop, smtp_server: SMTPServer, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = shop.app.engine.url.render_as_string(hide_password=False)
    server = Running(
        tmp_path,
        "serve",
        "--port",
        str(port),
        "--web-processes",
        "2",
        "--no-listen",
        HASHCART_DATABASE_URL=database,
        **smtp_env(smtp_server),
    )
    try:
        server.wait_for_line("Press Ctrl-C to stop.")
        server.wait_until_serving(port)
        said = server.lines
        assert said.count("  web processes:    2 (the work above runs once, in this one)") == 1
        assert said.count("  dispatcher:       sending for email") == 1

        # A session made by one process opens the console on the other.
        with _fresh_connections(base) as browser:
            signer = _sign_in(browser)
            console = _fresh_connections(base, browser.cookies)
        with console:

            def console_page() -> httpx.Response:
                page = console.get("/merchant", follow_redirects=False)
                assert page.status_code == 200, (page.status_code, page.headers)
                return page

            other = _answered_by(console_page, lambda pid: pid != signer)
            assert server.process.pid not in (signer, other)

            # The sale board's events reach a browser on either process: a claim ingested
            # here (the database, as ingest writes it) shows on both streams.
            with contextlib.ExitStack() as streams:
                opened: dict[int, Iterator[ServerSentEvent]] = {}
                deadline = time.monotonic() + DEADLINE_SECONDS
                while len(opened) < 2 and time.monotonic() < deadline:
                    source = streams.enter_context(
                        connect_sse(console, "GET", "/merchant/sales/1/events")
                    )
                    pid = int(source.response.headers[PROCESS])
                    if pid in opened:
                        source.response.close()
                        continue
                    opened[pid] = source.iter_sse()
                    assert next(e for e in opened[pid] if e.data).event == "board"
                assert set(opened) == {signer, other}
                shop.ingest([claim(NETWORK, 0, key(NETWORK, 0), "sold 12", seconds=0)])
                for events in opened.values():
                    assert _first_claim(events).json()["words"] == "won"

            # A web process that dies is replaced, on its socket.
            os.kill(other, 9)
            wait_until(lambda: not _alive(other), "the killed process is gone")
            replacement = _answered_by(console_page, lambda pid: pid not in (signer, other))

        # The one dispatcher, in the supervising process, sends the queued email.
        wait_until(lambda: len(smtp_server.messages) == 1, "the email is sent")
        started = time.monotonic()
        assert server.terminate() == 0
        stopping = time.monotonic() - started
        assert server.lines[-1] == "hashcart stopped serving."
    finally:
        server.kill()
    assert not _alive(signer) and not _alive(replacement)
    assert stopping < 10, stopping
    assert [message["To"] for message in smtp_server.messages] == ["sam@example.com"]
    assert "died" in server.stderr()


def test_several_web_processes_on_sqlite_are_refused_with_one_line(tmp_path: Path) -> None:
    by_option = run(tmp_path, "serve", "--port", str(free_port()), "--web-processes", "2")
    by_setting = run(tmp_path, "serve", "--port", str(free_port()), HASHCART_WEB_PROCESSES="3")
    for result, processes in ((by_option, 2), (by_setting, 3)):
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            f"hashcart: error: {processes} web processes need PostgreSQL: a SQLite database "
            "has one writer (use --web-processes 1, or a postgresql:// database_url)"
        ]
    assert not (tmp_path / "cli.db").exists()  # refused before anything was made


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """A web process configures logging for itself; put this process's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("logging_restored")
def test_a_web_process_that_cannot_start_exits_so_the_supervisor_stops() -> None:
    """Its start would fail the same way every time: it exits with uvicorn's startup
    failure code, on which the supervisor stops instead of restarting it forever."""
    web_process = WebProcess(Settings(database_url="mysql://nowhere.invalid/shop"))
    with pytest.raises(SystemExit) as exited:
        web_process()
    assert exited.value.code == STARTUP_FAILURE


def test_the_settings_a_web_process_gets_pickle_with_their_values(tmp_path: Path) -> None:
    """load_settings' class is local to it; the web processes get the same values in a
    plain Settings, through the spawn pipe."""
    config = tmp_path / "hashcart.toml"
    config.write_text('shop_name = "Trailhead Coffee"\nsmtp_password = "s3cret"\n')
    loaded = load_settings(config, database_url="postgresql://db.example/shop")
    sent = pickle.loads(pickle.dumps(portable(loaded)))
    assert type(sent) is Settings
    assert sent.shop_name == "Trailhead Coffee" and sent.database_url == loaded.database_url
    assert sent.smtp_password is not None
    assert sent.smtp_password.get_secret_value() == "s3cret"
    assert sent.model_fields_set == loaded.model_fields_set


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    """Starts with no object frozen and leaves none: the freeze is this process's for good."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("logging_restored", "nothing_frozen")
def test_a_web_process_freezes_what_it_is_built_on(tmp_path: Path) -> None:
    """Out of the collector's generations, the imports and the app are not rescanned by every
    full collection, which held each request in flight 100-138 ms (issue 14)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    assert gc.get_freeze_count() == 0
    WebProcess(Settings(database_url=url))()
    assert gc.get_freeze_count() > 10_000


@pytest.mark.usefixtures("nothing_frozen")
def test_serve_freezes_what_it_is_built_on_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    frozen_when_served: list[int] = []
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self: frozen_when_served.append(gc.get_freeze_count())
    )
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'shop.db'}"))
    try:
        serve_web(app, "127.0.0.1", free_port(), access_log=False)
    finally:
        app.engine.dispose()
    assert len(frozen_when_served) == 1 and frozen_when_served[0] > 10_000
