"""Build the self-served CJK label font (issue 11 §1): Noto Sans CJK SC (Debian fonts-noto-cjk,
SIL OFL 1.1) cut down to ASCII, CJK punctuation, full-width forms and the 6 763 hanzi of GB 2312
(levels 1 and 2), as WOFF (zlib) in web/static/fonts/. The basemap's TextLayer draws its labels
in it, so no glyph or font request leaves the server.

    .venv/bin/python scripts/subset_font.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FAMILY = "Noto Sans CJK SC"
OUT = Path(__file__).resolve().parent.parent / "web/static/fonts/djmap-cjk.woff"


def gb2312() -> str:
    """Every character GB 2312 encodes in its hanzi rows (0xB0A1–0xF7FE)."""
    chars = []
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


def font_number() -> int:
    """The index of the Simplified Chinese face in the collection."""
    for i, font in enumerate(TTCollection(str(SOURCE)).fonts):
        if font["name"].getDebugName(1) == FAMILY:
            return i
    raise SystemExit(f"{FAMILY} not in {SOURCE}: install fonts-noto-cjk")


def main() -> None:
    text = (
        "".join(chr(c) for c in range(0x20, 0x7F))
        + "·–—‘’“”…、。〈〉《》「」『』【】〔〕（），：；？！￥"
    )
    text += "".join(chr(c) for c in range(0x3000, 0x3040)) + gb2312()
    options = subset.Options()
    options.flavor = "woff"
    options.font_number = font_number()
    options.layout_features = ["kern", "liga", "vert"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(SOURCE), options)
    sub = subset.Subsetter(options)
    sub.populate(text=text)
    sub.subset(font)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(OUT), options)
    print(f"{OUT}: {OUT.stat().st_size} bytes, {len(set(text))} characters", file=sys.stderr)


if __name__ == "__main__":
    main()
