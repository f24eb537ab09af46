"""The shop account's X user token, kept fresh.

X's OAuth 2.0 access tokens last two hours. With `offline.access` a refresh token gets a new
pair, and X rotates the refresh token each time, so the pair from the last refresh must be kept:
it is stored sealed (SecretBox, `token_key`) in `network_sessions` and wins over the settings'
`x_access_token` / `x_refresh_token` from then on. A refresh needs `x_client_id` (and the
client secret for a confidential client)."""

from __future__ import annotations

import logging
from datetime import timedelta

from hashcart.clock import Clock
from hashcart.config import Settings
from hashcart.networks.x.connect import SESSION as SESSION_NAME
from hashcart.networks.x.oauth import XOAuth
from hashcart.ports import OAuthFailed, OAuthUnavailable, SealedSessions
from hashcart.secretbox import NoTokenKey, SecretBox, UnreadableSecret

log = logging.getLogger(__name__)


class ShopToken:
    def __init__(self, sessions: SealedSessions, settings: Settings, clock: Clock) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock

    def _box(self) -> SecretBox | None:
        try:
            return SecretBox.of(self.settings)
        except NoTokenKey:
            return None

    def _stored(self) -> dict[str, str]:
        box = self._box()
        if box is None:
            return {}
        sealed = self.sessions.read(SESSION_NAME)
        if sealed is None:
            return {}
        try:
            opened = box.open(sealed)
        except UnreadableSecret:
            log.warning("the stored X shop token cannot be read with this token_key")
            return {}
        return {key: str(value) for key, value in opened.items() if isinstance(value, str)}

    def access_token(self) -> str | None:
        """The freshest access token we have: the last refresh's, else the settings'."""
        stored = self._stored().get("access_token")
        if stored:
            return stored
        token = self.settings.x_access_token
        return token.get_secret_value() if token is not None else None

    def refresh(self) -> str | None:
        """A new access token after X rejected ours; None when it cannot be refreshed (no
        refresh token, no client id, no token_key to keep the rotated pair, or X refused)."""
        box = self._box()
        stored = self._stored()
        refresh_token = stored.get("refresh_token") or (
            self.settings.x_refresh_token.get_secret_value()
            if self.settings.x_refresh_token is not None
            else None
        )
        if box is None or not refresh_token:
            return None
        try:
            tokens = XOAuth.from_settings(self.settings).refresh(refresh_token)
        except (OAuthUnavailable, OAuthFailed) as error:
            log.warning("the X shop token could not be refreshed: %s", error)
            return None
        now = self.clock.now()
        sealed = box.seal(
            {
                "access_token": tokens.access_token,
                # X rotates it; keep the old one only if X sent none.
                "refresh_token": tokens.refresh_token or refresh_token,
                "expires_at": (now + timedelta(seconds=tokens.expires_in or 7200)).isoformat(),
            }
        )
        self.sessions.keep(SESSION_NAME, sealed)
        return tokens.access_token
