"""The admin screen `/admin` (issue 11 §5): users and roles, embed keys, screen keys in three
tabs. The page holds no data: its script calls `/api/admin/…` with the logged-in admin's token
and shows the login prompt (anonymous) or a refusal (other roles) from the API's 401 and 403."""

from __future__ import annotations

from typing import Any

from web.i18n_admin import admin_strings
from web.pages import routes
from web.render import render

ROLES = ("member", "leader", "planner", "steward", "admin")


def admin_page(app: Any, lang: str) -> str:
    """HTML of `/admin` in the page language."""
    a = admin_strings(lang)
    roles = [{"id": r, "title": a[f"role_{r}"]} for r in ROLES]
    config = {"a": a, "roles": roles, "routes": routes(app)}
    return render("admin.html", "admin", lang, config, a=a, roles=roles)
