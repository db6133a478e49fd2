// Load a built tileset the way deck.gl's Tile3DLayer does (loaders.gl Tiles3DLoader + Tileset3D).
// Usage: node loaders_check.mjs DIR   (DIR holds tileset.json; contents are read from disk)
// Prints {"center": [lon, lat, h], "contents": [{"uri", "type", "batch", "properties", "meshes"}]}.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const modules = process.env.DJMAP_NODE_MODULES
  ? pathToFileURL(process.env.DJMAP_NODE_MODULES + "/").href
  : new URL("../../web/node_modules/", import.meta.url).href;
const load = (name) => import(new URL(`${name}/dist/index.js`, modules).href);
const { parse } = await load("@loaders.gl/core");
const { Tiles3DLoader } = await load("@loaders.gl/3d-tiles");
const { Tileset3D } = await load("@loaders.gl/tiles");

const dir = process.argv[2];
const tilesetUrl = pathToFileURL(`${dir}/tileset.json`).href;
const json = await parse(await readFile(`${dir}/tileset.json`), Tiles3DLoader, {
  "3d-tiles": { isTileset: true },
  baseUri: tilesetUrl,
});
const tileset = new Tileset3D(json, {});
await tileset.tilesetInitializationPromise;

const uris = [];
const stack = [JSON.parse(await readFile(`${dir}/tileset.json`, "utf8")).root];
while (stack.length) {
  const tile = stack.pop();
  if (tile.content) uris.push(tile.content.uri);
  stack.push(...(tile.children || []));
}
const contents = [];
for (const url of uris) {
  const file = new URL(url, tilesetUrl);
  const tile = await parse(await readFile(file), Tiles3DLoader, { "3d-tiles": { loadGLTF: true } });
  const table = tile.gltf?.extensions?.EXT_structural_metadata?.propertyTables?.[0];
  const batch = tile.batchTableJson
    ? tile.featureTableJson.BATCH_LENGTH
    : table?.count;
  const properties = tile.batchTableJson
    ? Object.keys(tile.batchTableJson)
    : Object.keys(table?.properties || {});
  const ids = tile.batchTableJson ? tile.batchTableJson.id : table?.properties?.id?.data;
  contents.push({
    uri: file.pathname,
    type: tile.type,
    batch,
    properties,
    ids: Array.from(ids || [], Number),
    meshes: tile.gltf?.meshes?.length ?? 0,
  });
}
process.stdout.write(
  JSON.stringify({ center: Array.from(tileset.cartographicCenter), contents }) + "\n",
);
