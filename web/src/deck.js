// The one local deck.gl bundle every page loads (built by build.mjs into static/dist/deck.js).
// Nothing here fetches from another host: loaders run on the main thread (worker: false).
import {Deck, MapView, OrbitView, FlyToInterpolator, LinearInterpolator, COORDINATE_SYSTEM, WebMercatorViewport} from '@deck.gl/core';
import * as layers from '@deck.gl/layers';
import {MVTLayer, TerrainLayer, Tile3DLayer, H3HexagonLayer, TileLayer} from '@deck.gl/geo-layers';
import {SimpleMeshLayer, ScenegraphLayer} from '@deck.gl/mesh-layers';
import {HeatmapLayer, HexagonLayer, ScreenGridLayer} from '@deck.gl/aggregation-layers';
import {JSONConverter, JSONConfiguration} from '@deck.gl/json';
import {MVTLoader} from '@loaders.gl/mvt';
import {Tiles3DLoader} from '@loaders.gl/3d-tiles';
import {TerrainLoader} from '@loaders.gl/terrain';
import {edgeFetch, edgeStats} from './pmtiles_source.js';
import {CollisionFilterExtension, MaskExtension} from '@deck.gl/extensions';
import {ZoomHeatLayer} from './basemap_heat.js';
import * as onlineBasemap from './basemap_online.js';

// The basemap's label font (web/static/fonts, issue 11): asked for at once so the TextLayer's
// glyph atlas is drawn with it (never a system or remote font).
if (typeof document !== 'undefined' && document.fonts && typeof FontFace !== 'undefined') {
  const face = new FontFace('djmap-cjk', 'url(/static/fonts/djmap-cjk.woff) format("woff")');
  document.fonts.add(face);
  face.load().catch(() => {});
}


const classes = {
  ...layers,
  MVTLayer, TerrainLayer, Tile3DLayer, H3HexagonLayer, TileLayer,
  SimpleMeshLayer, ScenegraphLayer,
  HeatmapLayer, HexagonLayer, ScreenGridLayer,
  MapView, OrbitView, FlyToInterpolator, LinearInterpolator,
  ZoomHeatLayer, CollisionFilterExtension, MaskExtension,
};

/** The value of `field` on a feature (GeoJSON/MVT `properties`, or the row itself). */
function prop(f, field) {
  const p = f && f.properties ? f.properties : f;
  return p ? p[field] : undefined;
}

// Accessor factories usable from pydeck JSON as {"@@function": "colorBy", ...}.
const functions = {
  /** Colour by a categorical field: map[value] or fallback. */
  colorBy: ({field, map, fallback = [128, 128, 128, 200]}) => f => map[prop(f, field)] || fallback,
  /** Colour by a truthy field: on when set, off otherwise. */
  colorIf: ({field, on, off}) => f => (prop(f, field) && prop(f, field) !== 'false' ? on : off),
  /** A numeric field times a factor, with a fallback for missing values. */
  numberOf: ({field, scale = 1, fallback = 0, offset = 0}) => f => {
    const v = Number(prop(f, field));
    return (Number.isFinite(v) ? v * scale : fallback) + offset;
  },
  /** Colour ramp over a numeric field (domain [lo, hi], colours low..high). */
  ramp: ({field, domain, colors}) => f => {
    const v = Number(prop(f, field));
    const t = Math.max(0, Math.min(0.9999, (v - domain[0]) / (domain[1] - domain[0] || 1)));
    return colors[Math.floor(t * colors.length)];
  },
  /** A data transform picking one member of a JSON body (e.g. the `cells` of a heat answer). */
  pluck: ({field}) => body => (body && body[field]) || [],
  /** A field read as-is (positions, weights, H3 indexes). */
  field: ({field}) => f => prop(f, field),
  /** An MVT layer's sub-layers holding only the features shown at their tile's zoom: those whose
   * `field` (a minimum zoom) is at most it (the basemap's labels thin out as one zooms out). */
  fromZoom: ({field}) => (props) => {
    const z = props.tile.index.z;
    const data = Array.isArray(props.data) ? props.data.filter(f => !(Number(prop(f, field)) > z)) : props.data;
    return new layers.GeoJsonLayer({...props, data});
  },
  /** A public layer's tiles from its PMTiles archive at the edge (pmtiles_source.js). */
  edgeFetch,
};

const configuration = new JSONConfiguration({
  classes,
  functions,
  enumerations: {COORDINATE_SYSTEM},
});

/** Turn a pydeck `deck.to_json()` document into deck.gl props. */
function convert(json) {
  return new JSONConverter({configuration}).convert(json);
}

export {
  Deck, MapView, FlyToInterpolator, LinearInterpolator, WebMercatorViewport, COORDINATE_SYSTEM,
  classes, functions, convert, MVTLoader, Tiles3DLoader, TerrainLoader, edgeStats,
  onlineBasemap,
};
