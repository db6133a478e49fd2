"""UI text of the big screen, the kiosk and the leader page's health panel (issue 13 §3-5):
zh-CN first, then en. Merged over web/i18n.py's strings by the pages that use them."""

from __future__ import annotations

# key: (zh-CN, en)
SCREEN_TEXT: dict[str, tuple[str, str]] = {
    "screen_title": ("党建数据大屏", "Party-building big screen"),
    "screen_refused": ("大屏密钥无效", "Screen key not valid"),
    "screen_refused_body": (
        "此大屏密钥未知或已被撤销，请联系管理员：djmap screen-keys add",
        "This screen key is unknown or revoked; ask an administrator (djmap screen-keys add)",
    ),
    "screen_district": ("全辖区", "Whole district"),
    "screen_activities_today": ("今日活动", "Activities today"),
    "screen_checkins_today": ("今日签到", "Check-ins today"),
    "screen_reached_month": ("本月参与党员", "Members reached this month"),
    "screen_fewer": ("少于{n}人", "fewer than {n}"),
    "screen_health": ("组织健康度", "Organisation health"),
    "screen_green": ("良好", "Green"),
    "screen_amber": ("关注", "Amber"),
    "screen_red": ("预警", "Red"),
    "screen_top": ("先进支部", "Top branches"),
    "screen_bottom": ("待提升支部", "Branches to support"),
    "screen_upcoming": ("近期活动", "Upcoming activities"),
    "screen_none": ("暂无", "None"),
    "screen_live": ("实时", "Live"),
    "screen_offline": ("连接中断，正在重连…", "Connection lost, reconnecting…"),
    "screen_active_now": ("正在进行", "Happening now"),
    "screen_points": ("党群服务阵地", "Service points"),
    "screen_close": ("返回", "Back"),
    "screen_no_panorama": ("暂无全景", "No panorama yet"),
    "screen_tap_hint": (
        "轻触服务阵地查看全景与活动",
        "Tap a service point for its panorama and activities",
    ),
    "screen_updated": ("更新于", "Updated"),
    "health_title": ("健康度", "Health"),
    "health_score": ("得分", "Score"),
    "health_missing": ("缺项", "Missing"),
    "health_since": ("自{d}起", "since {d}"),
    "health_trend": ("近12个月", "Last 12 months"),
    "health_ranking": ("排名", "Ranking"),
    "health_dist": ("健康分布", "Health"),
    "health_none": ("无缺项", "Nothing missing"),
    "health_building": ("正在计算", "Being computed"),
    "reminders_title": ("提醒", "Reminders"),
    "reminders_none": ("暂无提醒", "No reminders"),
    "reminders_read": ("标为已读", "Mark read"),
    "reminders_due": ("到期", "due"),
    "reminders_overdue": ("已逾期", "overdue"),
}


def screen_strings(lang: str) -> dict[str, str]:
    """These strings in one language (zh-CN unless en)."""
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in SCREEN_TEXT.items()}
