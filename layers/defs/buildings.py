"""Building footprints with heights (3D: /api/3dtiles/buildings/tileset.json)."""

from layers.base import Aggregation, Field, Filter, Layer
from layers.style import GREY, RED, Legend, Style, frozen

LAYER = Layer(
    id="buildings",
    title_zh="建筑",
    title_en="Buildings",
    table="buildings",
    geom_column="geom",
    geom_type="MultiPolygon",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="代码", title_en="Code"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("use", "t.use", title_zh="用途", title_en="Use"),
        Field("height_m", "t.height_m", "number", title_zh="高度", title_en="Height (m)"),
        Field("floors", "t.floors", "integer", title_zh="层数", title_en="Floors"),
        Field(
            "has_org",
            "EXISTS (SELECT 1 FROM organisations o WHERE o.building_id = t.id)",
            "boolean",
            title_zh="驻有党组织",
            title_en="Hosts a party organisation",
        ),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="cluster", cluster_below=13, breakdown="use"),
    filters=(Filter("use", "str", "t.use = {value}", "building use", field="use"),),
    version_tables=("buildings", "organisations"),
    description="Building footprints with heights (3D: /api/3dtiles/buildings/tileset.json).",
    style=Style(
        deck_type="GeoJsonLayer",
        color_field="has_org",
        colors=frozen(true=RED, false=GREY),
        default_color=GREY,
        legend=(
            Legend(RED, "有党组织的建筑", "Building with a party organisation"),
            Legend(GREY, "其他建筑", "Other building"),
        ),
        tooltip="{name}<br/>{use} · {height_m} m",
        hints=frozen(extruded=True, elevation_field="height_m"),
        props=frozen(
            filled=True,
            stroked=False,
            extruded=True,
            material={"ambient": 0.45, "diffuse": 0.6, "shininess": 24},
            pickable=True,
        ),
        stack=2,
        pages=frozen(leader=True, nearest=True, coverage=True),
        threed="/api/3dtiles/buildings/tileset.json",
    ),
)
