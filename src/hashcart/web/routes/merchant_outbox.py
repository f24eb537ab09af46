"""Merchant: the outbox (queued, sent, failed, retry) and dead-lettered input."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
