"""`hashcart dispatch`, `hashcart listen` and `hashcart serve`'s background services on a real
SQLite file, mail going to a real SMTP server. What ends by itself (`dispatch --once`, usage
errors, `--help`) runs in this process through the real entry point (tests/cli_runner.py);
what runs until SIGTERM runs as a real `hashcart` process (`Running`), since stopping on a
signal is what those tests are about."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hashcart.bootstrap import open_app
from hashcart.config import Settings
from hashcart.domain.messages import OutboundMessage, Reason
from hashcart.domain.posts import Network
from hashcart.services.mail import Email, queue_email
from hashcart.store.repository import transaction
from tests.cli_runner import Result, run_cli
from tests.polling import wait_until
from tests.smtp_support import SMTPServer, free_port, smtp_server

__all__ = ["smtp_server"]  # a fixture, used by name

HASHCART = [sys.executable, "-m", "hashcart"]
DEADLINE_SECONDS = 60


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "COLUMNS": "200",
        **extra,
    }
    env.pop("HASHCART_CONFIG", None)
    return env


def run(tmp_path: Path, *args: str, **extra: str) -> Result:
    """`hashcart ARGS` in this process on tmp_path/cli.db, `extra` added to its environment."""
    env = {"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", **extra}
    return run_cli(args, env=env, cwd=tmp_path)


def smtp_env(server: SMTPServer) -> dict[str, str]:
    return {"HASHCART_SMTP_HOST": server.host, "HASHCART_SMTP_PORT": str(server.port)}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    """A hashcart database with one email and one Mastodon reply waiting in the outbox."""
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}"))
    now = app.clock.now()
    with transaction(app.engine) as repo:
        queue_email(
            repo,
            Email("sam@example.com", "Your order", "Thank you", "order_confirmed", "cli-1"),
            now,
        )
        reply = OutboundMessage(
            Network.MASTODON, "https://social.example/users/sam", "111", Reason.ADDED, "@sam ok"
        )
        repo.queue_messages([reply], now)
    app.engine.dispose()
    yield tmp_path


def statuses(tmp_path: Path) -> dict[str, str]:
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}"))
    try:
        with app.engine.connect() as connection:
            from sqlalchemy import select

            from hashcart.store import schema as t

            found = connection.execute(select(t.outbox.c.network, t.outbox.c.status)).all()
        return {network: status for network, status in found}
    finally:
        app.engine.dispose()


def test_dispatch_once_json_sends_what_is_due_and_prints_the_counts(
    database: Path, smtp_server: SMTPServer
) -> None:
    result = run(database, "dispatch", "--once", "--json", **smtp_env(smtp_server))

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "sent": 1,
        "retried": 0,
        "failed": 0,
        "fell_back_to_email": 0,
        "reconciled": 0,
        "possibly_duplicated": 0,
        "skipped_rate_limited": 0,
        "fell_back_to_another_network": 0,
    }
    [message] = smtp_server.messages
    assert (message["To"], message["Subject"]) == ("sam@example.com", "Your order")
    # No Mastodon sender is configured: its reply waits, untouched.
    assert statuses(database) == {"email": "sent", "mastodon": "queued"}


def test_dispatch_once_says_what_waits_for_a_sender(database: Path) -> None:
    result = run(database, "dispatch", "--once")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("hashcart dispatching for: nothing yet")
    assert "dispatched: sent 0, retried 0, failed 0" in lines
    assert "  1 message waits for email: no SMTP server (smtp_host) is configured" in lines
    assert "  1 message waits for mastodon: no mastodon sender is configured" in lines


def test_dispatch_json_without_once_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "dispatch", "--json")

    assert result.exit_code == 2
    assert result.stderr.strip() == "hashcart: error: --json goes with --once"


def test_listen_with_no_listener_configured_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "listen")

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "hashcart: error: no listeners configured: set listeners = [...] "
        "(x_stream, mastodon, jetstream, bluesky_firehose)"
    )
    assert result.stdout == ""


def test_serve_help_shows_the_background_switches(tmp_path: Path) -> None:
    result = run(tmp_path, "serve", "--help")

    assert result.exit_code == 0
    for flag in ("--listen", "--no-listen", "--dispatch", "--no-dispatch", "--web-processes"):
        assert flag in result.stdout


class Running:
    """A long-running `hashcart` process whose output lines are collected as they come (a
    real process: these commands install signal handlers and stop on SIGTERM)."""

    def __init__(self, tmp_path: Path, *args: str, **extra: str) -> None:
        self.process = subprocess.Popen(
            [*HASHCART, *args],
            cwd=tmp_path,
            env=environment(tmp_path, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, text: str) -> None:
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(text in line for line in self.lines) or self.process.poll() is not None,
                timeout=DEADLINE_SECONDS,
            )
        assert found and any(text in line for line in self.lines), (self.lines, self.stderr())

    def wait_until_serving(self, port: int) -> None:
        """Until the web app answers (uvicorn then handles SIGTERM as a clean stop)."""

        def answers() -> bool:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            except httpx.TransportError:
                assert self.process.poll() is None, self.stderr()
                return False
            return True

        wait_until(answers, "the web app answers", DEADLINE_SECONDS)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=DEADLINE_SECONDS)
        self._reader.join(timeout=DEADLINE_SECONDS)
        return code

    def stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=DEADLINE_SECONDS)


def test_dispatch_runs_until_sigterm_sending_as_rows_come(
    database: Path, smtp_server: SMTPServer
) -> None:
    dispatcher = Running(database, "dispatch", **smtp_env(smtp_server))
    try:
        dispatcher.wait_for_line("hashcart dispatching for: email")
        dispatcher.wait_for_line("dispatched: sent 1, retried 0, failed 0")
        assert [message["To"] for message in smtp_server.messages] == ["sam@example.com"]

        assert dispatcher.terminate() == 0
        assert dispatcher.lines[-1] == "hashcart stopped dispatching."
    finally:
        dispatcher.kill()


def test_serve_runs_the_dispatcher_beside_the_web_app_until_sigterm(
    database: Path, smtp_server: SMTPServer
) -> None:
    port = free_port()
    server = Running(database, "serve", "--port", str(port), **smtp_env(smtp_server))
    try:
        server.wait_for_line("Press Ctrl-C to stop.")
        assert "  listeners:        none configured (settings: listeners)" in server.lines
        assert "  dispatcher:       sending for email" in server.lines
        server.wait_until_serving(port)
        wait_until(lambda: len(smtp_server.messages) == 1)
        assert server.terminate() == 0
        assert server.lines[-1] == "hashcart stopped serving."
    finally:
        server.kill()
    assert [message["To"] for message in smtp_server.messages] == ["sam@example.com"]
    assert statuses(database) == {"email": "sent", "mastodon": "queued"}


def test_serve_without_listeners_or_dispatcher_says_nothing_of_them(
    database: Path, smtp_server: SMTPServer
) -> None:
    port = free_port()
    server = Running(
        database,
        "serve",
        "--port",
        str(port),
        "--no-listen",
        "--no-dispatch",
        **smtp_env(smtp_server),
    )
    try:
        server.wait_for_line("Press Ctrl-C to stop.")
        assert not any("listeners:" in line or "dispatcher:" in line for line in server.lines)
        server.wait_until_serving(port)
        assert server.terminate() == 0
    finally:
        server.kill()
    assert smtp_server.messages == []
    assert statuses(database)["email"] == "queued"


def test_listen_runs_the_named_listener_until_sigterm(tmp_path: Path) -> None:
    # Jetstream on a loopback port where nothing listens: the listener keeps reconnecting
    # (its own backoff) until the signal, and the command then ends cleanly.
    closed = free_port()
    listener = Running(
        tmp_path,
        "listen",
        HASHCART_LISTENERS="jetstream",
        HASHCART_BLUESKY_JETSTREAM_URL=f"ws://127.0.0.1:{closed}/subscribe",
    )
    try:
        listener.wait_for_line("Press Ctrl-C to stop.")
        assert "hashcart listening: jetstream" in listener.lines
        assert listener.terminate() == 0
        assert listener.lines[-1] == (
            "hashcart stopped listening: 0 posts read, 0 triggers, "
            "0 cart and wish-list lines added."
        )
    finally:
        listener.kill()


def test_listen_naming_only_unconfigured_listeners_says_so(tmp_path: Path) -> None:
    result = run(tmp_path, "listen", HASHCART_LISTENERS="x_stream")

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "hashcart: error: none of the listeners named (x_stream) is configured: each needs "
        "its network's settings (see the README, Live networks)"
    )
