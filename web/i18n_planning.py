"""Page text of the planning tools on /coverage (issue 14 §1, §5-6): the scenario comparison, the
red route card and the report button. Merged into web/i18n.py's strings; key: (zh-CN, en)."""

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
    "cmp_title": ("方案对比", "Compare with a scenario"),
    "cmp_pick": ("方案", "Scenario"),
    "cmp_none": ("暂无方案", "No scenario yet"),
    "cmp_login": ("请以规划员身份登录后对比方案", "Log in as a planner to compare scenarios"),
    "cmp_run": ("对比现状与方案", "Compare live and scenario"),
    "cmp_running": ("正在对比…", "Comparing…"),
    "cmp_close": ("结束对比", "End the comparison"),
    "cmp_live": ("现状", "Live"),
    "cmp_scenario": ("方案", "Scenario"),
    "cmp_change": ("变化", "Change"),
    "cmp_gained": ("新覆盖网格", "Cells gained"),
    "cmp_lost": ("新增未覆盖网格", "Cells lost"),
    "cmp_site_added": ("方案新增服务点", "Site added"),
    "cmp_site_moved": ("方案迁移服务点", "Site moved"),
    "cmp_site_removed": ("方案撤除服务点", "Site removed"),
    "cmp_site_set": ("方案调整服务点", "Site changed"),
    "cmp_cells_note": (
        "右图：绿色为方案新覆盖的网格，红色为方案新增的未覆盖网格",
        "Right map: green cells the scenario covers, red cells it leaves uncovered",
    ),
}
