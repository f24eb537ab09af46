"""Fetching a parent post no stream brought: `com.atproto.repo.getRecord` on its author's PDS.

The answer is handed to the engine as a Jetstream-shaped event (`lines.commit_line`), its
`time_us` the moment of the fetch. The PDS is asked rather than an AppView's `getPosts`: it
is the one source that holds the record itself, and the one a test network on loopback has.
"""

from __future__ import annotations

import logging

from hashcart.clock import Clock
from hashcart.networks.bluesky.lines import commit_line
from hashcart.networks.bluesky.records import AtUri, RecordReader
from hashcart.networks.bluesky.xrpc import AddressRefused, BlueskyUnreachable
from hashcart.networks.formats import Format
from hashcart.networks.parents import Fetched, FetchFailed

log = logging.getLogger(__name__)


class BlueskyParentFetcher:
    def __init__(self, records: RecordReader, clock: Clock) -> None:
        self.records = records
        self.clock = clock

    def fetch(self, post_id: str) -> Fetched:
        uri = AtUri.parse(post_id)
        if uri is None:
            return Fetched(Format.JETSTREAM, ())  # not an AT-URI: nothing anyone can fetch
        try:
            record = self.records.get(uri)
        except AddressRefused as error:  # its PDS is on an address we never call: not for us
            log.info(
                "bluesky: parent %s not fetched: %s",
                post_id,
                error,
                extra={"network": "bluesky", "post_id": post_id},
            )
            return Fetched(Format.JETSTREAM, ())
        except BlueskyUnreachable as error:
            raise FetchFailed(str(error)) from None
        if record is None:
            return Fetched(Format.JETSTREAM, ())
        line = commit_line(
            did=uri.repo,
            time_us=int(self.clock.now().timestamp() * 1_000_000),
            operation="create",
            collection=uri.collection,
            rkey=uri.rkey,
            record=record.value,
            cid=record.cid,
        )
        return Fetched(Format.JETSTREAM, (line,))
