"""The shop front at /s/<shop_slug>: the shop's shoppable posts as a store."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
