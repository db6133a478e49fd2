// Decode vector tiles the way the standard clients do: @mapbox/vector-tile 3 + pbf 5 (what
// MapLibre GL JS decodes with) and loaders.gl's MVTLoader (what deck.gl's MVTLayer uses).
// Usage: node mvt_check.mjs FILE...   (raw or gzip MVT bodies)
// Prints [{"file", "maplibre": {layer: {"extent", "version", "features": [{"id", "type",
// "properties", "geometry"}]}}, "loaders": {layer: count}}]; geometry is the feature's rings or
// points in tile units (y down), as loadGeometry() returns them.
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { pathToFileURL } from "node:url";

const modules = process.env.DJMAP_NODE_MODULES
  ? pathToFileURL(process.env.DJMAP_NODE_MODULES + "/").href
  : new URL("../web/node_modules/", import.meta.url).href;
const { VectorTile } = await import(new URL("@mapbox/vector-tile/index.js", modules).href);
const { PbfReader } = await import(new URL("pbf/index.js", modules).href);
const { parse } = await import(new URL("@loaders.gl/core/dist/index.js", modules).href);
const { MVTLoader } = await import(new URL("@loaders.gl/mvt/dist/index.js", modules).href);

const out = [];
for (const file of process.argv.slice(2)) {
  let body = await readFile(file);
  if (body.length > 1 && body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
  const tile = new VectorTile(new PbfReader(body));
  const maplibre = {};
  for (const [name, layer] of Object.entries(tile.layers)) {
    const features = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      features.push({
        id: f.id ?? null,
        type: f.type,
        properties: f.properties,
        geometry: f.loadGeometry().map((ring) => ring.map((p) => [p.x, p.y])),
      });
    }
    maplibre[name] = { extent: layer.extent, version: layer.version, features };
  }
  const loaded = body.length
    ? await parse(body, MVTLoader, { worker: false, mvt: { shape: "geojson-table", coordinates: "local" } })
    : { features: [] };
  const loaders = {};
  for (const f of loaded.features || []) {
    const layer = f.properties?.layerName ?? "?";
    loaders[layer] = (loaders[layer] || 0) + 1;
  }
  out.push({ file, maplibre, loaders, loadersTotal: (loaded.features || []).length });
}
process.stdout.write(JSON.stringify(out));
