"""Page rendering: Jinja2 templates in web/templates with the page config handed to the scripts."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.i18n import strings, vocab

WEB = Path(__file__).resolve().parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def script_json(value: Any) -> str:
    """JSON safe to place inside a <script> element."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def asset_version() -> str:
    """A token that changes when the built assets change (cache-busting query string)."""
    stamp = STATIC / "dist" / "deck.js"
    return str(int(stamp.stat().st_mtime)) if stamp.exists() else "0"


def render(template: str, page: str, lang: str, config: dict[str, Any], **extra: Any) -> str:
    """Render a page: its strings, its config (JSON for the page script) and extra values."""
    t = strings(lang)
    config = {"page": page, "lang": lang, "t": t, "vocab": vocab(lang), **config}
    return (
        _env()
        .get_template(template)
        .render(
            page=page,
            lang=lang,
            t=t,
            config=script_json(config),
            v=asset_version(),
            **extra,
        )
    )
