"""A real SMTP server on loopback for mail tests (aiosmtpd), and a port where none listens.

Use: `from tests.smtp_support import smtp_server, dead_smtp_port` in a test module (pytest
then finds the fixtures), and point the settings at `smtp_server.host` / `.port`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback nothing listens on (the OS picked it, then it was closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class CollectingHandler:
    """aiosmtpd handler: keeps every message it is given, as parsed email messages."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else content.encode()
        parsed = message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@dataclass
class SMTPServer:
    host: str
    port: int
    handler: CollectingHandler

    @property
    def messages(self) -> list[EmailMessage]:
        """Messages received so far (each has arrived in full once the client's send returned:
        the server answers DATA only after the handler kept the message)."""
        return self.handler.messages


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A running SMTP server on 127.0.0.1 and a free port, stopped after the test."""
    from aiosmtpd.controller import Controller

    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield SMTPServer(LOOPBACK, port, handler)
    finally:
        controller.stop()


@pytest.fixture
def dead_smtp_port() -> int:
    """A loopback port where no SMTP server runs: connections are refused at once."""
    return free_port()
