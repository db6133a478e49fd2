"""The optional online basemaps (issue 11 §1): off by default, 天地图 (Tianditu, with a key), OSM,
高德 (Gaode/Amap, GCJ-02 tiles) or a custom XYZ template (a company tile server).

Off, the pages draw only our own basemap and no request leaves the server. On, the map pages
draw the provider's raster tiles under our own layers (deck.gl TileLayer + BitmapLayer, placed by
web/src/basemap_online.js), show its attribution, and their CSP gains exactly its tile hosts.
Tianditu (CGCS2000) and OSM are WGS84 to well under a metre; Gaode tiles are GCJ-02 and are
chosen and placed through the GCJ-02 transform in the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pydeck as pdk

from web.i18n_basemap import text
from web.settings import WebSettings

RASTER_IDS = ("basemap", "basemap_labels")  # deck ids of the raster layers, bottom first
_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)
_GAODE = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
_OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
# 审图号 of 天地图's current edition (shown on tianditu.gov.cn; DJMAP_BASEMAP_REVIEW_NO replaces it).
TIANDITU_REVIEW_NO = "GS(2025)1508号"
LINKS = {
    "osm": "https://www.openstreetmap.org/copyright",
    "tianditu": "https://www.tianditu.gov.cn/",
    "gaode": "https://www.amap.com/",
}


@dataclass(frozen=True)
class Basemap:
    """An online raster basemap: URL templates (bottom first; `{s}` takes each subdomain),
    datum of its tiles, attribution. No URL: off (the default)."""

    url: str | None = None
    crs: str = "wgs84"
    attribution: str = ""
    provider: str = "custom"
    subdomains: str = ""
    labels_url: str | None = None  # a second raster drawn over the first (Tianditu's cva_w)
    max_zoom: int = 19
    link: str = ""
    attribution_en: str = ""

    @property
    def on(self) -> bool:
        """Whether an online basemap is drawn at all."""
        return bool(self.url)

    def templates(self) -> list[tuple[str, list[str]]]:
        """(deck id, URL templates one per subdomain) of each raster, bottom first."""
        out: list[tuple[str, list[str]]] = []
        for deck_id, url in zip(RASTER_IDS, (self.url, self.labels_url), strict=True):
            if url:
                subs = list(self.subdomains) if "{s}" in url else [""]
                out.append((deck_id, [url.replace("{s}", s) for s in subs]))
        return out

    def hosts(self) -> tuple[str, ...]:
        """The origins the pages fetch tiles from (for the CSP), each once, in order."""
        found: list[str] = []
        for _, urls in self.templates():
            for url in urls:
                parts = urlsplit(url)
                origin = f"{parts.scheme}://{parts.netloc}"
                if parts.scheme in ("http", "https") and parts.netloc and origin not in found:
                    found.append(origin)
        return tuple(found)

    def page_config(self, lang: str) -> dict[str, Any]:
        """What the page script needs: on, datum, attribution, the raster layers' ids."""
        if not self.on:
            return {"on": False}
        return {
            "on": self.on,
            "provider": self.provider,
            "crs": self.crs,
            "attribution": (self.attribution_en if lang == "en" else "") or self.attribution,
            "link": self.link,
            "layers": [deck_id for deck_id, _ in self.templates()],
            "switch": text(lang, "online_basemap"),
        }


def _credit(ws: WebSettings, provider: str, lang: str) -> str:
    """The attribution the provider asks for (DJMAP_BASEMAP_ATTRIBUTION replaces it)."""
    if ws.basemap_attribution:
        return ws.basemap_attribution
    review = ws.basemap_review_no or (TIANDITU_REVIEW_NO if provider == "tianditu" else "")
    credit = text(lang, f"credit_{provider}") if provider != "custom" else ""
    return credit + (text(lang, "review_no").format(no=review) if review and credit else "")


def basemap_of(ws: WebSettings) -> Basemap:
    """The online basemap the settings choose (off unless DJMAP_BASEMAP or DJMAP_BASEMAP_URL)."""
    provider = ws.basemap_choice()
    if provider == "none":
        return Basemap()
    common: dict[str, Any] = {
        "provider": provider,
        "attribution": _credit(ws, provider, "zh-CN"),
        "attribution_en": _credit(ws, provider, "en"),
        "link": LINKS.get(provider, ""),
    }
    mirror = ws.basemap_template()
    if provider == "tianditu":
        tdt = _TIANDITU.replace("{key}", ws.tianditu_key)
        return Basemap(
            url=tdt.replace("{layer}", "vec"),
            labels_url=tdt.replace("{layer}", "cva"),
            subdomains="01234567",
            max_zoom=18,
            **common,
        )
    if provider == "osm":
        return Basemap(url=mirror or _OSM, subdomains=ws.basemap_subdomains, **common)
    if provider == "gaode":
        subs = ws.basemap_subdomains if mirror else "1234"
        return Basemap(url=mirror or _GAODE, crs="gcj02", subdomains=subs, max_zoom=18, **common)
    return Basemap(url=mirror, crs=ws.basemap_crs, subdomains=ws.basemap_subdomains, **common)


# Tile fetches send only this page's origin as Referer (Tianditu's browser keys are bound to a
# site; OSM asks for one) and no cookies; the page's own policy stays same-origin.
TILE_FETCH = {"fetch": {"referrerPolicy": "strict-origin", "credentials": "omit"}}


def raster_layers(basemap: Basemap) -> list[pdk.Layer]:
    """The basemap's TileLayers, bottom first (none when off); the page adds the BitmapLayers
    that place each tile (web/src/basemap_online.js)."""
    return [
        pdk.Layer(
            "TileLayer",
            id=deck_id,
            data=urls,
            min_zoom=0,
            max_zoom=basemap.max_zoom,
            tile_size=256,
            gcj02=basemap.crs == "gcj02",
            load_options=TILE_FETCH,
            pickable=False,
        )
        for deck_id, urls in basemap.templates()
    ]
