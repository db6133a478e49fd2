"""Settings of the HTTP service (`DJMAP_` prefix), split from the database settings in `geo/`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.settings import DatabaseSettings


class ApiSettings(BaseSettings):
    """How the service behaves: host, port, cache, CORS, secrets."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="address `djmap serve` binds")
    port: int = Field(default=8000, ge=1, le=65535, description="port `djmap serve` binds")
    tile_cache: str = Field(default="on", pattern="^(on|off)$", description="off = cold tiles")
    tile_freshness: str = Field(
        default="strict",
        pattern="^(strict|notify)$",
        description="strict: data versions read per request (coalesced); notify: kept by LISTEN/NOTIFY",
    )
    cors_origins: list[str] = Field(default_factory=list, description="explicit CORS allowlist")
    secret_key: str | None = Field(default=None, description="JWT signing key (required off local)")
    env: str = Field(
        default="local",
        description="deployment: local | production (production refuses to start without DJMAP_SECRET_KEY)",
    )
    token_minutes: int = Field(default=720, ge=1, le=43200, description="JWT lifetime (minutes)")
    max_upload_mb: int = Field(default=50, ge=1, le=2048, description="POST /api/imports size cap")


class Settings:
    """Everything the app factory needs, passed in (tests build their own)."""

    def __init__(self, db: DatabaseSettings | None = None, api: ApiSettings | None = None) -> None:
        self.db = db or DatabaseSettings()
        self.api = api or ApiSettings()
