// GCJ-02 tiles (高德 / Gaode) placed on our WGS84 map, with gcoord's transforms (npm `gcoord`,
// pinned in package-lock.json): a tile's corners are GCJ-02 coordinates, so each corner is taken
// back to WGS84 (gcoord's inverse iterates the forward formula to 1e-6 degree) and the tile drawn
// there. No DOM and no deck.gl here: tests/test_basemap_online.py runs it in node.
import gcoord from 'gcoord';

/** WGS84 [lon, lat] -> GCJ-02 [lon, lat] (unchanged outside China, as gcoord does). */
export function toGcj(point) {
  return gcoord.transform([point[0], point[1]], gcoord.WGS84, gcoord.GCJ02);
}

/** GCJ-02 [lon, lat] -> WGS84 [lon, lat]. */
export function toWgs(point) {
  return gcoord.transform([point[0], point[1]], gcoord.GCJ02, gcoord.WGS84);
}

/** The GCJ-02 offset [dlon, dlat] at a WGS84 point (what a GCJ-02 map adds to it). */
export function gcjOffset(lon, lat) {
  const [x, y] = toGcj([lon, lat]);
  return [x - lon, y - lat];
}

/** The [lon, lat] of a Web Mercator tile corner (x, y may be one past the tile: its far edge). */
export function tileCorner(x, y, z) {
  const n = 2 ** z;
  const lon = (x / n) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;
  return [lon, lat];
}

/** Where a GCJ-02 tile (x, y, z) lies in WGS84: its four corners in the order BitmapLayer's
 * `bounds` takes them (bottom-left, top-left, top-right, bottom-right), and their bbox. */
export function gcjTilePlacement(x, y, z) {
  const corners = [[x, y + 1], [x, y], [x + 1, y], [x + 1, y + 1]].map(([cx, cy]) => toWgs(tileCorner(cx, cy, z)));
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const bbox = {west: Math.min(...xs), south: Math.min(...ys), east: Math.max(...xs), north: Math.max(...ys)};
  return {corners, bbox};
}
