"""Networks and trigger kinds from other installed packages (entry points `hashcart.networks`
and `hashcart.kinds`): a distribution built here, in tmp_path, with the tests' toy network
and `#sample` kind and no file under src/ naming either, is found on the path and taken by
hashcart as the built-in ones are, in this process and in a `hashcart` process of its own;
plugins that cannot be loaded are each one WARNING line naming them, and the rest load."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hashcart import plugins
from hashcart.domain.kinds import KINDS
from hashcart.domain.posts import Network
from hashcart.networks import registry
from hashcart.networks.input_format import Format
from hashcart.services import handlers
from hashcart.services.catalog import FeedRow
from hashcart.store.repository import transaction
from tests.cli_runner import run_cli
from tests.harness import HOST, Shop
from tests.networks.toy.toy import NAME, toy_line, toy_network
from tests.payloads import BASE_TIME

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "hashcart_toy_plugin"
AT = BASE_TIME.isoformat()
MUG_LINK = f"https://{HOST}/products/enamel-mug"
SHOPPER = "ana@example.com"

# The plugin package: the toy network and the #sample kind, as another project ships them.
PLUGIN_MODULE = '''
"""A hashcart plugin, installed apart from hashcart: the tests' toy network and #sample."""
import dataclasses

from hashcart.domain.kinds import TriggerKind
from hashcart.services.handlers import ReplyHandler
from tests.integration.test_trigger_kinds import SAMPLE, act_on_samples
from tests.networks.toy.toy import toy_network

