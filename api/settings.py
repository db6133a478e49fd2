"""Settings of the HTTP service (`DJMAP_` prefix), split from the database settings in `geo/`."""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from geo.settings import DatabaseSettings


class ApiSettings(BaseSettings):
    """How the service behaves: host, port, cache, CORS, secrets."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="address `djmap serve` binds")
    port: int = Field(default=8000, ge=1, le=65535, description="port `djmap serve` binds")
    tile_cache: str = Field(default="on", pattern="^(on|off)$", description="off = cold tiles")
    tile_freshness: str = Field(
        default="notify",
        pattern="^(strict|notify)$",
        description="notify: data versions kept by LISTEN/NOTIFY and a heartbeat read under a "
        "50 ms lease; strict: read per request (coalesced)",
    )
    tile_cache_mb: int = Field(
        default=512,
        ge=0,
        le=1_048_576,
        description="disk tile cache bound in MiB (least recently used evicted; 0 = memory only)",
    )
    statement_timeout: float = Field(
        default=5.0, ge=0.1, le=3600, description="seconds a tile or features statement may run"
    )
    analysis_timeout: float = Field(
        default=60.0, ge=0.1, le=3600, description="seconds a coverage or walking statement may run"
    )
    build_timeout: float = Field(
        default=600.0, ge=1, le=86400, description="seconds a cluster or heat table build may run"
    )
    build_watch: str = Field(
        default="on",
        pattern="^(on|off)$",
        description="on: derived builds follow every data change (LISTEN/NOTIFY); off: only "
        "after this app's own writes (imports) and the CLI",
    )
    pool_timeout: float = Field(
        default=2.0, ge=0.05, le=60, description="seconds to wait for a database connection (503)"
    )
    cors_origins: list[str] = Field(default_factory=list, description="explicit CORS allowlist")
    secret_key: str | None = Field(default=None, description="JWT signing key (required off local)")
    env: str = Field(
        default="local",
        description="deployment: local | production (production refuses to start without DJMAP_SECRET_KEY)",
    )
    token_minutes: int = Field(default=720, ge=1, le=43200, description="JWT lifetime (minutes)")
    max_upload_mb: int = Field(default=50, ge=1, le=2048, description="POST /api/imports size cap")
    analysis_slots: int = Field(
        default=2, ge=1, le=64, description="coverage runs at once per process (others wait)"
    )
    analysis_wait_s: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="how long a coverage run waits for a slot (then 503)",
    )
    max_json_kb: int = Field(
        default=256, ge=1, le=65536, description="size cap of request bodies other than uploads"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="proxies whose X-Forwarded-For is believed (IPs or CIDRs; default none)",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        """A JSON list or a comma list of IP addresses or networks, each checked."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if not isinstance(value, list):
            return value
        items = [str(v).strip() for v in value if str(v).strip()]
        for item in items:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return items


class Settings:
    """Everything the app factory needs, passed in (tests build their own)."""

    def __init__(self, db: DatabaseSettings | None = None, api: ApiSettings | None = None) -> None:
        self.db = db or DatabaseSettings()
        self.api = api or ApiSettings()
