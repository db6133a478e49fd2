// 党建网格 drawn on /coverage (issue 14 §4): "Draw grid", click the corners on the map, double-click
// (or Finish) to close, fill the small form (code, name, community, a branch of the caller's
// subtree, an optional grid leader) and save: POST …/items of the grids collection (OGC API
// Features Part 4). The saved grid is drawn at once, the grids layer reloads its tiles and the grid
// check (GET /api/grids/check) runs again, listing overlaps. A grid clicked on the map opens its
// card: rename it, change its branch (PATCH with If-Match) or delete it.
(function () {
  'use strict';
  const {cfg, t, esc, getJSON, request, authHeaders, token} = window.djmap;
  const cov = window.djmapCoverage;
  const $ = (id) => document.getElementById(id);
  const collection = cfg.grids && cfg.grids.collection;
  if (!cov || !cov.map || !collection || !$('grid-card')) return;
  const map = cov.map;
  const items = `/api/collections/${encodeURIComponent(collection)}/items`;
  const state = {drawing: false, vertices: [], saved: new Map(), open: null, down: null};
  const CLOSE_PX = 6; // a second click this near the last corner is the double-click's

  function say(id, text) {
    const el = $(id);
    el.textContent = text || '';
    el.hidden = !text;
  }
  const fail = (err) => say('grid-error', (err.body && err.body.description) || err.message);

  // ---- the map: the outline being drawn and the grids saved from this page ----------------
  function ring() {
    return [...state.vertices, state.vertices[0]];
  }

  function draw() {
    const layers = [];
    const saved = [...state.saved.values()];
    if (saved.length) {
      layers.push(new deckgl.classes.GeoJsonLayer({id: 'drawn-grids', data: {type: 'FeatureCollection', features: saved},
        filled: true, stroked: true, pickable: true, getFillColor: [178, 34, 34, 50], getLineColor: [178, 34, 34, 230],
        lineWidthMinPixels: 2}));
    }
    if (state.vertices.length) {
      const path = state.vertices.length >= 3 ? ring() : state.vertices;
      layers.push(new deckgl.classes.PathLayer({id: 'draft-grid-outline', data: [{path}], getPath: (d) => d.path,
        getColor: [178, 34, 34, 255], getWidth: 2, widthUnits: 'pixels'}));
      layers.push(new deckgl.classes.ScatterplotLayer({id: 'draft-grid-corners', data: state.vertices,
        getPosition: (p) => p, getRadius: 5, radiusUnits: 'pixels', getFillColor: [255, 255, 255, 255],
        getLineColor: [178, 34, 34, 255], stroked: true, lineWidthMinPixels: 2}));
    }
    cov.drawExtra('grids', layers);
  }

  function reloadTiles() {
    if (!map.has(collection)) return;
    // a new TileJSON names the grids' new data version (its tiles are new URLs)
    map.update(collection, {visible: true, data: `/api/tiles/${encodeURIComponent(collection)}/tilejson.json?v=${Date.now()}`});
  }

  function where(ev) {
    const rect = $('map').getBoundingClientRect();
    return {x: ev.clientX - rect.left, y: ev.clientY - rect.top};
  }

  function addCorner(ev) {
    const {x, y} = where(ev);
    const vp = map.deck.getViewports()[0];
    if (!vp) return;
    const last = state.vertices[state.vertices.length - 1];
    if (last) {
      const [lx, ly] = vp.project(last);
      if (Math.hypot(lx - x, ly - y) < CLOSE_PX) return;
    }
    state.vertices.push(vp.unproject([x, y]));
    $('grid-count').textContent = String(state.vertices.length);
    $('grid-finish').disabled = state.vertices.length < 3;
    draw();
  }

  function onClick(ev) {
    if (!state.down || Math.hypot(ev.clientX - state.down[0], ev.clientY - state.down[1]) > CLOSE_PX) return;
    if (state.drawing) { addCorner(ev); return; }
    const {x, y} = where(ev);
    const info = map.deck.pickObject({x, y, radius: 4, layerIds: [collection, 'drawn-grids']});
    const obj = info && info.object;
    const id = obj && (obj.properties && obj.properties.id != null ? obj.properties.id : obj.id);
    if (id != null) openCard(id).catch(fail);
  }

  // ---- drawing ----------------------------------------------------------------------------
  function setDrawing(on) {
    state.drawing = on;
    $('grid-drawing').hidden = !on;
    $('grid-draw').disabled = on;
    map.deck.setProps({controller: {inertia: true, touchRotate: true, doubleClickZoom: !on}});
    document.body.dataset.gridDrawing = on ? 'on' : 'off';
  }

  async function start() {
    say('grid-error', '');
    say('grid-note', '');
    if (!token()) { say('grid-error', t.grid_login); return; }
    $('grid-form').hidden = true;
    $('grid-item').hidden = true;
    state.vertices = [];
    $('grid-count').textContent = '0';
    $('grid-finish').disabled = true;
    setDrawing(true);
    draw();
    await branches('grid-branch', null);
  }

  function cancel() {
    state.vertices = [];
    setDrawing(false);
    $('grid-form').hidden = true;
    draw();
  }

  function finish() {
    if (!state.drawing) return;
    if (state.vertices.length < 3) { say('grid-error', t.grid_need3); return; }
    setDrawing(false);
    say('grid-error', '');
    $('grid-form').hidden = false;
    $('grid-code').focus();
  }

  // ---- the branches the caller may give a grid (its subtree) --------------------------------
  let orgs = null;
  async function branches(selectId, chosen) {
    if (!orgs) {
      const doc = await getJSON('/web/orgs.json');
      orgs = (doc.organisations || []).slice().sort((a, b) => (a.type === '党支部' ? 0 : 1) - (b.type === '党支部' ? 0 : 1) || a.name.localeCompare(b.name));
    }
    const none = `<option value="">${esc(t.grid_no_branch)}</option>`;
    $(selectId).innerHTML = none + orgs.map((o) => `<option value="${esc(o.id)}"${o.id === chosen ? ' selected' : ''}>${esc(o.name)}（${esc(o.code)}）</option>`).join('');
  }

  // ---- writes -----------------------------------------------------------------------------
  const value = (id) => $(id).value.trim() || null;
  const branchOf = (id) => ($(id).value ? Number($(id).value) : null);

  async function save(ev) {
    ev.preventDefault();
    say('grid-error', '');
    const properties = {code: value('grid-code'), name: value('grid-name'), community: value('grid-community'),
      org_id: branchOf('grid-branch')};
    if (value('grid-leader')) properties.leader_code = value('grid-leader');
    const feature = {type: 'Feature', geometry: {type: 'Polygon', coordinates: [ring()]}, properties};
    $('grid-save').disabled = true;
    try {
      const made = await request(items, {method: 'POST', headers: {'Content-Type': 'application/geo+json'}, body: JSON.stringify(feature)});
      state.saved.set(String(made.id), made);
      state.vertices = [];
      $('grid-form').reset();
      $('grid-form').hidden = true;
      say('grid-note', `${t.grid_saved}：${made.properties.name}（${made.properties.code}）`);
      document.body.dataset.gridSaved = String(made.id);
      draw();
      reloadTiles();
      await check();
    } catch (err) {
      fail(err);
    } finally {
      $('grid-save').disabled = false;
    }
  }

  async function check() {
    const r = await getJSON('/api/grids/check');
    const rows = [
      ...r.overlaps.map((o) => `<li class="overlap" data-a="${esc(o.a)}" data-b="${esc(o.b)}">${esc(t.grid_overlap)}：${esc(o.a)} ↔ ${esc(o.b)} · ${esc(Math.round(o.area_m2))} m²</li>`),
      ...r.without_branch.map((g) => `<li class="no-branch">${esc(t.grid_without_branch)}：${esc(g.name)}（${esc(g.code)}）</li>`),
    ];
    $('grid-check-list').innerHTML = rows.length ? rows.join('') : `<li class="ok">${esc(t.grid_check_ok)}</li>`;
    $('grid-check').hidden = false;
    document.body.dataset.gridCheck = r.ok ? 'ok' : 'problems';
    return r;
  }

  // ---- a grid's card: rename, change the branch, delete -------------------------------------
  async function current(id) {
    const res = await fetch(`${items}/${encodeURIComponent(id)}`, {headers: authHeaders()});
    const body = await res.json().catch(() => null);
    if (!res.ok) { const e = new Error((body && body.description) || `HTTP ${res.status}`); e.body = body; throw e; }
    return {etag: res.headers.get('ETag'), feature: body};
  }

  async function openCard(id) {
    say('grid-error', '');
    const {feature} = await current(id);
    state.open = feature.id;
    $('grid-item-title').textContent = `${feature.properties.name}（${feature.properties.code}）`;
    $('grid-item-name').value = feature.properties.name || '';
    $('grid-item').hidden = false;
    $('grid-form').hidden = true;
    if (token()) await branches('grid-item-branch', feature.properties.org_id);
  }

  async function update(ev) {
    ev.preventDefault();
    const {etag} = await current(state.open);
    const patch = {properties: {name: value('grid-item-name'), org_id: branchOf('grid-item-branch')}};
    const made = await request(`${items}/${encodeURIComponent(state.open)}`, {method: 'PATCH',
      headers: {'Content-Type': 'application/merge-patch+json', 'If-Match': etag}, body: JSON.stringify(patch)});
    if (state.saved.has(String(made.id))) state.saved.set(String(made.id), made);
    $('grid-item-title').textContent = `${made.properties.name}（${made.properties.code}）`;
    say('grid-note', `${t.grid_saved}：${made.properties.name}`);
    draw();
    reloadTiles();
    await check();
  }

  async function remove() {
    if (!window.confirm(t.grid_delete_confirm)) return;
    const {etag} = await current(state.open);
    await request(`${items}/${encodeURIComponent(state.open)}`, {method: 'DELETE', headers: {'If-Match': etag}});
    state.saved.delete(String(state.open));
    state.open = null;
    $('grid-item').hidden = true;
    say('grid-note', t.grid_deleted);
    draw();
    reloadTiles();
    await check();
  }

  const mapEl = $('map');
  mapEl.addEventListener('pointerdown', (ev) => { state.down = [ev.clientX, ev.clientY]; });
  mapEl.addEventListener('click', onClick);
  mapEl.addEventListener('dblclick', (ev) => { if (state.drawing) { ev.preventDefault(); finish(); } });
  $('grid-draw').addEventListener('click', () => start().catch(fail));
  $('grid-finish').addEventListener('click', finish);
  $('grid-cancel').addEventListener('click', cancel);
  $('grid-form').addEventListener('submit', save);
  $('grid-item').addEventListener('submit', (ev) => update(ev).catch(fail));
  $('grid-item-delete').addEventListener('click', () => remove().catch(fail));
  window.djmapGrids = {state, check, start, finish};
})();
