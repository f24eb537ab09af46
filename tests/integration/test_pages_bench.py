"""`hashcart bench --shape pages` (issue 14) at a tiny size: the generated shop holds what the
bench says, `hashcart serve` answers every measured route with 200, and each route is
measured on its first page and on the page its next link leads to."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from hashcart.store import schema as t
from hashcart.synthetic.pages import run_pages_bench


def test_the_pages_bench_generates_a_shop_and_measures_its_pages(tmp_path: Path) -> None:
    lines: list[str] = []
    results = run_pages_bench(
        1000, 8, tmp_path, lines.append, routes=("/merchant/posts", "/api/outbox?limit=50")
    )
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
    ]
    assert "after=" in results[1].route and "after=" in results[3].route
    for result in results:
        assert result.status == 200 and result.requests == 8
        assert 0 < result.p50_ms <= result.p99_ms
        assert result.bytes > 1000
        if sys.platform == "linux":  # the server's CPU time, read from /proc
            assert result.cpu_ms is not None and result.cpu_ms >= 0
    assert any(line.startswith("generated in") for line in lines)
    # The generated shop's funnel figures are kept, as a migrated shop's are after a page.
    assert any(line.startswith("kept funnel figures of 1,000 posts") for line in lines)
