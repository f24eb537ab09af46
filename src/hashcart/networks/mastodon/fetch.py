"""Fetching a parent post from the shop's Mastodon server: `GET /api/v1/statuses/:id`.

The id is the status's id on the shop's server (what `in_reply_to_id` names in everything
that server sent us), so the shop's own server is the one to ask. 404 means it does not
exist for us (deleted, or a visibility we may not see): the trigger is not asked about
again. A rate limit, a server error or no answer means "ask later" (FetchFailed)."""

from __future__ import annotations

import logging

from hashcart.networks.formats import Format
from hashcart.networks.mastodon.api import MastodonApi, MastodonError
from hashcart.networks.parents import Fetched, FetchFailed

log = logging.getLogger(__name__)


class MastodonParentFetcher:
    def __init__(self, api: MastodonApi) -> None:
        self.api = api

    def fetch(self, post_id: str) -> Fetched:
        try:
            body = self.api.status(post_id)
        except MastodonError as error:
            log.warning(
                "Mastodon status lookup %s failed: %s",
                post_id,
                error,
                extra={"network": "mastodon", "post_id": post_id},
            )
            raise FetchFailed(str(error)) from None
        return Fetched(Format.MASTODON, () if body is None else (body,))
