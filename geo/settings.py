"""Settings of the data layer, read from `DJMAP_` environment variables when asked for."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.cluster_auth import read_password, with_password

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DatabaseSettings(BaseSettings):
    """Where the database is: an external libpq URL, or the embedded cluster under `.djmap/`."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="libpq URL (postgresql://user[:password]@host:port/dbname); unset = embedded",
    )
    listen_url: str | None = Field(
        default=None,
        description="libpq URL straight to PostgreSQL (a session) for what needs one behind "
        "pgbouncer in transaction mode: LISTEN (the version tracker, the event hub), the live "
        "worker's advisory lock and the derived builds (session locks); unset = the database URL",
    )
    home: Path = Field(
        default=PROJECT_ROOT / ".djmap",
        description="folder of the embedded cluster, built tiles and uploads",
    )
    db_port: int = Field(default=54329, ge=1024, le=65535, description="embedded cluster port")
    db_name: str = Field(default="djmap", description="embedded database name")
    db_user: str = Field(default="postgres", description="embedded cluster superuser")
    pool_min: int = Field(default=2, ge=1)
    pool_max: int = Field(default=16, ge=1)
    replica_urls: str = Field(
        default="",
        description="comma-separated libpq URLs of streaming replicas that take reads (tiles, "
        "features, nearest, heat, page data); empty = every read on the primary",
    )
    replica_max_lag_s: float = Field(
        default=5.0, gt=0, le=3600, description="a replica further behind leaves the rotation"
    )
    replica_wait_ms: int = Field(
        default=200,
        ge=0,
        le=10_000,
        description="how long a read that needs newer data waits for a replica's replay before "
        "it goes to the primary",
    )
    replica_check_s: float = Field(
        default=1.0, gt=0, le=60, description="how often each replica's state and lag are checked"
    )
    statement_cache: int = Field(
        default=100,
        ge=0,
        le=10_000,
        description="asyncpg's prepared statement cache per connection; 0 behind pgbouncer in "
        "transaction mode (Debian 12's pgbouncer 1.18 has no max_prepared_statements)",
    )

    @field_validator("database_url", "listen_url")
    @classmethod
    def _plain_libpq(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "DJMAP_DATABASE_URL and DJMAP_LISTEN_URL must be libpq URLs: "
                "postgresql://user@host:port/db"
            )
        return value

    @field_validator("replica_urls")
    @classmethod
    def _replica_list(cls, value: str) -> str:
        for url in filter(None, (u.strip() for u in value.split(","))):
            if not url.startswith(("postgresql://", "postgres://")):
                raise ValueError(
                    "DJMAP_REPLICA_URLS lists libpq URLs: postgresql://user@host:port/db"
                )
        return value

    @property
    def replicas(self) -> tuple[str, ...]:
        """The replicas' URLs (none: every read goes to the primary)."""
        return tuple(filter(None, (u.strip() for u in self.replica_urls.split(","))))

    @property
    def embedded(self) -> bool:
        """True when djmap runs its own cluster."""
        return self.database_url is None

    @property
    def url(self) -> str:
        """The libpq URL in use (the embedded cluster's carries its generated password)."""
        if self.database_url:
            return self.database_url
        base = f"postgresql://{self.db_user}@127.0.0.1:{self.db_port}/{self.db_name}"
        return with_password(base, read_password(self.home))

    @property
    def session_url(self) -> str:
        """The URL of session connections (DJMAP_LISTEN_URL, else the database URL)."""
        return self.listen_url or self.url

    @property
    def sqlalchemy_url(self) -> str:
        """The same URL for SQLAlchemy's psycopg 3 dialect."""
        return "postgresql+psycopg://" + self.url.split("://", 1)[1]


def get_db_settings() -> DatabaseSettings:
    """Read database settings from the environment now (never at import time)."""
    return DatabaseSettings()