ADAPTER = toy_network("http://127.0.0.1:9")
X_AGAIN = dataclasses.replace(toy_network("http://127.0.0.1:9"), name="x", decoders={})
SAMPLE_KIND = (SAMPLE, ReplyHandler(act_on_samples))
NOT_AN_ADAPTER = "a string"
CART_AGAIN = (TriggerKind("cart", ("basket",)), ReplyHandler(act_on_samples))
'''


def write_distribution(site: Path, name: str, entry_points: str) -> None:
    """A `*.dist-info` as pip leaves one: METADATA and entry_points.txt."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory of installed packages: the toy plugin, and one whose entry points are
    broken (a module that is not there, an object of the wrong kind, a kind name taken)."""
    site = tmp_path / "site"
    (site / PLUGIN).mkdir(parents=True)
    (site / PLUGIN / "__init__.py").write_text(PLUGIN_MODULE)
    write_distribution(
        site,
        "hashcart_toy_plugin",
        f"[hashcart.networks]\ntoy = {PLUGIN}:ADAPTER\n\n"
        f"[hashcart.kinds]\nsample = {PLUGIN}:SAMPLE_KIND\n",
    )
    (site / "hashcart_raising_plugin.py").write_text("raise RuntimeError('boom\\nat import')\n")
    write_distribution(
        site,
        "hashcart_broken_plugin",
        "[hashcart.networks]\n"
        "ghost = hashcart_no_such_module:ADAPTER\n"
        f"wrong = {PLUGIN}:NOT_AN_ADAPTER\n"
        f"taken = {PLUGIN}:X_AGAIN\n"
        "raising = hashcart_raising_plugin:ADAPTER\n\n"
        f"[hashcart.kinds]\nclash = {PLUGIN}:CART_AGAIN\n",
    )
    return site


@pytest.fixture
def on_path(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`site` on this process's path, and everything the plugins registered taken out after."""
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(plugins, "_handled", set())
    try:
        yield site
    finally:
        registry.unregister(NAME)
        handlers.unregister("sample")
        sys.modules.pop(PLUGIN, None)
        sys.modules.pop("hashcart_raising_plugin", None)


# --- in this process ------------------------------------------------------------------------


def test_nothing_declares_a_plugin_on_the_test_path() -> None:
    assert not plugins.installed()
    assert plugins.load_plugins() == []


def test_a_plugin_s_network_and_kind_are_registered_after_the_built_in_ones(
    on_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert plugins.installed()
    with caplog.at_level(logging.WARNING, logger="hashcart.plugins"):
        failures = plugins.load_plugins()

    assert registry.names()[:4] == ("x", "mastodon", "bluesky", "toy")
    assert Format.every()[-1] == "toy"
    assert [kind.name for kind in KINDS][-1] == "sample"
    assert handlers.reply_handler("sample") is not None
    assert KINDS.get("cart") is not None and KINDS.get("cart").default_tags == ("cart",)  # type: ignore[union-attr]
    assert sorted(failure.name for failure in failures) == [
        "clash",
        "ghost",
        "raising",
        "taken",
        "wrong",
    ]
    assert registry.adapter("x").display_name == "X"  # the built-in one stays


def test_each_broken_plugin_is_one_warning_line_naming_it(
    on_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hashcart.plugins"):
        plugins.load_plugins()
        plugins.load_plugins()  # asked again (bootstrap, then the command line): said once

    lines = sorted(record.getMessage() for record in caplog.records)
    assert lines == [
        "hashcart: plugin 'clash' (hashcart.kinds = hashcart_toy_plugin:CART_AGAIN) not loaded:"
        " ValueError: a different trigger kind named 'cart' is registered",
        "hashcart: plugin 'ghost' (hashcart.networks = hashcart_no_such_module:ADAPTER) not"
        " loaded: ModuleNotFoundError: No module named 'hashcart_no_such_module'",
        "hashcart: plugin 'raising' (hashcart.networks = hashcart_raising_plugin:ADAPTER) not"
        " loaded: RuntimeError: boom at import",
        "hashcart: plugin 'taken' (hashcart.networks = hashcart_toy_plugin:X_AGAIN) not"
        " loaded: ValueError: a network named 'x' is registered already",
        "hashcart: plugin 'wrong' (hashcart.networks = hashcart_toy_plugin:NOT_AN_ADAPTER) not"
        " loaded: TypeError: it names a str, not a NetworkAdapter",
    ]
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_the_command_line_in_this_process_offers_the_plugin_s_format(on_path: Path) -> None:
    result = run_cli(["ingest", "--help"])
    assert result.exit_code == 0
    assert "<auto|x|x-v2|mastodon|jetstream|toy>" in result.stdout


# --- in a hashcart process of its own -------------------------------------------------------


def hashcart(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`hashcart ARGS` as a shell runs it, with `site` on PYTHONPATH (as an installed
    package would be) and nothing else of this test process."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("HASHCART_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT / "src"), str(ROOT)])
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "hashcart", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=site,
        timeout=120,
    )


@pytest.fixture
def toy_shop(tmp_path: Path) -> str:
    """A SQLite shop whose catalog has the mug and a sample of it, and a customer linked to
    a toy account: made with the toy registered here for the moment it takes, as a shop
    where the plugin was installed would have it."""
    database_url = f"sqlite:///{tmp_path / 'shop.db'}"
    registry.register(toy_network("http://127.0.0.1:9"))
    try:
        shop = Shop(database_url)
        with transaction(shop.app.engine) as repo:
            sample = FeedRow(
                "mug-sample", "Mug sample", f"https://{HOST}/s/mug", None, None, "in_stock"
            )
            repo.upsert_products([sample.as_values(shop.clock.now())])
        shop.customer(SHOPPER, (Network(NAME), "u7", "ana"))
        shop.app.engine.dispose()
    finally:
        registry.unregister(NAME)
    return database_url


def test_a_hashcart_process_offers_the_plugin_s_format_and_names_each_broken_plugin(
    site: Path,
) -> None:
    ran = hashcart(site, "ingest", "--help")
    assert ran.returncode == 0, ran.stderr
    assert "<auto|x|x-v2|mastodon|jetstream|toy>" in ran.stdout
    warned = ran.stderr.splitlines()
    assert len(warned) == 5  # one line each, the messages' own line breaks folded
    assert [line.split("'")[1] for line in warned] == [
        "ghost",
        "wrong",
        "taken",
        "raising",
        "clash",
    ]


def test_a_toy_reply_in_a_hashcart_process_fills_the_cart_through_the_plugins(
    site: Path, toy_shop: str, tmp_path: Path
) -> None:
    replay = tmp_path / "toy.jsonl"
    replay.write_bytes(
        b"\n".join(
            [
                toy_line("t1", "shop-1", "trailhead", f"Our new mug {MUG_LINK}", AT),
                toy_line("t2", "u7", "ana", "@trailhead #cart x2", AT, answers="t1"),
                toy_line("t3", "u7", "ana", "@trailhead #sample", AT, answers="t1"),
            ]
        )
        + b"\n"
    )
    ran = hashcart(site, "--db", toy_shop, "ingest", "--format", "toy", str(replay))
    assert ran.returncode == 0, ran.stderr

    carts = hashcart(site, "--db", toy_shop, "carts", "--json")
    assert carts.returncode == 0, carts.stderr
    (cart,) = json.loads(carts.stdout)
    assert cart["customer"] == SHOPPER
    assert sorted(
        (line["product_id"], line["quantity"], line["network"]) for line in cart["lines"]
    ) == [
        ("mug", 2, "toy"),
        ("mug-sample", 1, "toy"),
    ]


def test_without_the_plugin_the_same_command_knows_no_toy(tmp_path: Path) -> None:
    ran = hashcart(tmp_path, "ingest", "--format", "toy", "-")
    assert ran.returncode == 2
    assert "'toy' is not one of 'auto', 'x', 'x-v2', 'mastodon', 'jetstream'." in ran.stderr
