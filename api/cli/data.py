"""`djmap import` and `djmap samples load|generate` (filled in by the ingest work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the data commands to the main app."""
