"""`hashcart catalog import` fetches the pictures its feed names, and `hashcart catalog images
[--retry]` fetches what is left or failed; each failure is one line on standard error with
its reason (run through the real entry point, tests/cli_runner.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import Result, run_cli
from tests.pictures.support import picture_server


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with picture_server() as base:
        yield base


def run(tmp_path: Path, *args: str, allow: str = "127.0.0.1") -> Result:
    env = {
        "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
        "HASHCART_IMAGE_FETCH_ALLOW_HOSTS": allow,
    }
    return run_cli(args, env=env, cwd=tmp_path)


def test_import_fetches_the_pictures_and_images_retries_the_failed(
    tmp_path: Path, server: str
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "id,title,link,price,availability,image_link\n"
        f"mug,Mug,https://shop.example/p/mug,9.00 USD,in_stock,{server}/photo.jpg\n"
        f"cup,Cup,https://shop.example/p/cup,5.00 USD,in_stock,{server}/broken\n"
    )
    imported = run(tmp_path, "catalog", "import", str(feed))
    assert imported.exit_code == 0, imported.stderr
    assert "imported 2 products" in imported.stdout
    assert "pictures: 1 ready, 1 failed" in imported.stdout
    assert f"picture {server}/broken: the server answered 503" in imported.stderr

    nothing = run(tmp_path, "catalog", "images")
    assert (nothing.exit_code, nothing.stdout.strip()) == (0, "no pictures to fetch")

    retried = run(tmp_path, "catalog", "images", "--retry")
    assert retried.exit_code == 0
    assert "pictures: 0 ready, 1 failed" in retried.stdout
    assert "the server answered 503" in retried.stderr


def test_the_allow_list_takes_addresses_only(tmp_path: Path) -> None:
    result = run(tmp_path, "catalog", "images", allow="localhost")
    assert result.exit_code == 2
    assert "'localhost' is not an IP address" in result.stderr
