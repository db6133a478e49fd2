"""Names on the offline basemap: streets, roads, service points, 党委 and 党总支 (issue 11 §1).

Drawn with deck.gl's TextLayer (through the MVT layer's text points) in the self-served CJK font
subset (web/static/fonts), with CollisionFilterExtension: `rank` decides which label stays, and
`minzoom` from which zoom a label is drawn at all (fewer, more important names zoomed out)."""

from layers.base import Aggregation, Field, Layer, sql_beside
from layers.style import LABEL, Style, frozen

LAYER = Layer(
    id="labels",
    title_zh="地名标注",
    title_en="Labels",
    source_sql=sql_beside(__file__, "labels.sql"),
    geom_column="geom",
    geom_type="Point",
    fields=(
        Field("id", "t.id", "integer"),
        Field("name", "t.name", title_zh="名称", title_en="Name"),
        Field("kind", "t.kind", title_zh="类型", title_en="Kind"),
        Field("rank", "t.rank", "integer", title_zh="优先级", title_en="Priority"),
        Field("minzoom", "t.minzoom", "integer", title_zh="起始缩放级别", title_en="From zoom"),
    ),
    minzoom=11,
    maxzoom=22,
    aggregation=Aggregation(method="none", max_features=20_000),
    collection=False,
    version_tables=("districts", "roads", "service_points", "organisations"),
    description="Names of streets, roads, service points and 党委/党总支 for the basemap.",
    style=Style(
        deck_type="TextLayer",
        default_color=LABEL,
        props=frozen(pickable=False),
        stack=50,
        pages=frozen(leader=True, nearest=True, coverage=True),
        draw="labels",
    ),
)
