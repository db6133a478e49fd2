// The optional online basemap (issue 11 §1; web/basemaps.py chooses it, off by default): the
// provider's raster tiles drawn under our own basemap, its attribution on the map, and a switch
// that turns it off for the browser session (sessionStorage; no tile is fetched while off).
// Our fills that the raster's own would duplicate (a layer's `raster_hides`) hide while it shows.
// GCJ-02 tiles (高德) are chosen for the view's GCJ-02 image and placed at their WGS84 corners.
import {WebMercatorViewport} from '@deck.gl/core';
import {_Tileset2D as Tileset2D} from '@deck.gl/geo-layers';
import {BitmapLayer} from '@deck.gl/layers';
import {_TerrainExtension as TerrainExtension} from '@deck.gl/extensions';
import {toGcj, gcjTilePlacement} from './gcj_tiles.js';

const OFF_KEY = 'djmap_basemap_off';
const urls = new Map(); // deck id -> the layer's URL templates (its data while shown)

/** Tiles of a GCJ-02 tile set: those under the view's GCJ-02 image, placed back in WGS84. */
class GcjTileset extends Tileset2D {
  getTileIndices(opts) {
    const vp = opts.viewport;
    if (!vp || !vp.isGeospatial) return super.getTileIndices(opts);
    const [longitude, latitude] = toGcj([vp.longitude, vp.latitude]);
    const shifted = new WebMercatorViewport({
      width: vp.width, height: vp.height, longitude, latitude, zoom: vp.zoom, pitch: vp.pitch,
      bearing: vp.bearing, fovy: vp.fovy, position: vp.position,
    });
    return super.getTileIndices({...opts, viewport: shifted});
  }

  getTileMetadata(index) {
    return gcjTilePlacement(index.x, index.y, index.z);
  }
}

function storage() {
  try { return window.sessionStorage; } catch (err) { return null; } // blocked storage: always on
}

/** Whether the user turned the online basemap off for this session. */
export function isOff() {
  const s = storage();
  return Boolean(s && s.getItem(OFF_KEY) === '1');
}

let warned = false;
function tileError(err) {
  if (!warned) console.warn('online basemap: a tile failed to load', err && err.message);
  warned = true;
}

/** A raster TileLayer of the page's deck made drawable: each tile a BitmapLayer at its place. */
export function rasterLayer(layer, {terrain = false} = {}) {
  const gcj = Boolean(layer.props.gcj02);
  urls.set(layer.id, layer.props.data);
  const off = isOff();
  return layer.clone({
    data: off ? null : layer.props.data,
    visible: !off && layer.props.visible,
    TilesetClass: gcj ? GcjTileset : Tileset2D,
    onTileError: tileError,
    // Over a built terrain the tiles are draped on its surface (else it would hide them).
    extensions: terrain ? [new TerrainExtension()] : [],
    renderSubLayers: (props) => {
      const {tile} = props;
      const {west, south, east, north} = tile.bbox;
      return new BitmapLayer(props, {
        data: null,
        image: props.data,
        bounds: tile.corners || [west, south, east, north],
      });
    },
  });
}

function creditBox(container, cfg) {
  const box = document.createElement('div');
  box.id = 'basemap-credit';
  box.className = 'basemap-credit';
  box.style.cssText = 'position:absolute;right:8px;bottom:4px;z-index:3;max-width:60%;margin:0;' +
    'padding:1px 6px;border-radius:4px;background:rgba(255,255,255,.8);color:#333;font-size:11px;' +
    'line-height:1.5;display:flex;gap:8px;align-items:center;flex-wrap:wrap;justify-content:flex-end';
  const credit = document.createElement(cfg.link ? 'a' : 'span');
  credit.className = 'credit';
  credit.textContent = cfg.attribution || '';
  if (cfg.link) {
    credit.href = cfg.link;
    credit.target = '_blank';
    credit.rel = 'noopener noreferrer';
    credit.style.color = 'inherit';
  }
  box.appendChild(credit);
  const host = container.parentElement || container;
  host.appendChild(box);
  lift(box, host);
  window.addEventListener('resize', () => lift(box, host));
  return box;
}

/** Above what sits in the map's bottom-right corner (the leader's time bar, the finder's sheet,
 * the planner's legend). */
function lift(box, host) {
  const corner = host.getBoundingClientRect();
  let bottom = 4;
  for (const el of document.querySelectorAll('#timebar, .sheet, .cov-legend')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.height && r.right > corner.right - 160 && r.bottom > corner.bottom - 40) {
      bottom = Math.max(bottom, Math.round(corner.bottom - r.top + 4));
    }
  }
  box.style.bottom = `${bottom}px`;
}

function switchBox(cfg, box) {
  const label = document.createElement('label');
  label.className = 'toggle basemap-switch';
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.id = 'basemap-online';
  input.checked = !isOff();
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = cfg.switch || '';
  label.append(input, ' ', name);
  const list = document.getElementById('layer-list'); // the layer panel, where the page has one
  if (list && list.parentElement) {
    label.style.marginTop = '7px';
    list.insertAdjacentElement('afterend', label);
  } else {
    label.style.cssText = 'gap:4px;font-weight:400';
    box.insertBefore(label, box.firstChild);
  }
  return input;
}

/** The attribution and the switch, and our fills hidden while the raster shows. `map` is
 * common.js's createMap answer (update, panel). */
export function attach(map, cfg, container) {
  if (!cfg || !cfg.on || !(cfg.layers || []).some((id) => map.has(id))) return null;
  const box = creditBox(container, cfg);
  const input = switchBox(cfg, box);
  const show = (on) => {
    box.querySelector('.credit').hidden = !on;
    for (const id of cfg.layers) if (map.has(id)) map.update(id, {visible: on, data: on ? urls.get(id) : null});
    for (const entry of map.panel) {
      if (!entry.raster_hides) continue;
      entry.visible = !on;
      const target = map.has(entry.deck_id) ? entry.deck_id : entry.id;
      map.update(target, {visible: !on});
      const check = document.querySelector(`input[data-layer="${entry.id}"]`); // the panel's
      if (check) check.checked = !on;
    }
  };
  input.addEventListener('change', () => {
    const s = storage();
    if (s) { if (input.checked) s.removeItem(OFF_KEY); else s.setItem(OFF_KEY, '1'); }
    show(input.checked);
  });
  show(input.checked);
  return {show, input};
}
