"""UI text of the pages: zh-CN by default, English on request (`?lang=en`)."""

from __future__ import annotations

from geo.vocab import TERMS
from web.i18n_ux import UX_TEXT

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"

# key: (zh-CN, en)
_TEXT: dict[str, tuple[str, str]] = {
    "app": ("党建地图", "Party-Building Map"),
    "leader_title": ("党建地图 · 领导驾驶舱", "Party-Building Map · Leader view"),
    "nearest_title": ("附近党群服务点", "Nearest service points"),
    "coverage_title": ("15分钟党群服务圈 · 覆盖分析", "15-minute service circle · Coverage"),
    "embed_title": ("党建地图", "Party-Building Map"),
    "admin_title": ("嵌入地图 · 管理", "Embed the map · Admin"),
    "docs_title": ("接口文档", "API documentation"),
    "nav_leader": ("驾驶舱", "Leader view"),
    "nav_nearest": ("附近", "Nearest"),
    "nav_coverage": ("覆盖分析", "Coverage"),
    "nav_admin": ("管理", "Admin"),
    "nav_docs": ("接口", "API"),
    "switch_lang": ("English", "中文"),
    "layers": ("图层", "Layers"),
    "legend": ("图例", "Legend"),
    "org_tree": ("组织架构", "Organisations"),
    "all_orgs": ("全部组织", "All organisations"),
    "search_org": ("搜索组织…", "Search organisations…"),
    "stats": ("概况", "Overview"),
    "stat_orgs": ("党组织", "Organisations"),
    "stat_members": ("党员", "Members"),
    "stat_service_points": ("服务点", "Service points"),
    "stat_activities_month": ("本月活动", "Activities this month"),
    "stat_coverage": ("15分钟圈覆盖率", "15-min coverage"),
    "stat_inactive": ("90天无活动组织", "No activity in 90 days"),
    "stats_scope_only": (
        "全区概况；按组织查看需登录领导账号",
        "Overview of all organisations; log in as a leader to see one organisation",
    ),
    "time_slider": ("活动时间", "Activity time"),
    "days_window": ("前后天数", "days window"),
    "all_time": ("全部时间", "All time"),
    "loading": ("加载中…", "Loading…"),
    "no_data": ("暂无数据", "No data yet"),
    "close": ("关闭", "Close"),
    "address": ("地址", "Address"),
    "opening_hours": ("开放时间", "Opening hours"),
    "capacity": ("容量", "Capacity"),
    "phone": ("电话", "Phone"),
    "kind": ("类型", "Kind"),
    "organisation": ("所属组织", "Organisation"),
    "upcoming": ("近期活动", "Upcoming activities"),
    "none_upcoming": ("近期无活动", "No upcoming activities"),
    "panorama": ("全景", "Panorama"),
    "no_panorama": ("暂无全景", "No panorama yet"),
    "members_lt10": ("不予公开", "withheld"),  # under 10, or would let one be derived
    "members_n": ("党员", "members"),
    "locate_me": ("定位我", "Locate me"),
    "tap_map": ("或点击地图选择位置", "or tap the map"),
    "search_sp": ("搜索服务点名称…", "Search a service point…"),
    "target_sp": ("服务点", "Service points"),
    "target_act": ("活动", "Activities"),
    "mode_walk": ("步行", "Walk"),
    "mode_straight": ("直线", "Straight"),
    "minutes": ("分钟", "min"),
    "metres": ("米", "m"),
    "km": ("公里", "km"),
    "directions": ("导航", "Directions"),
    "checkin": ("签到", "Check in"),
    "checkin_login": ("登录后可签到", "Log in to check in"),
    # the check-in page (/checkin) and the member card (/card)
    "checkin_title": ("活动签到", "Activity check-in"),
    "checkin_sending": ("正在签到…", "Checking in…"),
    "checkin_done": ("签到成功", "Checked in"),
    "checkin_already": ("您已签到", "Already checked in"),
    "checkin_no_code": (
        "请用手机扫描活动现场的签到二维码",
        "Scan the check-in QR code shown at the activity",
    ),
    "checkin_code_title": ("签到二维码", "Check-in code"),
    "checkin_code_hint": (
        "请党员用手机扫码签到，二维码每30秒更新",
        "Members scan this with their phone camera; it changes every 30 seconds",
    ),
    "checkin_scan_card": ("扫描党员卡签到", "Check a member in by their card"),
    "checkin_member_code": ("党员卡码", "Member card code"),
    "checkin_scan_done": ("已为该党员签到", "Member checked in"),
    "checkin_retry": ("重试", "Try again"),
    "card_title": ("党员卡", "Member card"),
    "card_branch": ("所在支部", "Branch"),
    "card_attended": ("今年参加活动", "Activities attended this year"),
    "card_upcoming": ("已报名的近期活动", "Upcoming registered activities"),
    "card_none": ("暂无已报名的近期活动", "No upcoming registrations"),
    "card_qr_hint": (
        "请组织者扫码为您签到，二维码每30秒更新",
        "Show this to the organiser to check in; it changes every 30 seconds",
    ),
    "card_login": ("登录后查看党员卡", "Log in to see your member card"),
    "reg_registered": ("已报名", "Registered"),
    "reg_waitlisted": ("候补", "Waitlisted"),
    "reg_position": ("候补第{n}位", "waitlist place {n}"),
    "reg_not_invited": ("未受邀：不计入报名，不能签到", "Not invited: not counted, no check-in"),
    "reg_cancelled": ("已取消报名", "Registration cancelled"),
    "activity_cancelled": ("活动已取消", "Activity cancelled"),
    # refusals by the API's `code` (dots as underscores)
    "err_CheckinRefused_not_invited": (
        "该活动仅面向组织者和受邀组织的党员，您所在支部不在其中，不能签到",
        "This activity is open only to members of its organiser and invited organisations: "
        "you cannot check in",
    ),
    "err_CheckinRefused_not_started": (
        "尚未开始签到（活动开始前30分钟开放）",
        "Check-in has not opened yet (it opens 30 minutes before the start)",
    ),
    "err_CheckinRefused_ended": ("活动已结束", "The activity has ended"),
    "err_CheckinRefused_cancelled": ("活动已取消", "The activity was cancelled"),
    "err_CheckinRefused_not_a_member": ("该账号没有党员信息", "This account has no member record"),
    "err_CheckinRefused_too_far": ("距离活动地点太远", "Too far from the activity"),
    "err_Token_expired": (
        "二维码已过期，请扫描屏幕上的最新二维码",
        "This code has expired: scan the one on screen now",
    ),
    "err_Token_invalid": ("无效的签到码", "Not a valid code"),
    "err_Forbidden": ("无权执行此操作", "You may not do this"),
    "err_NotFound": ("活动不存在", "No such activity"),
    "err_Registration_already_registered": ("您已报名", "You are already registered"),
    "err_Registration_activity_cancelled": ("活动已取消", "The activity was cancelled"),
    "err_Registration_ended": ("活动已结束", "The activity has ended"),
    "err_Registration_not_invited": (
        "该活动仅面向组织者和受邀组织的党员，您所在支部不在其中，不能报名",
        "This activity is open only to members of its organiser and invited organisations: "
        "you cannot register",
    ),
    "results": ("结果", "Results"),
    "no_results": ("附近没有结果", "Nothing near by"),
    "locating": ("正在定位…", "Locating…"),
    "geo_denied": ("无法获取位置，请点击地图选择", "Location unavailable: tap the map instead"),
    "near_activities": ("附近近期活动", "Upcoming activities near by"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_failed": ("登录失败", "Login failed"),
    "logged_in_as": ("已登录", "Logged in as"),
    "cov_params": ("分析参数", "Parameters"),
    "cov_by": ("范围", "Reach"),
    "cov_minutes": ("步行分钟", "Minutes"),
    "cov_meters": ("距离（米）", "Metres"),
    "cov_mode": ("方式", "Mode"),
    "cov_weight": ("权重", "Weight"),
    "w_members": ("党员", "Members"),
    "w_buildings": ("建筑", "Buildings"),
    "w_population": ("人口", "Population"),
    "cov_propose": ("建议新增站点数", "Sites to propose"),
    "cov_run": ("开始分析", "Run"),
    "cov_running": ("分析中…", "Running…"),
    "cov_result": ("分析结果", "Result"),
    "cov_pct": ("覆盖率", "Covered"),
    "cov_pct_count": ("按数量覆盖率", "Covered (count)"),
    "cov_uncovered": ("未覆盖", "Uncovered"),
    "cov_proposals": ("建议新增站点（按新增覆盖排序）", "Proposed sites (by gain)"),
    "cov_gain": ("新增覆盖", "Gain"),
    "cov_download": ("下载", "Download"),
    "cov_unavailable": ("覆盖分析接口暂不可用", "Coverage service is not available yet"),
    "service_areas": ("服务范围", "Service areas"),
    "uncovered_cells": ("未覆盖网格", "Uncovered cells"),
    "proposed_sites": ("建议站点", "Proposed sites"),
    "embed_refused": ("嵌入密钥无效", "Unknown embed key"),
    "embed_refused_body": (
        "该嵌入密钥不存在或已停用，请联系管理员。",
        "This embed key does not exist or was disabled. Ask your administrator.",
    ),
    "embed_key": ("嵌入密钥", "Embed key"),
    "embed_layers": ("图层", "Layers"),
    "embed_view": ("视角", "View"),
    "v_center": ("中心（经度,纬度）", "Centre (lon,lat)"),
    "v_zoom": ("缩放", "Zoom"),
    "v_pitch": ("俯仰", "Pitch"),
    "v_bearing": ("方位", "Bearing"),
    "embed_snippet": ("复制以下代码到门户页面", "Copy this snippet into the portal page"),
    "embed_copy": ("复制", "Copy"),
    "embed_copied": ("已复制", "Copied"),
    "embed_preview": ("预览", "Preview"),
    "embed_admin_only": ("仅管理员可管理嵌入密钥", "Only administrators manage embed keys"),
    "embed_manage": ("管理嵌入密钥", "Manage embed keys"),
    "basemap_offline": ("离线底图", "Offline basemap"),
    "fly_home": ("回到全区", "Whole district"),
    "view_3d": ("3D", "3D"),
    "view_2d": ("2D", "2D"),
    "party_building": ("有党组织的建筑", "Building with a party organisation"),
    "building": ("建筑", "Building"),
    "height": ("高度", "Height"),
    "floors": ("层数", "Floors"),
    "use": ("用途", "Use"),
    "starts": ("开始", "Starts"),
    "count": ("数量", "Count"),
    "heat_low": ("少", "few"),
    "heat_high": ("多", "many"),
    # ---- the live loop (issue 12): activity form and card, event stream, ticker, 报名 --------
    "live_open": ("实时", "Live"),
    "live_connecting": ("连接中…", "Connecting…"),
    "live_down": ("连接中断，正在重连…", "Disconnected: reconnecting…"),
    "act_new": ("新建活动", "New activity"),
    "act_edit": ("编辑活动", "Edit activity"),
    "act_title": ("标题", "Title"),
    "act_organiser": ("主办组织", "Organiser"),
    "act_place": ("地点", "Place"),
    "act_at_sp": ("服务点", "Service point"),
    "act_no_sp": ("不在服务点（地图选点）", "Not at a service point (pick on the map)"),
    "act_pick": ("在地图上选点", "Pick on the map"),
    "act_pick_hint": ("请点击地图选择活动地点", "Click the map where the activity takes place"),
    "act_lon": ("经度", "Longitude"),
    "act_lat": ("纬度", "Latitude"),
    "act_starts": ("开始时间", "Starts"),
    "act_ends": ("结束时间", "Ends"),
    "act_capacity": ("名额", "Capacity"),
    "act_invited": ("受邀组织", "Invited organisations"),
    "act_invited_hint": (
        "主办组织及其下级组织的党员默认受邀；可再邀请同一上级党组织下的其他组织",
        "Members of the organiser and the organisations under it are invited; invite other "
        "organisations of the same top-level organisation here",
    ),
    "act_invited_search": ("搜索组织名称或代码", "Search organisations by name or code"),
    "act_invited_count": ("已选 {n} 个组织", "{n} chosen"),
    "act_invited_none": ("没有其他可邀请的组织", "No other organisation to invite"),
    "act_description": ("活动内容", "Description"),
    "act_save": ("保存", "Save"),
    "act_saving": ("保存中…", "Saving…"),
    "act_created": ("活动已发布", "Activity published"),
    "act_saved": ("已保存", "Saved"),
    "act_conflict": ("已被他人修改，请刷新", "Changed by someone else: reload"),
    "act_reload": ("刷新", "Reload"),
    "act_cancel": ("取消活动", "Cancel activity"),
    "act_cancel_reason": ("取消原因", "Reason for cancelling"),
    "act_cancel_confirm": ("确认取消", "Cancel it"),
    "act_cancelled": ("已取消", "Cancelled"),
    "act_deleted": ("活动已删除", "Activity deleted"),
    "act_scheduled": ("进行中/待开始", "Scheduled"),
    "act_status": ("状态", "Status"),
    "act_login": ("登录后可发布活动", "Log in to publish activities"),
    "act_forbidden": ("无权修改此活动", "You may not change this activity"),
    "act_problems": ("请修改以下内容", "Please correct the following"),
    "act_choose": ("请选择…", "Choose…"),
    "act_required": ("必填", "required"),
    "act_time_order": ("结束时间须晚于开始时间", "The end must be after the start"),
    "act_place_missing": ("请选择服务点或在地图上选点", "Choose a service point or pick a place"),
    "act_registered": ("已报名", "Registered"),
    "act_waitlisted": ("候补", "Waitlisted"),
    "act_attended": ("已签到", "Checked in"),
    "act_fewer_than": ("少于{n}", "fewer than {n}"),
    "act_qr": ("签到二维码", "Check-in QR code"),
    "act_qr_hint": (
        "党员用手机扫码签到；二维码每分钟更新",
        "Members scan it with their phone; the code changes every minute",
    ),
    "act_qr_screen": ("打开签到页（可投屏）", "Open the check-in page (for a big screen)"),
    "ticker": ("实时签到", "Live check-ins"),
    "ticker_empty": ("等待签到…", "Waiting for check-ins…"),
    "ticker_n": ("人签到", "checked in"),
    "just_published": ("刚刚发布", "Just published"),
    "reg_register": ("报名", "Register"),
    "reg_waitlisted_n": ("已候补，第{n}位", "On the waitlist: number {n}"),
    "reg_already": ("您已报名", "You are already registered"),
    "reg_login": ("登录后报名", "Log in to register"),
    "reg_cancel": ("取消报名", "Cancel registration"),
    "reg_closed": ("活动已取消", "The activity was cancelled"),
}


_TEXT.update(UX_TEXT)  # issue 11's strings (web/i18n_ux.py)


def strings(lang: str) -> dict[str, str]:
    """All UI strings in one language (unknown languages fall back to zh-CN)."""
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in _TEXT.items()}


