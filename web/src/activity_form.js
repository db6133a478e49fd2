// The leader page's activity tools (issue 12): "新建活动 / New activity" (a place picked on the map
// or a service point, the time span, kind, capacity, invited organisations, description) written
// through OGC API Features Part 4, edit and cancel from the activity's card (If-Match; a 412 is
// "changed by someone else: reload"), and the live ticker of check-ins.
// Bundled by build.mjs into static/dist/activities.js; uses window.djmap and window.djmapLive.
import {beijingLocal, fromBeijingLocal, problems, send} from './http.js';
import {collection, itemURL, openCard, setupCard, message} from './activity_card.js';
import {setupTicker} from './ticker.js';

const $ = (id) => document.getElementById(id);
const ctx = {map: null, leader: null, me: null, points: null, editing: null, picking: false, invited: new Set()};
const live = () => window.djmap.cfg.live || {routes: {}, cards: {}};

// ---- reference lists: organisations (the leader page's tree) and service points ----------------
const orgs = () => (ctx.leader && ctx.leader.state.orgs) || [];
const orgById = (id) => orgs().find((o) => String(o.id) === String(id));

function inScope(o) {
  if (!ctx.me || ctx.me.org_id == null) return true;
  for (let x = o; x; x = orgById(x.parent_id)) if (String(x.id) === String(ctx.me.org_id)) return true;
  return false;
}

async function servicePoints() {
  if (ctx.points) return ctx.points;
  const id = live().cards.service_point;
  const res = id ? await send('GET', `/api/collections/${encodeURIComponent(id)}/items?limit=1000`) : {ok: false};
  ctx.points = res.ok ? (res.body.features || []).map((f) => ({...f.properties, id: f.properties.id ?? f.id,
    lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1]})) : [];
  return ctx.points;
}

function options(list, value, label, chosen, blank) {
  const {esc} = window.djmap;
  const pick = new Set([].concat(chosen ?? []).map(String));
  return (blank ? `<option value="">${esc(blank)}</option>` : '') + list.map((x) =>
    `<option value="${esc(value(x))}" ${pick.has(String(value(x))) ? 'selected' : ''}>${esc(label(x))}</option>`).join('');
}

async function fillLists(p) {
  const {t} = window.djmap;
  const f = $('act-form');
  const kinds = [...new Set([...(live().kinds || []), ...(p.kind ? [p.kind] : [])])];
  f.kind.innerHTML = options(kinds, (k) => k, (k) => window.djmap.term(k), p.kind, t.act_choose);
  const own = orgs().filter(inScope);
  const organiser = orgById(p.organiser_id) || orgById(ctx.me && ctx.me.org_id);
  f.organiser.innerHTML = options(own, (o) => o.code, (o) => `${o.name}（${window.djmap.term(o.type)}）`, organiser && organiser.code, t.act_choose);
  const points = await servicePoints();
  const sp = points.find((s) => String(s.id) === String(p.service_point_id));
  f.service_point.innerHTML = options(points, (s) => s.code, (s) => s.name, sp && sp.code, t.act_no_sp);
}

// ---- invited organisations (受邀组织): members of the organiser's subtree are invited anyway; the
// list offers the other organisations of its top-level tree (the server's rule, geo/live/
// invitations.py) as far as the page knows them, searchable, with a checkbox each. ------------
const subtree = (root) => {
  const out = new Set();
  const walk = (o) => { out.add(String(o.id)); for (const c of orgs().filter((x) => String(x.parent_id) === String(o.id))) walk(c); };
  if (root) walk(root);
  return out;
};

function topOf(o) {
  let x = o;
  while (x && orgById(x.parent_id)) x = orgById(x.parent_id);
  return x;
}

/** The organisations one may invite besides the organiser (and those invited already). */
function invitable() {
  const organiser = orgs().find((o) => o.code === $('act-form').organiser.value);
  if (!organiser) return [];
  const own = subtree(organiser);
  const tree = subtree(topOf(organiser));
  return orgs().filter((o) => (tree.has(String(o.id)) && !own.has(String(o.id))) || ctx.invited.has(String(o.id)));
}

function showInvited() {
  const {t, esc, term, fill} = window.djmap;
  const list = invitable();
  const q = $('act-invited-q').value.trim().toLowerCase();
  const box = $('act-invited');
  box.innerHTML = list.length ? list.map((o) => {
    const id = String(o.id);
    const hidden = q && !`${o.name} ${o.code}`.toLowerCase().includes(q) ? ' hidden' : '';
    return `<label class="org-choice"${hidden}><input type="checkbox" name="invited" value="${esc(id)}" ${ctx.invited.has(id) ? 'checked' : ''}><span>${esc(o.name)}</span><small>${esc(term(o.type))}</small></label>`;
  }).join('') : `<p class="muted">${esc($('act-form').organiser.value ? t.act_invited_none : t.act_choose)}</p>`;
  const unknown = [...ctx.invited].filter((id) => !orgById(id));  // invited, outside the page's tree
  if (unknown.length) box.insertAdjacentHTML('beforeend', unknown.map((id) => `<label class="org-choice"><input type="checkbox" name="invited" value="${esc(id)}" checked><span>#${esc(id)}</span></label>`).join(''));
  $('act-invited-count').textContent = fill(t.act_invited_count, {n: ctx.invited.size});
}

