"""Shared test fixtures: where the recorded real payloads live, and how to skip without them."""

from __future__ import annotations

import os
import sys
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


# --- leaving quickly -------------------------------------------------------------------------
#
# A whole run ends holding ~3.5 GB of objects (apps, engines, thousands of SQLite connections).
# Python's own teardown freed them one by one and closed each connection (checkpointing its
# WAL) for about two minutes after the summary was printed (CI, stop 20 and stop 21), doing
# nothing a test needs. Every server the run started (PostgreSQL, NATS, the Bluesky network,
# Vendure, localstripe, Chromium) is stopped by its fixture's teardown, which has run by
# then, so the run leaves at once with pytest's own exit status. HASHCART_TEST_FULL_EXIT=1
# keeps the slow way (for a leak hunt).
_exit_status: int | None = None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status is None or hasattr(config, "workerinput"):
        return  # an xdist worker leaves through its own channel
    if os.environ.get("HASHCART_TEST_FULL_EXIT") == "1":
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)


# --- reports that cross to the xdist controller ----------------------------------------------
#
# Tests feed invalid UTF-8 on purpose; a captured log line or assertion text can then hold a
# lone surrogate ('\udcff', from surrogateescape). A worker ships its reports to the controller
# as UTF-8, which refuses surrogates and stops the whole run with an INTERNALERROR, so the
# serialised report's strings show such characters escaped ('\\udcff') instead.
def _utf8_safe(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_utf8_safe(key): _utf8_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_utf8_safe(item) for item in value)
    return value


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: object) -> object:
    serialised = yield
    return _utf8_safe(serialised) if serialised is not None else None
