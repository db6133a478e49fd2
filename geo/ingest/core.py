"""`import_file`: read, validate everything, then write all good rows in one transaction (or nothing)."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geo import network
from geo.crs import normalise_crs
from geo.errors import ImportRejected, InvalidInput
from geo.ingest import report as rep
from geo.ingest import scoping, writers
from geo.ingest.content import ContentMismatch
from geo.ingest.fields import Lookups
from geo.ingest.problems import records
from geo.ingest.readers import Source, read_source
from geo.ingest.spec import KINDS, SPECS, Spec
from geo.ingest.validate import Options, Prepared, load_lookups, prepare, staged_rows
from geo.live import events

AUDIT_SQL = (
    "INSERT INTO imports (kind, source_name, sha256, actor, started_at, finished_at, status, "
    "rows_total, rows_written, rows_skipped, report) VALUES "
    "(%s, %s, %s, %s, %s, clock_timestamp(), %s, %s, %s, %s, %s) RETURNING id"
)
PROGRESS_MIN_ROWS = 50_000
log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    """What an import did; rows_written counts inserted + updated rows (unchanged ones are not)."""

    kind: str
    rows_total: int
    rows_written: int
    rows_skipped: int
    errors: list[dict[str, object]] = field(default_factory=list)
    warnings: list[dict[str, object]] = field(default_factory=list)
    import_id: int | None = None
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    report: dict[str, Any] = field(default_factory=dict)


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Steps:
    """A rich progress bar on a terminal for long files; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.progress: Progress | None = None
        if enabled and sys.stderr.isatty():
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    @contextmanager
    def running(self) -> Iterator[_Steps]:
        """Show the bar (if any) while the block runs."""
        if self.progress is None:
            yield self
            return
        with self.progress:
            yield self

    def task(self, description: str, total: int | None) -> Any:
        """A new bar line (total None: indeterminate)."""
        if self.progress is None:
            return None
        return self.progress.add_task(description, total=total)

    def done(self, task: Any) -> None:
        """Mark a bar line complete."""
        if self.progress is not None and task is not None:
            self.progress.update(task, total=1, completed=1)

    def advance(self, task: Any, n: int = 1) -> None:
        """Move a bar line on by n rows."""
        if self.progress is not None and task is not None:
            self.progress.advance(task, n)


def _audit(
    conn: psycopg.Connection, meta: dict[str, Any], status: str, report: dict[str, Any]
) -> int:
    row = conn.execute(
        AUDIT_SQL,
        (
            meta["kind"],
            meta["source"],
            meta["sha256"],
            meta["actor"],
            meta["started"],
            status,
            report.get("rows_total", 0),
            report.get("rows_written", 0),
            report.get("rows_skipped", 0),
            Jsonb(rep.for_audit(report)),
        ),
    ).fetchone()
    assert row is not None
    import_id = int(row[0])
    _finished(conn, import_id, meta, status, report)
    return import_id


def _finished(
    conn: psycopg.Connection, import_id: int, meta: dict[str, Any], status: str, report: Any
) -> None:
    """The import.finished event, in the audit row's transaction (stewards of the importer's
    subtree see it; an unbound importer's, every steward)."""
    data = {"id": import_id, "kind": meta["kind"], "status": status}
    data |= {k: report.get(k, 0) for k in ("rows_written", "rows_skipped")}
    subject, org = f"imports/{import_id}", meta.get("scope_org")
    event = events.NewEvent("import.finished", subject, org, "steward", data)
    text, args = events.insert(event, psycopg=True)
    conn.execute(text, args)


def _audit_alone(url: str, meta: dict[str, Any], status: str, report: dict[str, Any]) -> int | None:
    if meta.get("dry_run"):  # a check writes nothing, not even the audit row: a log line
        _log_check(meta, status, report)
        return None
    with psycopg.connect(url) as conn:
        return _audit(conn, meta, status, report)


def _log_check(meta: dict[str, Any], status: str, report: dict[str, Any]) -> None:
    log.info(
        "import check (dry run, nothing written) of %s %s by %s: %s, %s rows, %s bad",
        meta["kind"],
        meta["source"],
        meta["actor"],
        status,
        report.get("rows_total", 0),
        report.get("rows_bad", 0),
    )


