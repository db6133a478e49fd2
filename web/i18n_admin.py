"""UI text of the admin screen `/admin` (issue 11 §5): zh-CN first, then en. Pure data; the page
gets it as `a` (template) and `cfg.a` (script), the import kinds' names as `kinds` and the
import report's reason codes in words as `cfg.reasons`."""

from __future__ import annotations

from web.i18n import pick_lang

# the import screen (tab 导入): key: (zh-CN, en)
IMPORT_TEXT: dict[str, tuple[str, str]] = {
    "imp_note": (
        "上传文件后先预览并核对列的对应关系，再检查全部行（不写入任何数据），确认无误后导入。"
        "支持 CSV、XLSX、GeoJSON、GeoPackage 和压缩的 Shapefile（.zip），不超过 {mb} MB。",
        "Upload a file, check the column mapping on a preview, then check every row (nothing is "
        "written) and confirm. CSV, XLSX, GeoJSON, GeoPackage or a zipped Shapefile, up to {mb} MB.",
    ),
    "imp_kind": ("数据类型", "Kind of data"),
    "imp_file": ("文件", "File"),
    "imp_upload": ("上传并预览", "Upload and preview"),
    "imp_uploading": ("正在上传… {pct}%", "Uploading… {pct}%"),
    "imp_reading": ("正在读取文件…", "Reading the file…"),
    "imp_checking": ("正在检查全部行…", "Checking every row…"),
    "imp_writing": ("正在导入…", "Importing…"),
    "imp_preview": ("预览（前 10 行）", "Preview (first 10 rows)"),
    "imp_summary": (
        "{name} · {format} · 共 {rows} 行、{cols} 列",
        "{name} · {format} · {rows} rows, {cols} columns",
    ),
    "imp_geometry": ("（含几何图形）", "(with geometries)"),
    "imp_mapping": ("列对应", "Column mapping"),
    "imp_mapping_note": (
        "已按列名自动对应（中文或英文列名均可），如有不对请调整；带 * 的为必填项。",
        "Matched automatically by column name (Chinese or English); adjust where wrong. * marks "
        "a required field.",
    ),
    "imp_none": ("— 不导入 —", "— not imported —"),
    "imp_required": ("必填", "required"),
    "imp_maps_to": ("→ {field}", "→ {field}"),
    "imp_unmapped": (
        "必填项尚未对应到文件中的列：{fields}",
        "Required fields not matched to a column: {fields}",
    ),
    "imp_skip_invalid": (
        "跳过有问题的行，只导入正确的行",
        "Skip the bad rows and import the good ones",
    ),
    "imp_validate": ("检查", "Validate"),
    "imp_cancel": ("取消", "Cancel"),
    "imp_confirm": ("确认导入", "Confirm"),
    "imp_download": ("下载报告", "Download report"),
    "imp_report": ("检查报告", "Report"),
    "imp_ok": (
        "检查通过：{valid} 行可以导入，{skipped} 行将被跳过。尚未写入任何数据。",
        "Check passed: {valid} rows can be imported, {skipped} will be skipped. Nothing has been "
        "written yet.",
    ),
    "imp_bad": (
        "检查未通过：{bad} 行有问题，按当前设置不会写入任何数据。请修改文件或列对应后重新检查。",
        "Check failed: {bad} rows have problems, so nothing would be written. Fix the file or the "
        "mapping and validate again.",
    ),
    "imp_file_bad": (
        "文件有问题，不会写入任何数据。",
        "The file has a problem: nothing would be written.",
    ),
    "imp_written": (
        "已导入 {name}：写入 {written} 行（新增 {inserted}、更新 {updated}），{unchanged} 行未变化，"
        "跳过 {skipped} 行。",
        "Imported {name}: {written} rows written ({inserted} new, {updated} updated), "
        "{unchanged} unchanged, {skipped} skipped.",
    ),
    "imp_cancelled": ("已取消，未写入任何数据。", "Cancelled: nothing was written."),
    "imp_no_issues": ("没有发现问题", "No problems found"),
    "imp_stale": (
        "列对应已修改，请重新检查。",
        "The mapping changed: validate again.",
    ),
    "imp_more": ("另有 {n} 条未在此列出，见下载的报告。", "{n} more not listed: see the download."),
    "imp_not_scope": ("（不在你的范围内）", "(not in your scope)"),
    "col_row": ("行", "Row"),
    "col_line": ("文件行号", "Line"),
    "col_column": ("列", "Column"),
    "col_level": ("类别", "Type"),
    "col_code": ("原因代码", "Reason code"),
    "col_message": ("说明", "Message"),
    "col_value": ("值", "Value"),
    "col_detail": ("原文", "Original message"),
    "level_error": ("错误", "Error"),
    "level_warning": ("警告", "Warning"),
    "row_file": ("整个文件", "Whole file"),
    "err_too_large": ("文件超过 {mb} MB 的上限。", "The file is larger than the {mb} MB limit."),
    "err_type": (
        "不支持的文件类型：请使用 CSV、XLSX、GeoJSON、GeoPackage 或压缩的 Shapefile（.zip）。",
        "Unsupported file type: use CSV, XLSX, GeoJSON, GeoPackage or a zipped Shapefile (.zip).",
    ),
    "err_content": (
        "文件内容与扩展名不符（例如把 Excel 文件改名为 .csv）。",
        "The file's content does not match its extension (an Excel file renamed .csv?).",
    ),
    "err_bad_request": ("无法处理这个请求。", "The request could not be used."),
    "err_forbidden": ("你没有权限进行这项导入。", "You may not run this import."),
    "err_unreadable": ("文件无法读取。", "The file cannot be read."),
    "err_rejected": (
        "文件有问题，未写入任何数据。",
        "The file has problems: nothing was written.",
    ),
    "err_busy": ("数据库暂时繁忙，请稍后重试。", "The database is busy: try again shortly."),
    "err_network": ("网络连接中断，请重试。", "The connection was lost: try again."),
    "err_generic": ("出错了（HTTP {status}）。", "Something went wrong (HTTP {status})."),
    "err_no_file": ("请先选择文件。", "Choose a file first."),
}

