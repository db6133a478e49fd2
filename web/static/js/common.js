// Shared page code: config, i18n, auth token, JSON fetch, the deck.gl map made from the pydeck JSON.
(function () {
  'use strict';
  const cfg = JSON.parse(document.getElementById('djmap-config').textContent);
  const t = cfg.t;
  const perf = (window.djmapPerf = {start: performance.now(), deckReady: null, firstData: null});
  document.cookie = `djmap_lang=${cfg.lang}; path=/; SameSite=Lax`;

  // ---- auth -------------------------------------------------------------------------------
  const TOKEN = 'djmap_token';
  const token = () => localStorage.getItem(TOKEN);
  const authHeaders = () => (token() ? {Authorization: `Bearer ${token()}`} : {});

  async function request(url, opts = {}) {
    const res = await fetch(url, {...opts, headers: {...authHeaders(), ...(opts.headers || {})}});
    const type = res.headers.get('content-type') || '';
    const body = type.includes('json') ? await res.json().catch(() => null) : null;
    if (!res.ok) {
      const err = new Error((body && (body.description || body.detail)) || `HTTP ${res.status}`);
      err.status = res.status;
      err.body = body;
      throw err;
    }
    return body;
  }
  const getJSON = (url) => request(url);
  const postJSON = (url, data) =>
    request(url, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(data)});

  function setupLogin(onChange) {
    const btn = document.getElementById('login-btn');
    const dlg = document.getElementById('login-dialog');
    if (!btn || !dlg || !cfg.routes || !cfg.routes.auth) return;
    btn.hidden = false;
    const paint = () => { btn.textContent = token() ? `${t.logout} (${localStorage.getItem('djmap_user') || ''})` : t.login; };
    paint();
    btn.addEventListener('click', () => {
      if (token()) {
        localStorage.removeItem(TOKEN);
        localStorage.removeItem('djmap_user');
        paint();
        onChange && onChange();
      } else dlg.showModal();
    });
    document.getElementById('login-cancel').addEventListener('click', () => dlg.close());
    document.getElementById('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const form = new FormData(ev.target);
      const res = await fetch('/api/auth/token', {method: 'POST', body: new URLSearchParams(form)});
      const body = await res.json().catch(() => ({}));
      document.getElementById('login-error').hidden = res.ok;
      if (!res.ok) return;
      localStorage.setItem(TOKEN, body.access_token);
      localStorage.setItem('djmap_user', form.get('username'));
      dlg.close();
      paint();
      onChange && onChange();
    });
  }

  // ---- formatting -------------------------------------------------------------------------
  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
  const fmtDist = (m) => (m == null ? '' : m < 1000 ? `${Math.round(m)} ${t.metres}` : `${(m / 1000).toFixed(1)} ${t.km}`);
  const fmtTime = (iso) => {
    if (!iso) return '';
    const d = new Date(iso);
    return d.toLocaleString(cfg.lang === 'en' ? 'en-GB' : 'zh-CN', {month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit'});
  };
  const fmtNum = (n) => (n == null ? '—' : Number(n).toLocaleString(cfg.lang === 'en' ? 'en' : 'zh-CN'));
  const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;

  function fill(template, props) {
    return template.replace(/\{(\w+)\}/g, (_, k) => (props[k] == null ? '' : esc(props[k])));
  }

  // ---- the vocabulary: a stored value's name in the page language (geo.vocab.TERMS) ---------
  const vocab = cfg.vocab || {};
  const term = (v) => (v != null && Object.prototype.hasOwnProperty.call(vocab, v) ? vocab[v] : v);
  const TERM_FIELDS = ['kind', 'type', 'status'];

  /** A layer's tooltip in the page's words: kinds, types and statuses named in its language,
   * times and opening hours in words (humane.js), English without full-width brackets. */
  function tooltipHTML(template, props) {
    const shown = {...props};
    for (const k of TERM_FIELDS) if (shown[k] != null) shown[k] = term(shown[k]);
    if (props.opening_hours && window.djmap.fmtHours) shown.opening_hours = window.djmap.fmtHours(props.opening_hours).text;
    let tpl = cfg.lang === 'en' ? template.replace(/（/g, ' (').replace(/）/g, ')') : template;
    if (props.starts_at && window.djmap.fmtWhen) {
      tpl = tpl.replace('{starts_at} – {ends_at}', '{when}');
      shown.when = window.djmap.fmtWhen(props.starts_at, props.ends_at);
    }
    return fill(tpl, shown);
  }

  // ---- the optional online basemap (web/src/basemap_online.js; off by default) ---------------
  const basemapIds = new Set((cfg.basemap && cfg.basemap.on && cfg.basemap.layers) || []);

  // ---- the map ----------------------------------------------------------------------------
  function tooltipOf(panel) {
    const templates = {};
    for (const p of panel || []) if (p.tooltip) templates[p.id] = p.tooltip;
    return (info) => {
      if (!info.object || !info.layer) return null;
      const id = info.layer.root ? info.layer.root.id : info.layer.id;
      const base = id.split('-')[0];
      const props = info.object.properties || info.object;
      if (props.cluster || props.count != null && props.cell == null && props.name == null) {
        return {html: `<b>${esc(props.count)}</b>`, className: 'tip'};
      }
      const tpl = templates[id] || templates[base];
      if (!tpl) return props.name ? {html: `<b>${esc(props.name)}</b>`, className: 'tip'} : null;
      return {html: tooltipHTML(tpl, props), className: 'tip'};
    };
  }

  function rootId(layer) {
    let l = layer;
    while (l && l.parent) l = l.parent;
    return l ? l.id : null;
  }

  /**
   * Make the page's deck from the pydeck JSON. Returns helpers to change layers by id.
   */
  function createMap(container, doc, opts = {}) {
    const props = deckgl.convert(doc);
    const panel = (doc.djmap && doc.djmap.layers) || [];
    const byId = new Map();
    const order = [];
    let extra = [];
    const terrain = (props.layers || []).some((l) => l.constructor.layerName === 'TerrainLayer');
    for (let layer of props.layers || []) {
      if (basemapIds.has(layer.id)) layer = deckgl.onlineBasemap.rasterLayer(layer, {terrain});
      // MVTLayer defaults to the worker-only MVT loader; we parse on the main thread.
      if (layer.constructor.layerName === 'MVTLayer') layer = layer.clone({loaders: [deckgl.MVTLoader]});
      if (layer.constructor.layerName === 'TerrainLayer') layer = layer.clone({loaders: [deckgl.TerrainLoader]});
      const loadOptions = layer.props.loadOptions;
      if (loadOptions && token() && !basemapIds.has(layer.id)) {  // never to a basemap's host
        layer = layer.clone({loadOptions: {...loadOptions, fetch: {...(loadOptions.fetch || {}), headers: authHeaders()}}});
      }
      layer = layer.clone({
        onDataLoad: () => { if (perf.firstData == null) perf.firstData = performance.now(); },
        onViewportLoad: () => { if (perf.firstData == null) perf.firstData = performance.now(); },
      });
      byId.set(layer.id, layer);
      order.push(layer.id);
    }
    const layers = () => [...order.map((id) => byId.get(id)), ...extra];
    const deck = new deckgl.Deck({
      parent: container,
      initialViewState: props.initialViewState,
      views: props.views,
      controller: {inertia: true, touchRotate: true},
      layers: layers(),
      getTooltip: opts.tooltip || tooltipOf(panel),
      onClick: opts.onClick ? (info, ev) => { clicked = performance.now(); opts.onClick(info, ev); } : undefined,
      onHover: opts.onHover,
      onLoad: () => { perf.deckReady = performance.now(); opts.onLoad && opts.onLoad(); },
      onAfterRender: opts.onAfterRender || (() => {}),
      getCursor: ({isHovering, isDragging}) => (isDragging ? 'grabbing' : isHovering ? 'pointer' : opts.cursor || 'grab'),
      useDevicePixels: Math.min(window.devicePixelRatio || 1, 2),
      // A layer with the terrain operation is drawn in deck.gl's picking pass even when it is not
      // pickable, and then writes its colour where a picking colour belongs: every pick over the
      // terrain (hovering a pitched view zoomed in) logged "Picked non-existent layer". The
      // terrain is never picked; the online basemap draped on it keeps drawing.
      layerFilter: ({layer, isPicking}) => !(isPicking && !layer.props.pickable
        && String(layer.props.operation || '').includes('terrain')),
      onError: (err) => { console.warn('deck.gl:', err && err.message); },
    });
    // A click deck.gl lets slip (it can while busy loading tiles) is picked here from the DOM.
    let clicked = 0;
    let down = null;
    if (opts.onClick) {
      container.addEventListener('pointerdown', (ev) => { down = [ev.clientX, ev.clientY, performance.now()]; });
      container.addEventListener('click', (ev) => {
        if (!down || Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 6) return;
        const since = down[2];
        const rect = container.getBoundingClientRect();
        const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
        setTimeout(() => {
          if (clicked >= since) return;
          const vp = deck.getViewports()[0];
          const info = deck.pickObject({x, y, radius: 4}) || {x, y, object: null, layer: null};
          if (!info.coordinate && vp) info.coordinate = vp.unproject([x, y]);
          opts.onClick(info, ev);
        }, 400);
      });
    }
    let viewState = {...props.initialViewState};
    const home = {...props.initialViewState};
    deck.setProps({onViewStateChange: (p) => { viewState = p.viewState; opts.onViewStateChange && opts.onViewStateChange(p); return p.viewState; }});
    const api = {
      deck, panel, home,
      has: (id) => byId.has(id),
      layer: (id) => byId.get(id),
      update(id, newProps) {
        const l = byId.get(id);
        if (!l) return;
        byId.set(id, l.clone(newProps));
        deck.setProps({layers: layers()});
      },
      setExtra(list) { extra = list; deck.setProps({layers: layers()}); },
      viewState: () => viewState,
      flyTo(target, duration = 1200) {
        const vs = {...viewState, ...target, transitionDuration: duration,
          transitionInterpolator: new deckgl.FlyToInterpolator()};
        deck.setProps({initialViewState: vs});
        viewState = vs;
      },
      fitBounds(bounds, extraView = {}) {
        const canvas = deck.getCanvas();
        const width = (canvas && canvas.clientWidth) || container.clientWidth || 800;
        const height = (canvas && canvas.clientHeight) || container.clientHeight || 600;
        const vp = new deckgl.WebMercatorViewport({width, height});
        const pad = Math.min(80, Math.floor(Math.min(width, height) / 6));
        const fit = vp.fitBounds(bounds, {padding: pad, maxZoom: 17});
        api.flyTo({longitude: fit.longitude, latitude: fit.latitude, zoom: fit.zoom, ...extraView});
      },
    };
    api.basemap = deckgl.onlineBasemap.attach(api, cfg.basemap, container);  // null when off
    window.djmapMap = api;
    return api;
  }

  /** Rebuild a tile URL of a layer with filter parameters (org, from, to, kind …). */
  function layerURL(id, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, v);
    const qs = q.toString();
    return qs ? `/api/tiles/${id}/{z}/{x}/{y}.mvt?${qs}` : `/api/tiles/${id}/tilejson.json`;
  }

  window.djmap = {cfg, t, esc, fill, term, tooltipHTML, fmtDist, fmtTime, fmtNum, rgb, getJSON, postJSON, request,
    token, authHeaders, setupLogin, createMap, layerURL, perf};
})();
