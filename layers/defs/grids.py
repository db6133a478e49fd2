"""党建网格 (party-building grids, issue 14 §4): public outlines and names, coloured by the share
of their buildings inside the 15-minute circle (geo/planning/grid_coverage.py). Member figures
are the stored published ones (multiples of 10, none under 10) and for leaders and up; the grid
leader (网格长) is named to leaders of the grid's own subtree, never placed. Planners, stewards and
admins write grids through OGC API Features Part 4 (geo/live/writes.py): drawn on /coverage."""

from layers.base import Aggregation, Field, Filter, Layer, RowLink, org_filter, sql_beside
from layers.style import Legend, Style, by_field, frozen

COLORS = frozen(
    good=(46, 139, 87, 90),
    part=(242, 183, 5, 90),
    low=(230, 85, 13, 110),
    none=(160, 160, 160, 60),
)
NAMES = {
    "good": ("覆盖≥90%", "Covered ≥ 90%"),
    "part": ("覆盖50%–90%", "Covered 50-90%"),
    "low": ("覆盖<50%", "Covered < 50%"),
    "none": ("未计算", "Not computed"),
}
LINE = [178, 34, 34, 220]

LAYER = Layer(
    id="grids",
    title_zh="党建网格",
    title_en="Party-building grids",
    source_sql=sql_beside(__file__, "grids.sql"),
    geom_column="geom",
    geom_type="MultiPolygon",
    fields=(
        Field("id", "t.id", "integer"),
        Field("code", "t.code", title_zh="网格编码", title_en="Grid code"),
        Field("name", "t.name", title_zh="网格名称", title_en="Grid name"),
        Field("community", "t.community", title_zh="社区", title_en="Community"),
        Field("org_id", "t.org_id", "integer", title_zh="支部", title_en="Branch"),
        Field("branch", "t.branch", title_zh="支部名称", title_en="Branch name"),
        Field("buildings", "t.buildings", "integer", title_zh="建筑数", title_en="Buildings"),
        Field(
            "buildings_pct",
            "t.buildings_pct::float8",
            "number",
            title_zh="建筑覆盖率",
            title_en="Buildings covered (%)",
        ),
        Field("coverage_class", "t.coverage_class", title_zh="覆盖等级", title_en="Coverage"),
        Field(
            "members",
            "t.members",
            "integer",
            audience="leader",
            title_zh="党员数（取整，不足10不公布）",
            title_en="Members (rounded to 10; none under 10)",
        ),
        Field(
            "members_pct",
            "t.members_pct::float8",
            "number",
            audience="leader",
            title_zh="党员覆盖率",
            title_en="Members covered (%)",
        ),
        Field(
            "leader_name",
            "t.leader_name",
            audience="leader",
            title_zh="网格长",
            title_en="Grid leader",
        ),
    ),
    minzoom=0,
    maxzoom=22,
    aggregation=Aggregation(method="none", max_features=20_000),
    filters=(
        Filter(
            "coverage",
            "enum",
            "t.coverage_class = {value}",
            "coverage class",
            tuple(COLORS),
            "coverage_class",
        ),
        Filter("community", "str", "t.community = {value}", "community", field="community"),
        org_filter("org_id"),
    ),
    version_tables=("grids", "grid_coverage", "organisations", "members"),
    write_table="grids",  # drawn on /coverage, edited from a grid's card (planners and up)
    description="党建网格: outlines and names, coverage of the 15-minute circle per grid.",
    rows=RowLink(org="org_id", public="place"),
    style=Style(
        deck_type="GeoJsonLayer",
        color_field="coverage_class",
        colors=COLORS,
        default_color=COLORS["none"],
        legend=tuple(Legend(COLORS[k], *NAMES[k]) for k in COLORS),
        tooltip="{name}（{community}）<br/>{branch}<br/>建筑覆盖 {buildings_pct}%",
        hints=frozen(filled=True, stroked=True, line_width=2),
        props=frozen(
            filled=True,
            stroked=True,
            get_fill_color=by_field(
                "coverage_class", {k: list(v) for k, v in COLORS.items()}, list(COLORS["none"])
            ),
            get_line_color=LINE,
            get_line_width=2,
            line_width_units="pixels",
            pickable=True,
        ),
        stack=1,
        pages=frozen(coverage=False),
    ),
)
