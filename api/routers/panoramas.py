"""Routes of the panoramas area (empty until that work lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
