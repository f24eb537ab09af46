"""Merchant: the catalog (import a feed, list, search, edit price and availability)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
