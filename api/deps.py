"""Shared FastAPI dependencies: the pool and the settings kept on app.state."""

from __future__ import annotations

import asyncpg
from fastapi import Request

from api.settings import Settings
from geo.scope import PUBLIC, Principal


def get_pool(request: Request) -> asyncpg.Pool:
    """The asyncpg pool made in the lifespan."""
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_principal(request: Request) -> Principal:
    """The caller (public until the auth work resolves bearer tokens here)."""
    return PUBLIC
