"""The `localstripe` fixture: a stateful fake Stripe server (tests/peers/fake_stripe/launcher)
on 127.0.0.1, started once a session in its own process and wiped before every test.

Stripe's own library talks to it (`StripeClient(key, base_addresses={"api": url})`); where it
differs from Stripe's documented behaviour the tests say so and check the documented answer
(README "Payments with Stripe" lists the differences)."""

from __future__ import annotations

import importlib.util
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
START_DEADLINE_SECONDS = 30
SECRET_KEY = "sk_test_hashcart"
PUBLISHABLE_KEY = "pk_test_hashcart"


@dataclass(frozen=True)
class LocalStripe:
    url: str
    secret_key: str = SECRET_KEY
    publishable_key: str = PUBLISHABLE_KEY

    def wipe(self) -> None:
        httpx.delete(f"{self.url}/_config/data", timeout=10).raise_for_status()

    def honour_idempotency_keys(self) -> None:
        """Answer a repeated `Idempotency-Key` as Stripe documents (off after each wipe)."""
        answer = httpx.post(f"{self.url}/_config/idempotency", data={"enabled": "true"})
        answer.raise_for_status()

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        """localstripe's own registration (its /v1/webhook_endpoints is 404)."""
        answer = httpx.post(
            f"{self.url}/_config/webhooks/{name}", data={"url": url, "secret": secret}
        )
        answer.raise_for_status()


def _first_line(process: subprocess.Popen[str]) -> str:
    """The launcher's first line, or a failure at the deadline: never hangs."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=START_DEADLINE_SECONDS)
    except queue.Empty:
        return ""


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[LocalStripe]:
    if importlib.util.find_spec("localstripe") is None:
        pytest.skip("localstripe is not installed (pip install -e '.[dev]' brings it)")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.peers.fake_stripe.launcher"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = _first_line(process)
        if not line:
            raise RuntimeError("localstripe did not start within the deadline")
        port = json.loads(line)["port"]
        yield LocalStripe(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def localstripe(localstripe_server: LocalStripe) -> LocalStripe:
    """localstripe, empty: every test starts without customers, intents or webhooks."""
    localstripe_server.wipe()
    return localstripe_server
