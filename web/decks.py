"""The pydeck `Deck` of each page, built from the layers (web/catalog.py) and serialised with
`to_json()`: which pages draw a layer, from where and how, is the layer's own style."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pydeck as pdk

from web.basemaps import Basemap, raster_layers
from web.catalog import PageLayer
from web.i18n_basemap import text

# Loaders run on the main thread: no worker script is ever fetched (from a CDN or anywhere).
LOAD_OPTIONS: dict[str, Any] = {
    "worker": False,
    "mvt": {"workerUrl": None},
    "fetch": {"credentials": "same-origin"},
}
DEFAULT_BOUNDS = (120.10, 30.22, 120.20, 30.30)  # Hangzhou, only when the database is empty


@dataclass(frozen=True)
class Sources:
    """Which data routes the running app has (pages degrade gracefully without them)."""

    mvt: bool = False
    tiles3d: bool = False
    terrain: dict[str, Any] | None = None  # TileJSON digest: url, bounds, minzoom, maxzoom
    heatmap: bool = False
    features: bool = False  # OGC API Features (the boundary is drawn from it: one small layer)
    edge: str | None = None  # PMTiles archives of the public layers (DJMAP_PUBLIC_TILES_BASE)


@dataclass(frozen=True)
class View:
    """Camera: centre, zoom, pitch, bearing."""

    lon: float
    lat: float
    zoom: float = 13.5
    pitch: float = 50.0
    bearing: float = -15.0

    def state(self) -> pdk.ViewState:
        """As a pydeck ViewState."""
        return pdk.ViewState(
            longitude=self.lon,
            latitude=self.lat,
            zoom=self.zoom,
            pitch=self.pitch,
            bearing=self.bearing,
            max_pitch=75,
            min_zoom=3,
            max_zoom=20,
        )


@dataclass
class DeckSpec:
    """A page's deck plus what the page script needs to drive it."""

    deck: pdk.Deck
    layers: list[dict[str, Any]] = field(default_factory=list)
    scope_org: int | None = None  # a bound caller's organisation: the rest is drawn dimmed

    def to_json(self) -> str:
        """The page document: pydeck's deck JSON plus the layer panel entries (and the
        organisation whose subtree is the caller's own, when bound to one)."""
        body = json.loads(self.deck.to_json())
        body["layers"] = [_literal_strings(layer) for layer in body.get("layers", [])]
        body["djmap"] = {"layers": self.layers}
        if self.scope_org is not None:
            body["djmap"]["scope_org"] = self.scope_org
        return json.dumps(body, ensure_ascii=False)


def _literal_strings(layer: dict[str, Any]) -> dict[str, Any]:
    """pydeck turns every string prop into an `@@=` expression; only accessors (get*) are."""
    out: dict[str, Any] = {}
    for key, value in layer.items():
        # pydeck would read `elevation_data` as a local image file; it is a tile URL template.
        key = "elevationData" if key == "elevationUrl" else key
        if isinstance(value, str) and value.startswith("@@=") and not key.startswith("get"):
            value = value[3:]
        out[key] = value
    return out


def view_of(bounds: tuple[float, float, float, float] | None, width_px: int = 1200) -> View:
    """A view that frames the bounds (the district when there is one)."""
    w, s, e, n = bounds or DEFAULT_BOUNDS
    span = max(e - w, (n - s) * 1.3, 1e-4)
    zoom = math.log2(360.0 * width_px / 256.0 / span) - 0.8  # room for the panels and pitch
    return View(lon=(w + e) / 2, lat=(s + n) / 2, zoom=round(min(max(zoom, 3.0), 17.0), 2))


def _vector(pl: PageLayer, sources: Sources, **extra: Any) -> pdk.Layer | None:
    """A catalog layer drawn from its vector tiles (left out while the tile route is missing)."""
    if not sources.mvt:
        return None
    if sources.edge and pl.public:  # read from the layer's archive (web/src/pmtiles_source.js)
        extra = {
            "fetch": {"@@function": "edgeFetch", "base": sources.edge, "layer": pl.id},
            **extra,
        }
    return pdk.Layer(
        "MVTLayer",
        id=pl.id,
        data=f"/api/tiles/{pl.id}/tilejson.json",
        binary=False,
        load_options=LOAD_OPTIONS,
        unique_id_property="id",
        **{**pl.deck, **extra},
    )


