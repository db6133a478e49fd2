// Live pages (issue 12): one subscription to the event stream per page, a badge saying whether it
// is connected, layers refreshed by data version when their data changes, and 报名 buttons.
// Bundled by build.mjs into static/dist/live.js; uses window.djmap (static/js/common.js).
import {subscribe} from './sse.js';
import {registerButton, setupRegistration} from './register.js';
import {followNearest} from './nearest_live.js';

const handlers = new Map(); // event type ('*' for all) → functions
const seen = {count: 0, last: null, byType: {}, at: {}, layers: {}}; // what arrived, when (ms), naming which layers
let stream = null;

/** Call fn(event) for every event of `type` ('*': every event; 'reset': after a lost queue). */
function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, []);
  handlers.get(type).push(fn);
}

function emit(ev) {
  seen.count += 1;
  seen.last = ev;
  seen.byType[ev.type] = (seen.byType[ev.type] || 0) + 1;
  seen.at[ev.type] = Date.now();
  if (ev.data && ev.data.layer) seen.layers[ev.data.layer] = (seen.layers[ev.data.layer] || 0) + 1;
  for (const fn of [...(handlers.get(ev.type) || []), ...(handlers.get('*') || [])]) {
    try { fn(ev); } catch (err) { console.warn('live handler:', err && err.message); }
  }
}

function badge() {
  const {t} = window.djmap;
  let el = document.getElementById('live-badge');
  if (el) return el;
  el = document.createElement('span');
  el.id = 'live-badge';
  el.className = 'live-badge';
  el.dataset.state = 'connecting';
  el.title = t.live_connecting;
  el.innerHTML = `<i></i><span>${window.djmap.esc(t.live_open)}</span>`;
  const tools = document.querySelector('.topbar .tools');
  if (tools) tools.prepend(el);
  return el;
}

function setState(state) {
  const {t} = window.djmap;
  const el = badge();
  el.dataset.state = state;
  el.title = {open: t.live_open, connecting: t.live_connecting}[state] || t.live_down;
}

/** Connect the page to the stream (once); no-op while the app has no event route. */
function start() {
  const {cfg} = window.djmap;
  const live = cfg.live;
  if (stream || !live || !live.routes || !live.routes.events) return stream;
  let anonymous = false; // an expired token: keep listening as the public
  stream = subscribe({
    url: '/api/events',
    since: live.since,
    headers: () => (anonymous ? {} : window.djmap.authHeaders()),
    onEvent: emit,
    onReset: () => emit({type: 'reset'}),
    onState: setState,
    onUnauthorized: () => { anonymous = true; },
  });
  return stream;
}

// ---- layers by data version ------------------------------------------------------------------
const original = new Map(); // deck layer id → its first data URL (non-tile layers)
const ASYNC_ORIGINAL = Symbol.for('asyncPropOriginal');
const pending = new Map(); // layer id → timer (several events in a burst: one refresh)
const refreshed = {}; // layer id → how many times it was reloaded (tests read it)
const drawn = {}; // layer id → [{version, at}]: when (ms) the last tile of each version arrived
const tileLoaded = (id, version) => {
  const list = drawn[id] || (drawn[id] = []);
  const last = list[list.length - 1];
  if (last && last.version === version) last.at = Date.now();
  else list.push({version, at: Date.now()});
};

function tileData(id, params, version) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, v);
  const filtered = [...q.keys()].length > 0;
  q.set('v', version);
  // Unfiltered: the TileJSON names the tiles of the current version; filtered: tiles directly.
  return filtered ? `/api/tiles/${id}/{z}/{x}/{y}.mvt?${q}` : `/api/tiles/${id}/tilejson.json?${q}`;
}

/** A tile URL template with its `v` (data version) parameter set to `version`. */
function withVersion(url, version) {
  const v = `v=${encodeURIComponent(version)}`;
  if (/[?&]v=[^&]*/.test(url)) return url.replace(/([?&])v=[^&]*/, `$1${v}`);
  return url + (url.includes('?') ? '&' : '?') + v;
}

function reload(map, entry, version, params) {
  const layer = map.layer(entry.deck_id);
  if (!layer) return false;
  const kind = layer.constructor.layerName;
  if (kind === 'MVTLayer') {
    const apply = (data) => map.update(entry.deck_id, {
      data,
      onTileLoad: () => tileLoaded(entry.id, version),
    });
    const url = tileData(entry.id, params, version);
    if (!url.includes('/tilejson.json')) { apply(url); return true; }
    // A TileJSON URL as `data` reloads no tile (deck.gl 9.4 fetches it after its reload step):
    // hand the layer a TileJSON document whose tile URLs name the new version — the one it has,
    // re-versioned (no round trip), else a fresh one.
    const drawnLayer = map.deck.layerManager && map.deck.layerManager.getLayers().find((l) => l.id === entry.deck_id);
    const tj = drawnLayer && drawnLayer.state && drawnLayer.state.tileJSON;
    if (tj && Array.isArray(tj.tiles)) apply({...tj, tiles: tj.tiles.map((u) => withVersion(u, version))});
    else window.djmap.request(url, {cache: 'no-store'}).then(apply).catch(() => {});
    return true;
  }
  if (kind === 'ZoomHeatLayer') { // heat cells by zoom (basemap_heat.js): fetched again by version
    map.update(entry.deck_id, {version, onVersionLoad: () => tileLoaded(entry.id, version)});
    return true;
  }
  if (kind !== 'GeoJsonLayer' && kind !== 'H3HexagonLayer') return false; // 3D Tiles: rebuilt
  // deck.gl keeps the URL an async prop was given beside the loaded value (pinned 9.4).
  const given = (layer.props[ASYNC_ORIGINAL] || {}).data ?? layer.props.data;
  if (!original.has(entry.deck_id) && typeof given === 'string') original.set(entry.deck_id, given);
  const url = original.get(entry.deck_id);
  if (!url) return false;
  window.djmap.request(url, {cache: 'no-store'})
    .then((body) => { map.update(entry.deck_id, {data: body}); tileLoaded(entry.id, version); })
    .catch(() => {});
  return true;
}

/**
 * Reload one layer of `map` (common.js createMap) with URLs for data `version`; `paramsOf(entry)`
 * gives the page's filters of that layer. Other layers keep their tiles.
 */
function refreshLayer(map, id, version, paramsOf) {
  const entry = map && map.panel.find((e) => e.id === id);
  if (!entry) return;
  clearTimeout(pending.get(id));
  pending.set(id, setTimeout(() => {
    pending.delete(id);
    if (reload(map, entry, String(version), paramsOf ? paramsOf(entry) : {})) {
      refreshed[id] = (refreshed[id] || 0) + 1;
    }
  }, 40));
}

/** Keep the map's layers current: data.changed and activity.* name the layer that changed. */
function followLayers(map, paramsOf) {
  on('data.changed', (ev) => ev.data && ev.data.layer && refreshLayer(map, ev.data.layer, ev.data.version, paramsOf));
  for (const type of ['activity.created', 'activity.updated', 'activity.cancelled']) {
    on(type, (ev) => ev.data && ev.data.layer && refreshLayer(map, ev.data.layer, `e${ev.id}`, paramsOf));
  }
  on('reset', () => { for (const entry of map.panel) refreshLayer(map, entry.id, `r${Date.now()}`, paramsOf); });
}

window.djmapLive = {
  start, on, refreshLayer, followLayers, registerButton, seen, refreshed, drawn,
  followNearest: (nearest) => followNearest(on, nearest),
};
setupRegistration();
