"""What the dispatcher asks of a network's sender, and how a sender answers: the sending
port (hashcart.ports), named here too for the outbox's own modules."""

from __future__ import annotations

from hashcart.ports import OutboxItem, Sender, SendFailed, Sent

__all__ = ["OutboxItem", "SendFailed", "Sender", "Sent"]
