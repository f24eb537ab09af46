"""The bus's names and its one setting with a grammar: partitions are the same in every
process (no salted `hash()`), subjects never carry a wildcard or a dot from a network's name,
and `bus_url` takes only nats:// or tls:// host:port lists."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.bus.subjects import partition_filter, partition_of, subject_of
from hashcart.config import Settings


def test_a_partition_is_the_same_in_another_process() -> None:
    here = partition_of("did:plc:alice0000000000000000000", 8)
    there = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hashcart.bus.subjects import partition_of;"
            "print(partition_of('did:plc:alice0000000000000000000', 8))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert str(here) == there


@given(st.text(max_size=400), st.integers(min_value=1, max_value=256))
def test_every_account_has_a_partition_in_range(account: str, partitions: int) -> None:
    assert 0 <= partition_of(account, partitions) < partitions


@given(st.text(max_size=300))
def test_a_subject_has_exactly_four_tokens_and_no_wildcard(network: str) -> None:
    subject = subject_of(network, 3)
    tokens = subject.split(".")
    assert len(tokens) == 4 and tokens[:2] == ["hashcart", "posts"] and tokens[3] == "3"
    assert "*" not in subject and ">" not in subject and " " not in subject
    assert 0 < len(tokens[2]) <= 64


def test_a_partition_s_filter_takes_every_network() -> None:
    assert partition_filter(5) == "hashcart.posts.*.5"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "nats://127.0.0.1:4222",
        "nats://n1:4222,nats://n2:4222,nats://n3:4222",
        "tls://nats.example.com:4222",
        "nats://[::1]:4222",
        "nats://hashcart:s3cret@n1:4222,nats://hashcart:s3cret@n2:4222",
        "tls://a-token@nats.example.com:4222",
    ],
)
def test_bus_url_takes_nats_server_lists(url: str) -> None:
    assert Settings(bus_url=url).bus_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4222",
        "nats://127.0.0.1",
        "nats://127.0.0.1:4222,",
        "nats://user:secret@127.0.0.1:4222\x00",
        "nats://us\x00er@127.0.0.1:4222",
        "nats://a@b@127.0.0.1:4222",
        "nats://" + "a" * 300 + ":4222",
        "nats://127.0.0.1:4222/<script>",
    ],
)
def test_bus_url_refuses_anything_else(url: str) -> None:
    with pytest.raises(ValueError, match="bus_url"):
        Settings(bus_url=url)


def test_credentials_in_bus_url_are_never_shown() -> None:
    from hashcart.bus.client import BusSettings

    settings = Settings(bus_url="nats://hashcart:s3cret@n1:4222,tls://tok3n@n2:4222")
    shown = BusSettings.of(settings).shown()
    assert shown == "nats://***@n1:4222,tls://***@n2:4222"
    assert "s3cret" not in shown and "tok3n" not in shown
