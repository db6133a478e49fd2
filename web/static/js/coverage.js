// The planner view: run POST /api/coverage, draw service areas, uncovered cells and proposed sites; download.
(function () {
  'use strict';
  const {cfg, t, esc, fmtNum, postJSON} = window.djmap;
  const state = {by: 'minutes', result: null, png: null};
  let pngWanted = null;
  const map = window.djmap.createMap(document.getElementById('map'), cfg.deck, {
    onAfterRender: () => {
      if (!pngWanted) return;
      // Read the canvas right after a frame is drawn (its buffer is still there).
      const done = pngWanted;
      pngWanted = null;
      done(map.deck.getCanvas().toDataURL('image/png'));
    },
    tooltip: (info) => {
      // other tools' layers on this map (capacity.js) name their own objects first
      for (const more of (window.djmapCoverage && window.djmapCoverage.tooltips) || []) {
        const said = more(info);
        if (said) return said;
      }
      const p = info.object && (info.object.properties || info.object);
      if (!p) return null;
      if (p.layer === 'uncovered_cell') return {html: `${esc(t.cov_uncovered)}: <b>${esc(p.weight)}</b>`, className: 'tip'};
      if (p.rank) return {html: `#${p.rank} · ${esc(t.cov_gain)} <b>${esc(p.gain_weight == null ? '<10' : p.gain_weight)}</b>`, className: 'tip'};
      if (p.name) return {html: `<b>${esc(p.name)}</b>`, className: 'tip'};
      return null;
    },
    // compare.js keeps its scenario map on the same view
    onViewStateChange: (p) => { const c = window.djmapCoverage; if (c && c.onView) c.onView(p.viewState); },
  });

  const maxWeight = (cells) => Math.max(1, ...cells.map((f) => f.properties.weight || 0));

  // The one palette (layers/style.py), as the printed coverage map uses it.
  const pal = Object.assign({service_area: [46, 139, 87, 200], uncovered: [230, 85, 13, 230],
    proposed_site: [242, 183, 5, 255], proposed_edge: [120, 80, 0, 255]}, cfg.palette || {});
  const rgbA = (c, a) => [c[0], c[1], c[2], a];

  // The result's layers (ids prefixed: compare.js draws a scenario's beside the live ones).
  function layersOf(result, prefix = '') {
    const cells = result.uncovered_cells.features;
    const top = maxWeight(cells);
    return [
      new deckgl.classes.GeoJsonLayer({
        id: prefix + 'service-areas', data: result.service_areas, filled: true, stroked: true,
        getFillColor: rgbA(pal.service_area, 28), getLineColor: pal.service_area, lineWidthMinPixels: 1.5,
      }),
      new deckgl.classes.GeoJsonLayer({
        id: prefix + 'uncovered', data: result.uncovered_cells, filled: true, stroked: true, pickable: true,
        getFillColor: (f) => rgbA(pal.uncovered, Math.round(70 + 160 * (f.properties.weight || 0) / top)),
        getLineColor: [255, 255, 255, 120], lineWidthMinPixels: 0.5,
      }),
      new deckgl.classes.ScatterplotLayer({
        id: prefix + 'proposed', data: result.proposed, getPosition: (p) => [p.lon, p.lat], pickable: true,
        getRadius: 13, radiusUnits: 'pixels', getFillColor: pal.proposed_site, getLineColor: pal.proposed_edge,
        stroked: true, lineWidthMinPixels: 2,
      }),
      new deckgl.classes.TextLayer({
        id: prefix + 'proposed-rank', data: result.proposed, getPosition: (p) => [p.lon, p.lat],
        getText: (p) => String(p.rank), getSize: 13, getColor: [74, 54, 0, 255], fontWeight: 700,
        characterSet: '0123456789', fontFamily: 'Noto Sans CJK SC, sans-serif',
      }),
    ];
  }

  function draw(result) { map.setExtra(layersOf(result)); }

  function fit(result) {
    const xs = [], ys = [];
    const walk = (c) => { if (typeof c[0] === 'number') { xs.push(c[0]); ys.push(c[1]); } else c.forEach(walk); };
    for (const f of [...result.service_areas.features, ...result.uncovered_cells.features]) walk(f.geometry.coordinates);
    for (const p of result.proposed) { xs.push(p.lon); ys.push(p.lat); }
    if (xs.length) map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]]);
  }

  function figures(result) {
    const s = result.summary;
    const pct = (v) => (v == null ? '—' : `${v}%`);
    const n = (v) => (v == null ? '<10' : fmtNum(Math.round(v)));
    const cards = [
      [t.cov_pct, pct(s.coverage_pct_weight)],
      [t.cov_pct_count, pct(s.coverage_pct_count)],
      [t.cov_uncovered, n(s.uncovered_weight)],
      [t.stat_service_points, fmtNum(s.service_points)],
    ];
    document.getElementById('cov-figures').innerHTML = cards
      .map(([k, v]) => `<div class="stat"><b>${esc(v)}</b><span>${esc(k)}</span></div>`).join('');
    document.getElementById('cov-proposals').innerHTML = result.proposed.length
      ? result.proposed.map((p) => `<li data-rank="${p.rank}"><span>${esc(p.name || `${p.lon.toFixed(4)}, ${p.lat.toFixed(4)}`)}</span><b>+${esc(p.gain_weight == null ? '<10' : Math.round(p.gain_weight))}</b></li>`).join('')
      : `<li class="none muted"><span>${esc(t.no_data)}</span></li>`;
    document.getElementById('cov-result').hidden = false;
  }

  function body() {
    const limit = Number(document.getElementById('cov-limit').value);
    return {
      [state.by]: limit,
      mode: document.getElementById('cov-mode').value,
      weight: document.getElementById('cov-weight').value,
      propose: Number(document.getElementById('cov-propose').value) || 0,
    };
  }

  document.getElementById('cov-by').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-v]');
    if (!btn) return;
    for (const b of btn.parentNode.children) b.classList.toggle('on', b === btn);
    state.by = btn.dataset.v;
    const input = document.getElementById('cov-limit');
    document.getElementById('cov-limit-label').textContent = state.by === 'minutes' ? t.cov_minutes : t.cov_meters;
    input.max = state.by === 'minutes' ? 240 : 20000;
    input.step = state.by === 'minutes' ? 1 : 50;
    input.value = state.by === 'minutes' ? 15 : 1000;
  });

  document.getElementById('cov-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const run = document.getElementById('cov-run');
    const error = document.getElementById('cov-error');
    error.hidden = true;
    if (!cfg.routes.coverage) { error.textContent = t.cov_unavailable; error.hidden = false; return; }
    run.disabled = true;
    run.textContent = t.cov_running;
    try {
      state.result = await postJSON('/api/coverage', body());
      draw(state.result);
      fit(state.result);
      figures(state.result);
      document.body.dataset.coverage = 'done';
    } catch (err) {
      // In words of the page's language, never a body's object ("Log in: [object Object]").
      const said = err.body && typeof err.body.description === 'string' ? err.body.description : t.err_generic;
      error.textContent = err.status === 401 || err.status === 403 ? t.login_needed : said;
      error.hidden = false;
    } finally {
      run.disabled = false;
      run.textContent = t.cov_run;
    }
  });

  function save(name, blob) {
    const a = document.createElement('a');
    a.href = typeof blob === 'string' ? blob : URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  const stamp = () => new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '');
  document.getElementById('dl-geojson').addEventListener('click', () => {
    const r = state.result;
    if (!r) return;
    const features = [
      ...r.service_areas.features,
      ...r.uncovered_cells.features,
      ...r.proposed.map((p) => ({type: 'Feature', geometry: {type: 'Point', coordinates: [p.lon, p.lat]}, properties: {layer: 'proposed_site', ...p}})),
    ];
    const fc = {type: 'FeatureCollection', params: r.params, summary: r.summary, features};
    save(`coverage-${stamp()}.geojson`, new Blob([JSON.stringify(fc)], {type: 'application/geo+json'}));
  });
  document.getElementById('dl-csv').addEventListener('click', () => {
    const r = state.result;
    if (!r) return;
    const q = (v) => `"${String(v == null ? '' : v).replace(/"/g, '""')}"`;
    const lines = ['section,key,value'];
    for (const [k, v] of Object.entries(r.params)) lines.push(['param', k, v].map(q).join(','));
    for (const [k, v] of Object.entries(r.summary)) lines.push(['summary', k, v].map(q).join(','));
    lines.push('', 'rank,lon,lat,name,gain_weight,coverage_pct_weight_after');
    for (const p of r.proposed) lines.push([p.rank, p.lon, p.lat, p.name, p.gain_weight, p.coverage_pct_weight_after].map(q).join(','));
    save(`coverage-${stamp()}.csv`, new Blob(['\ufeff' + lines.join('\n')], {type: 'text/csv'}));
  });
  document.getElementById('dl-png').addEventListener('click', () => {
    pngWanted = (url) => save(`coverage-${stamp()}.png`, url);
    map.deck.redraw('png');
  });

  window.djmap.setupLogin(() => {});
  // map: planning.js draws red routes on it too; compare.js runs body() live and with a scenario
  window.djmapCoverage = {state, map, body, layersOf, draw, fit, figures};
})();
