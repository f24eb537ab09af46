"""The shopper's account: linked social accounts, one-time link code, notifications, export, delete."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
