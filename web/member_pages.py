"""The member's phone pages of the check-in loop: `/checkin` (a member's phone opens it from the
activity's QR code; the organiser opens `/checkin?activity=<id>` to show that code and to scan
member cards) and `/card` (the member card: branch, registrations, attendance, a rotating QR)."""

from __future__ import annotations

from web.pages import PageRequest, routes
from web.render import render


def checkin_page(pr: PageRequest) -> str:
    """HTML of `/checkin`."""
    return render("checkin.html", "checkin", pr.lang, {"routes": routes(pr.app)})


def card_page(pr: PageRequest) -> str:
    """HTML of `/card`."""
    return render("card.html", "card", pr.lang, {"routes": routes(pr.app)})
