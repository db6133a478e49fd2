"""The page `/screen` (issue 13 §5): the big screen, or with kiosk=1 the touch kiosk. Its map is
the public 3D district (tiles need no login); its figures come from GET /api/screen with the key
and live from GET /api/screen/events."""

from __future__ import annotations

from geo.screen.keys import ScreenKey
from web.catalog import page_layers
from web.decks import View, map_deck
from web.i18n import strings
from web.i18n_screen import screen_strings
from web.pages import PageRequest, _basemap, _config, _view, sources
from web.render import render, script_json

TOUR_PITCH = 55.0
TOUR_ZOOM_IN = 0.4


async def screen_page(
    pr: PageRequest, key: ScreenKey | None, key_text: str, kiosk: bool
) -> tuple[str, int]:
    """The page and its status: 403 with a refusal when the key is unknown or revoked."""
    t = strings(pr.lang) | screen_strings(pr.lang)
    if key is None:
        title, body = t["screen_refused"], t["screen_refused_body"]
        return render("refused.html", "screen", pr.lang, {}, title=title, message=body), 403
    src = await sources(pr)
    base = await _view(pr)
    view = View(base.lon, base.lat, base.zoom + TOUR_ZOOM_IN, TOUR_PITCH, base.bearing)
    public = [p for p in page_layers("public") if p.public]
    spec = map_deck(public, view, pr.lang, src, _basemap(pr), page="leader")  # its public layers
    screen = {"key": key_text, "kiosk": kiosk, "name": key.name}
    config = _config(pr, spec, src, screen=screen) | {"t": t}
    html = render("screen.html", "screen", pr.lang, config, s=t, kiosk=kiosk)
    return html.replace('"__DECK__"', script_json(spec.to_json()), 1), 200
