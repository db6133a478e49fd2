// Load a built tileset the way deck.gl's Tile3DLayer does (loaders.gl Tiles3DLoader + Tileset3D).
// Usage: node loaders_check.mjs DIR   (DIR holds tileset.json; contents are read from disk)
// Prints {"center": [lon, lat, h], "contents": [{"uri", "type", "batch", "properties", "ids",
// "maxHeight", "meshes", "bounds"}]}; bounds = [min lon, min lat, min h, max lon, max lat, max h] (degrees,
// metres) of every vertex placed with loaders.gl's own model matrix (tile transform + glTF y-up).
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const modules = process.env.DJMAP_NODE_MODULES
  ? pathToFileURL(process.env.DJMAP_NODE_MODULES + "/").href
  : new URL("../../web/node_modules/", import.meta.url).href;
const load = (name) => import(new URL(`${name}/dist/index.js`, modules).href);
const { parse } = await load("@loaders.gl/core");
const { Tiles3DLoader } = await load("@loaders.gl/3d-tiles");
const { Tileset3D, calculateTransformProps } = await load("@loaders.gl/tiles");
const { Ellipsoid } = await load("@math.gl/geospatial");
const { Vector3 } = await load("@math.gl/core");

const dir = process.argv[2];
const tilesetUrl = pathToFileURL(`${dir}/tileset.json`).href;
const json = await parse(await readFile(`${dir}/tileset.json`), Tiles3DLoader, {
  "3d-tiles": { isTileset: true },
  baseUri: tilesetUrl,
});
const tileset = new Tileset3D(json, {});
await tileset.tilesetInitializationPromise;

function placedBounds(header, tile) {
  calculateTransformProps(header, tile);
  const matrix = tile.cartesianModelMatrix;
  const out = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  const p = new Vector3();
  const c = new Vector3();
  for (const mesh of tile.gltf.meshes) {
    const positions = mesh.primitives[0].attributes.POSITION.value;
    for (let i = 0; i < positions.length; i += 3) {
      matrix.transformAsPoint([positions[i], positions[i + 1], positions[i + 2]], p);
      Ellipsoid.WGS84.cartesianToCartographic(p, c);
      for (let k = 0; k < 3; k++) {
        out[k] = Math.min(out[k], c[k]);
        out[k + 3] = Math.max(out[k + 3], c[k]);
      }
    }
  }
  return out;
}

const headers = [];
const stack = [tileset.root];
while (stack.length) {
  const tile = stack.pop();
  if (tile.header.content) headers.push(tile);
  stack.push(...tile.children);
}
const contents = [];
for (const header of headers) {
  const file = new URL(header.header.content.uri, tilesetUrl);
  const tile = await parse(await readFile(file), Tiles3DLoader, { "3d-tiles": { loadGLTF: true } });
  const table = tile.gltf?.extensions?.EXT_structural_metadata?.propertyTables?.[0];
  const batch = tile.batchTableJson
    ? tile.featureTableJson.BATCH_LENGTH
    : table?.count;
  const properties = tile.batchTableJson
    ? Object.keys(tile.batchTableJson)
    : Object.keys(table?.properties || {});
  const ids = tile.batchTableJson ? tile.batchTableJson.id : table?.properties?.id?.data;
  const heights = tile.batchTableJson
    ? tile.batchTableJson.height
    : table?.properties?.height?.data;
  contents.push({
    uri: file.pathname,
    type: tile.type,
    batch,
    properties,
    ids: Array.from(ids || [], Number),
    maxHeight: Math.max(...Array.from(heights || [], Number)),
    meshes: tile.gltf?.meshes?.length ?? 0,
    bounds: placedBounds(header, tile),
  });
}
process.stdout.write(
  JSON.stringify({ center: Array.from(tileset.cartographicCenter), contents }) + "\n",
);
