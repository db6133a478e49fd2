"""`python -m tiles.threed [--format b3dm|glb] [--force]`: the background rebuild entry point."""

from __future__ import annotations

import argparse

from geo.settings import get_db_settings
from tiles.threed.build import build_buildings


def main() -> None:
    """Rebuild the managed buildings tileset when stale (settings from DJMAP_ variables)."""
    parser = argparse.ArgumentParser(prog="python -m tiles.threed")
    parser.add_argument("--format", default="b3dm", choices=["b3dm", "glb"])
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    settings = get_db_settings()
    result = build_buildings(
        settings.url, settings.home, fmt=args.format, force=args.force, progress=False
    )
    state = "built" if result.built else "fresh"
    print(f"{state} {result.manifest['build_id']} ({result.manifest['buildings']} buildings)")


if __name__ == "__main__":
    main()