# the import kinds' names (geo/ingest/spec.py KINDS; a kind missing here shows its id)
KIND_TEXT: dict[str, tuple[str, str]] = {
    "organisations": ("党组织", "Party organisations"),
    "members": ("党员", "Party members"),
    "service-points": ("党群服务点", "Service points"),
    "activities": ("活动", "Activities"),
    "buildings": ("建筑", "Buildings"),
    "roads": ("道路", "Roads"),
    "districts": ("行政区", "Districts"),
    "panoramas": ("全景", "Panoramas"),
    "meetings": ("组织生活会议", "Meetings"),
    "terms": ("换届选举", "Committee elections"),
    "dues": ("党费交纳", "Dues"),
    "grids": ("党建网格", "Party-building grids"),
    "landuse": ("用地（水系、绿地）", "Land use (water, green)"),
}

# the import report's reason codes in words (geo/ingest; an unknown code shows the API's message)
REASON_TEXT: dict[str, tuple[str, str]] = {
    "missing_required": ("必填项为空", "A required field is empty"),
    "bad_number": ("不是有效的数字", "Not a number"),
    "negative_capacity": ("容量不能为负数", "Capacity is negative"),
    "out_of_range_value": ("数值超出允许范围", "The value is out of range"),
    "bad_date": ("不是有效的日期", "Not a date"),
    "bad_datetime": (
        "不是有效的日期时间（例如 2025-05-01T09:00+08:00）",
        "Not a date and time (e.g. 2025-05-01T09:00+08:00)",
    ),
    "bad_enum": ("不是允许的取值", "Not one of the allowed values"),
    "unknown_parent": ("上级组织编码在文件和数据库中都不存在", "No such parent organisation"),
    "unknown_branch": ("支部编码不存在", "No such branch"),
    "unknown_org": ("组织编码不存在", "No such organisation"),
    "unknown_organiser": ("主办组织编码不存在", "No such organiser"),
    "unknown_service_point": ("服务点编码不存在", "No such service point"),
    "unknown_building": ("建筑编码不存在", "No such building"),
    "unknown_member": ("党员编号不存在", "No such member"),
    "unknown_reference": ("引用的编码不存在", "Refers to a code that does not exist"),
    "path_outside_folder": (
        "图片路径必须是导入文件所在文件夹内的相对路径",
        "The image path must be relative, inside the import file's folder",
    ),
    "missing_image": ("找不到图片文件", "Image file not found"),
    "bad_image": ("图片文件无法读取", "The image cannot be read"),
    "image_too_large": ("图片尺寸过大", "The image is too large"),
    "not_equirectangular": ("全景图的宽高比不是 2:1", "The panorama is not 2:1"),
    "duplicate_id": ("编码与前面的行重复", "The code repeats an earlier row"),
    "missing_coordinates": ("缺少经度或纬度", "Longitude or latitude is missing"),
    "non_numeric_coordinates": ("经度或纬度不是数字", "Longitude or latitude is not a number"),
    "lonlat_swapped": ("经纬度似乎写反了", "Longitude and latitude look swapped"),
    "out_of_range": (
        "坐标超出经度 ±180°、纬度 ±90° 的范围",
        "Coordinates outside longitude ±180°, latitude ±90°",
    ),
    "outside_china": ("坐标不在中国境内", "Coordinates outside China"),
    "missing_geometry": ("缺少几何图形", "No geometry"),
    "wrong_geometry_type": ("几何类型不符", "Wrong geometry type"),
    "invalid_geometry": ("几何图形无效且无法修复", "Invalid geometry that cannot be repaired"),
    "repaired": ("无效的几何图形已自动修复", "An invalid geometry was repaired"),
    "end_before_start": ("结束时间不晚于开始时间", "The end is not after the start"),
    "parent_cycle": ("上级关系形成了循环", "The parents form a cycle"),
    "parent_rejected": ("上级组织是本文件中有问题的行", "The parent is a bad row of this file"),
    "out_of_scope": (
        "超出你所在组织的范围，只有系统管理员可以写入",
        "Outside your organisation's subtree: only an administrator may write it",
    ),
    "missing_column": ("缺少必需的列", "A required column is missing"),
    "missing_geometry_column": (
        "此类数据需要几何图形：请使用 GeoJSON、GeoPackage 或压缩的 Shapefile",
        "This kind needs geometries: use GeoJSON, GeoPackage or a zipped Shapefile",
    ),
    "unreadable_file": ("文件无法读取", "The file cannot be read"),
    "bad_encoding": ("无法识别文件编码，请另存为 UTF-8 CSV", "Unknown encoding: save as UTF-8 CSV"),
    "bad_text": ("文件含有空字符（UTF-16 或二进制文件？）", "NUL characters (UTF-16 or binary?)"),
    "bad_row_shape": (
        "有的行字段数与表头不一致，请检查分隔符和引号",
        "Rows with the wrong number of fields: check separators and quotes",
    ),
    "content_mismatch": ("文件内容与扩展名不符", "The content does not match the extension"),
    "gis_disabled": ("本服务器不能导入 GIS 文件", "GIS files cannot be imported here"),
    "crs_assumed": ("文件未声明坐标系，按 EPSG:4326 处理", "No CRS declared: EPSG:4326 assumed"),
    "crs_override": ("已用指定的坐标系代替文件声明的坐标系", "The chosen CRS replaces the file's"),
    "ignored_columns": ("这些列不会导入", "These columns are not imported"),
}

