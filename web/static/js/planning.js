// Planning tools on /coverage (issue 14 §5-6): the printable report button and the red education
// route card (POST /api/routes/red): ordered stops with their panoramas, the path on the map, GPX.
(function () {
  'use strict';
  const {t, esc, fmtNum, getJSON, postJSON, authHeaders} = window.djmap;
  const map = window.djmapCoverage && window.djmapCoverage.map;
  const $ = (id) => document.getElementById(id);
  if (map) {
    // the coverage results, the route and the grids being drawn (grids_draw.js) share the map's
    // extra layers, each tool its own group
    const groups = {coverage: [], route: [], grids: []};
    const setExtra = map.setExtra.bind(map);
    const drawExtra = (name, layers) => { groups[name] = layers; setExtra(Object.values(groups).flat()); };
    map.setExtra = (layers) => drawExtra('coverage', layers);
    window.djmapCoverage.drawExtra = drawExtra;
    window.djmapCoverage.drawRoute = (layers) => drawExtra('route', layers);
  }

  async function printReport() {
    const btn = $('rep-print');
    const note = $('rep-note');
    btn.disabled = true;
    note.hidden = false;
    note.textContent = t.rep_busy;
    try {
      const res = await fetch('/api/reports/coverage.pdf?lang=' + encodeURIComponent(document.documentElement.lang || 'zh-CN'), {headers: authHeaders()});
      if (res.status === 401) throw new Error(t.rep_login);
      if (!res.ok) { const body = await res.json().catch(() => null); throw new Error((body && body.description) || `HTTP ${res.status}`); }
      const url = URL.createObjectURL(await res.blob());
      window.open(url, '_blank');
      note.hidden = true;
    } catch (err) {
      note.textContent = err.message;
    } finally {
      btn.disabled = false;
    }
  }

  async function loadSites() {
    const box = $('route-sites');
    const doc = await getJSON('/api/collections/service_points/items?limit=500');
    const sites = (doc.features || []).map((f) => ({id: f.id, ...f.properties}));
    sites.sort((a, b) => (a.kind === '红色教育基地' ? 0 : 1) - (b.kind === '红色教育基地' ? 0 : 1) || a.name.localeCompare(b.name));
    box.innerHTML = sites.map((s) => `<label class="route-site"><input type="checkbox" value="${esc(s.id)}"> ${esc(s.name)} <span class="muted">${esc(window.djmap.term(s.kind))}</span></label>`).join('');
  }

  const chosen = () => [...document.querySelectorAll('#route-sites input:checked')].map((i) => Number(i.value));

  function drawRoute(route) {
    if (!window.djmapCoverage || !window.djmapCoverage.drawRoute) return;
    window.djmapCoverage.drawRoute([
      new deckgl.classes.GeoJsonLayer({id: 'red-route', data: route.path, stroked: true, filled: false,
        getLineColor: [164, 22, 26, 230], lineWidthMinPixels: 4}),
      new deckgl.classes.ScatterplotLayer({id: 'red-route-stops', data: route.stops, getPosition: (s) => [s.lon, s.lat],
        getRadius: 9, radiusUnits: 'pixels', getFillColor: [255, 255, 255, 255], getLineColor: [164, 22, 26, 255],
        stroked: true, lineWidthMinPixels: 2}),
      new deckgl.classes.TextLayer({id: 'red-route-seq', data: route.stops, getPosition: (s) => [s.lon, s.lat],
        getText: (s) => String(s.seq), getSize: 12, getColor: [164, 22, 26, 255], fontWeight: 700, characterSet: '0123456789'}),
    ]);
  }

  function show(route, query) {
    const minutes = (s) => `${fmtNum(Math.round(s / 60))} min`;
    const km = (m) => `${(m / 1000).toFixed(2)} km`;
    $('route-result').hidden = false;
    $('route-total').textContent = `${t.route_total}: ${km(route.distance_m)} · ${minutes(route.duration_s)}`;
    $('route-stops').innerHTML = route.stops.map((s, i) => {
      const leg = route.legs[i];
      const pano = s.panoramas.length ? `<img class="route-pano" loading="lazy" alt="${esc(s.name)}" src="/api/panoramas/${esc(s.panoramas[0])}/image">` : '';
      const next = leg ? `<div class="muted">→ ${km(leg.distance_m)} · ${minutes(leg.duration_s)}</div>` : '';
      return `<li data-stop="${esc(s.id)}"><b>${esc(s.name)}</b> <span class="muted">${esc(window.djmap.term(s.kind))}</span>${pano}${next}</li>`;
    }).join('');
    $('route-gpx').href = `/api/routes/red.gpx?${query}`;
    drawRoute(route);
  }

  async function plan(ev) {
    ev.preventDefault();
    const stops = chosen();
    const err = $('route-error');
    err.hidden = true;
    if (stops.length < 2) { err.textContent = t.route_need; err.hidden = false; return; }
    const mode = $('route-mode').value;
    const back = $('route-return').checked;
    try {
      const route = await postJSON('/api/routes/red', {stops, mode, return: back});
      show(route, new URLSearchParams({stops: stops.join(','), mode, return: String(back)}).toString());
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  }

  if ($('rep-print')) $('rep-print').addEventListener('click', printReport);
  if ($('route-form')) {
    $('route-form').addEventListener('submit', plan);
    loadSites().catch((e) => { $('route-error').textContent = e.message; $('route-error').hidden = false; });
  }
  window.djmapPlanning = {plan, chosen};
})();
