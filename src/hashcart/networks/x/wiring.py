"""How x plugs into hashcart: its parent fetcher, its sender and its stream listeners,
each built from the settings, or None / nothing when the settings do not configure it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashcart.bootstrap import App
    from hashcart.listeners.base import Listener
    from hashcart.listeners.sink import LiveIngest
    from hashcart.networks.parents import ParentFetcher
    from hashcart.outbox.senders import Sender


def fetcher(app: App) -> ParentFetcher | None:
    return None


def sender(app: App) -> Sender | None:
    return None


def listeners(app: App, sink: LiveIngest) -> list[Listener]:
    """The listeners of this network named in `app.settings.listeners`."""
    return []
