"""The pages bench (issue 14, pages that stay fast on a big shop): a generated shop of N
shoppable posts, written in bulk SQL (not through ingest, so a million posts take minutes,
not hours), served by `hashcart serve` on loopback and read by 8 concurrent clients (httpx):
p50 and p99 per page and API list. With several `web_processes` counts (`hashcart serve
--web-processes N`, 1 by default) the same shop is served and measured with each in turn,
back to back; more than one process needs the shop on PostgreSQL (`empty_database`).

The shop, for N posts: 500 products; N shoppable posts (one product each, a post every 30
seconds over the networks in turn); every 20th post three `#cart` replies (two added, one
already in the cart) and a message for each in the outbox; an order for every 100th post;
10,000 customers (N when fewer); a dead letter for every 100th post.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from sqlalchemy import Connection, Table, insert

from hashcart.bootstrap import open_app
from hashcart.clock import SystemClock
from hashcart.config import Settings
from hashcart.store import accounts
from hashcart.store import schema as t
from hashcart.store.database import write_transaction
from hashcart.views.funnel_keeping import refresh
from hashcart.web.passwords import hash_password
from hashcart.web.tokens import create_api_token

NETWORKS = ("x", "mastodon", "bluesky")
PRODUCTS = 500
CUSTOMERS = 10_000
CLIENTS = 8
BATCH = 10_000
MERCHANT = "bench@pages.example"
PASSWORD = "bench-pages-password"
START = datetime(2025, 1, 1, tzinfo=UTC)

# What is measured: the console's pages (signed in) and the API's lists (a token), each on
# its first page and on the page its "next" link leads to.
PAGES = (
    "/merchant/posts",
    "/merchant/posts?network=x",
    "/merchant/posts?totals=1",
    "/merchant/posts?sort=author&dir=asc",
    "/merchant/posts?sort=triggers&dir=desc",
    "/merchant/outbox",
    "/merchant/outbox?status=failed",
    "/merchant/dead-letters",
    "/merchant/catalog",
    "/merchant/customers",
    "/merchant/orders",
    "/merchant",
    # The shop front (signed out, as most shoppers arrive), its count and a product's page.
    "/s/demo",
    "/s/demo/count",
    "/s/demo/p/p0001",
)
API_LISTS = (
    "/api/posts?limit=50",
    "/api/posts?sort=triggers&dir=desc&limit=50",
    "/api/outbox?limit=50",
    "/api/outbox?status=failed&limit=50",
    "/api/orders?limit=50",
    "/api/catalog?limit=50",
    "/api/carts",
    "/api/wishlists",
)


@dataclass(frozen=True)
class RouteResult:
    route: str
    requests: int
    p50_ms: float
    p99_ms: float
    bytes: int
    status: int
    # The server's CPU time per request (its process's user + system time over the route's
    # requests; None where /proc cannot say): what a request costs, whatever else the
    # machine runs, unlike the latencies, which a loaded machine stretches.
    cpu_ms: float | None = None
    # The web processes serving (`hashcart serve --web-processes`); the CPU time is theirs
    # and their supervisor's together.
    web_processes: int = 1
    # How many of them answered this route's requests (their X-Hashcart-Process header): the
    # 8 clients keep their connections, and the kernel gives each to one process.
    answered_by: int = 1


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _fill(connection: Connection, table: Table, rows: Iterator[dict[str, Any]]) -> None:
    for batch in _batches(rows):
        connection.execute(insert(table), batch)


def _post_id(number: int) -> str:
    return f"{10**15 + number}"


def generate(database_url: str, posts: int, report: Callable[[str], None] = print) -> None:
    """Write the bench shop into a new database at `database_url` (migrated here)."""
    app = open_app(Settings(database_url=database_url), SystemClock())
    now = app.clock.now()
    try:
        with write_transaction(app.engine) as connection:
            accounts.add_merchant(connection, MERCHANT, hash_password(PASSWORD), now)
            _fill(connection, t.products, _products(now))
            _fill(connection, t.customers, _customers(min(CUSTOMERS, posts)))
            report(f"products and customers: {PRODUCTS:,} and {min(CUSTOMERS, posts):,}")
        with write_transaction(app.engine) as connection:
            _fill(connection, t.posts, _shop_posts(posts))
            _fill(connection, t.post_products, _post_products(posts))
            report(f"shoppable posts: {posts:,}")
        with write_transaction(app.engine) as connection:
            _fill(connection, t.posts, _replies(posts))
            _fill(connection, t.actions, _actions(posts))
            _fill(connection, t.outbox, _messages(posts))
            report(f"replies, actions and messages: {3 * len(range(0, posts, 20)):,} each")
        with write_transaction(app.engine) as connection:
            _fill(connection, t.orders, _orders(posts))
            _fill(connection, t.order_lines, _order_lines(posts))
            _fill(connection, t.dead_letters, _dead_letters(posts))
            report(f"orders and dead letters: {len(range(0, posts, 100)):,} each")
        began = time.perf_counter()
        with write_transaction(app.engine) as connection:
            recounted = refresh(connection, app.clock.now())
        report(
            f"kept funnel figures of {recounted:,} posts in {time.perf_counter() - began:,.0f} s"
        )
        if app.engine.dialect.name == "postgresql":
            # What autovacuum does to a shop soon after a bulk load: the visibility map that
            # index-only scans need, and fresh statistics. Measured before it, a 1,000,000-post
            # shop's pages waited on heap reads (funnel pages 1.2 s at p99, 0.1-0.3 s after).
            with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
                vacuum.exec_driver_sql("VACUUM ANALYZE")
            report("vacuumed and analysed (PostgreSQL)")
    finally:
        app.engine.dispose()


def _products(now: datetime) -> Iterator[dict[str, Any]]:
    for number in range(PRODUCTS):
        yield {
            "product_id": f"p{number:04d}",
            "title": f"Bench product {number}",
            "link": f"https://shop.example/products/p{number:04d}",
            "price_amount": Decimal("12.50") + number,
            "currency": "USD",
            "availability": "in stock",
            "updated_at": now,
        }


def _customers(count: int) -> Iterator[dict[str, Any]]:
    for number in range(count):
        yield {
            "email": f"shopper{number:05d}@bench.example",
            "name": f"Shopper {number}",
            "created_at": START + timedelta(minutes=number),
        }


def _network(number: int) -> str:
    return NETWORKS[number % len(NETWORKS)]


def _shop_posts(posts: int) -> Iterator[dict[str, Any]]:
    for number in range(posts):
        yield {
            "network": _network(number),
            "post_id": _post_id(number),
            "author_id": f"shop-{_network(number)}",
            "author_handle": f"shop{number % 7}",
            "text": f"New in: bench product {number % PRODUCTS} https://shop.example/p/{number}",
            "created_at": START + timedelta(seconds=30 * number),
            "has_shop_link": True,
        }


def _post_products(posts: int) -> Iterator[dict[str, Any]]:
    for number in range(posts):
        yield {
            "network": _network(number),
            "post_id": _post_id(number),
            "position": 1,
            "product_id": f"p{number % PRODUCTS:04d}",
            "created_at": START + timedelta(seconds=30 * number),
        }


def _reply_ids(posts: int) -> Iterator[tuple[int, int, str]]:
    """(parent number, reply number 0-2, reply id) of every reply."""
    for number in range(0, posts, 20):
        for reply in range(3):
            yield number, reply, f"r{number}-{reply}"


def _replies(posts: int) -> Iterator[dict[str, Any]]:
    for number, reply, reply_id in _reply_ids(posts):
        yield {
            "network": _network(number),
            "post_id": reply_id,
            "author_id": f"fan{(number + reply) % CUSTOMERS}",
            "author_handle": f"fan{(number + reply) % CUSTOMERS}",
            "text": "#cart",
            "created_at": START + timedelta(seconds=30 * number + 5 + reply),
            "has_shop_link": False,
            "parent_id": _post_id(number),
            "list_kind": "cart",
            "quantity": 1,
            "position": None,
        }


def _actions(posts: int) -> Iterator[dict[str, Any]]:  # customers: see _customers
    for number, reply, reply_id in _reply_ids(posts):
        yield {
            "network": _network(number),
            "trigger_post_id": reply_id,
            "outcome": "already_in_cart" if reply == 2 else "added",
            "customer_id": (number + reply) % min(CUSTOMERS, posts) + 1,
            "product_id": f"p{number % PRODUCTS:04d}",
            "created_at": START + timedelta(seconds=30 * number + 6 + reply),
        }


def _messages(posts: int) -> Iterator[dict[str, Any]]:
    for number, reply, reply_id in _reply_ids(posts):
        status = ("sent", "sent", "queued", "failed")[(number // 20 + reply) % 4]
        yield {
            "network": _network(number),
            "account_id": f"fan{(number + reply) % CUSTOMERS}",
            "in_reply_to": reply_id,
            "reason": "already_in_cart" if reply == 2 else "added",
            "text": f"Added bench product {number % PRODUCTS} to your cart.",
            "dedupe_key": f"bench:{reply_id}",
            "status": status,
            "created_at": START + timedelta(seconds=30 * number + 7 + reply),
            "channel": "reply",
            "attempts": 1 if status != "queued" else 0,
        }


def _orders(posts: int) -> Iterator[dict[str, Any]]:
    for order, number in enumerate(range(0, posts, 100)):
        yield {
            "customer_id": order % min(CUSTOMERS, posts) + 1,
            "checkout_key": f"bench-{order}",
            "status": "paid",
            "email": f"shopper{order % min(CUSTOMERS, posts):05d}@bench.example",
            "ship_name": f"Shopper {order % min(CUSTOMERS, posts)}",
            "ship_line1": "1 Bench Street",
            "ship_city": "Testville",
            "ship_postcode": "12345",
            "ship_country": "US",
            "payment_gateway": "test_card",
            "payment_reference": f"bench-{order}",
            "total_amount": Decimal("12.50") + number % PRODUCTS,
            "currency": "USD",
            "created_at": START + timedelta(seconds=30 * number + 60),
        }


def _order_lines(posts: int) -> Iterator[dict[str, Any]]:
    for order, number in enumerate(range(0, posts, 100)):
        yield {
            "order_id": order + 1,
            "product_id": f"p{number % PRODUCTS:04d}",
            "title": f"Bench product {number % PRODUCTS}",
            "unit_price": Decimal("12.50") + number % PRODUCTS,
            "currency": "USD",
            "quantity": 1,
            "network": _network(number),
            "post_id": _post_id(number),
            "trigger_post_id": f"r{number}-0",
        }


def _dead_letters(posts: int) -> Iterator[dict[str, Any]]:
    for number in range(0, posts, 100):
        yield {
            "source": "bench.jsonl",
            "line": number + 1,
            "reason": "not JSON",
            "excerpt": "{not json",
            "created_at": START + timedelta(seconds=30 * number),
            "dedupe_key": f"bench-{number:012d}",
        }


# --- the run --------------------------------------------------------------------------------


def _token(database_url: str) -> str:
    app = open_app(Settings(database_url=database_url), SystemClock(), migrate=False)
    try:
        with write_transaction(app.engine) as connection:
            return create_api_token(connection, "pages bench", app.clock.now())[1]
    finally:
        app.engine.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


def _serve(
    database_url: str, port: int, log: Path, web_processes: int = 1
) -> subprocess.Popen[bytes]:
    """The server, its log (uvicorn's access lines among it) going to the file `log`: a pipe
    nobody read filled after about 500 requests and stopped the server mid-measurement."""
    command = [sys.executable, "-m", "hashcart", "--db", database_url, "serve"]
    command += ["--port", str(port), "--no-listen", "--no-dispatch"]
    if web_processes > 1:
        command += ["--web-processes", str(web_processes)]
    environment = {**os.environ, "HASHCART_LOG_LEVEL": "WARNING"}
    with log.open("wb") as written:
        return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=written)


def _wait_until_up(
    base: str,
    server: subprocess.Popen[bytes],
    log: Path,
    web_processes: int = 1,
    seconds: float = 120,
) -> None:
    """Until the server answers; with several web processes, until each of them has (the
    X-Hashcart-Process header of answers on new connections), so none is still starting
    while the first routes are measured."""
    deadline = time.monotonic() + seconds
    answered: set[str] = set()
    while time.monotonic() < deadline:
        if server.poll() is not None:
            error = log.read_text(errors="replace")
            raise RuntimeError(f"hashcart serve stopped: {error[-2000:]}")
        try:
            response = httpx.get(base + "/merchant/sign-in", timeout=2)
        except httpx.TransportError:
            pass
        else:
            if response.status_code == 200:
                answered.add(response.headers.get("x-hashcart-process", ""))
                if len(answered) >= web_processes:
                    return
        time.sleep(0.2)  # waiting for a real server to listen, not for time
    raise RuntimeError("hashcart serve did not answer within two minutes")


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(client: httpx.Client) -> None:
    page = client.get("/merchant/sign-in")
    found = _CSRF.search(page.text)
    if found is None:
        raise RuntimeError("the sign-in page has no form token")
    answer = client.post(
        "/merchant/sign-in",
        data={"csrf_token": found.group(1), "email": MERCHANT, "password": PASSWORD},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"signing in answered {answer.status_code}")


def _next_of(route: str, response: httpx.Response) -> str | None:
    """The second page: the API's Link header, or a page's rel="next" link (which may be
    relative to the route, `?after=…`)."""
    link = response.links.get("next", {}).get("url")
    if not link:
        found = re.search(r'rel="next" href="([^"]+)"', response.text) or re.search(
            r'href="([^"]+)" rel="next"', response.text
        )
        link = found.group(1).replace("&amp;", "&") if found else None
    return urljoin(route, str(link)) if link else None


async def _measure(
    base: str, route: str, headers: dict[str, str], cookies: httpx.Cookies, requests: int
) -> RouteResult:
    times: list[float] = []
    sizes: list[int] = []
    statuses: set[int] = set()
    processes: set[str] = set()
    each = max(1, requests // CLIENTS)

    async def client_run(client: httpx.AsyncClient) -> None:
        for _ in range(each):
            began = time.perf_counter()
            response = await client.get(route)
            times.append(time.perf_counter() - began)
            sizes.append(len(response.content))
            statuses.add(response.status_code)
            processes.add(response.headers.get("x-hashcart-process", ""))

    # The clients are made before any request is timed: making one (its TLS context, about
    # 25 ms of this process's CPU) blocks the event loop, and made inside the timed runs the
    # eight of them added about 200 ms to the requests already in flight.
    clients = [
        httpx.AsyncClient(base_url=base, headers=headers, cookies=cookies, timeout=300)
        for _ in range(CLIENTS)
    ]
    # The clients' own garbage collections are kept out of the timed requests: the eight
    # share this one process and its GIL, so one collection here (24-60 ms of CPU each, seen
    # with gc callbacks at 1,000,000 posts) stopped all eight timers at once, a pause no
    # browser shares with seven others. The garbage is collected between routes instead.
    gc.collect()
    gc.disable()
    try:
        await asyncio.gather(*(client_run(client) for client in clients))
    finally:
        gc.enable()
        for client in clients:
            await client.aclose()
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return RouteResult(
        route=route,
        requests=len(times),
        p50_ms=statistics.median(times) * 1000,
        p99_ms=p99 * 1000,
        bytes=max(sizes),
        status=max(statuses),
        answered_by=len(processes),
    )


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` and its children so far (the web
    processes of `serve --web-processes`, counted while they run: Linux /proc; None
    elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError):
        return None
    # utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) or 0.0 for child in children)


def run_pages_bench(
    posts: int,
    requests: int,
    workdir: Path,
    report: Callable[[str], None] = print,
    database_url: str | None = None,
    routes: tuple[str, ...] = PAGES + API_LISTS,
    web_processes: tuple[int, ...] = (1,),
    empty_database: str | None = None,
) -> list[RouteResult]:
    """Generate the shop (unless `database_url` names one already made) in a SQLite file
    in `workdir`, or in `empty_database`; serve it with each of `web_processes` in turn and
    measure every route, each at its first and its second page."""
    if database_url is None:
        if empty_database is None:
            database = workdir / f"pages-{posts}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
            empty_database = f"sqlite:///{database}"
        database_url = empty_database
        began = time.perf_counter()
        generate(database_url, posts, report)
        report(f"generated in {time.perf_counter() - began:,.0f} s")
    token = _token(database_url)
    results: list[RouteResult] = []
    for processes in web_processes:
        if len(web_processes) > 1:
            report(f"served by {processes} web process{'es' if processes > 1 else ''}")
        results += _measure_served(
            database_url, token, workdir, report, routes, requests, processes
        )
    return results


def _measure_served(
    database_url: str,
    token: str,
    workdir: Path,
    report: Callable[[str], None],
    routes: tuple[str, ...],
    requests: int,
    web_processes: int,
) -> list[RouteResult]:
    """Serve the shop with `web_processes` and measure every route."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    server = _serve(database_url, port, log, web_processes)
    results: list[RouteResult] = []
    try:
        _wait_until_up(base, server, log, web_processes)
        with httpx.Client(base_url=base, timeout=300) as browser:
            _sign_in(browser)
            api = {"Authorization": f"Bearer {token}"}
            for route in routes:
                is_api = route.startswith("/api/")
                headers = api if is_api else {}
                cookies = httpx.Cookies() if is_api else browser.cookies
                first = browser.get(route, headers=headers)
                pages = [route]
                second = _next_of(route, first)
                if second:
                    pages.append(second)
                for measured in pages:
                    cpu_before = _cpu_seconds(server.pid)
                    found = asyncio.run(_measure(base, measured, headers, cookies, requests))
                    cpu_after = _cpu_seconds(server.pid)
                    if cpu_before is not None and cpu_after is not None:
                        cpu = (cpu_after - cpu_before) * 1000 / found.requests
                        found = dataclasses.replace(found, cpu_ms=cpu)
                    found = dataclasses.replace(found, web_processes=web_processes)
                    report(
                        f"{found.route}: p50 {found.p50_ms:,.0f} ms, p99 {found.p99_ms:,.0f} ms"
                        + (f", server CPU {found.cpu_ms:,.1f} ms a request" if found.cpu_ms else "")
                        + (f", answered by {found.answered_by}" if web_processes > 1 else "")
                    )
                    results.append(found)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return results
