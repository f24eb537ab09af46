"""Password hashing: Argon2id through pwdlib, with its recommended parameters.

Each Argon2id hash takes 64 MiB and about 0.1 s of CPU, so the web app hashes through
`Passwords`, which lets only a few run at once: sixty parallel sign-ins once took the
server from 104 MB to 1.95 GB. The plain functions below are for the CLI and the demo."""

from __future__ import annotations

import threading
from typing import Protocol

from pwdlib import PasswordHash

from hashcart.errors import HashcartError

_hasher = PasswordHash.recommended()

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # Argon2 takes anything, but a megabyte "password" is an attack.

# How long a request waits for a hashing slot before it is told to come back: about two
# hashes, so a few people signing in at the same moment queue instead of being refused,
# while a flood is answered at once instead of piling up threads.
SLOT_WAIT_SECONDS = 0.25
RETRY_AFTER_SECONDS = 1


class Hasher(Protocol):
    """What `Passwords` needs of a hasher (pwdlib's PasswordHash is one)."""

    def hash(self, password: str, /) -> str: ...

    def verify(self, password: str, hash: str, /) -> bool: ...


class HashingBusy(HashcartError):
    """Every hashing slot is taken: answer 429 with Retry-After, and do not hash."""

    retry_after_seconds = RETRY_AFTER_SECONDS
    message = "Many people are signing in right now. Try again in a moment."


class Passwords:
    """Hashing and checking passwords, at most `concurrency` at a time. A caller that finds
    every slot taken for `wait_seconds` gets HashingBusy instead of waiting its turn."""

    def __init__(
        self,
        hasher: Hasher = _hasher,
        concurrency: int = 2,
        wait_seconds: float = SLOT_WAIT_SECONDS,
    ) -> None:
        self._hasher = hasher
        self._slots = threading.BoundedSemaphore(concurrency)
        self._wait_seconds = wait_seconds

    def _take_slot(self) -> None:
        if not self._slots.acquire(timeout=self._wait_seconds):
            raise HashingBusy

    def hash(self, password: str) -> str:
        self._take_slot()
        try:
            return self._hasher.hash(password)
        finally:
            self._slots.release()

    def verify(self, password: str, password_hash: str | None) -> bool:
        """Whether `password` matches; a missing hash still costs a hash, so timing tells
        nothing."""
        self._take_slot()
        try:
            return _verify(self._hasher, password, password_hash)
        finally:
            self._slots.release()


def _verify(hasher: Hasher, password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        hasher.hash(password)
        return False
    return hasher.verify(password, password_hash)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether `password` matches; a missing hash still costs a hash, so timing tells nothing."""
    return _verify(_hasher, password, password_hash)


def password_problem(password: str) -> str | None:
    """Why `password` may not be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    return None
