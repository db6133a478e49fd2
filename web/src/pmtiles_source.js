// Public layers from PMTiles archives at the edge (issue 15 §4). With DJMAP_PUBLIC_TILES_BASE set,
// an anonymous page's public MVT layers carry `fetch: edgeFetch({base, layer})`: their TileJSON
// request is answered from `<base>/index.json` (which archive holds the layer now) and their tiles
// are read from that archive by HTTP Range (loaders.gl's PMTilesSource), so no tile request
// reaches the origin. Every other URL (filters, a version after a live change) goes the usual
// way, and so does a layer the index does not name or an edge that cannot be read.
import {Layer} from '@deck.gl/core';
import {parse} from '@loaders.gl/core';
import {PMTilesSource} from '@loaders.gl/pmtiles';

const SCHEME = 'pmtiles://';
const originFetch = Layer.defaultProps.fetch.value; // deck.gl's own fetch
const indexes = new Map(); // base → promise of its index.json
const sources = new Map(); // archive URL → PMTilesTileSource
// What the edge did, for people and tests: layers read from it, tiles read, fallbacks.
const edgeStats = {layers: [], tiles: 0, empty: 0, fallbacks: []};

function folder(base) {
  return new URL(base.endsWith('/') ? base : `${base}/`, window.location.href);
}

function readIndex(base) {
  if (!indexes.has(base)) {
    const found = fetch(new URL('index.json', folder(base)), {credentials: 'omit'}).then((res) => {
      if (!res.ok) throw new Error(`index.json: HTTP ${res.status}`);
      return res.json();
    });
    found.catch(() => indexes.delete(base)); // asked again by the next layer
    indexes.set(base, found);
  }
  return indexes.get(base);
}

/** The layer's TileJSON pointing at its archive (tile URLs `pmtiles://<archive>#z/x/y`). */
async function edgeTileJSON(base, id) {
  const index = await readIndex(base);
  const entry = index && index.layers && index.layers[id];
  if (!entry) throw new Error(`${id} is not in the edge index`);
  // A layer with no features has no archive: its tiles are all empty, asked of no one.
  const url = entry.archive ? new URL(entry.archive, folder(base)).href : '';
  edgeStats.layers.push(id);
  return {
    tilejson: '3.0.0',
    name: id,
    tiles: [`${SCHEME}${url}#{z}/{x}/{y}`],
    minzoom: entry.minzoom,
    maxzoom: entry.maxzoom, // deeper zooms overzoom the last level
    bounds: entry.bounds,
  };
}

function source(url) {
  if (!sources.has(url)) sources.set(url, PMTilesSource.createDataSource(url, {}));
  return sources.get(url);
}

/** One tile of an archive, parsed by the layer's own loaders (MVTLoader, on the main thread). */
async function edgeTile(url, context) {
  const hash = url.lastIndexOf('#');
  const [z, x, y] = url.slice(hash + 1).split('/').map(Number);
  const archive = url.slice(SCHEME.length, hash);
  const bytes = archive ? await source(archive).getTile({x, y, z}) : null;
  const loadOptions = context.loadOptions || context.layer.getLoadOptions();
  if (!bytes) { // empty tiles are not stored
    edgeStats.empty += 1;
    return loadOptions && loadOptions.mvt && loadOptions.mvt.shape === 'binary' ? null : [];
  }
  edgeStats.tiles += 1;
  return parse(bytes, context.loaders || context.layer.props.loaders, loadOptions);
}

/** The `fetch` prop of a public MVT layer drawn from the edge (see the top of this file). */
function edgeFetch({base, layer}) {
  const tilejson = `/api/tiles/${layer}/tilejson.json`; // the unversioned origin document
  return (url, context) => {
    if (typeof url === 'string' && url.startsWith(SCHEME)) return edgeTile(url, context);
    if (url === tilejson) {
      return edgeTileJSON(base, layer).catch((err) => {
        edgeStats.fallbacks.push(`${layer}: ${err && err.message}`);
        return originFetch(url, context);
      });
    }
    return originFetch(url, context);
  };
}

export {edgeFetch, edgeStats};
