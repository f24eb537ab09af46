"""The registered networks' payloads as ingest reads them (ports.PayloadReader).

Ingest (services/ingest.py) knows no network's JSON: the prefilter, the decoders by format
and the cheap checks of lines nobody decodes come from here, and through here from the
registry (networks/formats, networks/prefilter). The composition root hands this to the
use cases (bootstrap.App.payload_reader)."""

from __future__ import annotations

import msgspec

from hashcart.domain.posts import Event
from hashcart.domain.products import ShopHosts
from hashcart.domain.triggers import TriggerWords
from hashcart.networks._json import utf8_problem
from hashcart.networks.formats import Format, decode
from hashcart.networks.prefilter import Prefilter, check_framing, check_well_formed

__all__ = ["NETWORK_PAYLOADS", "NetworkPayloads"]


class NetworkPayloads:
    """ports.PayloadReader over the network registry (stateless: one serves everyone)."""

    def prefilter(self, words: TriggerWords, hosts: ShopHosts) -> Prefilter:
        return Prefilter.for_shop(words, hosts)

    def format_named(self, name: str) -> str:
        return Format(name)

    def decode(self, line: bytes, fmt: str) -> list[Event]:
        return decode(line, Format(fmt))

    def utf8_problem(self, data: bytes) -> str | None:
        return utf8_problem(data)

    def check_framing(self, line: bytes) -> str | None:
        return check_framing(line)

    def check_well_formed(self, line: bytes) -> str | None:
        return check_well_formed(line)

    def as_line(self, payload: bytes) -> bytes:
        """A payload as one line: pretty-printed JSON (webhook bodies, API answers) is
        compacted; anything that is not JSON is left as it is, for ingest to dead-letter
        with a reason."""
        if b"\n" not in payload.rstrip(b"\r\n"):
            return payload.rstrip(b"\r\n")
        try:
            return msgspec.json.encode(msgspec.json.decode(payload))
        except (msgspec.DecodeError, UnicodeDecodeError):
            return payload.replace(b"\r", b" ").replace(b"\n", b" ")


NETWORK_PAYLOADS = NetworkPayloads()