function toggleInvited(ev) {
  const box = ev.target;
  if (box.name !== 'invited') return;
  if (box.checked) ctx.invited.add(box.value); else ctx.invited.delete(box.value);
  $('act-invited-count').textContent = window.djmap.fill(window.djmap.t.act_invited_count, {n: ctx.invited.size});
}

// ---- the form ----------------------------------------------------------------------------------
function setError(lines) {
  const {t, esc} = window.djmap;
  const el = $('act-error');
  el.hidden = !lines.length;
  el.innerHTML = lines.length ? `<b>${esc(t.act_problems)}</b><ul>${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : '';
}

/** Open the form: empty for a new activity, or filled from a feature read with its ETag. */
export async function openForm(feature, etag) {
  const {t} = window.djmap;
  const p = (feature && feature.properties) || {};
  const f = $('act-form');
  f.reset();
  setError([]);
  ctx.editing = feature ? {id: String(p.id ?? feature.id), etag, before: null} : null;
  ctx.invited = new Set((p.invited_org_ids || []).map(String));
  $('act-form-title').textContent = feature ? t.act_edit : t.act_new;
  await fillLists(p);
  $('act-invited-q').value = '';
  showInvited();
  const start = p.starts_at ? new Date(p.starts_at) : new Date(Math.ceil(Date.now() / 3600000) * 3600000);
  f.starts_at.value = beijingLocal(start);
  f.ends_at.value = beijingLocal(p.ends_at ? new Date(p.ends_at) : new Date(start.getTime() + 2 * 3600000));
  f.title.value = p.title || '';
  f.capacity.value = p.capacity ?? '';
  f.description.value = p.description || '';
  const [lon, lat] = (feature && feature.geometry && feature.geometry.coordinates) || [];
  f.lon.value = lon ?? '';
  f.lat.value = lat ?? '';
  if (ctx.editing) ctx.editing.before = values();
  marker();
  $('act-dialog').showModal();
}

function values() {
  const f = $('act-form');
  const num = (v) => (v === '' || v == null ? null : Number(v));
  return {
    title: f.title.value.trim(),
    kind: f.kind.value,
    organiser_code: f.organiser.value,
    service_point_code: f.service_point.value || null,
    starts_at: fromBeijingLocal(f.starts_at.value),
    ends_at: fromBeijingLocal(f.ends_at.value),
    capacity: num(f.capacity.value),
    description: f.description.value.trim() || null,
    invited_org_ids: [...ctx.invited].map(Number).sort((a, b) => a - b),
    lon: num(f.lon.value),
    lat: num(f.lat.value),
  };
}

function check(v) {
  const {t} = window.djmap;
  const out = [];
  for (const [k, label] of [['title', t.act_title], ['kind', t.kind], ['organiser_code', t.act_organiser], ['starts_at', t.act_starts], ['ends_at', t.act_ends]]) {
    if (!v[k]) out.push(`${label}: ${t.act_required}`);
  }
  if (v.starts_at && v.ends_at && Date.parse(v.ends_at) <= Date.parse(v.starts_at)) out.push(t.act_time_order);
  if (v.lon == null || v.lat == null) out.push(t.act_place_missing);
  return out;
}

/** The GeoJSON Feature of the form (the import's field names: geo/ingest/spec.py). */
function feature(v) {
  const props = {};
  for (const k of ['title', 'kind', 'organiser_code', 'service_point_code', 'starts_at', 'ends_at', 'capacity', 'description', 'invited_org_ids']) props[k] = v[k];
  return {type: 'Feature', geometry: {type: 'Point', coordinates: [v.lon, v.lat]}, properties: props};
}

/** Only what changed, as a JSON merge patch of the Feature. */
function patchOf(before, v) {
  const after = feature(v);
  const old = feature(before);
  const props = {};
  for (const [k, x] of Object.entries(after.properties)) if (JSON.stringify(x) !== JSON.stringify(old.properties[k])) props[k] = x;
  for (const k of Object.keys(old.properties)) if (!(k in after.properties)) props[k] = null;
  const patch = {properties: props};
  if (v.lon !== before.lon || v.lat !== before.lat) patch.geometry = after.geometry;
  return patch;
}

async function submit(ev) {
  ev.preventDefault();
  const {t} = window.djmap;
  const v = values();
  const wrong = check(v);
  setError(wrong);
  if (wrong.length) return;
  const save = $('act-save');
  save.disabled = true;
  save.textContent = t.act_saving;
  try {
    await (ctx.editing ? update(v) : create(v));
  } finally {
    save.disabled = false;
    save.textContent = t.act_save;
  }
}

async function create(v) {
  const {t} = window.djmap;
  const res = await send('POST', `/api/collections/${encodeURIComponent(collection())}/items`, {body: feature(v), type: 'application/geo+json'});
  if (!res.ok) { setError(res.status === 403 ? [t.act_forbidden] : problems(res.body).concat(res.body ? [] : [`HTTP ${res.status}`])); return; }
  const where = res.headers.get('Location') || '';
  const id = (res.body && (res.body.id ?? (res.body.properties || {}).id)) ?? where.split('/').pop();
  $('act-dialog').close();
  marker(true);
  window.djmapActivities.lastCreated = String(id);
  if (await openCard(id)) message(t.act_created, true);
}

async function update(v) {
  const {t} = window.djmap;
  const {id, etag, before} = ctx.editing;
  const res = await send('PATCH', itemURL(id), {body: patchOf(before, v), type: 'application/merge-patch+json', headers: {'If-Match': etag || ''}});
  if (res.status === 412) { setError([t.act_conflict]); $('act-error').dataset.conflict = '1'; return; }
  if (!res.ok) { setError(res.status === 403 ? [t.act_forbidden] : problems(res.body).concat(res.body ? [] : [`HTTP ${res.status}`])); return; }
  $('act-dialog').close();
  marker(true);
  if (await openCard(id)) message(t.act_saved, true);
}

// ---- picking the place on the map -------------------------------------------------------------
function marker(clear) {
  if (!ctx.map) return;
  const f = $('act-form');
  const lon = Number(f.lon.value), lat = Number(f.lat.value);
  const show = !clear && f.lon.value !== '' && f.lat.value !== '' && Number.isFinite(lon) && Number.isFinite(lat);
  ctx.map.setExtra(show ? [new deckgl.classes.ScatterplotLayer({
    id: 'act-place', data: [[lon, lat]], getPosition: (d) => d, getRadius: 10, radiusUnits: 'pixels',
    getFillColor: [200, 16, 46, 255], getLineColor: [255, 255, 255, 255], stroked: true, lineWidthMinPixels: 3,
    parameters: {depthCompare: 'always'},
  })] : []);
}

function pick() {
  const {t} = window.djmap;
  ctx.picking = true;
  $('act-dialog').close();
  const hint = $('act-pick-hint');
  hint.textContent = t.act_pick_hint;
  hint.hidden = false;
}

function picked(ev) {
  if (!ctx.picking) return;
  ev.stopPropagation();
  ctx.picking = false;
  $('act-pick-hint').hidden = true;
  const mapEl = $('map');
  const vp = ctx.map.deck.getViewports()[0];
  const rect = mapEl.getBoundingClientRect();
  const [lon, lat] = vp.unproject([ev.clientX - rect.left, ev.clientY - rect.top]);
  const f = $('act-form');
  f.lon.value = lon.toFixed(6);
  f.lat.value = lat.toFixed(6);
  f.service_point.value = '';
  marker();
  $('act-dialog').showModal();
}

async function chooseServicePoint() {
  const f = $('act-form');
  const sp = (await servicePoints()).find((s) => s.code === f.service_point.value);
  if (!sp) return;
  f.lon.value = sp.lon;
  f.lat.value = sp.lat;
  marker();
}

/** Whether the caller's role writes activities (the server still decides each write). */
function canWrite() {
  const writers = (live().writers || {}).activity || [];
  return Boolean(ctx.me && writers.includes(ctx.me.role));
}

// ---- wiring -----------------------------------------------------------------------------------
async function whoAmI() {
  const {getJSON, token} = window.djmap;
  if (!token()) return null;
  try { return await getJSON('/api/auth/me'); } catch (err) { return null; }
}

/** Start the activity tools on the leader page (`leader`: {state, paramsOf} of leader.js). */
export async function start(map, leader) {
  Object.assign(ctx, {map, leader});
  const {token} = window.djmap;
  const lv = window.djmapLive;  // loaded before this bundle (leader.html)
  const r = live().routes;
  setupCard(lv.on, {edit: openForm, orgName: (id) => (orgById(id) || {}).name || null, canWrite});
  setupTicker(lv.on, $('ticker'), (id) => openCard(id));
  $('ticker').hidden = !(token() && r.events);
  $('act-new').addEventListener('click', () => openForm(null));
  $('act-form').addEventListener('submit', submit);
  $('act-close').addEventListener('click', () => { $('act-dialog').close(); marker(true); });
  $('act-pick').addEventListener('click', pick);
  $('act-form').service_point.addEventListener('change', chooseServicePoint);
  $('act-form').organiser.addEventListener('change', showInvited);
  $('act-invited-q').addEventListener('input', showInvited);
  $('act-invited').addEventListener('change', toggleInvited);
  $('map').addEventListener('click', picked, true);
  lv.followLayers(map, leader.paramsOf);
  lv.start();
  ctx.me = await whoAmI();
  $('act-new').hidden = !(canWrite() && r.create && collection());
  window.djmapActivities.ready = true;
}

window.djmapActivities = {start, openForm, openCard, lastCreated: null, ready: false};
