"""UI text of the basemap (issue 11 §1-2): zh-CN first, then en. Pure data."""

from __future__ import annotations

# key: (zh-CN, en)
BASEMAP_TEXT: dict[str, tuple[str, str]] = {
    "layer_empty": ("{layer}：暂无数据", "{layer}: no data yet"),
    # The optional online basemap (web/basemaps.py): its switch and the credit each provider asks.
    "online_basemap": ("在线底图", "Online basemap"),
    "credit_osm": ("© OpenStreetMap contributors", "© OpenStreetMap contributors"),
    "credit_tianditu": (
        "© 天地图（国家地理信息公共服务平台）",
        "© Tianditu (National Platform for Common Geospatial Information Services)",
    ),
    "credit_gaode": ("© 高德地图", "© AutoNavi (Amap)"),
    "review_no": (" 审图号：{no}", " · map review no. (审图号) {no}"),
}


def text(lang: str, key: str) -> str:
    """The string in the page language (English for `en`, Chinese otherwise)."""
    zh, en = BASEMAP_TEXT[key]
    return en if lang == "en" else zh