def _threed(pl: PageLayer) -> pdk.Layer:
    """The layer drawn in 3D from its 3D Tiles tileset."""
    return pdk.Layer(
        "Tile3DLayer",
        id=f"{pl.id}_3d",
        data=pl.threed,
        load_options={**LOAD_OPTIONS, "3d-tiles": {"loadGLTF": True}},
        pickable=True,
        point_size=2,
    )


def _terrain(tj: dict[str, Any]) -> pdk.Layer:
    # pydeck reads a string ending in ".png" as a local image file: keep a query mark after it.
    url = tj["url"] if "?" in tj["url"] else tj["url"] + "?"
    return pdk.Layer(
        "TerrainLayer",
        id="terrain",
        elevation_url=url,
        extent=tj["bounds"],
        min_zoom=tj["minzoom"],
        elevation_decoder={
            "rScaler": 6553.6,
            "gScaler": 25.6,
            "bScaler": 0.1,
            "offset": -10000,  # true heights: the 3D Tiles stand on the same DEM
        },
        texture=None,
        color=[242, 240, 234],
        mesh_max_error=4,
        load_options=LOAD_OPTIONS,
        max_zoom=tj["maxzoom"],
        operation="terrain+draw",
    )


def _heat(pl: PageLayer, lang: str = "zh-CN") -> pdk.Layer:
    """Published H3 heat cells (counts of at least 10) from /api/heatmap/{metric}, the cell size
    following the zoom and clipped to the district (web/src/basemap_heat.js)."""
    return pdk.Layer(
        "ZoomHeatLayer",
        id=pl.id,
        url=f"/api/heatmap/{pl.heat_metric}",
        ramp=pl.ramp,
        domain=[10, 80],
        mask_id=MASK_ID,
        empty_text=text(lang, "layer_empty").format(layer=pl.title(lang)),
        opacity=0.75,
        pickable=True,
        load_options=LOAD_OPTIONS,  # the page adds the caller's token to it
    )


MASK_ID = "district_mask"
LABEL_FONT = "djmap-cjk, sans-serif"
TEXT_SIZES = {"street": 16, "organisation": 14, "service_point": 13, "road": 12}


def _mask(pl: PageLayer) -> pdk.Layer:
    """The district's outline as a mask (heat is drawn inside it only)."""
    return pdk.Layer(
        "GeoJsonLayer",
        id=MASK_ID,
        data=f"/api/collections/{pl.id}/items?limit=1000&level=district",
        operation="mask",
    )


def _labels(pl: PageLayer, sources: Sources) -> pdk.Layer | None:
    """The basemap's names as text points of the layer's tiles: the self-served CJK font,
    a white halo, CollisionFilterExtension keeping the higher `rank` where labels meet, and each
    tile drawing only the names whose `minzoom` its zoom reaches."""
    if not sources.mvt:
        return None
    return pdk.Layer(
        "MVTLayer",
        id=pl.id,
        data=f"/api/tiles/{pl.id}/tilejson.json",
        binary=False,
        load_options=LOAD_OPTIONS,
        unique_id_property="id",
        point_type="text",
        get_text={"@@function": "field", "field": "name"},
        get_text_color=pl.deck.get("get_fill_color", [40, 40, 40, 255]),
        get_text_size={"@@function": "colorBy", "field": "kind", "map": TEXT_SIZES, "fallback": 12},
        text_size_units="pixels",
        text_font_family=LABEL_FONT,
        text_character_set="auto",
        text_font_settings={"sdf": True, "fontSize": 48, "buffer": 6},
        text_outline_width=4,
        text_outline_color=[255, 255, 255, 235],
        text_billboard=True,
        extensions=[{"@@type": "CollisionFilterExtension"}],
        collision_group="labels",
        collision_test_props={"sizeScale": 2},
        get_collision_priority={"@@function": "numberOf", "field": "rank"},
        render_sub_layers={"@@function": "fromZoom", "field": "minzoom"},  # thinned by zoom
        parameters=OVER_TERRAIN,
        pickable=False,
    )


