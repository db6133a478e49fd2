"""UI text of the offline basemap (issue 11 §1-2): zh-CN first, then en. Pure data."""

from __future__ import annotations

# key: (zh-CN, en)
BASEMAP_TEXT: dict[str, tuple[str, str]] = {
    "layer_empty": ("{layer}：暂无数据", "{layer}: no data yet"),
}


def text(lang: str, key: str) -> str:
    """The string in the page language (English for `en`, Chinese otherwise)."""
    zh, en = BASEMAP_TEXT[key]
    return en if lang == "en" else zh
