"""The printable coverage report (issue 14 §6): the report's data (geo/planning/report.py) laid
out by a Jinja template of web/templates and printed to an A4 PDF by headless Chromium.

Why Chromium and not WeasyPrint: Chromium is already on every djmap machine (the pages' browser
tests drive /usr/bin/chromium; scripts/ensure-system.sh installs it), it lays out the same HTML
and CSS as the pages, and it embeds the CJK font it draws with (fonts-noto-cjk, subset) into the
PDF. WeasyPrint would add a Python dependency with its own native libraries (Pango) for no gain.
The HTML is self-contained (maps are inline PNG, no script, no network), so printing is one
process with no server behind it.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from geo.errors import Unavailable
from geo.vocab import term
from web.i18n import report_strings
from web.render import _env
from web.report_map import map_img

CHROMIUM = "/usr/bin/chromium"
PRINT_TIMEOUT_S = 60.0
CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--no-pdf-header-footer",
    "--run-all-compositor-stages-before-draw",
)  # fmt: skip


class PrintFailed(Unavailable):
    """Chromium did not print the report (HTTP 503: worth trying again)."""


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f}%"


def html(data: dict[str, Any], lang: str = "zh-CN") -> str:
    """The report as one self-contained HTML document."""
    t = report_strings(lang)
    columns = [{"label": t["baseline"], **data["baseline"]}]
    if data["scenario"] is not None:
        columns.append({"label": f"{t['scenario']} #{data['params']['scenario']}",
                        **data["scenario"]})  # fmt: skip
    for col in columns:
        col["img"] = map_img(data, col["coverage"])
    area = data["area"]
    label = (
        area["name"]
        or area["district"]
        or (",".join(f"{v:.3f}" for v in area["bbox"]) if area["bbox"] else t["all"])
    )
    return _env().get_template("report_coverage.html").render(
        lang=lang, t=t, columns=columns, area_label=label, fmt=_fmt, pct=_pct,
        term=lambda value: term(value, lang),
        scenario=data["scenario"], params=data["params"], date=data["date"],
        sites=data["sites"], grids=data["grids"], versions=data["versions"],
    )  # fmt: skip


def print_pdf(document: str) -> bytes:
    """The HTML printed to PDF (A4, from the document's @page rule) by headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="djmap-report-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(document, encoding="utf-8")
        args = [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={tmp}/profile",
                f"--print-to-pdf={out}", src.as_uri()]  # fmt: skip
        try:
            subprocess.run(args, capture_output=True, timeout=PRINT_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrintFailed(f"chromium could not print the report: {exc}") from exc
        if not out.exists() or out.stat().st_size == 0:
            raise PrintFailed("chromium printed no PDF")
        return out.read_bytes()


def pdf(data: dict[str, Any], lang: str = "zh-CN") -> bytes:
    """The report as A4 PDF bytes."""
    return print_pdf(html(data, lang))
