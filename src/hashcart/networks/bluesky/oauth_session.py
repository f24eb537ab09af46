"""The shop's Bluesky account connected by OAuth from the console (issue 14), as the sender
uses it: DPoP-bound tokens sealed in `network_sessions` under OAUTH_SESSION, refreshed at
the authorization server before they expire (or after the PDS refused one), the rotated
pair kept sealed again. It stands where the app password's ShopSession stands."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from hashcart.clock import Clock
from hashcart.networks.bluesky.connect import SESSION as OAUTH_SESSION
from hashcart.networks.bluesky.dpop import DPoPBinding, DPoPKey
from hashcart.networks.bluesky.oauth import BlueskyOAuth
from hashcart.networks.bluesky.session import REFRESH_MARGIN, LoginRefused, Session
from hashcart.ports import OAuthFailed, SealedSessions
from hashcart.secretbox import SecretBox, UnreadableSecret

log = logging.getLogger(__name__)


class OAuthShopSession:
    def __init__(
        self, sessions: SealedSessions, box: SecretBox, clock: Clock, oauth: BlueskyOAuth
    ) -> None:
        self.sessions = sessions
        self.box = box
        self.clock = clock
        self.oauth = oauth
        self._lock = threading.Lock()
        self._session: Session | None = None

    def current(self) -> Session:
        """The connected session, renewed first when its access token is about to expire.
        LoginRefused when there is none (disconnected) or the server will not renew it."""
        with self._lock:
            session = self._session or self._as_session(self._stored())
            expires = session.access_expires_at()
            if expires is not None and expires - REFRESH_MARGIN <= self.clock.now():
                session = self._refresh()
            self._session = session
            return session

    def renew(self, stale: Session) -> Session:
        """New tokens after the PDS refused `stale`'s access token."""
        with self._lock:
            if self._session is not None and self._session.access_jwt != stale.access_jwt:
                return self._session
            self._session = self._refresh()
            return self._session

    def _stored(self) -> dict[str, Any]:
        sealed = self.sessions.read(OAUTH_SESSION)
        if sealed is None:
            raise LoginRefused("the shop's Bluesky account is not connected any more")
        try:
            return self.box.open(sealed)
        except UnreadableSecret:
            raise LoginRefused(
                "the connected Bluesky account's tokens cannot be read with this token_key: "
                "connect it again on the Networks page"
            ) from None

    def _refresh(self) -> Session:
        stored = self._stored()
        try:
            renewed = self.oauth.refresh(str(stored.get("issuer", "")), stored)
        except OAuthFailed as error:
            raise LoginRefused(
                f"the connected Bluesky account's session could not be renewed ({error}): "
                "connect it again on the Networks page"
            ) from None
        expires_in = renewed.pop("expires_in", None)
        if isinstance(expires_in, int | float):
            renewed["expires_at"] = (self.clock.now() + timedelta(seconds=expires_in)).isoformat()
        self.sessions.keep(OAUTH_SESSION, self.box.seal(renewed))
        return self._as_session(renewed)

    def _as_session(self, stored: dict[str, Any]) -> Session:
        try:
            key = DPoPKey.from_jwk(stored["dpop_key"])
            expires = stored.get("expires_at")
            return Session(
                did=str(stored["did"]),
                handle=str(stored.get("handle") or stored["did"]),
                service=str(stored["pds"]).rstrip("/"),
                access_jwt=str(stored["access_token"]),
                refresh_jwt=str(stored.get("refresh_token") or ""),
                dpop=DPoPBinding(key),
                expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else None,
            )
        except (KeyError, ValueError, OAuthFailed):
            raise LoginRefused(
                "the connected Bluesky account's session is incomplete: connect it again"
            ) from None
