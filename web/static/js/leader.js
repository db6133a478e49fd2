// The leader view: layer panel + legend, organisation tree, stats, time slider, service point card.
(async function () {
  'use strict';
  const {cfg, t, esc, term, fmtNum, fmtWhen, fmtHours, rgb, getJSON, layerURL} = window.djmap;
  const state = {org: null, from: null, to: null, orgs: [], byId: new Map(), viewer: null, scope: null};

  // Logged in: the deck for the caller's audience (e.g. member heat for leaders).
  const doc = window.djmap.token() ? await getJSON('/web/deck/leader.json').catch(() => cfg.deck) : cfg.deck;
  const map = window.djmap.createMap(document.getElementById('map'), doc, {onClick});

  // ---- layer panel ------------------------------------------------------------------------
  const entryOf = (id) => map.panel.find((e) => e.id === id);
  function renderLayers() {
    const ul = document.getElementById('layer-list');
    ul.innerHTML = '';
    for (const entry of map.panel) {
      const li = document.createElement('li');
      const swatches = entry.legend
        .map((l) => `<span class="li"><span class="sw" style="background:${rgb(l.color)}"></span>${l.label ? `<span class="lg">${esc(l.label)}</span>` : ''}</span>`)
        .join('');
      const ramp = entry.legend.length && !entry.legend.some((l) => l.label)
        ? `<span class="ramp">${t.heat_low}${entry.legend.map((l) => `<i style="background:${rgb(l.color)}"></i>`).join('')}${t.heat_high}</span>` : '';
      li.innerHTML = `<label class="toggle"><input type="checkbox" data-layer="${esc(entry.id)}" ${entry.visible ? 'checked' : ''}>
        <span class="name">${esc(entry.title)}</span></label>
        <div class="legend">${ramp || swatches}</div>`;
      ul.appendChild(li);
    }
    ul.addEventListener('change', (ev) => {
      const id = ev.target.dataset.layer;
      if (!id) return;
      const entry = entryOf(id);
      map.update(entry && map.has(entry.deck_id) ? entry.deck_id : id, {visible: ev.target.checked});
    });
  }

  // ---- filters (organisation subtree, activity time window) --------------------------------
  // Which layers take the organisation filter and a time window is the layers' own fact.
  function paramsOf(entry) {
    if (!(entry.filters || []).includes('org')) return {};
    const params = {org: state.org};
    if (entry.time) Object.assign(params, {from: state.from, to: state.to});
    return params;
  }
  function applyFilters() {
    for (const entry of map.panel) {
      if (!(entry.filters || []).includes('org') || !map.has(entry.id)) continue;
      map.update(entry.id, {data: layerURL(entry.id, paramsOf(entry))});
    }
  }

  const DAY = 86400000;
  function setTime() {
    const all = document.getElementById('time-all').checked;
    const slider = document.getElementById('time-slider');
    const win = Number(document.getElementById('time-window').value);
    slider.disabled = all;
    document.getElementById('time-window').disabled = all;
    const label = document.getElementById('time-label');
    if (all) {  // the checkbox already says "all time": the label stays empty
      state.from = state.to = null;
      label.textContent = '';
    } else {
      const today = Date.parse(`${window.djmap.beijing(new Date()).ymd}T00:00:00+08:00`);
      const from = new Date(today + Number(slider.value) * DAY), to = new Date(from.getTime() + win * DAY);
      state.from = from.toISOString();
      state.to = to.toISOString();
      const f = (d) => `<span class="day">${esc(fmtWhen(d.toISOString()).replace(/ \d\d:\d\d$/, ''))}</span>`;
      label.innerHTML = `${f(from)} – ${f(new Date(to.getTime() - 1))}`;  // a line breaks between the days only
    }
    loadStats();
  }
  let timeTimer = null;
  function onTime() {
    setTime();
    clearTimeout(timeTimer);
    timeTimer = setTimeout(applyFilters, 150);
  }
  for (const id of ['time-all', 'time-slider', 'time-window']) {
    document.getElementById(id).addEventListener('input', onTime);
  }

  // ---- statistics -------------------------------------------------------------------------
  // An organisation's statistics are for the audiences that may read member figures (as the
  // API's member heat); others see the overview of their whole scope.
  const orgStats = window.djmap.token()
    ? getJSON('/api/auth/me').then((me) => (cfg.member_audiences || []).includes(me.audience)).catch(() => false)
    : Promise.resolve(false);

  const me = window.djmap.token() ? getJSON('/api/auth/me').catch(() => ({})) : Promise.resolve({});
  /** Activities touching the time window (the OGC API's numberMatched on the time layer). */
  async function windowCount() {
    const entry = map.panel.find((e) => e.time && e.card) || map.panel.find((e) => e.time);
    if (!entry || !(cfg.sources && cfg.sources.features)) return null;
    const q = new URLSearchParams({datetime: `${state.from}/${state.to}`, limit: '1'});
    if (state.org) q.set('org', state.org);
    const body = await getJSON(`/api/collections/${entry.id}/items?${q}`).catch(() => null);
    return body ? body.numberMatched : null;
  }

  async function loadStats() {
    const box = document.getElementById('stats');
    const byOrg = Boolean(state.org) && (await orgStats);
    try {
      const s = await getJSON(`/web/stats.json${byOrg ? `?org=${state.org}` : ''}`);
      const cards = [
        ['stat_orgs', fmtNum(s.organisations)],
        ['stat_members', s.members == null ? t.members_lt10 : fmtNum(s.members)],
        ['stat_service_points', fmtNum(s.service_points)],
        ['stat_activities_month', fmtNum(s.activities_month)],
        ['stat_coverage', s.coverage_pct == null ? '—' : `${s.coverage_pct}%`],
        ['stat_inactive', fmtNum(s.inactive_90d), s.inactive_90d > 0 ? 'warn' : ''],
      ];
      if (state.from) cards[3] = ['stat_activities_window', fmtNum(await windowCount())];
      const own = !state.org && (await me).org_id != null;
      if (own) cards.forEach((c) => { c[3] = t.stats_own_scope; });
      const note = state.org && !byOrg ? `<p class="stat-note">${esc(t.stats_scope_only)}</p>` : '';
      box.innerHTML = cards.map(([k, v, cls, scope]) => `<div class="stat ${cls || ''}" data-stat="${k}"><b>${esc(v)}</b><span>${scope ? `<em class="scope">${esc(scope)}</em> ` : ''}${esc(t[k])}</span></div>`).join('') + note;
    } catch (err) {
      box.innerHTML = '';
    }
  }

  // ---- organisation tree ------------------------------------------------------------------
  const INACTIVE_MS = 90 * DAY;
  function subtree(id) {
    const out = [];
    const walk = (o) => { out.push(o); for (const c of o.children) walk(c); };
    const root = state.byId.get(id);
    if (root) walk(root);
    return out;
  }

  function orgNode(o) {
    const inactive = !o.last_activity || Date.now() - Date.parse(o.last_activity) > INACTIVE_MS;
    const members = o.members == null ? t.members_lt10 : fmtNum(o.members);
    const kids = o.children.length ? `<ul>${o.children.map(orgNode).join('')}</ul>` : '';
    return `<li data-org="${o.id}" class="type-${esc(o.type)}">
      <button type="button" class="org ${state.org === o.id ? 'on' : ''}" data-org="${o.id}" title="${esc(o.name)}">
        <span class="badge t${o.level}">${esc(term(o.type))}</span><span class="nm">${esc(o.name)}</span>
        ${inactive ? `<span class="flag" title="${esc(t.stat_inactive)}">!</span>` : ''}
        <span class="cnt" title="${esc(t.members_n)}">${members}</span>
      </button>${kids}</li>`;
  }

  function renderTree() {
    const q = document.getElementById('org-search').value.trim();
    const box = document.getElementById('org-tree');
    let roots = state.orgs.filter((o) => !o.parent_id || !state.byId.has(o.parent_id));
    if (q) roots = state.orgs.filter((o) => o.name.includes(q) || o.code.includes(q)).map((o) => ({...o, children: []}));
    if (!roots.length) {
      box.innerHTML = `<p class="muted">${esc(t.no_data)}</p>`;
      return;
    }
    box.innerHTML = `<button type="button" class="org all ${state.org ? '' : 'on'}" data-org="">${esc(t.all_orgs)}</button><ul class="root">${roots.map(orgNode).join('')}</ul>`;
  }

  async function loadOrgs() {
    try {
      const body = await getJSON('/web/orgs.json');
      state.orgs = body.organisations;
    } catch (err) {
      state.orgs = [];
    }
    const level = {'党委': 1, '党总支': 2, '党支部': 3};
    state.byId = new Map(state.orgs.map((o) => [o.id, Object.assign(o, {children: [], level: level[o.type] || 3})]));
    for (const o of state.orgs) {
      const parent = state.byId.get(o.parent_id);
      if (parent) parent.children.push(o);
    }
    renderTree();
  }

  // ---- a bound caller's subtree: the rest of the district drawn dimmed (issue 11 §2) -------
  // The deck names the caller's organisation (scope_org) and each layer the field naming a
  // feature's organisation (org_field); features of other subtrees keep their colour at 35 %.
  const DIM = 0.35;
  function dimmed(get, field, inside) {
    const base = typeof get === 'function' ? get : () => get;
    return (f, info) => {
      const c = base(f, info);
      const p = f && f.properties ? f.properties : f;
      const org = p ? p[field] : null;
      if (org == null || inside.has(Number(org)) || !c || c.length < 3) return c;
      return [c[0], c[1], c[2], Math.round((c.length > 3 ? c[3] : 255) * DIM)];
    };
  }
  function dimOutsideScope() {
    const root = doc.djmap && doc.djmap.scope_org;
    if (root == null || !state.byId.has(root)) return;
    const inside = new Set(subtree(root).map((o) => o.id));
    state.scope = inside;
    for (const entry of map.panel) {
      const layer = entry.org_field && map.layer(entry.deck_id);
      if (!layer) continue;
      const change = {updateTriggers: {...(layer.props.updateTriggers || {})}};
      for (const acc of ['getFillColor', 'getLineColor']) {
        if (layer.props[acc] == null) continue;
        change[acc] = dimmed(layer.props[acc], entry.org_field, inside);
        change.updateTriggers[acc] = `scope-${root}`;
      }
      map.update(entry.deck_id, change);
    }
  }

  function breadcrumb() {
    const chain = [];
    for (let o = state.byId.get(state.org); o; o = state.byId.get(o.parent_id)) chain.unshift(o);
    const parts = [`<a href="#" data-org="">${esc(t.breadcrumb_all)}</a>`, ...chain.map((o, i) => (i === chain.length - 1
      ? `<b>${esc(o.name)}</b>` : `<a href="#" data-org="${o.id}">${esc(o.name)}</a>`))];
    const nav = document.getElementById('breadcrumb');
    nav.innerHTML = parts.join(' › ');
  }
  document.getElementById('breadcrumb').addEventListener('click', (ev) => {
    const a = ev.target.closest('a[data-org]');
    if (!a) return;
    ev.preventDefault();
    selectOrg(a.dataset.org ? Number(a.dataset.org) : null);
  });

  function selectOrg(id) {
    state.org = id || null;
    if (window.djmapHealth) window.djmapHealth.select(state.org); // health card (web/src/health_panel.js)
    breadcrumb();
    renderTree();
    applyFilters();
    loadStats();
    if (!state.org) {
      frameDistrict(1200);
      return;
    }
    const pts = subtree(state.org).filter((o) => o.lon != null);
    if (pts.length === 1) {
      map.flyTo({longitude: pts[0].lon, latitude: pts[0].lat, zoom: 16, pitch: 55});
    } else if (pts.length > 1) {
      const xs = pts.map((p) => p.lon), ys = pts.map((p) => p.lat);
      map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], {pitch: 50});
    }
  }
  document.getElementById('org-tree').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-org]');
    if (btn) selectOrg(btn.dataset.org ? Number(btn.dataset.org) : null);
  });
  document.getElementById('org-search').addEventListener('input', renderTree);

  // ---- service point card with panorama ---------------------------------------------------
  function closeCard() {
    document.getElementById('sp-card').hidden = true;
    if (state.viewer) { state.viewer.destroy(); state.viewer = null; }
  }
  document.getElementById('sp-close').addEventListener('click', closeCard);

  async function openServicePoint(id) {
    const card = document.getElementById('sp-card');
    const body = document.getElementById('sp-body');
    card.hidden = false;
    body.innerHTML = `<p class="muted">${esc(t.loading)}</p>`;
    let sp;
    try {
      sp = await getJSON(`/web/service-points/${id}.json`);
    } catch (err) {
      body.innerHTML = `<p class="muted">${esc(t.no_data)}</p>`;
      return;
    }
    const row = (k, v, extra = '') => (v == null || v === '' ? '' : `<dt>${esc(t[k])}</dt><dd>${esc(v)}${extra}</dd>`);
    const hours = fmtHours(sp.opening_hours);
    const openTag = hours.open == null ? ''
      : `<span class="open-state ${hours.open ? 'open' : 'closed'}" data-open="${hours.open}">${esc(hours.open ? t.open_now : t.closed_now)}</span>`;
    const upcoming = sp.upcoming.length
      ? `<ol class="upcoming">${sp.upcoming.map((a) => `<li><time datetime="${esc(a.starts_at)}">${esc(fmtWhen(a.starts_at, a.ends_at))}</time> <span>${esc(a.title)}</span> <em>${esc(term(a.kind))}</em></li>`).join('')}</ol>`
      : `<p class="muted">${esc(t.none_upcoming)}</p>`;
    body.innerHTML = `<h2 class="sp-name" data-sp="${sp.id}">${esc(sp.name)}</h2>
      <p class="kind-tag">${esc(term(sp.kind))}</p>
      <dl class="facts">${row('address', sp.address)}${row('opening_hours', hours.text, openTag)}${row('capacity', sp.capacity)}${row('phone', sp.phone)}${row('organisation', sp.org_name)}</dl>
      <h3>${esc(t.at_this_point)}</h3>${upcoming}
      <h3>${esc(t.panorama)}</h3>${sp.panoramas.length && cfg.routes.panoramas ? '' : `<p class="muted">${esc(t.no_panorama)}</p>`}`;
    showPanorama(sp);
  }

  function showPanorama(sp) {
    const box = document.getElementById('panorama');
    if (state.viewer) { state.viewer.destroy(); state.viewer = null; }
    box.hidden = true;
    const pano = sp.panoramas[0];
    if (!pano || !cfg.routes.panoramas || !window.pannellum) return;
    box.hidden = false;
    box.dataset.panorama = pano.id;
    state.viewer = window.pannellum.viewer(box, {
      type: 'equirectangular',
      panorama: `/api/panoramas/${pano.id}/image`,
      autoLoad: true,
      showControls: true,
      compass: true,
      northOffset: pano.heading || 0,
      title: pano.title || sp.name,
      autoRotate: -2,
      strings: cfg.lang === 'en' ? undefined : {loadButtonLabel: '点击加载全景', loadingLabel: '加载中…'},
    });
    state.viewer.on('load', () => box.classList.add('loaded'));
  }

  /** A service point wins over the activities drawn on it (its card lists them). */
  function preferServicePoint(info) {
    const isSp = (i) => {
      const root = i.layer && (i.layer.root ? i.layer.root.id : i.layer.id);
      const e = map.panel.find((p) => root === p.id || String(root).startsWith(p.id));
      return e && e.card === 'service_point';
    };
    if (info.object && isSp(info)) return info;
    const hits = map.deck.pickMultipleObjects({x: info.x, y: info.y, radius: 8, depth: 6});
    return hits.find(isSp) || info;
  }

  function onClick(picked) {
    const info = picked && picked.x != null ? preferServicePoint(picked) : picked;
    if (!info.object) return;
    const root = info.layer && (info.layer.root ? info.layer.root.id : info.layer.id);
    const id = (info.layer && info.layer.id) || '';
    const props = info.object.properties || info.object;
    if (props.cluster || (props.count != null && props.name == null)) {
      map.flyTo({longitude: info.coordinate[0], latitude: info.coordinate[1], zoom: map.viewState().zoom + 2});
      return;
    }
    const entry = map.panel.find((e) => root === e.id || id.startsWith(e.id));
    if (entry && entry.card === 'service_point') openServicePoint(props.id);
    else if (entry && entry.card === 'organisation') selectOrg(props.id);
    else if (entry && entry.card === 'activity' && window.djmapActivities) window.djmapActivities.openCard(props.id);
  }

  /** The whole district in the part of the map the panels leave free. */
  function frameDistrict(duration = 0) {
    const b = cfg.district_bounds;
    const el = document.getElementById('map');
    if (!b || !el.clientWidth) { map.flyTo(map.home, duration); return; }
    const side = document.getElementById('side');
    const wide = el.clientWidth > 900;
    const left = wide && !side.classList.contains('collapsed') ? side.offsetWidth + 24 : 16;
    const free = (id) => { const r = document.getElementById(id).getBoundingClientRect(), m = el.getBoundingClientRect();
      return {top: Math.max(12, r.bottom - m.top + 8), bottom: Math.max(12, m.bottom - r.top + 8)}; };
    const padding = wide ? {left, right: 24, top: 96, bottom: 84}
      : {left: 12, right: 12, top: free('side').top, bottom: free('timebar').bottom};  // beside the toggle and the time bar
    const vp = new deckgl.WebMercatorViewport({width: el.clientWidth, height: el.clientHeight});
    const fit = vp.fitBounds([[b[0], b[1]], [b[2], b[3]]], {padding, maxZoom: 17});
    map.flyTo({longitude: fit.longitude, latitude: fit.latitude, zoom: fit.zoom, pitch: map.home.pitch || 0, bearing: map.home.bearing || 0}, duration);
  }

  // ---- collapsible panels (collapsed on a phone to start with: the map first) ----------------
  function setCollapsed(btn, collapsed) {
    btn.closest('.panel').classList.toggle('collapsed', collapsed);
    btn.textContent = collapsed ? `☰ ${t.panels_show}` : t.collapse;
    btn.setAttribute('aria-expanded', String(!collapsed));
  }
  const phone = window.matchMedia('(max-width: 760px)').matches;
  for (const btn of document.querySelectorAll('.panel-toggle')) {
    if (phone) setCollapsed(btn, true);
    btn.addEventListener('click', () => setCollapsed(btn, !btn.closest('.panel').classList.contains('collapsed')));
  }

  // ---- 3D / 2D / home ---------------------------------------------------------------------
  const chips = {d3: document.getElementById('btn-3d'), d2: document.getElementById('btn-2d')};
  chips.d3.addEventListener('click', () => { chips.d3.classList.add('on'); chips.d2.classList.remove('on'); map.flyTo({pitch: 50, bearing: -15}, 800); });
  chips.d2.addEventListener('click', () => { chips.d2.classList.add('on'); chips.d3.classList.remove('on'); map.flyTo({pitch: 0, bearing: 0}, 800); });
  document.getElementById('btn-home').addEventListener('click', () => selectOrg(null));

  window.djmap.setupLogin(() => location.reload());
  renderLayers();
  document.getElementById('time-all').checked = false;  // the next 30 days by default
  setTime();
  applyFilters();
  loadOrgs().then(dimOutsideScope);
  frameDistrict();
  window.djmapLeader = {selectOrg, openServicePoint, state, paramsOf};
  // Live: the event stream, the activity form and card, the check-in ticker (issue 12).
  if (window.djmapActivities) window.djmapActivities.start(map, window.djmapLeader);
})();
