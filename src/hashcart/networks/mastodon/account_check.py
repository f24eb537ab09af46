"""Checking the shoppers' linked Mastodon accounts on demand (`hashcart links check`).

Mastodon sends no event when a remote account is deleted or suspended (the admin webhook's
`account.*` events and the streaming API's `delete` are about statuses and the server's own
accounts), so the dispatcher notices a gone account only when a message to it is due (send.py).
This asks for each linked account in turn with the documented lookup
(docs.joinmastodon.org methods/accounts.md#lookup: `GET /api/v1/accounts/lookup?acct=`
answers 404 for an account that does not exist, and entities/Account.md#suspended marks a
suspended one), one request per account: cheap for a shop's linked shoppers, and within the
default rate limit of 300 requests per 5 minutes (api/rate-limits.md) for up to that many.
A rate-limited or unreachable server stops the check; what was not asked is counted, and a
later run asks again. The accounts found gone are returned; the caller forgets them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hashcart.networks.mastodon.api import MastodonApi, MastodonApiError, MastodonError


@dataclass
class AccountCheck:
    """What one check found: the account URIs gone, how many were live, how many the server
    could not tell about, and how many were not asked (the check stopped, and why)."""

    gone: list[str] = field(default_factory=list)
    live: int = 0
    unknown: int = 0
    not_asked: int = 0
    stopped: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "gone": list(self.gone),
            "live": self.live,
            "unknown": self.unknown,
            "not_asked": self.not_asked,
            "stopped": self.stopped,
        }


def check_accounts(api: MastodonApi, accounts: Sequence[tuple[str, str]]) -> AccountCheck:
    """Ask about each (account URI, acct as the shop's server writes it) in turn."""
    found = AccountCheck()
    for index, (uri, acct) in enumerate(accounts):
        try:
            gone = api.account_gone(acct, uri)
        except MastodonApiError as error:
            if error.status not in (401, 403, 429) and error.status < 500:
                found.unknown += 1  # this one account's answer: ask about the next
                continue
            found.stopped, found.not_asked = str(error), len(accounts) - index
            break
        except MastodonError as error:
            found.stopped, found.not_asked = str(error), len(accounts) - index
            break
        if gone is True:
            found.gone.append(uri)
        elif gone is False:
            found.live += 1
        else:
            found.unknown += 1
    return found
