"""The networks hashcart ships with, registered in the order pages show them.

The composition root (bootstrap) imports this module; nothing below it does. It sits above
the registry and the adapters, so that neither imports the other: another built-in network
is one more `registry.register(...)` line here; a plugin's is an entry point that
hashcart/plugins registers after these (README, "Shipping a network or a trigger kind as a
plugin").
"""

from __future__ import annotations

from hashcart.networks import registry
from hashcart.networks.bluesky.adapter import ADAPTER as BLUESKY
from hashcart.networks.mastodon.adapter import ADAPTER as MASTODON
from hashcart.networks.x.adapter import ADAPTER as X

BUILT_IN = (X, MASTODON, BLUESKY)

for _adapter in BUILT_IN:
    registry.register(_adapter)
