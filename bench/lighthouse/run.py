"""Lighthouse 12 on every page (issue 11): accessibility, best practices, performance and LCP.

    .venv/bin/python bench/lighthouse/run.py [--pages nearest,card] [--lang en] [--base URL]
                                             [--out test-output/lighthouse.json]

`make lighthouse` installs Lighthouse from bench/lighthouse/package-lock.json (npm ci, kept out of
web/package.json) and runs this. Unless --base names a running server, `djmap serve` is started
on a free loopback port against the database in use (the embedded cluster with the sample, as
`make run` leaves it). A screen key and an embed key named "lighthouse" are made once if missing
(the embed key allows a portal's origin). Pages are measured one at a
time (Lighthouse is CPU-heavy), in Debian's Chromium, with Lighthouse's defaults: the mobile form
factor and simulated throttling (slow 4G, 4x CPU slowdown). Pages behind a login are measured
logged out: the pages keep the bearer token in localStorage, which no request header can set.
The big screen is measured with reduced motion (its tour jumps instead of flying). A page that
stays too busy to answer a navigation run (PAGE_HUNG: software WebGL drawing) is measured in
Lighthouse's user-flow modes instead (snapshot.mjs: accessibility and best practices only).

Writes test-output/lighthouse.json (figures and failing audits per page), a markdown table
beside it (.md) and each page's full report under test-output/lighthouse/. Exits 1 when a page
misses a target: accessibility >= 0.98, best practices 1.0, and on /nearest LCP <= 2.5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --use-angle=swiftshader --enable-unsafe-swiftshader"
)
CATEGORIES = "accessibility,best-practices,performance"
PORTAL = "https://portal.example.org"  # the embed key's allowed origin
A11Y_MIN, BP_MIN, LCP_MAX_MS = 0.98, 1.0, 2500.0
FIGURES = ("accessibility", "best_practices", "performance", "lcp_ms", "observed_lcp_ms")

# name -> path (a {screen_key}/{embed_key} is filled in); the order is the table's.
PAGES: dict[str, str] = {
    "leader": "/",
    "nearest": "/nearest",
    "coverage": "/coverage",
    "card": "/card",
    "checkin": "/checkin",
    "admin": "/admin",
    "admin-embed": "/admin/embed",
    "screen": "/screen?key={screen_key}",
    "embed": "/embed?key={embed_key}",
    "docs": "/api/docs",
    "not-found": "/no-such-page",
}


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"djmap serve exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=5) as res:
                if res.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"djmap serve did not answer: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def server(base: str | None) -> Iterator[str]:
    """The base URL: `base`, or `djmap serve` started here on a free loopback port."""
    if base:
        yield base.rstrip("/")
        return
    port = free_port()
    fd, name = tempfile.mkstemp(prefix="djmap-lighthouse-", suffix=".log")
    djmap = ROOT / ".venv" / "bin" / "djmap"
    cmd = [str(djmap), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with os.fdopen(fd, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc, Path(name))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        Path(name).unlink(missing_ok=True)


def keys() -> dict[str, str]:
    """An active screen key and embed key named "lighthouse" (made once when missing)."""
    from geo import users
    from geo.screen import keys as screen_keys
    from geo.settings import get_db_settings

    url = get_db_settings().url
    screen = [k for k in screen_keys.list_screen_keys(url) if k.name == "lighthouse" and k.active]
    if not screen:
        screen = [screen_keys.add_screen_key(url, "lighthouse", None)]
    embed = [
        k
        for k in users.list_embed_keys(url)
        if k.name == "lighthouse" and k.active and PORTAL in k.allowed_origins
    ]
    if not embed:
        embed = [users.add_embed_key(url, "lighthouse", [PORTAL])]
    return {"screen_key": screen[0].key, "embed_key": embed[0].key}


def headers_for(name: str) -> dict[str, str]:
    """Extra request headers of a page: none (a Referer set by --extra-headers made Chromium show
    an interstitial for /embed; a request naming no origin is accepted, as when a portal's
    referrer policy sends none, and the key's origins still bind the frame by CSP)."""
    return {}


def flags_for(name: str) -> str:
    """Chromium flags of a page: the big screen with reduced motion (its tour jumps instead of
    flying; flights drawn in software WebGL keep the page too busy to answer Lighthouse)."""
    return CHROME_FLAGS + (" --force-prefers-reduced-motion" if name == "screen" else "")


def status_of(url: str, headers: dict[str, str]) -> int:
    """The HTTP status of the page (the 404 page is meant to be a 404)."""
    req = urllib.request.Request(url, headers={"Accept": "text/html", **headers})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return int(res.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def lighthouse(
    url: str, headers: dict[str, str], report: Path, wait_ms: int, flags: str = CHROME_FLAGS
) -> dict[str, Any]:
    """Run Lighthouse once on `url`; its JSON report (LHR), also kept in `report`. A page that
    answers 4xx on purpose (the 404 page) is measured as it is (--ignore-status-code)."""
    cli = HERE / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        raise SystemExit("Lighthouse is not installed: cd bench/lighthouse && npm ci")
    cmd = [
        "node",
        str(cli),
        url,
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={CATEGORIES}",
        f"--chrome-flags={flags}",
        f"--max-wait-for-load={wait_ms}",
        "--ignore-status-code",
        "--quiet",
    ]
    if headers:
        cmd.append(f"--extra-headers={json.dumps(headers)}")
    env = {**os.environ, "CHROME_PATH": CHROME}
    report.unlink(missing_ok=True)
    done = subprocess.run(cmd, cwd=HERE, env=env, timeout=900, capture_output=True, text=True)
    if not report.exists():  # e.g. PAGE_HUNG: Lighthouse wrote no report
        return {"runtimeError": {"code": done.stderr.strip().splitlines()[-1:] or ["exit"]}}
    lhr: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return lhr


def flow_figures(url: str, prefix: Path, flags: str) -> dict[str, Any]:
    """Accessibility and best practices of a page too busy for a navigation run (PAGE_HUNG), from
    Lighthouse's user-flow modes (snapshot.mjs): a timespan over the load and 20 s after it (console
    errors, deprecations, issues) and a snapshot of the page then; best practices is the lower of
    the two reports' scores. No performance figures in these modes."""
    env = {**os.environ, "CHROME_PATH": CHROME}
    cmd = ["node", str(HERE / "snapshot.mjs"), url, str(prefix), flags, "20000"]
    subprocess.run(cmd, cwd=HERE, env=env, timeout=900, check=True, capture_output=True)
    span = json.loads(prefix.with_name(prefix.name + "-timespan.json").read_text(encoding="utf-8"))
    snap = json.loads(prefix.with_name(prefix.name + "-snapshot.json").read_text(encoding="utf-8"))
    bp = [r["categories"]["best-practices"]["score"] for r in (span, snap)]
    return {
        **dict.fromkeys(FIGURES),
        "mode": "timespan+snapshot",
        "accessibility": snap["categories"]["accessibility"]["score"],
        "best_practices": None if None in bp else min(bp),
        "failing_accessibility": _failing(snap, "accessibility"),
        "failing_best_practices": _failing(span, "best-practices")
        + _failing(snap, "best-practices"),
        "runtime_error": None,
    }


def _failing(lhr: dict[str, Any], category: str) -> list[str]:
    """Audits of a category that failed (scored below 1 and counted in the score)."""
    audits = lhr["audits"]
    if lhr["categories"][category]["score"] is None:
        return []
    out = []
    for ref in lhr["categories"][category]["auditRefs"]:
        audit = audits[ref["id"]]
        if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
            out.append(ref["id"])
    return out


def figures(lhr: dict[str, Any]) -> dict[str, Any]:
    """Scores, LCP (simulated and observed) and failing audits of one report."""
    if "categories" not in lhr:
        error = str(lhr["runtimeError"]["code"])
        empty = {"failing_accessibility": [], "failing_best_practices": [], "warnings": []}
        return {**dict.fromkeys(FIGURES), **empty, "runtime_error": error}
    cats, audits = lhr["categories"], lhr["audits"]
    metrics = (audits.get("metrics", {}).get("details") or {}).get("items") or [{}]
    lcp_el = (audits.get("largest-contentful-paint-element", {}).get("details") or {}).get("items")
    return {
        "accessibility": cats["accessibility"]["score"],
        "best_practices": cats["best-practices"]["score"],
        "performance": cats["performance"]["score"],
        "lcp_ms": audits["largest-contentful-paint"].get("numericValue"),
        "observed_lcp_ms": metrics[0].get("observedLargestContentfulPaint"),
        "fcp_ms": audits["first-contentful-paint"].get("numericValue"),
        "tbt_ms": audits["total-blocking-time"].get("numericValue"),
        "lcp_element": _lcp_element(lcp_el),
        "failing_accessibility": _failing(lhr, "accessibility"),
        "failing_best_practices": _failing(lhr, "best-practices"),
        "runtime_error": (lhr.get("runtimeError") or {}).get("code"),
        "warnings": lhr.get("runWarnings", []),
    }


def _lcp_element(items: Any) -> str | None:
    """The LCP element's selector (Lighthouse 12 nests it in a table's first row)."""
    with contextlib.suppress(LookupError, TypeError, AttributeError):
        first = items[0]
        node = first.get("node") or first["items"][0]["node"]
        return str(node.get("selector") or node.get("snippet"))
    return None


def meets(name: str, row: dict[str, Any]) -> bool:
    """Whether a page meets issue 11's targets."""
    ok = (row["accessibility"] or 0) >= A11Y_MIN and (row["best_practices"] or 0) >= BP_MIN
    if name == "nearest":
        ok = ok and row["lcp_ms"] is not None and row["lcp_ms"] <= LCP_MAX_MS
    return bool(ok)


def _score(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the run."""
    out = [
        "| page | path | HTTP | accessibility | best practices | performance | LCP (s) "
        "| failing audits |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lcp = "—" if r["lcp_ms"] is None else f"{r['lcp_ms'] / 1000:.1f}"
        failing = ", ".join(r["failing_accessibility"] + r["failing_best_practices"]) or "—"
        if r["runtime_error"]:
            failing = f"Lighthouse: {r['runtime_error']}"
        elif r.get("mode", "navigation") != "navigation":
            failing += f" ({r.get('mode')}: navigation run PAGE_HUNG)"
        out.append(
            f"| {r['page']} | `{r['path_shown']}` | {r['status']} | {_score(r['accessibility'])} "
            f"| {_score(r['best_practices'])} | {_score(r['performance'])} | {lcp} | {failing} |"
        )
    return "\n".join(out) + "\n"


def versions() -> dict[str, str]:
    """Chromium, Lighthouse and Node versions, and the machine."""
    chromium = subprocess.run([CHROME, "--version"], capture_output=True, text=True).stdout
    pkg = HERE / "node_modules" / "lighthouse" / "package.json"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    return {
        "chromium": chromium.strip(),
        "lighthouse": json.loads(pkg.read_text())["version"] if pkg.exists() else "?",
        "node": node.strip(),
        "machine": f"{platform.node()} {platform.machine()} cpus={os.cpu_count()}",
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def measure(
    base: str, names: list[str], lang: str | None, out: Path, wait_ms: int
) -> list[dict[str, Any]]:
    """Lighthouse on each page in turn; one row per page."""
    filled = keys() if {"screen", "embed"} & set(names) else {}
    reports = out.with_suffix("")
    reports.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        path = PAGES[name].format(**filled)
        if lang:
            path += ("&" if "?" in path else "?") + f"lang={lang}"
        headers = headers_for(name)
        row: dict[str, Any] = {"page": name, "path_shown": PAGES[name].split("=")[0]}
        row["status"] = status_of(base + path, headers)
        started = time.monotonic()
        report = reports / f"{name}.json"
        flags = flags_for(name)
        row.update(figures(lighthouse(base + path, headers, report, wait_ms, flags)))
        row["mode"] = "navigation"
        if row["runtime_error"] and "PAGE_HUNG" in str(row["runtime_error"]):  # busy at the limit
            row.update(flow_figures(base + path, reports / name, flags))
        row["seconds"] = round(time.monotonic() - started, 1)
        row["meets"] = meets(name, row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    return rows


def main() -> int:
    """Measure, write the JSON summary and the markdown table, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    parser.add_argument("--lang", default=None, help="zh-CN (the default page language) or en")
    parser.add_argument("--base", default=None, help="a running server instead of starting one")
    parser.add_argument("--max-wait", type=int, default=45_000, help="Lighthouse's load limit, ms")
    parser.add_argument("--out", default=str(ROOT / "test-output" / "lighthouse.json"))
    args = parser.parse_args()
    names = [n for n in args.pages.split(",") if n]
    unknown = set(names) - set(PAGES)
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))} (known: {', '.join(PAGES)})")
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    with server(args.base) as base:
        rows = measure(base, names, args.lang, out, args.max_wait)
    summary = {"date": when, **versions(), "lang": args.lang or "zh-CN", "pages": rows}
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    md = table(rows)
    out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md)
    print(f"{summary['chromium']} · Lighthouse {summary['lighthouse']} · {summary['machine']}")
    return 0 if all(r["meets"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
