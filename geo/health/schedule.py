"""The daily reminders run inside the server: at `DJMAP_REMINDERS_AT` (HH:MM, Beijing time,
default 07:30; `off` turns it off) each process wakes, and the run's advisory lock lets one of
them work while the others wait and then find nothing to do (runs are idempotent). The CLI
(`djmap reminders run`) is for cron."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, time, timedelta

import asyncpg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.db import pool as gpool
from geo.health import clock, reminders

log = logging.getLogger("djmap.reminders")
RETRY_S = 300.0  # a run the database refused is tried again this much later (same day)


class ReminderSettings(BaseSettings):
    """When the server runs the reminders."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_", extra="ignore")

    reminders_at: str = Field(
        default="07:30",
        pattern=r"^(off|([01]\d|2[0-3]):[0-5]\d)$",
        description="daily time of the reminders run (HH:MM, Asia/Shanghai), or off",
    )

    @property
    def at(self) -> time | None:
        """The time of day, None when off."""
        if self.reminders_at == "off":
            return None
        hour, minute = self.reminders_at.split(":")
        return time(int(hour), int(minute))


def next_run(now: datetime, at: time) -> datetime:
    """The next moment at `at` (Beijing) strictly after `now` (an aware datetime)."""
    local = now.astimezone(clock.TZ)
    target = datetime.combine(local.date(), at, clock.TZ)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), at, clock.TZ)
    return target


class ReminderScheduler:
    """Runs the reminders daily (see the module docstring)."""

    def __init__(self, pool: asyncpg.Pool, at: time) -> None:
        self.pool, self.at = pool, at
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the daily loop."""
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            now = datetime.now(clock.TZ)
            await asyncio.sleep((next_run(now, self.at) - now).total_seconds())
            await self.run_once()

    async def run_once(self) -> None:
        """One run for today; a database outage is logged and retried later the same day."""
        for _ in range(3):
            try:
                async with self.pool.acquire() as conn:
                    result = await reminders.run(conn, clock.today())
                self.runs += 1
                log.info(
                    "reminders %s: %d created, %d withdrawn",
                    result.day,
                    result.created,
                    result.withdrawn,
                )
                return
            except Exception as exc:
                if gpool.as_unavailable(exc) is None:
                    log.exception("the reminders run failed")
                    return
                await asyncio.sleep(RETRY_S)

    async def close(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
