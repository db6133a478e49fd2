// The member finder: locate (geolocation, tap, search), nearest list by walking distance, directions, check-in.
(function () {
  'use strict';
  const {cfg, t, esc, fmtDist, fmtTime, getJSON, postJSON, token} = window.djmap;
  const state = {origin: null, target: 'service_points', mode: 'walk', results: [], nearActs: []};
  const status = (msg) => { document.getElementById('status').textContent = msg; };

  const mapEl = document.getElementById('map');
  const map = window.djmap.createMap(mapEl, cfg.deck, {cursor: 'crosshair'});

  // A tap (not a drag) on the map picks the origin; read from the DOM so no tap is ever lost.
  let down = null;
  mapEl.addEventListener('pointerdown', (ev) => { down = [ev.clientX, ev.clientY]; });
  mapEl.addEventListener('click', (ev) => {
    if (!down || Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 6) return;
    const vp = map.deck.getViewports()[0];
    if (!vp) return;
    const rect = mapEl.getBoundingClientRect();
    const [lon, lat] = vp.unproject([ev.clientX - rect.left, ev.clientY - rect.top]);
    locate(lon, lat);
  });

  function overlay() {
    const layers = [];
    if (state.origin) {
      const [lon, lat] = state.origin;
      layers.push(new deckgl.classes.LineLayer({
        id: 'legs', data: state.results.slice(0, 5),
        getSourcePosition: () => [lon, lat], getTargetPosition: (r) => [r.lon, r.lat],
        getColor: [200, 16, 46, 120], getWidth: 2, widthUnits: 'pixels',
      }));
      layers.push(new deckgl.classes.ScatterplotLayer({
        id: 'origin', data: [state.origin], getPosition: (d) => d, getRadius: 9, radiusUnits: 'pixels',
        getFillColor: [24, 111, 196, 255], getLineColor: [255, 255, 255, 255], stroked: true, lineWidthMinPixels: 3,
      }));
      layers.push(new deckgl.classes.ScatterplotLayer({
        id: 'found', data: state.results.map((r, i) => ({...r, rank: i + 1})), getPosition: (r) => [r.lon, r.lat],
        getRadius: 12, radiusUnits: 'pixels', getFillColor: [200, 16, 46, 255], getLineColor: [255, 255, 255, 255],
        stroked: true, lineWidthMinPixels: 2, pickable: true,
      }));
      layers.push(new deckgl.classes.TextLayer({
        id: 'found-rank', data: state.results.map((r, i) => ({...r, rank: String(i + 1)})), getPosition: (r) => [r.lon, r.lat],
        getText: (r) => r.rank, getSize: 13, getColor: [255, 255, 255, 255], fontWeight: 700,
        characterSet: '0123456789', fontFamily: 'Noto Sans CJK SC, sans-serif',
      }));
    }
    map.setExtra(layers);
  }

  function minutes(r) {
    if (r.walk_minutes != null) return `${Math.max(1, Math.round(r.walk_minutes))} ${t.minutes}`;
    return '';
  }

  function running(r) {
    if (!r.starts_at || !r.ends_at) return false;
    const now = Date.now();
    return Date.parse(r.starts_at) - 30 * 60000 <= now && now <= Date.parse(r.ends_at);
  }

  function item(r, i) {
    const meta = [r.kind, r.opening_hours, r.starts_at ? fmtTime(r.starts_at) : null].filter(Boolean)
      .map((m) => `<span>${esc(m)}</span>`).join('');
    const amap = r.links && r.links.amap ? `<a class="secondary" href="${esc(r.links.amap)}" target="_blank" rel="noopener">➤ ${esc(t.directions)}</a>` : '';
    let check = '';
    if (r.starts_at && cfg.routes.checkins && running(r)) {
      check = token()
        ? `<button type="button" class="primary checkin" data-activity="${r.id}">✓ ${esc(t.checkin)}</button>`
        : `<span class="muted">${esc(t.checkin_login)}</span>`;
    }
    const reg = r.starts_at && window.djmapLive ? window.djmapLive.registerButton(r.id, r.status) : '';
    return `<li data-id="${r.id}" data-distance="${r.distance_m}">
      <span class="rank">${i + 1}</span>
      <div><div class="title">${esc(r.name || r.title)}</div><div class="meta">${meta}</div></div>
      <div class="dist"><b>${esc(fmtDist(r.distance_m))}</b><span>${esc(minutes(r))}</span></div>
      <div class="acts">${amap}${check}${reg}</div><div class="answer" hidden></div></li>`;
  }

  function render() {
    const ol = document.getElementById('results');
    if (!state.results.length) {
      ol.innerHTML = state.origin ? `<li class="sub">${esc(t.no_results)}</li>` : '';
      return;
    }
    let html = state.results.map(item).join('');
    if (state.target === 'service_points' && state.nearActs.length) {
      html += `<li class="sub">${esc(t.near_activities)}</li>` + state.nearActs.map(item).join('');
    }
    ol.innerHTML = html;
  }

  async function query(target, k) {
    const [lon, lat] = state.origin;
    const q = new URLSearchParams({lon: lon.toFixed(6), lat: lat.toFixed(6), target, k, mode: state.mode});
    const body = await getJSON(`/api/nearest?${q}`);
    const list = (body.results || []).slice();
    list.sort((a, b) => a.distance_m - b.distance_m);
    return {list, body};
  }

  async function search(fit = true) {
    if (!state.origin) return;
    if (!cfg.routes.nearest) { status(t.no_data); return; }
    status(t.loading);
    try {
      const {list, body} = await query(state.target, 10);
      state.results = list;
      state.nearActs = state.target === 'service_points' ? (await query('activities', 3)).list : [];
      status(body.note || `${t.results}: ${list.length}`);
    } catch (err) {
      state.results = [];
      state.nearActs = [];
      status(err.message);
    }
    render();
    overlay();
    if (fit && state.results.length) {
      const pts = [state.origin, ...state.results.slice(0, 5).map((r) => [r.lon, r.lat])];
      const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
      map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]]);
    }
  }

  function locate(lon, lat) {
    state.origin = [lon, lat];
    overlay();
    search();
  }

  document.getElementById('locate').addEventListener('click', () => {
    if (!navigator.geolocation) { status(t.geo_denied); return; }
    status(t.locating);
    navigator.geolocation.getCurrentPosition(
      (pos) => locate(pos.coords.longitude, pos.coords.latitude),
      () => status(t.geo_denied),
      {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000},
    );
  });

  for (const [id, key] of [['target', 'target'], ['mode', 'mode']]) {
    document.getElementById(id).addEventListener('click', (ev) => {
      const btn = ev.target.closest('button[data-v]');
      if (!btn) return;
      for (const b of btn.parentNode.children) b.classList.toggle('on', b === btn);
      state[key] = btn.dataset.v;
      search();
    });
  }

  let found = [];
  const input = document.getElementById('sp-search');
  async function lookup(q) {
    try {
      found = (await getJSON(`/web/search.json?q=${encodeURIComponent(q)}`)).results;
    } catch (err) { found = []; }
    document.getElementById('sp-options').innerHTML = found.map((f) => `<option value="${esc(f.name)}">${esc(f.kind)}</option>`).join('');
    return found;
  }
  input.addEventListener('input', async () => {
    const q = input.value.trim();
    const hit = found.find((f) => f.name === q);
    if (hit) { input.blur(); locate(hit.lon, hit.lat); return; }
    if (q.length >= 1) await lookup(q);
  });
  input.addEventListener('keydown', async (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    const list = await lookup(q);  // the answer for exactly what was typed
    const best = list.find((f) => f.name === q) || list[0];
    if (!best) { status(t.no_results); return; }
    input.value = best.name;
    locate(best.lon, best.lat);
  });

  document.getElementById('results').addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button.checkin');
    if (!btn || !state.origin) return;
    const li = btn.closest('li');
    const answer = li.querySelector('.answer');
    btn.disabled = true;
    try {
      const res = await postJSON(`/api/activities/${btn.dataset.activity}/checkins`, {lon: state.origin[0], lat: state.origin[1]});
      answer.className = 'answer ok';
      answer.textContent = `✓ ${t.checkin} · ${fmtDist(res.distance_m)}`;
    } catch (err) {
      answer.className = 'answer no';
      answer.textContent = err.message;
      btn.disabled = false;
    }
    answer.hidden = false;
  });

  window.djmap.setupLogin(() => render());
  window.djmapNearest = {locate, state, search};
  if (window.djmapLive) {  // live: activities published while the page is open (issue 12)
    window.djmapLive.followNearest(window.djmapNearest);
    window.djmapLive.start();
  }
})();