def _checked(
    prepared: Prepared, report: dict[str, Any], meta: dict[str, Any], out_path: Path | None
) -> ImportResult:
    """A dry run's answer: the report of every check, status "checked", nothing written."""
    report.update(status="checked", dry_run=True, rows_written=0, import_id=None)
    _log_check(meta, "checked", report)
    if out_path:
        rep.write_json(report, out_path)
    return ImportResult(
        kind=str(meta["kind"]),
        rows_total=prepared.rows_total,
        rows_written=0,
        rows_skipped=int(report["rows_skipped"]),
        errors=report["errors"],
        warnings=report["warnings"],
        report=report,
    )


def _reject(
    url: str, meta: dict[str, Any], report: dict[str, Any], report_path: Path | None
) -> ImportRejected:
    report["status"] = "rejected"
    report["import_id"] = _audit_alone(url, meta, "rejected", report)
    if report_path:
        rep.write_json(report, report_path)
    return ImportRejected(rep.summary_text(report), report)


def _unreadable(exc: Exception) -> dict[str, object]:
    # the exception's text may quote the file: it goes to the log, never into the report
    message = f"the file could not be read ({type(exc).__name__})"
    return {"row": None, "line": None, "code": "unreadable_file", "message": message}


def _fail(
    url: str,
    meta: dict[str, Any],
    report: dict[str, Any],
    report_path: Path | None,
    exc: Exception,
    detail: bool = True,
) -> ImportRejected:
    """Record a failed run (nothing was written) and describe it as a rejection (detail=False:
    the exception's text is logged, not reported, as it may quote the file)."""
    report["status"] = "failed"
    report["failure"] = (
        f"{type(exc).__name__}: {str(exc).strip()}" if detail else type(exc).__name__
    )
    if not detail:
        log.warning("import of %s failed while reading: %r", meta["source"], exc)
    report["import_id"] = _audit_alone(url, meta, "failed", report)
    if report_path:
        rep.write_json(report, report_path)
    return ImportRejected(
        f"{meta['source']}: import failed, nothing was written: {report['failure']}", report
    )


