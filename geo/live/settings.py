"""Settings of the live stream and the webhooks (`DJMAP_EVENTS_` prefix)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LiveSettings(BaseSettings):
    """How the event stream, its housekeeping and the webhook deliveries behave."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_EVENTS_", extra="ignore")

    heartbeat_s: float = Field(
        default=15.0, gt=0, le=300, description="a comment line this often on an idle stream"
    )
    queue: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="events waiting per client; a client further behind gets `event: reset`",
    )
    settle_s: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="longest wait for an open transaction that holds a smaller event id",
    )
    worker: str = Field(
        default="on",
        pattern="^(on|off)$",
        description="on: this process may be the one that emits data.changed, prunes events "
        "and delivers webhooks (one process at a time, by advisory lock)",
    )
    lock_retry_s: float = Field(
        default=5.0, gt=0, le=600, description="a process without the worker lock asks this often"
    )
    prune_every_s: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        description="events older than 48 h (and finished webhook deliveries older than "
        "`webhook_keep_days`) are deleted this often",
    )
    webhook_keep_days: int = Field(
        default=7,
        ge=3,  # longer than the events' 48 h (geo/live/webhook_prune.sql says why)
        le=3650,
        description="finished webhook deliveries (delivered or failed) are deleted this many "
        "days after their last attempt, on the events' prune schedule; pending ones stay",
    )
    webhook_backoff_s: tuple[float, ...] = Field(
        default=(1.0, 5.0, 30.0, 120.0, 600.0),
        description="waits before each retry of a failed delivery; then it is failed",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="one delivery attempt's time limit"
    )
