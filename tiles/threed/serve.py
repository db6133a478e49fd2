"""What the HTTP layer serves from the managed store: the live tileset.json and content files."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from geo.errors import NotFound
from tiles.threed.build import build_dir

BUILD_ID = re.compile(r"^[0-9]+-[0-9]+-(b3dm|glb)-[0-9a-f]+$")
CONTENT_PATH = re.compile(r"^tiles/[0-9]{1,2}/[0-9]{1,7}_[0-9]{1,7}\.(b3dm|glb)$")
MEDIA_TYPES = {"b3dm": "application/octet-stream", "glb": "model/gltf-binary"}


def _prefix_uris(tile: dict[str, Any], prefix: str) -> None:
    if "content" in tile:
        tile["content"]["uri"] = prefix + tile["content"]["uri"]
    for child in tile.get("children", []):
        _prefix_uris(child, prefix)


@lru_cache(maxsize=8)
def _served(home: Path, build_id: str) -> bytes:
    try:
        doc = json.loads((build_dir(home, build_id) / "tileset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound(f"3D tileset build {build_id} is gone") from exc
    _prefix_uris(doc["root"], build_id + "/")
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def served_tileset(home: Path, build_id: str) -> bytes:
    """tileset.json of a build with content URIs prefixed by the build id (immutable URLs)."""
    if not BUILD_ID.match(build_id):
        raise NotFound(f"no 3D tileset build {build_id!r}")
    return _served(Path(home), build_id)


def content_file(home: Path, build_id: str, path: str, gzipped: bool = False) -> tuple[Path, str]:
    """File (its .gz twin when asked and present) and media type of one content; NotFound for
    anything that is not a content of a kept build."""
    if not BUILD_ID.match(build_id) or not CONTENT_PATH.match(path):
        raise NotFound("no such 3D Tiles content")
    base = build_dir(Path(home), build_id).resolve()
    file = (base / path).resolve()
    if not file.is_relative_to(base) or not file.is_file():
        raise NotFound("no such 3D Tiles content")
    media_type = MEDIA_TYPES[file.suffix[1:]]
    twin = file.with_name(file.name + ".gz")
    return (twin if gzipped and twin.is_file() else file), media_type
