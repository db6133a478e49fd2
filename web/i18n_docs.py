"""The introduction above Swagger UI on /api/docs (issue 11 §7): zh-CN first, then en. Pure data."""

from __future__ import annotations

# key: (zh-CN, en)
DOCS_TEXT: dict[str, tuple[str, str]] = {
    "docs_intro_title": ("党建地图接口", "The djmap API"),
    "docs_intro_lead": (
        "本页列出党建地图的全部接口，可直接试用。地图数据按 OGC API Features、TileJSON 和 3D Tiles "
        "标准发布，任何标准客户端（QGIS、GDAL、MapLibre、deck.gl）都能读取。",
        "Every djmap endpoint, ready to try. Map data follows OGC API Features, TileJSON and "
        "3D Tiles, so any standard client (QGIS, GDAL, MapLibre, deck.gl) can read it.",
    ),
    "docs_intro_login": (
        "登录：点击右侧“Authorize”，填写用户名和密码（OAuth2 密码模式），之后的试用请求都会带上令牌。"
        "未登录时只能看到公开数据；党员住址从不以点位形式发布。",
        "Log in: press “Authorize” and enter your user name and password (OAuth2 password "
        "flow); every request you try then carries the token. Without logging in you see "
        "public data only; member homes are never published as points.",
    ),
    "docs_intro_start": ("从这里开始", "Where to start"),
    "docs_intro_collections": (
        "要素集合（OGC API Features）",
        "Feature collections (OGC API Features)",
    ),
    "docs_intro_layers": ("图层与 TileJSON", "Layers and TileJSON"),
    "docs_intro_events": ("实时事件流（SSE）", "Live event stream (SSE)"),
    "docs_intro_schema": ("OpenAPI 文档（JSON）", "The OpenAPI document (JSON)"),
    "docs_intro_errors": (
        '出错时返回 JSON：{"detail": …, "code": …}；数据库暂不可用时返回 503 并带 Retry-After。',
        'Errors answer JSON {"detail": …, "code": …}; while the database is away the answer '
        "is 503 with Retry-After.",
    ),
}
