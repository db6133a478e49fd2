// The one local deck.gl bundle every page loads (built by build.mjs into static/dist/deck.js).
// Nothing here fetches from another host: loaders run on the main thread (worker: false).
import {Deck, MapView, OrbitView, FlyToInterpolator, LinearInterpolator, COORDINATE_SYSTEM, WebMercatorViewport} from '@deck.gl/core';
import * as layers from '@deck.gl/layers';
import {MVTLayer, TerrainLayer, Tile3DLayer, H3HexagonLayer, TileLayer} from '@deck.gl/geo-layers';
import {SimpleMeshLayer, ScenegraphLayer} from '@deck.gl/mesh-layers';
import {HeatmapLayer, HexagonLayer, ScreenGridLayer} from '@deck.gl/aggregation-layers';
import {JSONConverter, JSONConfiguration} from '@deck.gl/json';
import {registerLoaders} from '@loaders.gl/core';
import {MVTLoader} from '@loaders.gl/mvt';
import {Tiles3DLoader} from '@loaders.gl/3d-tiles';

registerLoaders([MVTLoader, Tiles3DLoader]);

const classes = {
  ...layers,
  MVTLayer, TerrainLayer, Tile3DLayer, H3HexagonLayer, TileLayer,
  SimpleMeshLayer, ScenegraphLayer,
  HeatmapLayer, HexagonLayer, ScreenGridLayer,
  MapView, OrbitView, FlyToInterpolator, LinearInterpolator,
};

const configuration = new JSONConfiguration({
  classes,
  enumerations: {COORDINATE_SYSTEM},
});

/** Turn a pydeck `deck.to_json()` document into deck.gl props. */
function convert(json) {
  return new JSONConverter({configuration}).convert(json);
}

export {
  Deck, MapView, FlyToInterpolator, LinearInterpolator, WebMercatorViewport, COORDINATE_SYSTEM,
  classes, convert, MVTLoader, Tiles3DLoader,
};
