"""UI text of issue 11 ("pages people can work in"): zh-CN first, then en. Pure data, merged
into web.i18n's table."""

from __future__ import annotations

# key: (zh-CN, en)
UX_TEXT: dict[str, tuple[str, str]] = {
    # member phone
    "checkin_opens": ("签到 {when} 开放", "Check-in opens {when}"),
    "err_generic": ("操作未成功，请稍后再试", "That did not work: please try again later"),
    "search_no_origin": (
        "已找到该服务点；点击“定位我”或地图以计算距离",
        "Found it: locate yourself or tap the map to see how far it is",
    ),
    "walk_fallback": (
        "此处离道路较远，按直线距离排序",
        "This place is far from any road: ranked by straight-line distance",
    ),
    "when_today": ("今天", "Today"),
    "when_week": ("本周", "This week"),
    "when_all": ("全部", "All"),
    "when_label": ("日期", "Date"),
    # leader
    "open_now": ("正在开放", "Open now"),
    "closed_now": ("已关闭", "Closed now"),
    "next_30_days": ("未来30天", "Next 30 days"),
    "days_7": ("7天", "7 days"),
    "days_30": ("30天", "30 days"),
    "days_90": ("90天", "90 days"),
    "stat_activities_window": ("所选时段活动", "Activities in the window"),
    "today_mark": ("今天", "Today"),
    "stats_own_scope": ("本辖区", "Your jurisdiction"),
    "breadcrumb_all": ("全区", "Whole district"),
    "collapse": ("收起", "Hide"),
    "expand": ("展开", "Show"),
    "panels_show": ("图层与组织", "Layers & organisations"),
    "at_this_point": ("此处活动", "Activities here"),
    "weekday_names": ("周日,周一,周二,周三,周四,周五,周六", "Sun,Mon,Tue,Wed,Thu,Fri,Sat"),
    "every_day": ("每天", "Every day"),
    "day_to_day": ("{a}至{b}", "{a}–{b}"),
    "hours_off": ("休息", "closed"),
    # everyone
    "not_found_title": ("页面不存在", "Page not found"),
    "not_found_body": (
        "您访问的页面不存在或已移动。可以从下面的链接继续。",
        "The page you asked for does not exist or has moved. Carry on from one of these.",
    ),
    "not_found_map": ("返回地图", "Back to the map"),
    "not_found_path": ("您访问的地址：", "You asked for: "),
    "login_needed": ("请先登录", "Please log in first"),
    # portal refusals (/embed, §6): what is wrong and what to do, no data
    "embed_refused_origin": ("此网站未获准嵌入地图", "This site may not embed the map"),
    "embed_refused_origin_body": (
        "该嵌入密钥不允许在本网站（{origin}）上使用。请地图管理员在“嵌入密钥”中为该密钥添加本网站的地址。",
        "This embed key may not be used on this site ({origin}). Ask the map's administrator to"
        " add this site's address to the key's allowed origins (Embed keys).",
    ),
}
