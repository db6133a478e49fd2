"""UI text of the admin screen `/admin` (issue 11 §5): zh-CN first, then en. Pure data; the page
gets it as `a` (template) and `cfg.a` (script)."""

from __future__ import annotations

from web.i18n import pick_lang

# key: (zh-CN, en)
ADMIN_TEXT: dict[str, tuple[str, str]] = {
    "title": ("系统管理", "Administration"),
    "tab_users": ("用户与角色", "Users and roles"),
    "tab_embed": ("嵌入密钥", "Embed keys"),
    "tab_screen": ("大屏密钥", "Screen keys"),
    "need_login": (
        "请以管理员身份登录后使用本页。",
        "Log in as an administrator to use this page.",
    ),
    "refused": (
        "仅管理员可以管理用户和密钥；当前账号（{who}）没有此权限。",
        "Only administrators manage users and keys; this account ({who}) may not.",
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
}


def admin_strings(lang: str) -> dict[str, str]:
    """The admin screen's strings in one language."""
    index = 1 if pick_lang(lang) == "en" else 0
    return {key: pair[index] for key, pair in ADMIN_TEXT.items()}
