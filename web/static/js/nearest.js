// The member finder: locate (geolocation, tap, search), nearest list by walking distance, directions, check-in.
(function () {
  'use strict';
  const {cfg, t, esc, fmtDist, getJSON, postJSON, token} = window.djmap;
  const state = {origin: null, target: 'service_points', mode: 'walk', when: 'all', picked: null, results: [], nearActs: []};
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
      // Walk mode draws the walking route the server found (pgRouting); straight draws lines.
      const top = state.results.slice(0, 5);
      const paths = top.filter((r) => r.route && r.route.coordinates);
      if (paths.length) {
        layers.push(new deckgl.classes.PathLayer({
          id: 'legs-walk', data: paths, getPath: (r) => r.route.coordinates,
          getColor: [200, 16, 46, 170], getWidth: 3, widthUnits: 'pixels', jointRounded: true, capRounded: true,
        }));
      } else {
        layers.push(new deckgl.classes.LineLayer({
          id: 'legs', data: top,
          getSourcePosition: () => [lon, lat], getTargetPosition: (r) => [r.lon, r.lat],
          getColor: [200, 16, 46, 120], getWidth: 2, widthUnits: 'pixels',
        }));
      }
      layers.push(new deckgl.classes.ScatterplotLayer({
        id: 'origin', data: [state.origin], getPosition: (d) => d, getRadius: 9, radiusUnits: 'pixels',
        getFillColor: [24, 111, 196, 255], getLineColor: [255, 255, 255, 255], stroked: true, lineWidthMinPixels: 3,
      }));
      const pins = pinsOf(state.results);
      layers.push(new deckgl.classes.ScatterplotLayer({
        id: 'found', data: pins, getPosition: (p) => [p.lon, p.lat],
        getRadius: (p) => (p.n > 1 ? 15 : 12), radiusUnits: 'pixels', getFillColor: [200, 16, 46, 255], getLineColor: [255, 255, 255, 255],
        stroked: true, lineWidthMinPixels: 2, pickable: true,
      }));
      layers.push(new deckgl.classes.TextLayer({
        id: 'found-rank', data: pins, getPosition: (p) => [p.lon, p.lat],
        getText: (p) => p.label, getSize: 13, getColor: [255, 255, 255, 255], fontWeight: 700,
        characterSet: '0123456789×', fontFamily: 'Noto Sans CJK SC, sans-serif',
      }));
    }
    map.setExtra(layers);
  }

  /** Results at the same place (within ~5 m) make one pin: its first rank, and ×n when shared. */
  function pinsOf(results) {
    const byPlace = new Map();
    results.forEach((r, i) => {
      const key = `${r.lon.toFixed(5)},${r.lat.toFixed(5)}`;
      const pin = byPlace.get(key) || {lon: r.lon, lat: r.lat, rank: i + 1, n: 0};
      pin.n += 1;
      byPlace.set(key, pin);
    });
    return [...byPlace.values()].map((p) => ({...p, label: p.n > 1 ? `${p.rank}×${p.n}` : String(p.rank)}));
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

  /** "签到 13:30 开放" (Beijing time; the date too when not today). */
  function opensText(startsAt) {
    const opens = new Date(Date.parse(startsAt) - 30 * 60000);
    const tz = {timeZone: 'Asia/Shanghai'};
    const day = (d) => d.toLocaleDateString('en-CA', tz);
    const hm = opens.toLocaleTimeString('en-GB', {...tz, hour: '2-digit', minute: '2-digit'});
    const when = day(opens) === day(new Date()) ? hm : window.djmap.fmtWhen(opens.toISOString());
    return t.checkin_opens.replace('{when}', when);
  }

  /** A refusal in the page's language, from the API's code (else its own sentence). */
  function refusal(err) {
    const c = err.body && err.body.code;
    return (c && t[`err_${c.replace(/\./g, '_')}`]) || (err.status === 401 ? t.checkin_login : t.err_generic);
  }

  function item(r, i) {
    const hours = window.djmap.fmtHours(r.opening_hours);
    const openTag = hours.open == null ? '' : `<span class="open-state ${hours.open ? 'open' : 'closed'}">${esc(hours.open ? t.open_now : t.closed_now)}</span>`;
    const meta = [window.djmap.term(r.kind), hours.text, r.starts_at ? window.djmap.fmtWhen(r.starts_at, r.ends_at) : null].filter(Boolean)
      .map((m) => `<span>${esc(m)}</span>`).join('') + openTag;
    const amap = r.links && r.links.amap ? `<a class="secondary" href="${esc(r.links.amap)}" target="_blank" rel="noopener">➤ ${esc(t.directions)}</a>` : '';
    let check = '';
    if (r.starts_at && cfg.routes.checkins && running(r)) {
      check = token()
        ? `<button type="button" class="primary checkin" data-activity="${r.id}">✓ ${esc(t.checkin)}</button>`
        : `<span class="muted">${esc(t.checkin_login)}</span>`;
    } else if (r.starts_at && cfg.routes.checkins && Date.parse(r.starts_at) > Date.now()) {
      check = `<span class="opens" data-opens="${esc(r.starts_at)}">${esc(opensText(r.starts_at))}</span>`;
    }
    const picked = state.picked && state.picked.name === (r.name || r.title) ? ' picked' : '';
    const reg = r.starts_at && window.djmapLive ? window.djmapLive.registerButton(r.id, r.status) : '';
    return `<li data-id="${r.id}" data-distance="${r.distance_m == null ? '' : r.distance_m}" class="${picked}">
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
    if (state.mode === 'walk') q.set('route', 'true');
    if (target === 'activities') {
      const [from, to] = windowOf(state.when);
      q.set('from', from.toISOString());
      q.set('to', to.toISOString());
    }
    const body = await getJSON(`/api/nearest?${q}`);
    const list = (body.results || []).slice();
    // Activities: by day first (today before next week), then by distance within a day.
    const day = (r) => (r.starts_at ? new Date(r.starts_at).toLocaleDateString('en-CA', {timeZone: 'Asia/Shanghai'}) : '');
    list.sort((a, b) => day(a).localeCompare(day(b)) || a.distance_m - b.distance_m);
    return {list, body};
  }

  /** The activity window of a date filter: today (Beijing), the next 7 days, or the next 90. */
  function windowOf(when) {
    const now = new Date();
    if (when === 'today') {
      const ymd = now.toLocaleDateString('en-CA', {timeZone: 'Asia/Shanghai'});
      return [now, new Date(`${ymd}T23:59:59+08:00`)];
    }
    return [now, new Date(now.getTime() + (when === 'week' ? 7 : 90) * 86400000)];
  }

  async function search(fit = true) {
    if (!state.origin) return;
    if (!cfg.routes.nearest) { status(t.no_data); return; }
    status(t.loading);
    try {
      const {list, body} = await query(state.target, 10);
      state.results = list;
      state.nearActs = state.target === 'service_points' ? (await query('activities', 3)).list : [];
      status(body.note ? t.walk_fallback : `${t.results}: ${list.length}`);
    } catch (err) {
      state.results = [];
      state.nearActs = [];
      status(err.status === 400 ? t.err_generic : refusal(err));
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

  for (const [id, key] of [['target', 'target'], ['mode', 'mode'], ['when', 'when']]) {
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
    document.getElementById('sp-options').innerHTML = found.map((f) => `<option value="${esc(f.name)}">${esc(window.djmap.term(f.kind))}</option>`).join('');
    return found;
  }
  // A found service point is shown (and its distance from "me"); it never becomes "me".
  async function pick(hit) {
    state.picked = hit;
    map.flyTo({longitude: hit.lon, latitude: hit.lat, zoom: Math.max(map.viewState().zoom, 16)});
    if (!state.origin) {
      state.results = [{...hit, distance_m: null}];
      state.nearActs = [];
      render();
      status(t.search_no_origin);
      return;
    }
    await search(false);
    if (!state.results.some((r) => r.name === hit.name)) {
      state.results.push({...hit, distance_m: null});
      render();
    }
  }
  input.addEventListener('input', async () => {
    const q = input.value.trim();
    const hit = found.find((f) => f.name === q);
    if (hit) { input.blur(); pick(hit); return; }
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
    pick(best);
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
      answer.textContent = refusal(err);
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
