"""`djmap serve` and `djmap demo` (what `make run` ends with)."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

import typer
from pydantic import ValidationError

from api.cli.common import cli_errors, console, database_url
from geo import db as geodb
from geo import users
from geo.settings import get_db_settings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def demo_steps() -> list[tuple[str, list[str]]]:
    """The djmap commands `demo` runs; each is idempotent and quick when nothing changed."""
    dem = get_db_settings().home / "samples" / "dem.tif"
    return [
        ("load the sample district", ["samples", "load"]),
        # Terrain first: buildings are set on the ground it gives.
        ("build terrain tiles", ["tiles", "terrain", "build", "--dem", str(dem)]),
        ("build 3D Tiles of buildings", ["tiles", "3d", "build"]),
    ]


def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    workers: int = typer.Option(1, help="worker processes"),
    log_level: str = typer.Option(
        "warning", help="uvicorn log level; info shows the access log (secrets redacted)"
    ),
) -> None:
    """Serve the map and the API with uvicorn (uvloop + httptools).

    With several workers each process has its own SO_REUSEPORT listener with TCP_NODELAY
    (api/server.py) instead of uvicorn's shared socket, which leaves Nagle on. uvicorn reads
    X-Forwarded-For only from DJMAP_TRUSTED_PROXIES (default: from no one)."""
    import uvicorn

    from api.proxies import uvicorn_proxy_options
    from api.server import GRACE_S
    from api.settings import ApiSettings

    if log_level not in LOG_LEVELS:
        raise typer.BadParameter(f"one of {', '.join(LOG_LEVELS)}", param_hint="--log-level")
    try:
        proxies = uvicorn_proxy_options(ApiSettings().trusted_proxies)
    except ValidationError as exc:  # e.g. DJMAP_TRUSTED_PROXIES naming no address
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    with cli_errors():
        database_url()
    if workers < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--workers")
    console.print(f"serving [bold]http://{host}:{port}/[/bold]  (Ctrl+C stops)")
    if workers > 1:
        from api.server import serve_reuseport

        code = serve_reuseport(host, port, workers, log_level)
        if code:
            raise typer.Exit(code)
        return
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        timeout_graceful_shutdown=GRACE_S,  # open event streams must not hold a stop for ever
        **proxies,
    )


DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]


def _demo_accounts(url: str) -> Path | None:
    """On a database with no users, create one user per role with random passwords (local demo).

    The passwords are written once to `<home>/demo-credentials.txt` (mode 0600), never printed
    into logs, and there is no default password anywhere in the code.
    """
    if users.list_users(url):
        return None
    with geodb.connect(url) as conn:
        root = conn.execute(
            "SELECT code FROM organisations WHERE parent_id IS NULL ORDER BY code LIMIT 1"
        ).fetchone()
        member = conn.execute(
            "SELECT external_id FROM members WHERE status <> '流动' ORDER BY external_id LIMIT 1"
        ).fetchone()
    wanted: list[tuple[str, str, str | None, str | None]] = [("admin", "admin", None, None)]
    wanted.append(("planner", "planner", None, None))
    if root:
        wanted.append(("leader", "leader", str(root[0]), None))
    if member:
        wanted.append(("member", "member", None, str(member[0])))
    lines = ["# djmap demo accounts (local only; change or disable them with `djmap users`)"]
    for name, role, org, ext in wanted:
        password = secrets.token_urlsafe(12)
        users.add_user(url, name, password, role, org_code=org, member=ext)
        lines.append(f"{name}\t{role}\t{password}")
    key = users.add_embed_key(url, "demo portal", DEMO_ORIGINS)
    lines.append(f"# embed: http://127.0.0.1:8000/embed?key={key.key}")
    path = get_db_settings().home / "demo-credentials.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _djmap(args: list[str]) -> int:
    """Run one djmap command in a child process (so each step has its own clean state)."""
    return subprocess.call([sys.executable, "-m", "api.cli", *args])


def demo(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    no_serve: bool = typer.Option(False, "--no-serve", help="prepare everything, then exit"),
) -> None:
    """Prepare everything the map needs (database, sample district, tiles), then serve it."""
    started = time.monotonic()
    with cli_errors():
        url = database_url()
        console.print(f"[green]✓[/green] database {url}")
        geodb.migrate(url)
        console.print(f"[green]✓[/green] schema at {geodb.current_revision(url)}")
    for title, args in demo_steps():
        console.print(f"[bold]→[/bold] {title}: djmap {' '.join(args)}")
        code = _djmap(args)
        if code != 0:
            console.print(f"[red]✗ {title} failed (exit {code})[/red]")
            raise typer.Exit(code)
    with cli_errors():
        creds = _demo_accounts(url)
    if creds is not None:
        console.print(f"[green]✓[/green] demo accounts (admin, planner, leader, member) in {creds}")
    console.print(f"[green]✓[/green] ready in {time.monotonic() - started:.1f} s")
    if get_db_settings().embedded:
        console.print("  the embedded database keeps running; `djmap db down` stops it")
    if not no_serve:
        serve(host=host, port=port, workers=1, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add the serving commands to the main app."""
    app.command("serve")(serve)
    app.command("demo")(demo)
