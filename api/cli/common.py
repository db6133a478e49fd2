"""Helpers shared by the CLI modules: settings, the database URL, errors as exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from rich.console import Console

from geo.db import ensure_database
from geo.errors import DjmapError
from geo.settings import get_db_settings

console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn the core's errors into a red message and exit code 1 (no traceback)."""
    try:
        yield
    except DjmapError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def database_url(start: bool = True) -> str:
    """URL of the database in use; starts the embedded cluster when needed."""
    settings = get_db_settings()
    if not start:
        return settings.url
    return ensure_database(settings)


def run(fn: Callable[[], T]) -> T:
    """Call fn with the core's errors mapped to a clean exit."""
    with cli_errors():
        return fn()
