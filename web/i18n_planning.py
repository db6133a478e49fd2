"""Page text of the planning tools on /coverage (issue 14 §5-6): the red route card and the
report button. Merged into web/i18n.py's strings; key: (zh-CN, en)."""

from __future__ import annotations

PLANNING_TEXT: dict[str, tuple[str, str]] = {
    "rep_print": ("打印报告（PDF）", "Print report (PDF)"),
    "rep_busy": ("正在生成报告…", "Making the report…"),
    "rep_login": ("登录后可打印报告", "Log in to print the report"),
    "route_title": ("红色教育路线", "Red education route"),
    "route_pick": ("选择站点（第一个为起点）", "Choose stops (the first is the start)"),
    "route_mode": ("方式", "Mode"),
    "route_walk": ("步行", "On foot"),
    "route_drive": ("驾车", "By car"),
    "route_return": ("返回起点", "Back to the start"),
    "route_plan": ("规划路线", "Plan the route"),
    "route_gpx": ("下载 GPX", "Download GPX"),
    "route_total": ("全程", "Total"),
    "route_need": ("请至少选择2个站点", "Choose at least 2 stops"),
}
