"""Water and green areas of the offline basemap (import kind `landuse`, issue 11 §1)."""

from layers.base import Aggregation, Field, Filter, Layer
from layers.style import LANDUSE, Style, frozen, kind_legend

LAYER = Layer(
    id="landuse",
    title_zh="水域与绿地",
    title_en="Water and green",
    table="landuse",
    geom_column="geom",
    geom_type="MultiPolygon",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("kind", "t.kind", title_zh="类型", title_en="Kind"),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="none", max_features=20_000),
    filters=(Filter("kind", "str", "t.kind = {value}", "land use kind", field="kind"),),
    version_tables=("landuse",),
    description="Water and green areas of the offline basemap (import kind landuse).",
    style=Style(
        deck_type="GeoJsonLayer",
        color_field="kind",
        colors=LANDUSE,
        default_color=LANDUSE["green"],
        legend=kind_legend(LANDUSE),
        tooltip="{name}",
        props=frozen(filled=True, stroked=False, pickable=False),
        stack=-20,
        pages=frozen(leader=True, nearest=True, coverage=True),
        over_terrain=True,
        raster_hides=True,  # an online basemap draws its own water and green
    ),
)
