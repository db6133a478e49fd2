"""`djmap users add|list|disable|enable` and `djmap embed-keys add|list|disable`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli.common import cli_errors, console, database_url
from geo import users as core
from geo.scope import ROLES

users_app = typer.Typer(
    help="Users: roles scoped to an organisation subtree.", no_args_is_help=True
)
keys_app = typer.Typer(help="Embed keys for the portal's iframe.", no_args_is_help=True)


def _password(password: str | None, password_stdin: bool) -> str:
    if password_stdin == (password is not None):
        raise typer.BadParameter("give exactly one of --password-stdin or --password")
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    assert password is not None
    return password


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "member",
    org: Annotated[
        str | None, typer.Option(help="organisation code: the user sees its subtree")
    ] = None,
    member: Annotated[
        str | None, typer.Option(help="member external id (required for role member)")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    password: Annotated[
        str | None, typer.Option(help="the password (visible in the process list: prefer stdin)")
    ] = None,
) -> None:
    """Create a user with an argon2-hashed password."""
    secret = _password(password, password_stdin)
    with cli_errors():
        user = core.add_user(database_url(), username, secret, role, org, member)
    scope = user.org_code or "whole district"
    console.print(f"added {user.username} ({user.role}, {scope})")


@users_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
) -> None:
    """List users with role, scope and state."""
    with cli_errors():
        users = core.list_users(database_url())
    if as_json:
        for u in users:
            row = {
                "username": u.username,
                "role": u.role,
                "org": u.org_code,
                "member": u.member_external_id,
                "active": u.active,
            }
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table("username", "role", "organisation", "member", "active", "last login")
    for u in users:
        last = u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else ""
        table.add_row(
            u.username,
            u.role,
            u.org_code or "(district)",
            u.member_external_id or "",
            "yes" if u.active else "no",
            last,
        )
    Console().print(table)


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Disable a user: no new tokens, and existing tokens stop working."""
    with cli_errors():
        core.set_active(database_url(), username, False)
    console.print(f"disabled {username}")


@users_app.command("enable")
def enable(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Enable a disabled user again."""
    with cli_errors():
        core.set_active(database_url(), username, True)
    console.print(f"enabled {username}")


@keys_app.command("add")
def key_add(
    name: Annotated[str, typer.Argument(help="who the key is for (e.g. the portal)")],
    origin: Annotated[
        list[str], typer.Option(help="allowed origin, e.g. https://portal.example.cn (repeat)")
    ],
) -> None:
    """Create an embed key bound to its allowed origins; prints the key."""
    with cli_errors():
        key = core.add_embed_key(database_url(), name, origin)
    typer.echo(key.key)
    console.print(
        f"embed key for {name}: /embed?key={key.key} from {', '.join(key.allowed_origins)}"
    )


@keys_app.command("list")
def key_list() -> None:
    """List embed keys with their origins."""
    with cli_errors():
        keys = core.list_embed_keys(database_url())
    table = Table("name", "key", "allowed origins", "active")
    for k in keys:
        table.add_row(k.name, k.key, " ".join(k.allowed_origins), "yes" if k.active else "no")
    Console().print(table)


@keys_app.command("disable")
def key_disable(key: Annotated[str, typer.Argument(help="the key")]) -> None:
    """Disable an embed key."""
    with cli_errors():
        core.set_embed_key_active(database_url(), key, False)
    console.print("disabled")


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="embed-keys")
