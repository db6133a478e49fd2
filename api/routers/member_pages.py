"""The member's phone pages: `/checkin` and `/card` (no /api prefix; not in the API document)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.routers.pages import HIDDEN, Caller, Lang, Pool, _html
from web.member_pages import card_page, checkin_page
from web.pages import PageRequest

router = APIRouter()


@router.get("/checkin", **HIDDEN)
async def checkin(request: Request, pool: Pool, who: Caller, lang: Lang = None) -> HTMLResponse:
    """Check in with the code in `?t=`, or (organiser, `?activity=`) show the rotating code."""
    return _html(request, checkin_page(PageRequest(request, pool, who, lang)))


@router.get("/card", **HIDDEN)
async def card(request: Request, pool: Pool, who: Caller, lang: Lang = None) -> HTMLResponse:
    """The member card."""
    return _html(request, card_page(PageRequest(request, pool, who, lang)))