def _drawn_3d(pl: PageLayer, sources: Sources, flat: bool) -> bool:
    return bool(pl.threed) and sources.tiles3d and not flat


def _panel_entry(pl: PageLayer, lang: str, visible: bool, deck_id: str) -> dict[str, Any]:
    """The page script's entry: title, legend, and what the layer panel and clicks need."""
    return {
        "id": pl.id,
        "deck_id": deck_id,
        "title": pl.title(lang),
        "visible": visible,
        "tooltip": pl.tooltip,
        "filters": list(pl.filters),
        "time": pl.time,
        "card": pl.card,
        "org_field": pl.org_field,
        "raster_hides": pl.raster_hides,
        "legend": [
            {"color": c, "label": (en if lang == "en" else zh) or None} for c, zh, en in pl.legend
        ],
    }


# Drawn over the terrain surface rather than hidden in it (points, lines, the boundary).
OVER_TERRAIN = {"depthCompare": "always", "depthWriteEnabled": False}


def _catalog_layer(
    pl: PageLayer, sources: Sources, flat: bool = False, lang: str = "zh-CN"
) -> pdk.Layer | None:
    extra: dict[str, Any] = {}
    if (sources.terrain and not flat and pl.over_terrain) or pl.geometry == "point":
        extra["parameters"] = OVER_TERRAIN  # markers stay visible over the 3D buildings
    if pl.draw == "labels":
        return _labels(pl, sources)
    if pl.draw == "features" and sources.features:
        return pdk.Layer(
            "GeoJsonLayer",
            id=pl.id,
            data=f"/api/collections/{pl.id}/items?limit=1000",
            **{**pl.deck, **extra},
        )
    if pl.draw == "heat":
        return _heat(pl, lang) if sources.heatmap and pl.heat_metric else None
    if _drawn_3d(pl, sources, flat):
        return _threed(pl)  # party buildings baked red; the panel toggle drives it
    layer = _vector(pl, sources, **extra)
    if layer is not None and flat and pl.deck.get("extruded"):
        layer.extruded = False
    return layer


def _on_page(pl: PageLayer, page: str | None, hidden: tuple[str, ...]) -> bool | None:
    """Whether the layer starts visible on the page (None: the page does not draw it)."""
    if page is not None:
        if page not in pl.pages:
            return None
        return pl.pages[page] and pl.id not in hidden
    return pl.id not in hidden


def map_deck(
    catalog: list[PageLayer],
    view: View,
    lang: str,
    sources: Sources,
    basemap: Basemap | None = None,
    hidden: tuple[str, ...] = (),
    only: tuple[str, ...] | None = None,
    flat: bool = False,
    page: str | None = None,
) -> DeckSpec:
    """The deck of a map page: basemap, terrain and the layers, bottom first.

    With `page`, the layers whose style names that page, visible as the style says; `only` and
    `hidden` narrow it further (the embed page's chosen layers)."""
    layers: list[pdk.Layer] = []
    panel: list[dict[str, Any]] = []
    masked: set[str] = set()
    if basemap:
        layers.extend(raster_layers(basemap))  # online tiles under our own basemap (optional)
    if sources.terrain and not flat:
        layers.append(_terrain(sources.terrain))
    for pl in catalog:
        visible = _on_page(pl, page, hidden)
        if visible is None or (only is not None and pl.id not in only):
            continue
        layer = _catalog_layer(pl, sources, flat, lang)
        if layer is None:
            continue
        if (
            pl.draw == "features"
            and "level" in pl.filters
            and sources.features
            and pl.id not in masked
        ):
            layers.append(_mask(pl))  # the district outline the heat is clipped to
            masked.add(pl.id)
        layer.visible = visible
        layers.append(layer)
        panel.append(_panel_entry(pl, lang, visible, str(layer.id)))
    deck = pdk.Deck(
        layers=layers,
        initial_view_state=view.state(),
        views=[pdk.View(type="MapView", controller=True)],
        map_provider=None,
        map_style=None,
    )
    return DeckSpec(deck=deck, layers=panel)
