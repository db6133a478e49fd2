"""A user's reminders (自动提醒, issue 13 §4): `GET /api/me/reminders` (the inbox and the
bell's count) and `POST /api/me/reminders/{id}/read`. New reminders are also pushed on the event
stream (`reminder.created`) and to webhooks."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query

from api.deps import RowId, get_pool
from api.models.errors import errors
from api.models.health import Reminder, Reminders
from api.routers.org_health import Caller
from geo.health import read

router = APIRouter(tags=["organisation health"])
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]


@router.get(
    "/me/reminders",
    summary="The caller's reminders (newest first) and how many are open and unread",
    response_model=Reminders,
    responses=errors((401, "not logged in"), (404, "the account is gone"), 503),
)
async def my_reminders(
    pool: Pool,
    principal: Caller,
    state: Annotated[
        str, Query(pattern="^(open|all)$", description="open (default), or all incl. withdrawn")
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Reminders:
    """A secretary's reminders of their organisation's items: due soon or overdue."""
    async with pool.acquire() as conn:
        body = await read.my_reminders(conn, principal, state == "open", limit)
    return Reminders.model_validate(body)


@router.post(
    "/me/reminders/{reminder_id}/read",
    summary="Mark one of the caller's reminders read",
    response_model=Reminder,
    responses=errors((401, "not logged in"), (404, "no such reminder of the caller's"), 503),
)
async def mark_read(reminder_id: RowId, pool: Pool, principal: Caller) -> Reminder:
    """The reminder, read (marking it again changes nothing)."""
    async with pool.acquire() as conn:
        return Reminder.model_validate(await read.mark_read(conn, principal, reminder_id))
