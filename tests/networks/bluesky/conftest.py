"""Bluesky tests: the real network on loopback (session-wide), and waiting on conditions."""

from __future__ import annotations

from cryptography.fernet import Fernet

DEADLINE_SECONDS = 30
TOKEN_KEY = Fernet.generate_key().decode()
