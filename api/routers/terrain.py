"""Routes of the terrain area (empty until that work lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
