"""What each import kind looks like: its fields, their types, aliases (Chinese and English), references."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from geo.vocab import (
    LANDUSE_SPELLINGS,
    MEETING_KIND_SPELLINGS,
    MEMBER_STATUS_SPELLINGS,
    SERVICE_POINT_KINDS,
)

FieldType = Literal["text", "int", "float", "date", "datetime", "enum", "ref", "path"]
GeomType = Literal["point", "polygon", "line", "none"]  # none: rows without a place

LON_ALIASES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "坐标x", "x坐标")
LAT_ALIASES = ("lat", "latitude", "y", "纬度", "北纬", "坐标y", "y坐标")
CODE = ("code", "编码", "代码", "编号", "id")
NAME = ("name", "名称", "名字")

SERVICE_KINDS = {k: k for k in SERVICE_POINT_KINDS}  # accepted spellings: the kinds themselves


@dataclass(frozen=True)
class Field:
    """One column of an import kind."""

    name: str
    type: FieldType = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    ref: str | None = None  # referenced table for type "ref" (matched by its code)
    enum: dict[str, str] | None = None  # accepted spellings -> stored value
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Spec:
    """An import kind: target table, key column, fields and geometry."""

    kind: str
    table: str
    key: str
    fields: tuple[Field, ...]
    geom: GeomType
    geom_required: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def field(self, name: str) -> Field:
        """The field called `name`."""
        return next(f for f in self.fields if f.name == name)


def _ref(name: str, table: str, aliases: tuple[str, ...], required: bool = False) -> Field:
    return Field(name, "ref", required, aliases, ref=table)


CAPACITY = Field(
    "capacity", "int", aliases=("容量", "容纳人数", "可容纳人数", "人数上限"), minimum=0
)

# Organisation life (issue 13): rows of one organisation, no place; the key is derived from the
# organisation, kind and date when the file gives none (geo/ingest/validate.py).
ORG_OWNER = Field(
    "org_code",
    "ref",
    True,
    ("org", "组织", "组织编码", "党组织", "党组织编码", "所属组织", "所属党组织", "支部编码"),
    ref="organisations",
)
LIFE_SPECS: dict[str, Spec] = {
    "meetings": Spec(
        "meetings",
        "meetings",
        "code",
        (
            Field("code", aliases=(*CODE, "会议编码")),
            ORG_OWNER,
            Field(
                "kind",
                "enum",
                True,
                ("type", "类型", "会议类型", "会议类别", "meeting_kind"),
                enum=MEETING_KIND_SPELLINGS,
            ),
            Field("held_on", "date", True, ("date", "日期", "召开日期", "会议日期", "召开时间")),
            Field(
                "attendance",
                "int",
                aliases=("到会人数", "参会人数", "出席人数", "attended"),
                minimum=0,
                maximum=100_000,
            ),
            Field("note", aliases=("备注", "说明", "内容", "notes")),
        ),
        "none",
    ),
    "terms": Spec(
        "terms",
        "committee_terms",
        "code",
        (
            Field("code", aliases=(*CODE, "换届编码")),
            ORG_OWNER,
            Field("elected_on", "date", True, ("date", "选举日期", "换届日期", "当选日期")),
            Field(
                "term_years",
                "int",
                aliases=("term", "years", "任期", "任期年限", "任期年数"),
                minimum=1,
                maximum=10,
            ),
        ),
        "none",
    ),
    "dues": Spec(
        "dues",
        "dues_months",
        "code",
        (
            ORG_OWNER,
            Field("month", "date", True, ("月份", "年月", "所属月份", "period")),
            Field(
                "paid_share",
                "float",
                True,
                ("paid", "share", "交纳比例", "缴纳比例", "已交比例"),
            ),  # 0..1 both included: geo/ingest/life.py (float bounds here are exclusive)
            Field(
                "arrears_count",
                "int",
                True,
                ("arrears", "欠缴人数", "未交人数", "欠交人数"),
                minimum=0,
                maximum=100_000,
            ),
        ),
        "none",
    ),
}

SPECS: dict[str, Spec] = {
    "organisations": Spec(
        "organisations",
        "organisations",
        "code",
        (
            Field("code", required=True, aliases=(*CODE, "组织编码", "组织代码", "org_code")),
            Field("name", required=True, aliases=(*NAME, "组织名称")),
            Field("type", "enum", True, ("类型", "组织类型", "组织类别", "org_type", "kind")),
            _ref(
                "parent_code",
                "organisations",
                ("parent", "上级", "上级编码", "上级代码", "上级组织", "上级组织编码", "parent_id"),
            ),
            _ref("building_code", "buildings", ("building", "建筑", "建筑编码", "所在建筑")),
            Field("founded", "date", aliases=("成立日期", "成立时间", "founded_on")),
            Field("contact", aliases=("联系方式", "联系人", "联系电话")),
        ),
        "point",
    ),
    "members": Spec(
        "members",
        "members",
        "external_id",
        (
            Field(
                "external_id",
                required=True,
                aliases=("id", "member_id", "code", "编号", "党员编号", "编码", "外部编号"),
            ),
            Field("name", required=True, aliases=("姓名", "名字", "名称", "党员姓名")),
            _ref(
                "branch_code",
                "organisations",
                ("branch", "支部", "支部编码", "所在支部", "所属支部", "支部代码", "org_code"),
                required=True,
            ),
            Field(
                "status",
                "enum",
                True,
                ("状态", "党员状态", "类别", "党员类别"),
                enum=MEMBER_STATUS_SPELLINGS,
            ),
            Field("joined", "date", aliases=("入党日期", "入党时间", "joined_on", "join_date")),
        ),
        "point",
        geom_required=False,
    ),
    "service-points": Spec(
        "service-points",
        "service_points",
        "code",
        (
            Field("code", required=True, aliases=(*CODE, "服务点编码")),
            Field("name", required=True, aliases=(*NAME, "服务点名称")),
            Field("kind", "enum", True, ("类型", "类别", "type", "服务点类型"), enum=SERVICE_KINDS),
            _ref("org_code", "organisations", ("org", "组织编码", "所属组织", "所属党组织")),
            Field("address", aliases=("地址", "详细地址")),
            Field("opening_hours", aliases=("开放时间", "营业时间", "hours")),
            CAPACITY,
            Field("phone", aliases=("电话", "联系电话", "tel")),
        ),
        "point",
    ),
    "activities": Spec(
        "activities",
        "activities",
        "code",
        (
            Field("code", required=True, aliases=(*CODE, "活动编码")),
            Field("title", required=True, aliases=("name", "标题", "名称", "活动名称", "主题")),
            Field("kind", required=True, aliases=("type", "类型", "活动类型", "类别")),
            _ref(
                "organiser_code",
                "organisations",
                (
                    "organizer_code",
                    "organiser",
                    "organizer",
                    "组织者",
                    "主办",
                    "主办单位",
                    "组织单位",
                ),
                required=True,
            ),
            _ref(
                "service_point_code",
                "service_points",
                ("service_point", "服务点", "服务点编码", "地点编码", "活动阵地"),
            ),
            Field("starts_at", "datetime", True, ("start", "start_time", "开始时间", "开始")),
            Field("ends_at", "datetime", True, ("end", "end_time", "结束时间", "结束")),
            CAPACITY,
            Field("description", aliases=("描述", "内容", "说明", "活动内容")),
        ),
        "point",
    ),
    "buildings": Spec(
        "buildings",
        "buildings",
        "code",
        (
            Field("code", required=True, aliases=(*CODE, "建筑编码")),
            Field("name", aliases=(*NAME, "建筑名称")),
            Field("use", aliases=("用途", "功能", "类型", "type")),
            Field(
                "height_m",
                "float",
                True,
                ("height", "高度", "建筑高度", "高度米"),
                minimum=0,
                maximum=1000,
            ),
            Field("floors", "int", aliases=("层数", "楼层", "楼层数"), minimum=1, maximum=300),
        ),
        "polygon",
    ),
    "roads": Spec(
        "roads",
        "roads",
        "code",
        (
            Field("code", required=True, aliases=(*CODE, "道路编码")),
            Field("name", aliases=(*NAME, "道路名称")),
            Field("kind", aliases=("type", "类型", "道路类型", "highway")),
        ),
        "line",
    ),
    "districts": Spec(
        "districts",
        "districts",
        "code",
        (
            Field("code", required=True, aliases=(*CODE, "adcode", "行政区划代码", "区划代码")),
            Field("name", required=True, aliases=(*NAME, "行政区名称")),
            Field("level", aliases=("级别", "层级", "行政级别")),
        ),
        "polygon",
    ),
    "panoramas": Spec(
        "panoramas",
        "panoramas",
        "code",
        (
            Field("code", required=True, aliases=(*CODE, "全景编码")),
            Field("title", aliases=("name", "标题", "名称")),
            Field("image", "path", True, ("image_path", "file", "图片", "图片路径", "文件")),
            Field("heading", "float", aliases=("朝向", "方向", "方位角")),
            _ref("service_point_code", "service_points", ("service_point", "服务点", "服务点编码")),
            Field("captured_at", "datetime", aliases=("拍摄时间", "采集时间", "captured")),
        ),
        "point",
    ),
}

# 党建网格 (issue 14 §4): a grid's branch may be missing (`djmap grids check` reports it); its
# leader (网格长) is a member, referred to by the member's external id (never by a place).
GRID_SPEC = Spec(
    "grids",
    "grids",
    "code",
    (
        Field("code", required=True, aliases=(*CODE, "网格编码", "网格代码", "网格编号")),
        Field("name", required=True, aliases=(*NAME, "网格名称", "网格名")),
        Field("community", aliases=("社区", "所属社区", "社区名称", "community_name")),
        _ref(
            "branch_code",
            "organisations",
            ("branch", "支部", "支部编码", "所属支部", "党支部", "org_code", "org"),
        ),
        _ref(
            "leader_code",
            "members",
            ("leader", "网格长", "网格长编号", "网格长党员编号", "leader_id", "grid_leader"),
        ),
    ),
    "polygon",
)

# Land use areas of the offline basemap (issue 11 §1): water, green … polygons with no owner.
LANDUSE_SPEC = Spec(
    "landuse",
    "landuse",
    "code",
    (
        Field("code", required=True, aliases=(*CODE, "地块编码", "用地编码")),
        Field("name", aliases=(*NAME, "地名", "地块名称")),
        Field(
            "kind",
            "enum",
            True,
            ("type", "类型", "用地类型", "地类", "landuse", "natural"),
            enum={s: k for k, spellings in LANDUSE_SPELLINGS.items() for s in (k, *spellings)},
        ),
    ),
    "polygon",
)

SPECS |= LIFE_SPECS
SPECS["grids"] = GRID_SPEC
SPECS["landuse"] = LANDUSE_SPEC
KINDS = tuple(SPECS)