def import_file(
    url: str,
    kind: str,
    path: str | Path,
    *,
    crs: str | None = None,
    skip_invalid: bool = False,
    columns: dict[str, str] | None = None,
    china_only: bool = False,
    report_path: str | Path | None = None,
    actor: str | None = None,
    progress: bool = True,
    scope_org: int | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import one file of `kind`; ImportRejected (nothing written) when any row is bad and not
    skip_invalid. scope_org: the caller is bound to that organisation and may write only rows of
    its subtree (geo.ingest.scoping); None = unbound (admin, CLI). dry_run: every check, then
    nothing written and no audit row (status "checked"; a refusal is still ImportRejected)."""
    if kind not in SPECS:
        raise InvalidInput(f"unknown import kind {kind!r}: use one of {', '.join(KINDS)}")
    spec = SPECS[kind]
    normalise_crs(crs)  # an unknown CRS is a usage error, before any work
    scoping.check_kind(spec, scope_org)
    path = Path(path)
    out_path = Path(report_path) if report_path else None
    with psycopg.connect(url) as conn:
        started = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        lookups = load_lookups(conn, spec)
    meta: dict[str, Any] = {"kind": kind, "source": path.name, "sha256": _sha256(path)}
    meta |= {"actor": actor, "started": started, "scope_org": scope_org, "dry_run": dry_run}
    options = Options(crs=crs, china_only=china_only, columns=columns)
    steps = _Steps(progress)
    with steps.running():
        reading = steps.task(f"reading and checking {path.name}", None)
        source, prepared, timings = _read(url, spec, path, options, lookups, meta, out_path)
        if scope_org is not None:
            with psycopg.connect(url) as conn:
                scoping.check_scope(conn, spec, prepared, scope_org)
        steps.done(reading)
        report = _report(spec, path, prepared, source.format, source.encoding, source.header_lines)
        report["timings_s"] = timings
        if report["errors"] and (not skip_invalid or scoping.CODE in report["error_counts"]):
            raise _reject(url, meta, report, out_path)
        if dry_run:
            return _checked(prepared, report, meta, out_path)
        try:
            result = _write(url, spec, prepared, report, meta, steps)
        except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
            raise _fail(url, meta, report, out_path, exc) from exc
        except Exception as exc:
            _fail(url, meta, report, out_path, exc)
            raise
    if out_path:
        rep.write_json(report, out_path)
    return result


def _read(
    url: str,
    spec: Spec,
    path: Path,
    options: Options,
    lookups: Lookups,
    meta: dict[str, Any],
    out_path: Path | None,
) -> tuple[Source, Prepared, dict[str, float]]:
    """Read and validate the file; every refusal is audited before it is raised."""
    kind = spec.kind
    try:
        t0 = time.perf_counter()
        source = read_source(path)
        t1 = time.perf_counter()
        prepared = prepare(spec, source, options, lookups, path)
        return source, prepared, {"read": t1 - t0, "validate": time.perf_counter() - t1}
    except ImportRejected as exc:
        errors: list[dict[str, object]] = exc.report.get("errors", [])  # type: ignore[assignment]
        report = rep.build(kind, path, "rejected", errors, [], rows_total=0)
        raise _reject(url, meta, report, out_path) from exc
    except ContentMismatch as exc:
        error: dict[str, object] = {"row": None, "line": None, "code": exc.code}
        error["message"] = str(exc)
        report = rep.build(kind, path, "rejected", [error], [], rows_total=0)
        _reject(url, meta, report, out_path)
        raise
    except InvalidInput:
        raise
    except Exception as exc:  # a file our readers choke on is still the caller's bad input
        report = rep.build(kind, path, "failed", [_unreadable(exc)], [], rows_total=0)
        raise _fail(url, meta, report, out_path, exc, detail=False) from exc


def _report(
    spec: Spec, path: Path, prepared: Prepared, fmt: str, encoding: str | None, header: int
) -> dict[str, Any]:
    import numpy as np

    p = prepared.problems
    numbers = np.arange(1, prepared.rows_total + 1)
    errors = records(p.errors, numbers, header)
    warnings = p.file_warnings + records(p.warnings, numbers, header)
    if spec.table == "members":
        errors = rep.redact_coordinates(errors)
    return rep.build(
        spec.kind,
        path,
        "validated",
        errors,
        warnings,
        format=fmt,
        encoding=encoding,
        crs=prepared.crs,
        columns=prepared.mapping,
        rows_total=prepared.rows_total,
        rows_valid=int(p.good.sum()),
        rows_skipped=int(p.bad.sum()),
    )


def _write(
    url: str,
    spec: Spec,
    prepared: Prepared,
    report: dict[str, Any],
    meta: dict[str, Any],
    steps: _Steps,
) -> ImportResult:
    """All good rows in one transaction, the audit row included: a killed run leaves nothing."""
    rows = staged_rows(spec, prepared)
    task = (
        steps.task(f"importing {spec.kind}", len(rows)) if len(rows) >= PROGRESS_MIN_ROWS else None
    )
    with psycopg.connect(url) as conn, conn.transaction():
        writers.create_staging(conn, spec.table)
        t0 = time.perf_counter()
        writers.copy_rows(conn, spec.table, rows, lambda k: steps.advance(task, k))
        report["timings_s"]["copy_staging"] = time.perf_counter() - t0
        steps.done(task)
        upserting = steps.task(f"writing {spec.table}", None) if task is not None else None
        counts = writers.upsert(conn, spec.table, rows)
        report["timings_s"].update(counts.timings)
        steps.done(upserting)
        if spec.kind == "roads":
            report["topology"] = network.build_topology_in(conn)
        report.update(
            status="written",
            rows_staged=len(rows),
            bulk_load=counts.bulk,
            rows_inserted=counts.inserted,
            rows_updated=counts.updated,
            rows_unchanged=counts.unchanged,
            rows_written=counts.inserted + counts.updated,
        )
        import_id = _audit(conn, meta, "written", report)
        t0 = time.perf_counter()
    report["timings_s"]["commit"] = time.perf_counter() - t0
    report["import_id"] = import_id
    return ImportResult(
        kind=spec.kind,
        rows_total=prepared.rows_total,
        rows_written=counts.inserted + counts.updated,
        rows_skipped=int(report["rows_skipped"]),
        errors=report["errors"],
        warnings=report["warnings"],
        import_id=import_id,
        rows_inserted=counts.inserted,
        rows_updated=counts.updated,
        rows_unchanged=counts.unchanged,
        report=report,
    )
