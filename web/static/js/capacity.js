// Capacity on /coverage (issue 14 §2): POST /api/capacity (2SFCA on walking times) for the map's
// current area (and the scenario chosen in the comparison card, when logged in), drawn as H3 cells
// coloured by their class (under-served / balanced / over-served, a diverging palette from
// layers/style.py) and each service point's catchment load as a sized, labelled marker with a
// tooltip. Demand is households from public building data: no member figure is asked for.
(function () {
  'use strict';
  const {cfg, t, esc, fmtNum, postJSON, token} = window.djmap;
  const cov = window.djmapCoverage;
  const $ = (id) => document.getElementById(id);
  if (!cov || !$('cap-run')) return;
  const pal = Object.assign({capacity_under: [215, 48, 39, 170], capacity_ok: [255, 255, 191, 150],
    capacity_over: [69, 117, 180, 170]}, cfg.palette || {});
  const CLASSES = ['under', 'ok', 'over'];
  const MAX_KM2 = 190;  // the API's bbox cap is 200 km²: a wider view is cut around its centre
  const state = {body: null, result: null};

  // The map's view as a bbox (cut around the centre to the API's cap).
  function viewBox() {
    const canvas = cov.map.deck.getCanvas();
    const vs = cov.map.viewState();
    const vp = new deckgl.WebMercatorViewport({...vs, width: canvas.clientWidth || 800, height: canvas.clientHeight || 600});
    let [x0, y0, x1, y1] = vp.getBounds();
    const kx = 111.32 * Math.cos((vs.latitude * Math.PI) / 180);
    const km2 = (x1 - x0) * kx * (y1 - y0) * 110.57;
    if (km2 > MAX_KM2) {
      const f = Math.sqrt(MAX_KM2 / km2) / 2;
      const [cx, cy, w, h] = [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0];
      [x0, y0, x1, y1] = [cx - w * f, cy - h * f, cx + w * f, cy + h * f];
    }
    return [x0, y0, x1, y1].map((v) => Math.round(v * 1e5) / 1e5);
  }

  function scenario() {
    const sel = $('cmp-scenario');
    return token() && sel && sel.value ? Number(sel.value) : null;
  }

  const loadOf = (s) => (s.load_pct == null ? null : Math.round(s.load_pct));
  const radius = (s) => 6 + 4 * Math.log10(1 + Math.max(0, loadOf(s) || 0));  // 100% → 14 px, 1000% → 18 px
  const siteColor = (s) => pal[(s.load_pct || 0) > 100 ? 'capacity_under' : (s.load_pct || 0) < 50 ? 'capacity_over' : 'capacity_ok'];

  function layers(result) {
    const sites = result.sites;
    return [
      new deckgl.classes.GeoJsonLayer({
        id: 'capacity-cells', data: result.cells, filled: true, stroked: true, pickable: true,
        getFillColor: (f) => pal['capacity_' + f.properties.status] || pal.capacity_ok,
        getLineColor: [255, 255, 255, 140], lineWidthMinPixels: 0.5,
      }),
      new deckgl.classes.ScatterplotLayer({
        id: 'capacity-sites', data: sites, getPosition: (s) => [s.lon, s.lat], pickable: true,
        getRadius: radius, radiusUnits: 'pixels', getFillColor: (s) => [...siteColor(s).slice(0, 3), 235],
        getLineColor: [60, 60, 60, 255], stroked: true, lineWidthMinPixels: 1.5,
      }),
      new deckgl.classes.TextLayer({
        id: 'capacity-load', data: sites.filter((s) => loadOf(s) != null), getPosition: (s) => [s.lon, s.lat],
        getText: (s) => `${loadOf(s)}%`, getSize: 11, getColor: [30, 30, 30, 255], fontWeight: 700,
        getPixelOffset: (s) => [0, -radius(s) - 8], characterSet: '0123456789%',
        fontFamily: 'Noto Sans CJK SC, sans-serif',
      }),
    ];
  }

  // The card of one site (the tooltip and the list share it).
  function siteHTML(s) {
    const load = loadOf(s);
    const hh = s.households == null ? '—' : fmtNum(Math.round(s.households));
    const per = s.m2_per_100_households == null ? '—' : s.m2_per_100_households.toFixed(1);
    return `<b>${esc(s.name)}</b><br>${esc(t.cap_load)}: <b>${load == null ? '—' : `${load}%`}</b>`
      + `<br>${esc(t.cap_area)}: ${esc(fmtNum(Math.round(s.capacity_m2)))} m²`
      + `<br>${esc(t.cap_households)}: ${esc(hh)}<br>${esc(t.cap_m2_per_100)}: ${esc(per)}`;
  }

  function tooltip(info) {
    const layer = info.layer && info.layer.id;
    if (layer === 'capacity-sites' && info.object) return {html: `<div class="cap-tip">${siteHTML(info.object)}</div>`, className: 'tip'};
    if (layer === 'capacity-cells' && info.object) {
      const p = info.object.properties;
      return {html: `${esc(t['cap_' + p.status])}<br>${esc(t.cap_m2_per_100)}: <b>${esc(p.m2_per_100_households)}</b>`, className: 'tip'};
    }
    return null;
  }

  function legend(result) {
    const per = Number(result.params.m2_per_100_households);
    const bands = {under: `< ${per}`, ok: `${per} – ${2 * per}`, over: `> ${2 * per}`};
    const sw = (c) => `rgba(${c[0]},${c[1]},${c[2]},${(c[3] || 255) / 255})`;
    const box = $('cap-legend');
    box.innerHTML = `<div><b>${esc(t.cap_title)}</b></div>`
      + CLASSES.map((k) => `<div data-class="${k}"><i style="background:${sw(pal['capacity_' + k])}"></i>`
      + `${esc(t['cap_' + k])} <span class="muted">${esc(bands[k])} ${esc(t.cap_unit)}</span></div>`).join('')
      + `<div class="muted">${esc(t.cap_marker)} · ${esc(t.cap_catchment)} ${esc(result.params.minutes)} ${esc(t.cap_minutes)}</div>`;
    box.hidden = false;
  }

  function show(result) {
    const s = result.summary;
    const count = (k) => result.cells.features.filter((f) => f.properties.status === k).length;
    $('cap-figures').innerHTML = [
      [t.stat_service_points, fmtNum(s.service_points)],
      [t.cap_served, s.served_pct == null ? '—' : `${s.served_pct}%`],
      [t.cap_under, fmtNum(count('under'))],
      [t.cap_over, fmtNum(count('over'))],
    ].map(([k, v]) => `<div class="stat"><b>${esc(v)}</b><span>${esc(k)}</span></div>`).join('');
    legend(result);
    const sites = [...result.sites].sort((a, b) => (b.load_pct || 0) - (a.load_pct || 0));
    $('cap-sites').innerHTML = sites.map((x) => `<li data-site="${esc(x.service_point_id)}"><span>${esc(x.name)}</span>`
      + `<b>${loadOf(x) == null ? '—' : `${loadOf(x)}%`}</b></li>`).join('');
    $('cap-result').hidden = false;
  }

  async function run() {
    const btn = $('cap-run');
    const err = $('cap-error');
    err.hidden = true;
    btn.disabled = true;
    btn.textContent = t.cap_running;
    const body = {bbox: viewBox()};
    const scen = scenario();
    if (scen != null) body.scenario = scen;
    try {
      const result = await postJSON('/api/capacity', body);
      state.body = body;
      state.result = result;
      cov.drawExtra('capacity', layers(result));
      show(result);
      document.body.dataset.capacity = 'done';
    } catch (e) {
      const said = e.body && typeof e.body.description === 'string' ? e.body.description : t.err_generic;
      err.textContent = e.status === 401 || e.status === 403 ? t.login_needed : said;
      err.hidden = false;
    } finally {
      btn.disabled = false;
      btn.textContent = t.cap_run;
    }
  }

  function clear() {
    cov.drawExtra('capacity', []);
    $('cap-result').hidden = true;
    $('cap-legend').hidden = true;
    state.result = null;
  }

  $('cap-run').addEventListener('click', run);
  $('cap-clear').addEventListener('click', clear);
  cov.tooltips = [...(cov.tooltips || []), tooltip];
  window.djmapCapacity = {state, run, tooltip, viewBox};
})();
