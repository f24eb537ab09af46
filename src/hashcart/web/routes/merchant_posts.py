"""Merchant: shoppable posts with their funnel, per network, sortable, as CSV."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
