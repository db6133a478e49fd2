// The big screen (数据大屏) and kiosk, issue 13 §5. Figures from GET /api/screen?key=…, live
// from GET /api/screen/events (sse.js: reconnects, resumes), a slow camera tour over the public
// 3D district pausing on active service points. Everything runs on one clock (`tick`) so a test
// can play hours in seconds (window.djmapScreen.simulate); what it keeps is bounded.
// Member figures are what the server publishes (geo/privacy at_least: 0, a multiple of 10 shown
// as "n+", or held back under 10): a check-in event makes the screen read them again, it never
// counts up by itself, and an activity's count shows only from 10.
import {subscribe} from './sse.js';

const TICK_MS = 1000;
const FLY_MS = 6000;
const PAUSE_MS = 9000;
const PAUSE_ACTIVE_MS = 18000;
const IDLE_MS = 60000; // kiosk: back to the tour after a minute untouched
const REFRESH_MS = 60000; // figures read again (the counters move in steps of 10)
const SOON_MS = 3000; // after an activity, check-in or health event
const GAP_MS = 10000; // reads at most this often
const TICKER_MAX = 6;
const K = 10; // geo/privacy: no member figure under 10

const {cfg, esc} = window.djmap;
const t = cfg.t;
const conf = cfg.screen;
const $ = (id) => document.getElementById(id);
// Reduced motion asked for (a system setting): the tour jumps between its stops, no flights.
const STILL = Boolean(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
const fmt = (n) => (n == null ? '–' : Number(n).toLocaleString(cfg.lang));
const fmtTime = (iso) => new Date(iso).toLocaleString(cfg.lang, {timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit'});

const st = {
  now: 0, summary: null, ticker: [], checkins: null, loading: false, loadedAt: -GAP_MS,
  stops: [], stop: -1, nextAt: 0, refreshAt: REFRESH_MS, idleUntil: 0, card: null,
  stream: null, streamState: 'connecting', simulated: false, events: 0, viewer: null,
};
const map = window.djmap.createMap($('map'), cfg.deck, {onClick: conf.kiosk ? pick : undefined});

// A member figure as published: held back (null) as "fewer than 10", else "n+" (at least n).
function people(n, fewer) {
  if (n == null) return [t.screen_fewer.replace('{n}', fewer || K), true];
  return [n === 0 ? '0' : `${fmt(n)}+`, false];
}

// An activity's check-in count in the ticker: from 10 only, in steps of 10.
function tickerCount(n) {
  return n == null || n < K ? t.screen_fewer.replace('{n}', K) : fmt(K * Math.floor(n / K));
}

function setCounter(id, value, small) {
  const el = $(id);
  el.textContent = value;
  el.classList.toggle('small', Boolean(small));
}

function bump(id) {
  const el = $(id);
  el.classList.remove('bump');
  void el.offsetWidth; // restart the animation
  el.classList.add('bump');
}

function branchList(el, items) {
  el.innerHTML = items.length ? items.map((b) => `<li class="${esc(b.status)}"><span>${esc(b.name)}</span><b>${Math.round(b.score)}</b></li>`).join('')
    : `<li>${esc(t.screen_none)}</li>`;
}

function actItems(acts) {
  return acts.length ? acts.map((a) => `<li><b>${esc(a.title)}</b><small>${esc(fmtTime(a.starts_at))} · ${esc(a.place || '')}</small></li>`).join('')
    : `<li>${esc(t.screen_none)}</li>`;
}

function render(s) {
  $('scr-scope').textContent = s.scope.name || t.screen_district;
  const c = s.counters;
  setCounter('c-activities', fmt(c.activities_today));
  if (st.checkins != null && c.checkins_today !== st.checkins) bump('c-checkins');
  st.checkins = c.checkins_today;
  setCounter('c-checkins', ...people(c.checkins_today, c.fewer_than));
  setCounter('c-reached', ...people(c.members_reached_month, c.fewer_than));
  for (const k of ['green', 'amber', 'red']) $(`d-${k}`).textContent = fmt(s.distribution[k]);
  branchList($('scr-top'), s.top);
  branchList($('scr-bottom'), s.bottom);
  $('scr-upcoming').innerHTML = actItems(s.upcoming);
  drawPoints(s.service_points);
  st.stops = [...s.service_points].sort((a, b) => (b.active_now - a.active_now) || (b.upcoming - a.upcoming) || (a.id - b.id));
  if (conf.kiosk) {
    $('scr-points').innerHTML = s.service_points.map((p) => `<button type="button" data-id="${p.id}" class="${p.active_now ? 'active' : ''}">${esc(p.name)}</button>`).join('');
  }
}

function drawPoints(points) {
  const L = window.deckgl.classes.ScatterplotLayer;
  map.setExtra([new L({
    id: 'screen-points', data: points, pickable: Boolean(conf.kiosk),
    getPosition: (p) => [p.lon, p.lat],
    getFillColor: (p) => (p.active_now ? [255, 77, 79, 235] : p.upcoming ? [250, 173, 20, 220] : [181, 13, 40, 200]),
    getLineColor: [255, 255, 255, 255], stroked: true, lineWidthMinPixels: 2,
    getRadius: 30, radiusMinPixels: conf.kiosk ? 24 : 10, radiusMaxPixels: 40,
  })]);
}

async function load() {
  const res = await fetch(`/api/screen?key=${encodeURIComponent(conf.key)}`, {cache: 'no-store'});
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const s = await res.json();
  st.summary = s;
  render(s);
  return s;
}

// Soon, but not more often than every GAP_MS however many events come.
function refreshSoon() { st.refreshAt = Math.min(st.refreshAt, Math.max(st.now + SOON_MS, st.loadedAt + GAP_MS)); }

function onEvent(ev) {
  st.events += 1;
  const d = ev.data || {};
  if (ev.type === 'checkin.created') {
    // The stream tells of an activity reaching 10, 20, …: the counters are read again.
    refreshSoon();
    st.ticker.unshift(`${d.title || ''} · ${tickerCount(d.count)}`);
    st.ticker.length = Math.min(st.ticker.length, TICKER_MAX);
    $('scr-ticker').innerHTML = st.ticker.map((x) => `<li>${esc(x)}</li>`).join('');
  } else if (ev.type.startsWith('activity.') || ev.type === 'data.changed') {
    refreshSoon();
  }
}

function setState(s) {
  st.streamState = s;
  const el = $('scr-live');
  el.classList.toggle('down', s !== 'open');
  el.textContent = s === 'open' ? t.screen_live : t.screen_offline;
}

function connect(since) {
  if (st.stream) st.stream.close();
  st.stream = subscribe({
    url: `/api/screen/events?key=${encodeURIComponent(conf.key)}`, since,
    onEvent, onReset: () => { refreshSoon(); }, onState: setState,
  });
}

// The tour: overview, then each service point (active ones first, longer pauses there).
function nextStop() {
  if (!st.stops.length) { st.nextAt = st.now + PAUSE_MS; return; }
  st.stop = (st.stop + 1) % (st.stops.length + 1);
  const dur = st.simulated || STILL ? 0 : FLY_MS;
  const label = $('scr-stop');
  if (st.stop === st.stops.length) {
    map.flyTo({...map.home, bearing: (map.home.bearing || 0)}, dur);
    label.hidden = true;
    st.nextAt = st.now + FLY_MS + PAUSE_MS;
    return;
  }
  const p = st.stops[st.stop];
  map.flyTo({longitude: p.lon, latitude: p.lat, zoom: 16.6, pitch: 60, bearing: (st.stop * 47) % 360}, dur);
  label.textContent = p.active_now ? `${p.name} · ${t.screen_active_now}` : p.name;
  label.hidden = false;
  st.nextAt = st.now + FLY_MS + (p.active_now ? PAUSE_ACTIVE_MS : PAUSE_MS);
}

function tick(dt) {
  st.now += dt;
  if (!st.simulated) $('scr-clock').textContent = new Date().toLocaleTimeString(cfg.lang, {timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit'});
  if (st.card && st.now >= st.idleUntil) closeCard();
  if (!st.card && st.now >= st.nextAt) nextStop();
  if (st.now >= st.refreshAt && !st.loading) {
    st.refreshAt = st.now + REFRESH_MS;
    st.loadedAt = st.now;
    st.loading = true;
    load().catch(() => {}).finally(() => { st.loading = false; });
  }
}

// Kiosk: a service point tapped (map or button) shows its panorama and upcoming activities.
function touched() { st.idleUntil = st.now + IDLE_MS; }

function openCard(p) {
  closeCard();
  touched();
  st.card = p;
  $('scr-card-title').textContent = p.name;
  const acts = (st.summary ? st.summary.upcoming : []).filter((a) => a.service_point_id === p.id);
  $('scr-card-acts').innerHTML = actItems(acts);
  const box = $('scr-pano');
  box.textContent = '';
  if (p.panorama_id != null && window.pannellum) {
    st.viewer = window.pannellum.viewer(box, {type: 'equirectangular', panorama: `/api/panoramas/${p.panorama_id}/image`,
      autoLoad: true, autoRotate: -2, showControls: false, title: p.name});
  } else {
    box.textContent = t.screen_no_panorama;
  }
  $('scr-card').hidden = false;
  $('scr-stop').hidden = true;
  map.flyTo({longitude: p.lon, latitude: p.lat, zoom: 17, pitch: 60}, st.simulated || STILL ? 0 : 1500);
}

function closeCard() {
  if (st.viewer) { try { st.viewer.destroy(); } catch (err) { /* already gone */ } st.viewer = null; }
  st.card = null;
  $('scr-card').hidden = true;
  st.nextAt = st.now; // the tour goes on
}

function pick(info) {
  touched();
  if (info && info.object && info.layer && info.layer.id === 'screen-points') openCard(info.object);
}

if (conf.kiosk) {
  $('scr-points').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-id]');
    if (!b || !st.summary) return;
    const p = st.summary.service_points.find((x) => String(x.id) === b.dataset.id);
    if (p) openCard(p);
  });
  $('scr-card-close').addEventListener('click', () => closeCard());
  for (const type of ['pointerdown', 'keydown', 'wheel']) document.addEventListener(type, touched, {passive: true});
}

let timer = null;
function run() { timer = setInterval(() => tick(TICK_MS), TICK_MS); }

// Test hook: play `minutes` of screen time now (tour, idle returns, refreshes) with `perMinute`
// synthetic check-in events per minute (an activity's count going up by one each time, as no
// stream sends them) through the same handler as the stream's.
function simulate(minutes, perMinute = 30) {
  st.simulated = true;
  clearInterval(timer);
  const steps = Math.round((minutes * 60000) / TICK_MS);
  for (let i = 0; i < steps; i += 1) {
    tick(TICK_MS);
    if (i % Math.max(1, Math.round(60 / perMinute)) === 0) {
      const id = 900000 + (i % 1000);
      onEvent({type: 'checkin.created', data: {activity_id: id, title: `sim ${id}`, count: Math.floor(i / 1000) + 1}});
    }
  }
  st.simulated = false;
  run();
  return {now: st.now, events: st.events, ticker: st.ticker.length, stop: st.stop};
}

window.djmapScreen = {
  state: st, simulate, openCard, closeCard, tick,
  ready: load().then((s) => { connect(s.latest_event); st.nextAt = st.now + PAUSE_MS; run(); return true; }),
};
