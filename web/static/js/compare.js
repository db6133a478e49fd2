// Live and scenario side by side on /coverage (issue 14 §1): the coverage form's run on the live
// service points and on a kept scenario (POST /api/coverage with `scenario`), two maps on one view
// (live left, the scenario right with the cells it gains and loses) and a difference table. Both
// answers are what each run publishes (aggregates only); the difference is worked out here.
// The scenario map draws the scenario's service points (the answer's service_points: added,
// moved from their live place, removed marked at it), not the live service points layer.
(function () {
  'use strict';
  const {cfg, t, esc, fmtNum, getJSON, postJSON, createMap, token} = window.djmap;
  const cov = window.djmapCoverage;
  const $ = (id) => document.getElementById(id);
  if (!cov || !$('cmp-card')) return;
  const GAINED = [26, 152, 80];
  const LOST = [215, 48, 39];
  // a scenario's service points by what it did to them (the live layer's red for the rest)
  const SITE = {unchanged: [200, 16, 46], set: [200, 16, 46], added: GAINED, moved: [33, 113, 181],
    removed: [150, 150, 150]};
  let mapB = null;
  let syncing = false;

  async function loadScenarios() {
    const sel = $('cmp-scenario');
    const note = $('cmp-note');
    const run = $('cmp-run');
    const refuse = (text) => { note.textContent = text; note.hidden = false; run.disabled = true; };
    if (!token()) { refuse(t.cmp_login); return; }
    try {
      const list = (await getJSON('/api/scenarios?limit=100')).scenarios || [];
      sel.innerHTML = list.map((s) => `<option value="${esc(s.id)}">${esc(s.name)}</option>`).join('');
      if (!list.length) { refuse(t.cmp_none); return; }
      // a scenario shared by URL (/coverage?scenario=ID) is the one chosen
      const shared = new URLSearchParams(window.location.search).get('scenario');
      if (shared && list.some((s) => String(s.id) === shared)) sel.value = shared;
      note.hidden = true;
      run.disabled = false;
    } catch (err) {
      refuse(err.status === 401 || err.status === 403 ? t.cmp_login : t.err_generic);
    }
  }

  // One view for both maps: a move on either is applied to the other.
  function follow(target, vs) {
    if (syncing || !target || !vs) return;
    syncing = true;
    try {
      target.flyTo({longitude: vs.longitude, latitude: vs.latitude, zoom: vs.zoom,
        pitch: vs.pitch || 0, bearing: vs.bearing || 0}, 0);
    } finally {
      syncing = false;
    }
  }

  function scenarioMap() {
    if (mapB) return mapB;
    const keep = window.djmapMap;
    mapB = createMap($('map-b'), cfg.deck, {
      onViewStateChange: (p) => follow(cov.map, p.viewState),
      tooltip: (info) => {
        const p = info.object && info.object.properties;
        if (p && p.change) return siteTip(p);
        if (!p || !p.h3) return null;
        const what = info.layer.id === 'b-gained' ? t.cmp_gained : info.layer.id === 'b-lost' ? t.cmp_lost : t.cov_uncovered;
        return {html: `${esc(what)}: <b>${esc(p.weight)}</b>`, className: 'tip'};
      },
    });
    window.djmapMap = keep;  // the page's map stays the live one
    // the live service points are not the scenario's: its own are drawn from its answer
    for (const e of mapB.panel.filter((x) => x.card === 'service_point')) mapB.update(e.deck_id, {visible: false});
    return mapB;
  }

  function siteTip(p) {
    const what = p.change === 'unchanged' ? '' : ` · ${esc(t['cmp_site_' + p.change] || p.change)}`;
    return {html: `<b>${esc(p.name || '')}</b>${what}`, className: 'tip'};
  }

  // The scenario's service points: removed ones as grey rings at their live place, moved ones
  // with a line from where they were, added ones green.
  function sitesLayers(scen) {
    const all = (scen.service_points || {features: []}).features;
    const by = (c) => all.filter((f) => f.properties.change === c);
    const kept = all.filter((f) => f.properties.change !== 'removed');
    const pos = (f) => f.geometry.coordinates;
    return [
      new deckgl.classes.LineLayer({
        id: 'b-sites-moved', data: by('moved').filter((f) => f.properties.from),
        getSourcePosition: (f) => f.properties.from, getTargetPosition: pos,
        getColor: [...SITE.moved, 220], getWidth: 2, widthUnits: 'pixels',
      }),
      new deckgl.classes.ScatterplotLayer({
        id: 'b-sites-removed', data: by('removed'), getPosition: pos, pickable: true,
        getRadius: 8, radiusUnits: 'pixels', getFillColor: [...SITE.removed, 110],
        getLineColor: [...LOST, 255], stroked: true, lineWidthMinPixels: 2,
      }),
      new deckgl.classes.ScatterplotLayer({
        id: 'b-sites', data: kept, getPosition: pos, pickable: true,
        getRadius: 9, radiusUnits: 'pixels', getFillColor: (f) => [...(SITE[f.properties.change] || SITE.unchanged), 235],
        getLineColor: [255, 255, 255, 255], stroked: true, lineWidthMinPixels: 2,
      }),
    ];
  }

  // How many of the scenario's points each change drew (for the page's tests).
  function siteCounts(scen) {
    const out = {};
    for (const f of (scen.service_points || {features: []}).features) out[f.properties.change] = (out[f.properties.change] || 0) + 1;
    return out;
  }
  cov.onView = (vs) => { if (mapB && document.body.classList.contains('comparing')) follow(mapB, vs); };

  // Uncovered cells by H3 id: gained = uncovered live, not in the scenario; lost = the reverse.
  function difference(live, scen) {
    const byId = (r) => new Map(r.uncovered_cells.features.map((f) => [f.properties.h3, f]));
    const a = byId(live);
    const b = byId(scen);
    return {
      gained: [...a].filter(([k]) => !b.has(k)).map(([, f]) => f),
      lost: [...b].filter(([k]) => !a.has(k)).map(([, f]) => f),
    };
  }

  const cellsLayer = (id, features, c) => new deckgl.classes.GeoJsonLayer({
    id, data: {type: 'FeatureCollection', features}, filled: true, stroked: true, pickable: true,
    getFillColor: [c[0], c[1], c[2], 190], getLineColor: [c[0] * 0.5, c[1] * 0.5, c[2] * 0.5, 255], lineWidthMinPixels: 1.5,
  });

  function table(live, scen, diff) {
    const a = live.summary;
    const b = scen.summary;
    const num = (v) => (v == null ? '<10' : fmtNum(Math.round(v)));
    const pct = (v) => (v == null ? '—' : `${v}%`);
    const signed = (x, y, unit) => {
      if (x == null || y == null) return '—';
      const d = Math.round((y - x) * 100) / 100;
      return `${d > 0 ? '+' : ''}${unit === '%' ? d : fmtNum(d)}${unit}`;
    };
    const rows = [
      [t.cov_pct, pct(a.coverage_pct_weight), pct(b.coverage_pct_weight), signed(a.coverage_pct_weight, b.coverage_pct_weight, '%')],
      [t.cov_pct_count, pct(a.coverage_pct_count), pct(b.coverage_pct_count), signed(a.coverage_pct_count, b.coverage_pct_count, '%')],
      [t.cov_uncovered, num(a.uncovered_weight), num(b.uncovered_weight), signed(a.uncovered_weight, b.uncovered_weight, '')],
      [t.stat_service_points, fmtNum(a.service_points), fmtNum(b.service_points), signed(a.service_points, b.service_points, '')],
      [t.cmp_gained, '', '', fmtNum(diff.gained.length)],
      [t.cmp_lost, '', '', fmtNum(diff.lost.length)],
    ];
    const head = `<thead><tr><th></th><th>${esc(t.cmp_live)}</th><th>${esc(t.cmp_scenario)}</th><th>${esc(t.cmp_change)}</th></tr></thead>`;
    $('cmp-table').innerHTML = head + '<tbody>' + rows.map((r) =>
      `<tr>${r.map((v, i) => (i ? `<td>${esc(v)}</td>` : `<th>${esc(v)}</th>`)).join('')}</tr>`).join('') + '</tbody>';
  }

  function show(live, scen, name) {
    document.body.classList.add('comparing');
    $('map-b').hidden = false;
    $('cmp-tags').hidden = false;
    $('cmp-tag-b').textContent = `${t.cmp_scenario}${cfg.lang === 'en' ? ': ' : '：'}${name}`;
    const b = scenarioMap();
    cov.state.result = live;
    cov.draw(live);
    cov.figures(live);
    const diff = difference(live, scen);
    b.setExtra([...cov.layersOf(scen, 'b-'), cellsLayer('b-gained', diff.gained, GAINED),
      cellsLayer('b-lost', diff.lost, LOST), ...sitesLayers(scen)]);
    table(live, scen, diff);
    $('cmp-result').hidden = false;
    window.djmapCompare.last = {live: live.summary, scenario: scen.summary, gained: diff.gained.length, lost: diff.lost.length};
    window.djmapCompare.sites = siteCounts(scen);
    // the maps were resized by the split: frame the result once they have their new size (two
    // frames), then put the scenario map on the live map's final view
    requestAnimationFrame(() => requestAnimationFrame(() => {
      cov.fit(live);
      setTimeout(() => { follow(b, cov.map.viewState()); document.body.dataset.compare = 'done'; }, 1300);
    }));
  }

  async function compare(ev) {
    ev.preventDefault();
    const err = $('cmp-error');
    const run = $('cmp-run');
    const id = Number($('cmp-scenario').value);
    err.hidden = true;
    if (!id) return;
    run.disabled = true;
    run.textContent = t.cmp_running;
    try {
      const body = cov.body();
      const live = await postJSON('/api/coverage', body);
      const scen = await postJSON('/api/coverage', {...body, scenario: id});
      show(live, scen, $('cmp-scenario').selectedOptions[0].textContent);
    } catch (e) {
      const said = e.body && typeof e.body.description === 'string' ? e.body.description : t.err_generic;
      err.textContent = e.status === 401 || e.status === 403 ? t.cmp_login : said;
      err.hidden = false;
    } finally {
      run.disabled = false;
      run.textContent = t.cmp_run;
    }
  }

  function close() {
    document.body.classList.remove('comparing');
    $('map-b').hidden = true;
    $('cmp-tags').hidden = true;
    $('cmp-result').hidden = true;
    delete document.body.dataset.compare;
  }

  $('cmp-form').addEventListener('submit', compare);
  $('cmp-close').addEventListener('click', close);
  $('cmp-scenario').addEventListener('focus', () => { if (!$('cmp-scenario').options.length) loadScenarios(); });
  window.djmapCompare = {loadScenarios, difference, close, last: null, sites: null, map: () => mapB};
  loadScenarios();
})();
