"""Content types the API answers with, and `content(...)` for a route's non-JSON success."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

JSON = "application/json"
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"
PNG = "image/png"
JPEG = "image/jpeg"
B3DM = "application/octet-stream"  # 3D Tiles batched model (no registered type)
GLB = "model/gltf-binary"
BYTERANGES = "multipart/byteranges"
TEXT = "text/plain"


class _JSONBytes(JSONResponse):
    """JSON of another media type; bytes already encoded are sent as they are. (A JSONResponse,
    so FastAPI documents the route's response model under this media type.)"""

    def render(self, content: Any) -> bytes:
        """The body: bytes unchanged, anything else as JSON."""
        return content if isinstance(content, bytes) else super().render(content)


class GeoJSONResponse(_JSONBytes):
    """GeoJSON (the features API writes it itself)."""

    media_type = GEOJSON


class SchemaJSONResponse(_JSONBytes):
    """A JSON Schema document (queryables)."""

    media_type = SCHEMA_JSON


class MVTResponse(Response):
    """A Mapbox Vector Tile (possibly empty: a valid empty tile)."""

    media_type = MVT


def binary(*types: str, description: str) -> dict[str, Any]:
    """A response whose body is bytes of one of `types`."""
    schema = {"type": "string", "format": "binary"}
    return {"description": description, "content": {t: {"schema": schema} for t in types}}


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "not modified: the If-None-Match ETag is current (no body)"}
}
