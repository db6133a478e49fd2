"""The vocabulary of the party-building data: every enumeration the schema, ingest, samples and
layers share, in one place (the schema's CHECK constraints are built from these tuples)."""

from __future__ import annotations

from enum import StrEnum

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

# States of an activity: a cancelled one stays (with its registrations and check-ins) and says why.
ACTIVITY_STATUSES = ("scheduled", "cancelled")

# States of a member's registration (报名) for an activity; the waitlist is ordered by `created_at`.
REGISTRATION_STATUSES = ("registered", "waitlisted", "cancelled")

# How a check-in was made: on site within the geofence, with the activity's rotating QR token,
# or by the organiser scanning the member's card.
CHECKIN_METHODS = ("geofence", "code", "scan")

# What an audited write did (the append-only `audit_log`).
AUDIT_ACTIONS = ("create", "replace", "update", "delete", "cancel")

# States of one webhook delivery.
DELIVERY_STATUSES = ("pending", "delivered", "failed")

# Event types of the live stream (GET /api/events) and webhooks: CloudEvents-shaped.
EVENT_TYPES = (
    "activity.created",
    "activity.updated",
    "activity.cancelled",
    "registration.changed",
    "checkin.created",
    "data.changed",
    "import.finished",
    "reminder.created",
)

# Organisation life (issue 13): the meetings of 三会一课 and the rest, as the rules count them.
MEETING_KINDS = ("支部党员大会", "支委会", "党小组会", "党课", "主题党日", "组织生活会", "民主评议")
# Where a meeting record came from: an activity with check-ins, an import, the secretary's entry.
MEETING_SOURCES = ("activity", "import", "entry")
# Activity kinds that count as a meeting held when the activity has check-ins: every meeting kind
# as itself, and the map's own kinds that name one (三会一课 on the map is the open 党课).
ACTIVITY_MEETING_KINDS: dict[str, str] = {
    **{kind: kind for kind in MEETING_KINDS},
    "三会一课": "党课",
}
# Spellings an import accepts for a meeting kind (Chinese and English), and the stored value.
MEETING_KIND_SPELLINGS: dict[str, str] = {
    **{kind: kind for kind in MEETING_KINDS},
    "党员大会": "支部党员大会",
    "支部委员会": "支委会",
    "支委会议": "支委会",
    "党小组会议": "党小组会",
    "民主评议党员": "民主评议",
    "general_meeting": "支部党员大会",
    "committee_meeting": "支委会",
    "group_meeting": "党小组会",
    "party_lecture": "党课",
    "theme_day": "主题党日",
    "life_meeting": "组织生活会",
    "member_review": "民主评议",
}
# How often a health rule asks for its evidence.
RULE_PERIODS = ("month", "quarter", "half-year", "year", "term")
# What a rule counts as evidence (geo/health/evidence.py).
EVIDENCE_KINDS = ("meeting", "term", "dues_arrears", "branch_size", "committee", "joint_branch")
# An organisation's health status (thresholds in the rules).
HEALTH_STATUSES = ("green", "amber", "red")
# A reminder (自动提醒): open until read or withdrawn (fulfilled, or superseded by a later due date).
REMINDER_STATES = ("open", "withdrawn")
REMINDER_KINDS = ("due", "overdue")


class NearestTarget(StrEnum):
    """What `/api/nearest` ranks: the tables with one point per row it knows (their own columns
    and filters in geo/analysis/nearest.py); each is also served as the layer of the same name."""

    SERVICE_POINTS = "service_points"
    ACTIVITIES = "activities"


# Land use areas of the offline basemap (import kind `landuse`, issue 11): stored value -> the
# spellings an import accepts (Chinese first).
LANDUSE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "water": ("水域", "水体", "河流", "湖泊", "水系", "water", "river", "lake"),
    "green": ("绿地", "公园", "绿化", "公园绿地", "green", "park", "grass"),
    "forest": ("林地", "山林", "树林", "forest", "wood"),
    "farmland": ("耕地", "农田", "farmland", "farm"),
}
LANDUSE_KINDS = tuple(LANDUSE_SPELLINGS)

# How a red education route (红色教育路线, issue 14) is travelled.
ROUTE_MODES = ("walk", "drive")
# Driving speed by road kind, km/h (urban design speeds of CJJ 37-2012 城市道路工程设计规范, at
# their lower end for traffic: 主干路 40-60, 次干路 30-50, 支路 20-40); footpaths are not driven.
# A kind not listed drives at DEFAULT_DRIVE_KMH. Walking is 80 m/min on every kind.
DRIVE_KMH: dict[str, float] = {
    "主干路": 40.0,
    "次干路": 30.0,
    "支路": 20.0,
    "street": 25.0,
    "步行道": 0.0,
}
DEFAULT_DRIVE_KMH = 25.0
WALK_M_PER_MIN = 80.0

# What a planning scenario's change does (issue 14 §1): add, move or remove a service point, set
# its properties (capacity, opening hours …), or add a candidate site for proposals.
SCENARIO_OPS = ("add", "move", "remove", "set", "candidate")
# The service point properties a scenario may add or set.
SCENARIO_PROPERTIES = ("name", "kind", "capacity", "opening_hours")


# The names of stored values, for people (issue 11 §7: English pages translate the vocabularies):
# stored value -> (zh-CN, en). A value stored in Chinese names itself in zh-CN. The legends, the
# pages (web/i18n.py `vocab`) and the cards read this one table; values not in it show as stored.
TERMS: dict[str, tuple[str, str]] = {
    **{code: (code, en) for code, en, _ in ORG_TYPE_ROWS},
    "党群服务中心": ("党群服务中心", "Party–Mass Service Centre"),
    "党群服务站": ("党群服务站", "Party–Mass Service Station"),
    "党员活动室": ("党员活动室", "Party Members' Activity Room"),
    "红色教育基地": ("红色教育基地", "Red Education Site"),
    "三会一课": ("三会一课", "Three Meetings and One Lecture"),
    "主题党日": ("主题党日", "Theme Party Day"),
    "志愿服务": ("志愿服务", "Volunteer service"),
    "学习": ("学习", "Study session"),
    "组织生活会": ("组织生活会", "Organisational life meeting"),
    "红色教育": ("红色教育", "Red education"),
    "支部党员大会": ("支部党员大会", "Branch general meeting"),
    "支委会": ("支委会", "Branch committee meeting"),
    "党小组会": ("党小组会", "Party group meeting"),
    "党课": ("党课", "Party lecture"),
    "民主评议": ("民主评议", "Democratic review of members"),
    "正式": ("正式党员", "Full member"),
    "预备": ("预备党员", "Probationary member"),
    "流动": ("流动党员", "Mobile member"),
    "scheduled": ("待开始", "Scheduled"),
    "cancelled": ("已取消", "Cancelled"),
    "registered": ("已报名", "Registered"),
    "waitlisted": ("候补", "Waitlisted"),
    "主干路": ("主干路", "Arterial road"),
    "次干路": ("次干路", "Secondary road"),
    "支路": ("支路", "Local road"),
    "步行道": ("步行道", "Footpath"),
    "street": ("街巷", "Street"),
    "primary": ("主干路", "Arterial road"),
    "water": ("水域", "Water"),
    "green": ("绿地", "Green space"),
    "forest": ("林地", "Woodland"),
    "farmland": ("耕地", "Farmland"),
}


def term(value: str, lang: str) -> str:
    """A stored value's name in the page language (`en`, else zh-CN); unknown values as stored."""
    names = TERMS.get(value)
    if names is None:
        return value
    return names[1] if lang == "en" else names[0]