def vocab(lang: str) -> dict[str, str]:
    """The names of stored values in one language (geo.vocab.TERMS: 党群服务中心 → Party–Mass
    Service Centre, scheduled → 待开始 …), for the page scripts' `term()`; a value that names
    itself is left out."""
    index = 1 if lang == "en" else 0
    return {value: names[index] for value, names in TERMS.items() if names[index] != value}


def pick_lang(requested: str | None, accept_language: str | None = None) -> str:
    """The page language: `?lang=` wins, then a cookie/header hint, else zh-CN."""
    if requested in LANGS:
        return requested
    if requested and requested.lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


# The printable coverage report (web/report.py, issue 14 §6): kept apart from the pages' strings
# so the pages' config does not carry them.
_REPORT: dict[str, tuple[str, str]] = {
    "title": ("15分钟党群服务圈覆盖报告", "15-minute party service circle: coverage report"),
    "area": ("范围", "Area"),
    "all": ("全部数据", "All data"),
    "date": ("日期", "Date"),
    "circle": ("服务圈", "Circle"),
    "walk": ("步行", "walking"),
    "straight": ("直线", "straight line"),
    "minutes": ("分钟", "min"),
    "scenario": ("方案", "Scenario"),
    "baseline": ("现状", "Baseline"),
    "headline": ("主要指标", "Headline figures"),
    "figure": ("指标", "Figure"),
    "total": ("总数", "Total"),
    "covered": ("覆盖", "Covered"),
    "share": ("覆盖率", "Share"),
    "buildings": ("建筑", "Buildings"),
    "residents": ("居民（估算）", "Residents (estimated)"),
    "households": ("户数（估算）", "Households (estimated)"),
    "members": ("党员", "Members"),
    "service_points": ("服务阵地", "Service points"),
    "map": ("覆盖图", "Map"),
    "map_note": (
        "绿色：步行服务范围；橙色：未覆盖；星号：建议新增站点；红线：党建网格",
        "Green: walking service areas; orange: uncovered; stars: proposed sites; red: grids",
    ),
    "proposals": ("建议新增站点", "Proposed sites"),
    "rank": ("序号", "Rank"),
    "gain": ("新增覆盖居民", "Residents gained"),
    "after": ("新增后覆盖率", "Share after"),
    "none": ("无", "None"),
    "sites": ("各服务阵地服务范围", "Catchment of each service point"),
    "site": ("服务阵地", "Service point"),
    "kind": ("类型", "Kind"),
    "within": ("{m}分钟内建筑", "Buildings ≤ {m} min"),
    "grids": ("党建网格覆盖", "Grids and their coverage"),
    "grid": ("网格", "Grid"),
    "versions": ("数据版本", "Data versions"),
    "table": ("数据表", "Table"),
    "version": ("版本", "Version"),
    "updated": ("更新时间", "Updated"),
    "privacy": (
        "党员数据按隐私规则发布：取整到10，不足10人不公布（—）。",
        "Member figures follow the privacy rule: rounded to 10, none under 10 (—).",
    ),
    "off_network": ("不在路网上", "off the road network"),
}


def report_strings(lang: str) -> dict[str, str]:
    """The report's text in one language (unknown languages fall back to zh-CN)."""
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in _REPORT.items()}


# issue 14's planning tools on /coverage (web/i18n_planning.py)
from web.i18n_planning import PLANNING_TEXT  # noqa: E402

_TEXT.update(PLANNING_TEXT)

from web.i18n_docs import DOCS_TEXT  # noqa: E402

_TEXT.update(DOCS_TEXT)
