"""The import report: a JSON document naming every bad row, and a short readable summary."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROW_CONVENTION = (
    "row = 1-based data row (the first row after the header is row 1; for GIS files the "
    "1-based feature number); line = the CSV line / spreadsheet row number (row + 1 for the "
    "header line; blank lines are skipped and CSV fields with embedded newlines shift it)"
)
MAX_STORED = 1000  # errors kept in the audit table's copy of the report


REDACTED = {
    "non_numeric_coordinates": "longitude or latitude is not a number",
    "lonlat_swapped": "coordinates look like (lat, lon): longitude and latitude swapped?",
    "out_of_range": "coordinates are outside lon ±180 / lat ±90",
    "outside_china": "coordinates are outside China",
}


def redact_coordinates(items: list[dict[str, object]]) -> list[dict[str, object]]:
    """Reports about members never repeat home coordinates (they are sensitive, PIPL Art. 28)."""
    for item in items:
        if item.get("column") == "lon/lat":
            item.pop("value", None)
            item["message"] = REDACTED.get(str(item["code"]), "coordinates are not usable")
    return items


def build(
    kind: str,
    path: Path,
    status: str,
    errors: list[dict[str, object]],
    warnings: list[dict[str, object]],
    **extra: Any,
) -> dict[str, Any]:
    """The report document."""
    bad_rows = {e["row"] for e in errors if e.get("row") is not None}
    return {
        "kind": kind,
        "source": str(path),
        "status": status,
        "row_convention": ROW_CONVENTION,
        **extra,
        "rows_bad": len(bad_rows),
        "error_counts": dict(Counter(str(e["code"]) for e in errors)),
        "warning_counts": dict(Counter(str(w["code"]) for w in warnings)),
        "errors": errors,
        "warnings": warnings,
    }


def for_audit(report: dict[str, Any]) -> dict[str, Any]:
    """The report trimmed for the imports table (the JSON file keeps everything)."""
    out = dict(report)
    for key in ("errors", "warnings"):
        items = report.get(key, [])
        if len(items) > MAX_STORED:
            out[key] = items[:MAX_STORED]
            out[f"{key}_truncated"] = len(items) - MAX_STORED
    return out


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the full report as UTF-8 JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), "utf-8")


def _where(item: dict[str, Any]) -> str:
    if item.get("row") is None:
        return "file"
    line = f" (line {item['line']})" if item.get("line") else ""
    return f"row {item['row']}{line}"


def summary_text(report: dict[str, Any], limit: int = 10) -> str:
    """A few plain lines: status, counts by reason, the first bad rows."""
    lines = [
        f"{report['kind']} from {Path(report['source']).name}: {report['status']}"
        f" ({report.get('rows_total', 0)} rows, {report['rows_bad']} bad)"
    ]
    for code, count in sorted(report["error_counts"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {code}: {count}")
    for item in report["errors"][:limit]:
        lines.append(f"  {_where(item)}: {item['code']}: {item['message']}")
    more = len(report["errors"]) - limit
    if more > 0:
        lines.append(f"  … and {more} more (see the JSON report)")
    return "\n".join(lines)


def print_summary(report: dict[str, Any], console: Console, limit: int = 20) -> None:
    """The summary as rich tables on the given console."""
    status = report["status"]
    colour = {"written": "green", "rejected": "red", "failed": "red"}.get(status, "yellow")
    if status != "written":
        console.print(
            f"[bold]{report['kind']}[/bold] from {Path(report['source']).name}: "
            f"[{colour}]{status}[/{colour}] · rows {report.get('rows_total', 0)} · "
            f"bad rows {report.get('rows_bad', 0)} · nothing written"
        )
        if report.get("failure"):
            console.print(f"[red]{report['failure']}[/red]")
        counts = sorted(report.get("error_counts", {}).items(), key=lambda kv: -kv[1])
        if counts:
            console.print("reasons: " + ", ".join(f"{code} × {n}" for code, n in counts))
    else:
        _print_written(report, console, colour)
    _print_items(report, console, limit)


def _print_written(report: dict[str, Any], console: Console, colour: str) -> None:
    status = report["status"]
    console.print(
        f"[bold]{report['kind']}[/bold] from {Path(report['source']).name}: "
        f"[{colour}]{status}[/{colour}] · rows {report.get('rows_total', 0)} · "
        f"written {report.get('rows_written', 0)} (inserted {report.get('rows_inserted', 0)}, "
        f"updated {report.get('rows_updated', 0)}) · unchanged {report.get('rows_unchanged', 0)}"
        f" · skipped {report.get('rows_skipped', 0)}"
    )


def _print_items(report: dict[str, Any], console: Console, limit: int) -> None:
    for key, title in (("errors", "Errors"), ("warnings", "Warnings")):
        items = report.get(key) or []
        if not items:
            continue
        table = Table(title=f"{title} ({len(items)})", title_justify="left")
        for col in ("where", "reason", "column", "message"):
            table.add_column(col)
        for item in items[:limit]:
            table.add_row(
                _where(item), str(item["code"]), str(item.get("column") or ""), str(item["message"])
            )
        console.print(table)
        if len(items) > limit:
            console.print(f"… and {len(items) - limit} more {key} (see the JSON report)")
