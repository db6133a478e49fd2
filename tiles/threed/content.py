"""Tile contents: b3dm (3D Tiles 1.0, batch table) or glb (3D Tiles 1.1, EXT_structural_metadata).

Meshes are written with py3dtiles (`GltfMesh`, `B3dm.from_meshes`, `gltf_from_meshes`). py3dtiles
12.1.1 declares `_BATCHID` as UNSIGNED_INT, which glTF 2.0 forbids for vertex attributes
(MESH_PRIMITIVE_ATTRIBUTES_ACCESSOR_UNSIGNED_INT), so the feature ids go in as FLOAT attributes
that we build ourselves instead of through its `batchids=` argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib
from py3dtiles.tileset.content.b3dm import B3dmHeader
from py3dtiles.tileset.content.b3dm_feature_table import B3dmFeatureTable
from py3dtiles.tileset.content.batch_table import BatchTable
from py3dtiles.tileset.content.gltf_utils import (
    GltfAttribute,
    GltfMesh,
    GltfPrimitive,
    gltf_from_meshes,
)

from geo.errors import InvalidInput
from tiles.threed.geometry import Mesh, enu_to_gltf

# Colours baked into materials so any viewer shows party buildings red without reading metadata.
PLAIN = (0.82, 0.80, 0.76, 1.0)
PARTY = (0.80, 0.07, 0.09, 1.0)
BATCH_PROPERTIES = ("id", "code", "name", "height", "use", "has_party_org", "party_org")
FORMATS = ("b3dm", "glb")


@dataclass
class Features:
    """Per-building attributes of one content, in batch order."""

    id: list[int]
    code: list[str]
    name: list[str]
    height: list[float]
    use: list[str]
    has_party_org: list[bool]
    party_org: list[str]

    def __len__(self) -> int:
        return len(self.id)

    def columns(self) -> dict[str, list[Any]]:
        """The batch table columns by name."""
        return {name: getattr(self, name) for name in BATCH_PROPERTIES}


def _material(colour: tuple[float, float, float, float], name: str) -> pygltflib.Material:
    return pygltflib.Material(
        name=name,
        pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorFactor=list(colour), metallicFactor=0.0, roughnessFactor=0.9
        ),
    )


def _indices(tris: npt.NDArray[np.int64], n_vertices: int) -> npt.NDArray[np.uint16 | np.uint32]:
    dtype = np.uint16 if n_vertices <= 65535 else np.uint32
    return tris.astype(dtype)


def gltf_for(mesh: Mesh, party: npt.NDArray[np.bool_], id_attribute: str) -> pygltflib.GLTF2:
    """A glTF of one mesh: one primitive for plain buildings, one (red) for party buildings."""
    n = len(mesh.positions)
    tri_party = party[mesh.feature[mesh.triangles[:, 0]]]
    primitives = []
    if (~tri_party).any():
        primitives.append(GltfPrimitive(triangles=_indices(mesh.triangles[~tri_party], n)))
    if tri_party.any():
        primitives.append(
            GltfPrimitive(
                triangles=_indices(mesh.triangles[tri_party], n),
                material=_material(PARTY, "party"),
            )
        )
    ids = GltfAttribute(
        id_attribute, pygltflib.SCALAR, pygltflib.FLOAT, mesh.feature.astype(np.float32)
    )
    normals = enu_to_gltf(mesh.normals)
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    gm = GltfMesh(
        enu_to_gltf(mesh.positions),
        name="buildings",
        normals=normals.astype(np.float32),
        primitives=primitives,
        additional_attributes=[ids],
    )
    gltf = gltf_from_meshes([gm])
    gltf.materials[0] = _material(PLAIN, "building")  # py3dtiles' default material slot
    return gltf


def b3dm_bytes(mesh: Mesh, features: Features) -> bytes:
    """A b3dm (3D Tiles 1.0): glTF with a FLOAT `_BATCHID`, BATCH_LENGTH and a JSON batch table."""
    gltf = gltf_for(mesh, np.array(features.has_party_org, dtype=bool), "_BATCHID")
    table = BatchTable()
    for name, values in features.columns().items():
        table.add_property_as_json(name, values)
    ft = B3dmFeatureTable()
    ft.set_batch_length(len(features))
    # B3dm.from_gltf(...).to_array() serialises the glTF three times; assemble the same layout
    # (28-byte header, 8-byte aligned tables, glb padded to 8) from one serialisation instead.
    gltf.set_min_alignment(8)
    glb = b"".join(gltf.save_to_bytes())
    ft_bytes = ft.to_array().tobytes()
    bt_bytes = table.to_array().tobytes()
    header = B3dmHeader()
    header.tile_byte_length = B3dmHeader.BYTE_LENGTH + len(ft_bytes) + len(bt_bytes) + len(glb)
    header.ft_json_byte_length = len(ft_bytes)
    header.bt_json_byte_length = len(bt_bytes)
    header.ft_bin_byte_length = header.bt_bin_byte_length = 0
    return header.to_array().tobytes() + ft_bytes + bt_bytes + glb


def glb_bytes(mesh: Mesh, features: Features) -> bytes:
    """A glb (3D Tiles 1.1): `_FEATURE_ID_0` + EXT_mesh_features + an EXT_structural_metadata table."""
    gltf = gltf_for(mesh, np.array(features.has_party_org, dtype=bool), "_FEATURE_ID_0")
    feature_ids = {
        "featureIds": [{"featureCount": len(features), "attribute": 0, "propertyTable": 0}]
    }
    for primitive in gltf.meshes[0].primitives:
        primitive.extensions = {"EXT_mesh_features": feature_ids}
    _add_property_table(gltf, features)
    gltf.extensionsUsed = ["EXT_mesh_features", "EXT_structural_metadata"]
    return b"".join(gltf.save_to_bytes())


# loaders.gl 4.5 (deck.gl's Tile3DLayer) decodes neither BOOLEAN nor, as plain JS numbers, INT64
# columns: has_party_org is UINT8 0/1 and id FLOAT64 (exact below 2**53).
SCHEMA: dict[str, Any] = {
    "id": "djmap",
    "classes": {
        "building": {
            "name": "Building",
            "properties": {
                "id": {"type": "SCALAR", "componentType": "FLOAT64"},
                "code": {"type": "STRING"},
                "name": {"type": "STRING"},
                "height": {"type": "SCALAR", "componentType": "FLOAT64"},
                "use": {"type": "STRING"},
                "has_party_org": {"type": "SCALAR", "componentType": "UINT8"},
                "party_org": {"type": "STRING"},
            },
        }
    },
}


def _column_bytes(kind: dict[str, str], values: list[Any]) -> list[bytes]:
    """Binary of one property-table column: [values] or [values, string offsets]."""
    if kind["type"] == "STRING":
        encoded = [str(v).encode("utf-8") for v in values]
        offsets = np.cumsum([0] + [len(e) for e in encoded], dtype=np.uint32)
        return [b"".join(encoded), offsets.tobytes()]
    dtype = {"UINT8": np.uint8, "FLOAT64": np.float64}[kind["componentType"]]
    return [np.array(values, dtype=dtype).tobytes()]


def _add_property_table(gltf: pygltflib.GLTF2, features: Features) -> None:
    """Append the columns as 8-byte aligned buffer views and declare the property table."""
    blob = bytearray(gltf.binary_blob() or b"")
    properties: dict[str, dict[str, int]] = {}
    for name, values in features.columns().items():
        kind = SCHEMA["classes"]["building"]["properties"][name]
        views = []
        for chunk in _column_bytes(kind, values):
            chunk = chunk or b"\0"  # glTF buffer views may not be empty (all strings '')
            blob.extend(b"\0" * (-len(blob) % 8))
            gltf.bufferViews.append(
                pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(chunk))
            )
            blob.extend(chunk)
            views.append(len(gltf.bufferViews) - 1)
        properties[name] = {"values": views[0]}
        if len(views) > 1:
            properties[name]["stringOffsets"] = views[1]
    blob.extend(b"\0" * (-len(blob) % 8))
    gltf.set_binary_blob(bytes(blob))
    gltf.buffers[0].byteLength = len(blob)
    gltf.extensions = {
        "EXT_structural_metadata": {
            "schema": SCHEMA,
            "propertyTables": [
                {"class": "building", "count": len(features), "properties": properties}
            ],
        }
    }


def content_bytes(fmt: str, mesh: Mesh, features: Features) -> bytes:
    """Encode one tile content in the chosen format."""
    if fmt == "b3dm":
        return b3dm_bytes(mesh, features)
    if fmt == "glb":
        return glb_bytes(mesh, features)
    raise InvalidInput(f"unknown 3D Tiles content format {fmt!r}; use one of {FORMATS}")
