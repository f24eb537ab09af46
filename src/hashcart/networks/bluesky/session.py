"""The shop's app-password session on its PDS, kept (encrypted) across restarts.

`com.atproto.server.createSession` is limited to 30 calls in 5 minutes and 300 a day per
account, so hashcart logs in once and then lives on `refreshSession`: the tokens are sealed
with the `token_key` setting (SecretBox) into `network_sessions`, and a restart reads them
back instead of logging in again. Without a `token_key` the session is kept in memory only
(a restart logs in again), with a warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from hashcart.clock import Clock
from hashcart.networks.bluesky.dpop import DPoPBinding
from hashcart.networks.bluesky.xrpc import BlueskyError, BlueskyUnreachable, Xrpc, XrpcError
from hashcart.ports import SealedSessions
from hashcart.secretbox import SecretBox, UnreadableSecret

log = logging.getLogger(__name__)

# An access token this close to its expiry is refreshed before use rather than after a 401.
REFRESH_MARGIN = timedelta(seconds=60)


class LoginRefused(BlueskyError):
    """The PDS refused the identifier and app password: nothing works until they change."""


@dataclass(frozen=True)
class Session:
    did: str
    handle: str
    service: str  # the PDS that holds the shop's repository: writes go there
    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)
    # An OAuth session (the shop's account connected from the console): its tokens are
    # DPoP-bound, and the server said when the access token expires.
    dpop: DPoPBinding | None = field(default=None, repr=False, compare=False)
    expires_at: datetime | None = None

    def access_expires_at(self) -> datetime | None:
        """The access token's `exp` (read, not verified: the PDS checks it), if readable."""
        return self.expires_at or _jwt_expiry(self.access_jwt)


class ShopSessions(Protocol):
    """The shop account's session as the sender uses it: an app password's (ShopSession)
    or an OAuth connection's (oauth_session.OAuthShopSession)."""

    clock: Clock

    def current(self) -> Session: ...

    def renew(self, stale: Session) -> Session: ...


class ShopSession:
    """The shop account's current session: loaded, refreshed or created as needed."""

    def __init__(
        self,
        sessions: SealedSessions,
        xrpc: Xrpc,
        clock: Clock,
        *,
        pds_url: str,
        identifier: str,
        password: str,
        box: SecretBox | None,
    ) -> None:
        self.sessions = sessions
        self.xrpc = xrpc
        self.clock = clock
        self.pds_url = pds_url.rstrip("/")
        self.identifier = identifier
        self._password = password
        self.box = box
        # One stored session per account and PDS: changing either in the settings logs in anew.
        self.name = f"bluesky:{identifier}@{self.pds_url}"
        self._session: Session | None = None
        self._lock = threading.Lock()
        if box is None:
            log.warning(
                "token_key is not set: the Bluesky session is kept in memory only, so every "
                "restart logs in again (createSession allows 30 logins in 5 minutes)"
            )

    def current(self) -> Session:
        """A session whose access token is not about to expire. Raises LoginRefused,
        XrpcError (rate-limited) or BlueskyUnreachable."""
        with self._lock:
            session = self._session or self._load()
            if session is None:
                session = self._create()
            elif self._expiring(session):
                session = self._refresh(session)
            self._session = session
            return session

    def renew(self, stale: Session) -> Session:
        """A new session after the PDS refused `stale`'s access token (expired, revoked)."""
        with self._lock:
            if self._session is not None and self._session != stale:
                return self._session  # another caller renewed it meanwhile
            self._session = self._refresh(stale)
            return self._session

    def _expiring(self, session: Session) -> bool:
        expires = session.access_expires_at()
        return expires is not None and expires - REFRESH_MARGIN <= self.clock.now()

    def _create(self) -> Session:
        try:
            answer = self.xrpc.procedure(
                self.pds_url,
                "com.atproto.server.createSession",
                {"identifier": self.identifier, "password": self._password},
            )
        except XrpcError as error:
            if error.status == 401 or error.error == "AuthenticationRequired":
                raise LoginRefused(
                    f"the PDS refused the app password of {self.identifier}: {error.message}"
                ) from None
            raise
        session = self._session_of(answer)
        self._save(session)
        return session

    def _refresh(self, session: Session) -> Session:
        try:
            answer = self.xrpc.procedure(
                session.service, "com.atproto.server.refreshSession", token=session.refresh_jwt
            )
        except XrpcError as error:
            if error.rate_limited or error.status >= 500:
                raise
            # The refresh token expired or was revoked: log in again.
            return self._create()
        refreshed = self._session_of(answer, fallback=session.service)
        self._save(refreshed)
        return refreshed

    def _session_of(self, answer: dict[str, Any], fallback: str | None = None) -> Session:
        values = [answer.get(key) for key in ("did", "handle", "accessJwt", "refreshJwt")]
        if not all(isinstance(value, str) and value for value in values):
            raise BlueskyUnreachable("the PDS answered a session without its tokens")
        did, handle, access, refresh = (str(value) for value in values)
        service = _pds_of(answer.get("didDoc"), did) or fallback or self.pds_url
        return Session(did, handle, service, access, refresh)

    def _load(self) -> Session | None:
        if self.box is None:
            return None
        sealed = self.sessions.read(self.name)
        if sealed is None:
            return None
        try:
            stored = self.box.open(sealed)
            return Session(
                did=stored["did"],
                handle=stored["handle"],
                service=stored["service"],
                access_jwt=stored["access_jwt"],
                refresh_jwt=stored["refresh_jwt"],
            )
        except (UnreadableSecret, KeyError, TypeError):
            log.warning("the stored Bluesky session cannot be read (token_key changed?)")
            return None

    def _save(self, session: Session) -> None:
        if self.box is None:
            return
        sealed = self.box.seal(
            {
                "did": session.did,
                "handle": session.handle,
                "service": session.service,
                "access_jwt": session.access_jwt,
                "refresh_jwt": session.refresh_jwt,
            }
        )
        self.sessions.keep(self.name, sealed)


def _pds_of(document: object, did: str) -> str | None:
    """The `#atproto_pds` endpoint of the DID document createSession may include (an
    entryway such as bsky.social answers for many PDSes: writes go to the account's own)."""
    if not isinstance(document, dict) or document.get("id") != did:
        return None
    for service in document.get("service") or ():
        if (
            isinstance(service, dict)
            and service.get("id") in ("#atproto_pds", f"{did}#atproto_pds")
            and isinstance(service.get("serviceEndpoint"), str)
            and service["serviceEndpoint"].startswith(("https://", "http://"))
        ):
            return str(service["serviceEndpoint"]).rstrip("/")
    return None


def _jwt_expiry(token: str) -> datetime | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        return None
