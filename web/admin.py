"""The admin screen `/admin` (issue 11 §5): users and roles, embed keys, screen keys and imports
in four tabs. Admins see every tab; data stewards only the imports tab. The page holds no data:
its scripts call `/api/admin/…` and `/api/imports…` with the logged-in user's token and show the
login prompt (anonymous) or a refusal (other roles) from `/api/auth/me` and the API's 401/403."""

from __future__ import annotations

from typing import Any

from geo.ingest.scoping import SCOPED_TABLES
from geo.ingest.spec import KINDS, SPECS
from web.i18n_admin import admin_strings, kind_names, reason_texts
from web.pages import routes
from web.render import render

ROLES = ("member", "leader", "planner", "steward", "admin")
ACCEPT = ".csv,.txt,.tsv,.xlsx,.xlsm,.geojson,.json,.gpkg,.zip"  # POST /api/imports' SUFFIXES


def _kinds(lang: str) -> list[dict[str, Any]]:
    """The import kinds with their names; `scoped`: a steward bound to an organisation may
    import it (geo.ingest.scoping)."""
    names = kind_names(lang)
    return [
        {"id": k, "title": names.get(k, k), "scoped": SPECS[k].table in SCOPED_TABLES}
        for k in KINDS
    ]


def _max_upload_mb(app: Any) -> int:
    settings = getattr(app.state, "settings", None)
    return int(settings.api.max_upload_mb) if settings is not None else 50


def admin_page(app: Any, lang: str) -> str:
    """HTML of `/admin` in the page language."""
    a = admin_strings(lang)
    roles = [{"id": r, "title": a[f"role_{r}"]} for r in ROLES]
    kinds = _kinds(lang)
    mb = _max_upload_mb(app)
    config = {
        "a": a,
        "roles": roles,
        "routes": routes(app),
        "kinds": kinds,
        "reasons": reason_texts(lang),
        "max_upload_mb": mb,
    }
    return render(
        "admin.html",
        "admin",
        lang,
        config,
        a=a,
        roles=roles,
        kinds=kinds,
        mb=str(mb),
        accept=ACCEPT,
    )
