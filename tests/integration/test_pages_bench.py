"""`hashcart bench --shape pages` (issue 14) at a tiny size: the generated shop holds what the
bench says, `hashcart serve` answers every measured route with 200, and each route is
measured on its first page and on the page its next link leads to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from hashcart.store import schema as t
from hashcart.synthetic.pages import _cpu_seconds, run_pages_bench
from tests.cli_runner import run_cli
from tests.polling import wait_until


def test_the_pages_bench_generates_a_shop_and_measures_its_pages(tmp_path: Path) -> None:
    lines: list[str] = []
    routes = ("/merchant/posts", "/api/outbox?limit=50", "/s/demo", "/s/demo/p/p0001")
    results = run_pages_bench(1000, 8, tmp_path, lines.append, routes=routes)
    engine = create_engine(f"sqlite:///{tmp_path / 'pages-1000.db'}")
    with engine.connect() as connection:
        shoppable = select(func.count()).where(t.posts.c.parent_id.is_(None))
        assert connection.scalar(shoppable) == 1000
        assert connection.scalar(select(func.count()).select_from(t.actions)) == 150
        assert connection.scalar(select(func.count()).select_from(t.orders)) == 10
    engine.dispose()
    assert [result.route.split("?")[0] for result in results] == [
        "/merchant/posts",
        "/merchant/posts",
        "/api/outbox",
        "/api/outbox",
        "/s/demo",  # the shop front, signed out, and the older page its link leads to
        "/s/demo",
        "/s/demo/p/p0001",
    ]
    assert all("after=" in results[n].route for n in (1, 3, 5))
    for result in results:
        assert result.status == 200 and result.requests == 8
        assert result.web_processes == 1 and result.answered_by == 1
        assert 0 < result.p50_ms <= result.p99_ms
        assert result.bytes > 1000
        if sys.platform == "linux":  # the server's CPU time, read from /proc
            assert result.cpu_ms is not None and result.cpu_ms >= 0
    assert any(line.startswith("generated in") for line in lines)
    # The generated shop's funnel figures are kept, as a migrated shop's are after a page.
    assert any(line.startswith("kept funnel figures of 1,000 posts") for line in lines)


def test_several_web_processes_on_a_sqlite_shop_are_refused_with_one_line(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'pages.db'}"
    args = ["bench", "--shape", "pages", "--pages-db", database]
    result = run_cli([*args, "--web-processes", "1", "--web-processes", "2"], cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "hashcart: error: --web-processes above 1 needs PostgreSQL: give --pages-db "
        "postgresql://..."
    ]


BUSY_THEN_WAIT = (
    "import sys, time\n"
    "began = time.process_time()\n"
    "while time.process_time() - began < 0.3:\n"
    "    pass\n"
    "sys.stdin.read()\n"
)


@pytest.mark.skipif(sys.platform != "linux", reason="the server's CPU time is read from /proc")
def test_the_server_s_cpu_time_counts_its_web_processes() -> None:
    """With --web-processes the requests' CPU is spent in serve's children: a process that
    only waits, whose child spends 0.3 s, is counted with the child's time."""
    starts_child = (
        f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BUSY_THEN_WAIT!r}])\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", starts_child], stdin=subprocess.PIPE)
    try:
        wait_until(
            lambda: (_cpu_seconds(parent.pid) or 0) >= 0.3, "the child's CPU time is counted"
        )
    finally:
        assert parent.stdin is not None
        parent.stdin.close()
        parent.wait(timeout=30)
