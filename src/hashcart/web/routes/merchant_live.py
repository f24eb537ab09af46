"""Merchant: the live view (triggers and cart adds per minute, as a chart)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
