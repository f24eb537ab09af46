"""What a stream listener is: something that runs until told to stop, reconnecting itself.
The contract is the listener port (hashcart.ports); how it waits between reconnects lives
with the backoff (hashcart/backoff). Both are named here too."""

from __future__ import annotations

from hashcart.backoff import Wait, wait_or_stop
from hashcart.ports import Listener

__all__ = ["Listener", "Wait", "wait_or_stop"]
