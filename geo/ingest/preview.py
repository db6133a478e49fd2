"""What the import screen shows before anything is checked (issue 11 §5): the file's header, its
first rows as text, and each target field of the kind with the column the importer would match
to it (`match_columns`, the same Chinese and English aliases). Nothing is written or audited.

The file is read by `read_source`, the importer's own readers (each format only by its reader,
after the content check). Reports about members never repeat home coordinates, so in a members
file the cells of the columns matched to lon/lat are masked here too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from geo.errors import ImportRejected, InvalidInput
from geo.ingest import report as rep
from geo.ingest import scoping
from geo.ingest.columns import candidates, match_columns
from geo.ingest.readers import Source, read_source
from geo.ingest.spec import KINDS, SPECS, Spec

PREVIEW_ROWS = 10
MAX_CELL = 200  # characters of a cell shown
MASK = "•••"
EN_LABELS = {
    "lon": "Longitude",
    "lat": "Latitude",
    "external_id": "Member id",
    "height_m": "Height (m)",
    "paid_share": "Share paid (0–1)",
}
ZH_LABELS = {
    "external_id": "党员编号",
    "code": "编码",
    "name": "名称",
    "parent_code": "上级组织",
    "building_code": "所在建筑",
    "branch_code": "所在支部",
}
log = logging.getLogger(__name__)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def labels(name: str, spellings: tuple[str, ...]) -> tuple[str, str]:
    """(zh, en) label of a target field: its first Chinese alias, its name in words."""
    zh = ZH_LABELS.get(name) or next((s for s in spellings if _is_cjk(s)), name)
    return zh, EN_LABELS.get(name) or name.replace("_", " ").capitalize()


def _required(spec: Spec, source: Source) -> set[str]:
    names = {f.name for f in spec.fields if f.required}
    if spec.geom == "point" and spec.geom_required and source.geometry is None:
        names |= {"lon", "lat"}
    return names


def fields(spec: Spec, source: Source, matched: dict[str, str]) -> list[dict[str, Any]]:
    """Every target of the kind (its fields, plus lon/lat for points read from a table)."""
    targets = candidates(spec)
    if source.geometry is not None:
        targets.pop("lon", None)
        targets.pop("lat", None)
    required = _required(spec, source)
    out = []
    for name, spellings in targets.items():
        zh, en = labels(name, spellings)
        out.append(
            {
                "name": name,
                "required": name in required,
                "label_zh": zh,
                "label_en": en,
                "matched": matched.get(name),
            }
        )
    return out


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = "".join(c if c.isprintable() else " " for c in str(value))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _rows(spec: Spec, frame: pd.DataFrame, matched: dict[str, str]) -> list[list[str]]:
    head = frame.head(PREVIEW_ROWS)
    hidden = {matched[t] for t in ("lon", "lat") if t in matched}
    masked = [spec.table == "members" and col in hidden for col in head.columns]
    rows = []
    for values in head.itertuples(index=False, name=None):
        cells = [_cell(v) for v in values]
        rows.append([MASK if m and c else c for m, c in zip(masked, cells, strict=True)])
    return rows


def _read(kind: str, path: Path) -> Source:
    """read_source; a file our readers choke on is a rejection with a one-line report, as in
    `import_file` (the reader's own text, which may quote the file, goes to the log)."""
    try:
        return read_source(path)
    except ImportRejected as exc:
        errors: list[dict[str, object]] = exc.report.get("errors", [])  # type: ignore[assignment]
        report = rep.build(kind, path, "rejected", errors, [], rows_total=0)
        raise ImportRejected(str(exc), report) from exc
    except InvalidInput:
        raise
    except Exception as exc:
        log.warning("preview of %s failed while reading: %r", path.name, exc)
        message = f"the file could not be read ({type(exc).__name__})"
        error: dict[str, object] = {"row": None, "line": None, "code": "unreadable_file"}
        error["message"] = message
        report = rep.build(kind, path, "rejected", [error], [], rows_total=0)
        raise ImportRejected(f"{path.name}: {message}", report) from exc


def preview_file(kind: str, path: Path, scope_org: int | None = None) -> dict[str, Any]:
    """{kind, format, columns, rows, rows_total, geometry, fields} of the file at `path`.
    InvalidInput for an unknown kind or content not of its type, Forbidden for a kind the bound
    caller may not import, ImportRejected (with a report) for an unreadable file."""
    if kind not in SPECS:
        raise InvalidInput(f"unknown import kind {kind!r}: use one of {', '.join(KINDS)}")
    spec = SPECS[kind]
    scoping.check_kind(spec, scope_org)
    source = _read(kind, path)
    columns = [str(c) for c in source.frame.columns]
    matched = match_columns(spec, columns)
    return {
        "kind": kind,
        "format": source.format,
        "columns": columns,
        "rows": _rows(spec, source.frame, matched),
        "rows_total": len(source.frame),
        "geometry": source.geometry is not None,
        "fields": fields(spec, source, matched),
    }
