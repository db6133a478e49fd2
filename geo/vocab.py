"""The vocabulary of the party-building data: every enumeration the schema, ingest, samples and
layers share, in one place (the schema's CHECK constraints are built from these tuples)."""

from __future__ import annotations

# Organisation types (seeded into the extensible `org_types` table): code, English name, tree level.
ORG_TYPE_ROWS: tuple[tuple[str, str, int], ...] = (
    ("党委", "Party committee", 1),
    ("党总支", "General party branch", 2),
    ("党支部", "Party branch", 3),
)
ORG_TYPES = tuple(code for code, _, _ in ORG_TYPE_ROWS)

# 正式 full member, 预备 probationary member, 流动 member living away from their branch.
MEMBER_STATUSES = ("正式", "预备", "流动")
# Spellings an import accepts for a member status (Chinese and English), and the stored value.
MEMBER_STATUS_SPELLINGS: dict[str, str] = {
    "正式": "正式",
    "正式党员": "正式",
    "预备": "预备",
    "预备党员": "预备",
    "流动": "流动",
    "流动党员": "流动",
    "full": "正式",
    "probationary": "预备",
    "mobile": "流动",
}

SERVICE_POINT_KINDS = ("党群服务中心", "党群服务站", "党员活动室", "红色教育基地")

# Activity kinds the map and filters know; the column itself accepts any non-empty kind.
ACTIVITY_KINDS = ("三会一课", "主题党日", "志愿服务", "学习", "组织生活会", "红色教育")

# Roles a user can have, from least to most trusted.
ROLES = ("public", "member", "leader", "planner", "steward", "admin")

# States of an import run (the `imports` audit).
IMPORT_STATUSES = ("running", "written", "rejected", "failed")

DEFAULT_ROAD_KIND = "street"
DEFAULT_DISTRICT_LEVEL = "district"
