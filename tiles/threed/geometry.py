"""Extrude building footprints (WGS84 MultiPolygons) into triangle meshes in a local ENU frame.

Vertices are exact geodetic positions (footprint at ellipsoid height 0, roof at `height_m`) expressed
in metres in one east-north-up frame; the tileset root carries that frame's ENU→ECEF transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import mapbox_earcut
import numpy as np
import numpy.typing as npt
import shapely

# WGS84 ellipsoid
A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
MIN_EDGE_M = 1e-3  # walls shorter than this would have no defined normal
MIN_AREA_M2 = 1e-6  # roof triangles smaller than this are degenerate

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def geodetic_to_ecef(lon_deg: F64, lat_deg: F64, h: F64) -> F64:
    """ECEF (metres, shape (n, 3)) of WGS84 longitude/latitude (degrees) and ellipsoid height."""
    lon = np.radians(lon_deg)
    lat = np.radians(lat_deg)
    sin_lat = np.sin(lat)
    n = A / np.sqrt(1 - E2 * sin_lat**2)
    cos_lat = np.cos(lat)
    return np.column_stack(
        (
            (n + h) * cos_lat * np.cos(lon),
            (n + h) * cos_lat * np.sin(lon),
            (n * (1 - E2) + h) * sin_lat,
        )
    )


def up_vectors(lon_deg: F64, lat_deg: F64) -> F64:
    """Ellipsoid normals (ECEF unit vectors, shape (n, 3)) at the given positions."""
    lon = np.radians(lon_deg)
    lat = np.radians(lat_deg)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


@dataclass(frozen=True)
class EnuFrame:
    """An east-north-up frame tangent to the ellipsoid at (lon, lat, height 0)."""

    lon: float
    lat: float

    @property
    def rotation(self) -> F64:
        """3×3 matrix whose columns are east, north and up in ECEF."""
        lon, lat = np.radians(self.lon), np.radians(self.lat)
        east = [-np.sin(lon), np.cos(lon), 0.0]
        north = [-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)]
        up = [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]
        return np.array([east, north, up]).T

    @property
    def origin(self) -> F64:
        """ECEF position of the frame's origin."""
        return geodetic_to_ecef(np.array([self.lon]), np.array([self.lat]), np.zeros(1))[0]

    def enu_to_ecef(self) -> F64:
        """4×4 ENU→ECEF matrix (the tileset root transform)."""
        m = np.identity(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.origin
        return m

    def to_enu(self, ecef: F64) -> F64:
        """ENU coordinates of ECEF points (n, 3)."""
        return np.asarray((ecef - self.origin) @ self.rotation, dtype=np.float64)

    def vectors_to_enu(self, vectors: F64) -> F64:
        """ENU components of ECEF direction vectors (n, 3)."""
        return np.asarray(vectors @ self.rotation, dtype=np.float64)


def enu_to_gltf(xyz: F64) -> npt.NDArray[np.float32]:
    """glTF is y-up: ENU (e, n, u) becomes (e, u, -n) (a proper rotation, windings kept)."""
    return np.column_stack((xyz[:, 0], xyz[:, 2], -xyz[:, 1])).astype(np.float32)


def gltf_to_enu(xyz: npt.NDArray[np.floating]) -> F64:
    """Inverse of `enu_to_gltf`."""
    xyz = np.asarray(xyz, dtype=np.float64)
    return np.column_stack((xyz[:, 0], -xyz[:, 2], xyz[:, 1]))


@dataclass
class Mesh:
    """Triangles of extruded buildings in ENU metres (float64) with per-vertex building index."""

    positions: F64  # (n, 3) ENU
    normals: F64  # (n, 3) ENU unit vectors
    feature: npt.NDArray[np.int64]  # (n,) index of the building each vertex belongs to
    triangles: npt.NDArray[np.int64]  # (m, 3) counter-clockwise seen from outside


def _rings(geoms: npt.NDArray[np.object_]) -> tuple[F64, I64, I64, I64]:
    """Coordinates of every ring (exteriors CCW, holes CW) with ring, polygon and building ids."""
    parts, building = shapely.get_parts(geoms, return_index=True)
    parts = shapely.orient_polygons(shapely.remove_repeated_points(parts), exterior_cw=False)
    rings, polygon = shapely.get_rings(parts, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    return coords, ring, polygon, building


def _walls(
    base: F64, top: F64, up: F64, ring: npt.NDArray[np.int64], owner: npt.NDArray[np.int64]
) -> Mesh:
    """One quad (4 vertices, 2 triangles) per ring edge, normals pointing out of the solid."""
    same = ring[:-1] == ring[1:]
    i0 = np.nonzero(same)[0]
    i1 = i0 + 1
    edge = base[i1] - base[i0]
    normal = np.cross(edge, up[i0])
    length = np.linalg.norm(normal, axis=1)
    keep = length > MIN_EDGE_M
    i0, i1, normal = i0[keep], i1[keep], normal[keep] / length[keep, None]
    quads = np.stack((base[i0], base[i1], top[i1], top[i0]), axis=1).reshape(-1, 3)
    k = len(i0)
    first = np.arange(k, dtype=np.int64) * 4
    tris = np.concatenate(
        (
            np.column_stack((first, first + 1, first + 2)),
            np.column_stack((first, first + 2, first + 3)),
        )
    )
    return Mesh(
        positions=quads,
        normals=np.repeat(normal, 4, axis=0),
        feature=np.repeat(owner[i0], 4),
        triangles=tris,
    )


def _roofs(top: F64, up: F64, ring: I64, polygon: I64, owner: I64) -> Mesh:
    """Earcut triangulation of every polygon (holes included) at roof height, facing up."""
    open_ = np.append(ring[:-1] == ring[1:], False)  # drop each ring's closing point
    pos, nrm, own, rid = top[open_], up[open_], owner[open_], ring[open_]
    ring_sizes = np.bincount(rid, minlength=len(polygon))
    ring_end = np.cumsum(ring_sizes)
    ring_start = ring_end - ring_sizes
    poly_of_ring = np.asarray(polygon, dtype=np.int64)
    poly_first_ring = np.searchsorted(poly_of_ring, np.unique(poly_of_ring))
    poly_last_ring = np.append(poly_first_ring[1:], len(poly_of_ring))
    xy = pos[:, :2]
    out: list[npt.NDArray[np.int64]] = []
    for r0, r1 in zip(poly_first_ring, poly_last_ring, strict=True):
        start = ring_start[r0]
        ends = (ring_end[r0:r1] - start).astype(np.uint32)
        idx = mapbox_earcut.triangulate_float64(xy[start : ring_end[r1 - 1]], ends)
        if len(idx):
            out.append(idx.astype(np.int64).reshape(-1, 3) + start)
    tris = np.concatenate(out) if out else np.zeros((0, 3), dtype=np.int64)
    return Mesh(positions=pos, normals=nrm, feature=own, triangles=_face_up(pos, tris))


def _face_up(pos: F64, tris: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Flip triangles that face down and drop degenerate ones."""
    a, b, c = pos[tris[:, 0]], pos[tris[:, 1]], pos[tris[:, 2]]
    cross_z = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    tris = tris.copy()
    down = cross_z < 0
    tris[down] = tris[down][:, [0, 2, 1]]
    return tris[np.abs(cross_z) / 2 > MIN_AREA_M2]


def concat(meshes: list[Mesh]) -> Mesh:
    """One mesh from several (indices shifted)."""
    offsets = np.cumsum([0] + [len(m.positions) for m in meshes[:-1]])
    return Mesh(
        positions=np.concatenate([m.positions for m in meshes]),
        normals=np.concatenate([m.normals for m in meshes]),
        feature=np.concatenate([m.feature for m in meshes]),
        triangles=np.concatenate(
            [m.triangles + off for m, off in zip(meshes, offsets, strict=True)]
        ),
    )


def extrude(
    geoms: npt.NDArray[np.object_], heights: F64, frame: EnuFrame, ground: F64 | None = None
) -> Mesh:
    """Walls and flat roofs of buildings standing on `ground` (metres, default 0); vertex
    `feature` is the index into `geoms`."""
    coords, ring, polygon, building = _rings(geoms)
    owner = np.asarray(building, dtype=np.int64)[np.asarray(polygon, dtype=np.int64)[ring]]
    lon, lat = coords[:, 0], coords[:, 1]
    h = np.asarray(heights, dtype=np.float64)[owner]
    z0 = np.zeros_like(h) if ground is None else np.asarray(ground, dtype=np.float64)[owner]
    base = frame.to_enu(geodetic_to_ecef(lon, lat, z0))
    top = frame.to_enu(geodetic_to_ecef(lon, lat, z0 + h))
    up = frame.vectors_to_enu(up_vectors(lon, lat))
    return concat([_walls(base, top, up, ring, owner), _roofs(top, up, ring, polygon, owner)])
