"""Messages that wait because nothing can send them: the console's outbox and home say so,
and what to set, instead of leaving "queued, sent 0" unexplained (the demo once sat on more
than 900 of them, with no sender configured for any channel).

A channel has a sender when the settings in force set what its "answer" need names
(networks/base.Need, the same needs the Networks page shows), and email when `smtp_host`
is set (outbox/email.EmailSender.of). The senders themselves are not built for a page view:
each would open an HTTP client."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from hashcart.bootstrap import App
from hashcart.config import Settings
from hashcart.networks import registry
from hashcart.ports import EMAIL_NETWORK
from hashcart.store import shop_connections
from hashcart.views.console import queued_up_to_cap, shown_count


@dataclass(frozen=True)
class NoSender:
    """Queued messages of one channel that nothing configured can send."""

    network: str
    name: str  # as people read it: "Bluesky", "Email"
    waiting: int
    to_set: tuple[str, ...]  # the settings that would give it a sender
    networks_page: bool  # set on the console's Networks page (email is not)

    @property
    def shown_waiting(self) -> int | str:
        """As the page shows it: the number, or "1,000+" (counting stops there)."""
        return shown_count(self.waiting)

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(f"HASHCART_{key.upper()}" for key in self.to_set)


EMAIL_SETTINGS = ("smtp_host",)


def _is_set(settings: Settings, key: str) -> bool:
    if key not in Settings.model_fields:
        # A plugin network's own field lives in the console's store: not judged here.
        return True
    value = getattr(settings, key)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return bool(value)


def _missing_for_sending(network: str, settings: Settings) -> tuple[str, ...] | None:
    """What `network` lacks to send, or None when it can send (or cannot be judged)."""
    if network == EMAIL_NETWORK:
        return None if settings.smtp_host else EMAIL_SETTINGS
    try:
        adapter = registry.adapter(network)
    except registry.UnknownNetwork:
        return None
    for need in adapter.settings.needs:
        if need.role != "answer":
            continue
        lacking = [
            [key for key in keys if not _is_set(settings, key)] for keys in need.alternatives
        ]
        if any(not lacks for lacks in lacking):
            return None
        return tuple(lacking[0])
    return None


def waiting_without_sender(app: App) -> list[NoSender]:
    """Each channel with queued messages and no sender configured, with what to set."""
    settings = app.effective_settings()
    with app.unit_of_work(read_only=True) as uow:
        # A shop account connected on the Networks page sends, whatever is pasted.
        connected = shop_connections.connections(uow.connection)
        # Only the channels that cannot send are counted (a shop that sends on every channel
        # reads no queued message for this), in one statement, each up to 1,000 entries. A
        # network no adapter knows cannot be judged, so it is not counted either.
        lacking = {
            network: missing
            for network in sorted((*registry.names(), EMAIL_NETWORK))
            if network not in connected
            and (missing := _missing_for_sending(network, settings)) is not None
        }
        queued = queued_up_to_cap(uow.connection, lacking)
    found = []
    for network, missing in lacking.items():
        if not queued[network]:
            continue
        name = "Email" if network == EMAIL_NETWORK else registry.adapter(network).display_name
        found.append(NoSender(network, name, queued[network], missing, network != EMAIL_NETWORK))
    return found
