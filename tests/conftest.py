"""Shared test fixtures: where the recorded real payloads live, and how to skip without them."""

from __future__ import annotations

from pathlib import Path

import pytest

# The built-in networks, registered as the composition root (hashcart.bootstrap) does: tests
# that read the registry without opening an App (formats, the prefilter) find them too.
import hashcart.networks.builtin  # noqa: F401

pytest_plugins = [
    "tests.databases",
    "tests.browser",
    "tests.networks.bluesky.peer",
    "tests.peers.fake_stripe.fixture",
    "tests.peers.nats.fixture",
    "tests.peers.vendure.fixture",
]

# `../shared/fixtures` sits beside the project's checkout (in CI and in sessions).
SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """The recorded real payloads; tests that read them skip where the folder is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(
            f"recorded payloads not found at {SHARED_FIXTURES} (a clone of the project "
            "without ../shared); they are kept in the shared folder beside the checkout"
        )
    return SHARED_FIXTURES