# key: (zh-CN, en)
ADMIN_TEXT: dict[str, tuple[str, str]] = {
    "title": ("系统管理", "Administration"),
    "tab_users": ("用户与角色", "Users and roles"),
    "tab_embed": ("嵌入密钥", "Embed keys"),
    "tab_screen": ("大屏密钥", "Screen keys"),
    "tab_imports": ("导入", "Imports"),
    "need_login": (
        "请以管理员身份登录后使用本页（数据管理员可使用数据导入）。",
        "Log in as an administrator to use this page (data stewards: for imports).",
    ),
    "refused": (
        "仅管理员可以管理用户和密钥，数据管理员可以导入数据；当前账号（{who}）没有此权限。",
        "Only administrators manage users and keys, and data stewards import data; this "
        "account ({who}) may do neither.",
    ),
    "loading": ("加载中…", "Loading…"),
    "username": ("用户名", "User name"),
    "password": ("初始密码（至少 8 位）", "Initial password (8 characters or more)"),
    "role": ("角色", "Role"),
    "scope": ("范围（组织代码，留空为全区）", "Scope (organisation code; empty: the district)"),
    "scope_short": ("范围", "Scope"),
    "member": ("党员编号（党员角色必填）", "Member id (needed for the member role)"),
    "member_short": ("党员", "Member"),
    "state": ("状态", "State"),
    "active": ("启用", "Active"),
    "disabled": ("已停用", "Disabled"),
    "last_login": ("最近登录", "Last login"),
    "never": ("从未", "Never"),
    "actions": ("操作", "Actions"),
    "district": ("全区", "District"),
    "add_user": ("添加用户", "Add user"),
    "save": ("保存", "Save"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "reset_pw": ("重置密码", "Reset password"),
    "new_pw": (
        "{user} 的新密码（仅显示这一次，请转交本人）：",
        "New password for {user} (shown only this once; hand it over):",
    ),
    "role_member": ("党员", "Member"),
    "role_leader": ("领导", "Leader"),
    "role_planner": ("规划人员", "Planner"),
    "role_steward": ("数据管理员", "Data steward"),
    "role_admin": ("系统管理员", "Administrator"),
    "name": ("名称", "Name"),
    "key": ("密钥", "Key"),
    "origins": (
        "允许嵌入的来源（每行一个 scheme://host[:port]）",
        "Allowed origins (one scheme://host[:port] a line)",
    ),
    "origins_short": ("允许的来源", "Allowed origins"),
    "add_embed": ("创建嵌入密钥", "Create embed key"),
    "revoke": ("吊销", "Revoke"),
    "revoked": ("已吊销", "Revoked"),
    "snippet": ("嵌入代码与预览", "Snippet and preview"),
    "embed_note": (
        "嵌入密钥会出现在门户页面的 iframe 地址中，因此完整显示；它只在允许的来源中有效。",
        "An embed key appears in the portal's iframe address, so it is shown in full; it works "
        "only on its allowed origins.",
    ),
    "add_screen": ("创建大屏密钥", "Create screen key"),
    "screen_org": (
        "范围（组织代码，留空为全区）",
        "Scope (organisation code; empty: the district)",
    ),
    "screen_note": (
        "大屏密钥无需登录即可读取所属范围的数据，属于机密：只在创建时完整显示一次。",
        "A screen key reads its scope's figures without a login, so it is a secret: shown in "
        "full once, when it is created.",
    ),
    "new_screen": ("新大屏密钥（仅显示这一次）：", "New screen key (shown only this once):"),
    "screen_url": ("大屏地址", "Screen address"),
    "created": ("创建时间", "Created"),
    "saved": ("已保存", "Saved"),
    "confirm_revoke": (
        "确定吊销此密钥？使用它的页面将立即失效。",
        "Revoke this key? Pages using it stop at once.",
    ),
    "none": ("暂无", "None yet"),
} | IMPORT_TEXT


def admin_strings(lang: str) -> dict[str, str]:
    """The admin screen's strings in one language."""
    index = 1 if pick_lang(lang) == "en" else 0
    return {key: pair[index] for key, pair in ADMIN_TEXT.items()}


def _pick(table: dict[str, tuple[str, str]], lang: str) -> dict[str, str]:
    index = 1 if pick_lang(lang) == "en" else 0
    return {key: pair[index] for key, pair in table.items()}


def kind_names(lang: str) -> dict[str, str]:
    """The import kinds' names in one language."""
    return _pick(KIND_TEXT, lang)


def reason_texts(lang: str) -> dict[str, str]:
    """The import report's reason codes in words, in one language."""
    return _pick(REASON_TEXT, lang)
