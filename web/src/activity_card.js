// The activity's card on the leader page: what it is, its registrations (names for its organiser,
// privacy-safe counts for others), and edit / cancel / the rotating check-in QR code.
import {send, problems} from './http.js';

const card = {id: null, etag: null, feature: null, summary: null, qrTimer: null};
let hooks = {edit: () => {}, orgName: () => null, canWrite: () => true};

const $ = (id) => document.getElementById(id);
const live = () => window.djmap.cfg.live || {routes: {}, cards: {}};
export const collection = () => live().cards.activity;
export const itemURL = (id) => `/api/collections/${encodeURIComponent(collection())}/items/${encodeURIComponent(id)}`;

function count(n, summary) {
  const {t, fmtNum, fill} = window.djmap;
  if (n != null) return fmtNum(n);
  return summary && summary.fewer_than ? fill(t.act_fewer_than, {n: summary.fewer_than}) : '—';
}

function factsHTML(p) {
  const {t, esc, fmtTime} = window.djmap;
  const row = (k, v) => (v == null || v === '' ? '' : `<dt>${esc(t[k])}</dt><dd>${esc(v)}</dd>`);
  const when = `${fmtTime(p.starts_at)} – ${fmtTime(p.ends_at)}`;
  const invited = (p.invited_org_ids || []).map((id) => hooks.orgName(id) || `#${id}`).join('、');
  return `<dl class="facts">${row('act_starts', when)}${row('act_organiser', hooks.orgName(p.organiser_id))}${row('act_invited', invited)}${row('act_capacity', p.capacity)}${row('act_description', p.description)}</dl>`;
}

function countsHTML(s) {
  const {t, esc} = window.djmap;
  if (!s) return '';
  const names = (s.members || []).map((m) => `<li>${esc(m.name)} <em>${esc(m.checked_in_at ? t.act_attended : m.status === 'waitlisted' ? t.act_waitlisted : m.status === 'not_invited' ? t.reg_not_invited : t.act_registered)}</em></li>`).join('');
  return `<dl class="facts counts">
    <dt>${esc(t.act_registered)}</dt><dd data-count="registered">${esc(count(s.registered, s))}</dd>
    <dt>${esc(t.act_waitlisted)}</dt><dd data-count="waitlisted">${esc(count(s.waitlisted, s))}</dd>
    <dt>${esc(t.act_attended)}</dt><dd data-count="attended">${esc(count(s.attended, s))}</dd></dl>
    ${names ? `<ol class="roster">${names}</ol>` : ''}`;
}

function render() {
  const {t, esc, term, token} = window.djmap;
  const p = card.feature.properties || {};
  const r = live().routes;
  const cancelled = p.status === 'cancelled';
  const can = (name) => token() && r[name] && (name === 'checkin_token' || hooks.canWrite());
  const buttons = [
    can('update') && !cancelled ? `<button type="button" class="secondary" id="act-edit">${esc(t.act_edit)}</button>` : '',
    can('delete') && !cancelled ? `<button type="button" class="secondary" id="act-cancel">${esc(t.act_cancel)}</button>` : '',
    can('checkin_token') && !cancelled ? `<button type="button" class="primary" id="act-qr-btn">▣ ${esc(t.act_qr)}</button>` : '',
  ].join('');
  $('act-card-body').innerHTML = `<h2 class="act-name" data-activity="${esc(card.id)}">${esc(p.title)}</h2>
    <p class="kind-tag">${esc(term(p.kind))}</p>
    ${cancelled ? `<p class="act-status cancelled">${esc(t.act_cancelled)}${p.cancel_reason ? `：${esc(p.cancel_reason)}` : ''}</p>` : ''}
    ${factsHTML(p)}${countsHTML(card.summary)}
    <div class="row act-actions">${buttons}</div>
    <p class="act-msg" id="act-msg" role="status" hidden></p>`;
}

/** A message under the card's buttons (`reload`: with a button that reloads the card). */
export function message(text, ok, reload) {
  const el = $('act-msg');
  if (!el) return;
  const {t, esc} = window.djmap;
  el.hidden = false;
  el.className = `act-msg ${ok ? 'ok' : 'no'}`;
  el.innerHTML = esc(text) + (reload ? ` <button type="button" class="link" id="act-reload">${esc(t.act_reload)}</button>` : '');
}

async function loadSummary(id) {
  if (!live().routes.registrations) return null;
  const res = await send('GET', `/api/activities/${encodeURIComponent(id)}/registrations`);
  return res.ok ? res.body : null;
}

/** Open (or refresh) the card of activity `id`; resolves false when it cannot be read. */
export async function openCard(id) {
  const sp = $('sp-card');
  if (sp && !sp.hidden) $('sp-close').click();
  const box = $('act-card');
  if (String(card.id) !== String(id)) stopQR();
  box.hidden = false;
  const res = await send('GET', itemURL(id));
  if (!res.ok) {
    $('act-card-body').innerHTML = `<p class="muted">${window.djmap.esc(problems(res.body)[0] || window.djmap.t.no_data)}</p>`;
    return false;
  }
  Object.assign(card, {id: String(id), etag: res.headers.get('ETag'), feature: res.body});
  card.summary = await loadSummary(id);
  render();
  return true;
}

export function closeCard() {
  stopQR();
  card.id = null;
  $('act-card').hidden = true;
}

// ---- the rotating check-in QR code ------------------------------------------------------------
function stopQR() {
  clearTimeout(card.qrTimer);
  card.qrTimer = null;
  const qr = $('act-qr');
  if (qr) qr.hidden = true;
}

async function showQR() {
  const id = card.id;
  const res = await send('GET', `/api/activities/${encodeURIComponent(id)}/checkin-token`);
  if (card.id !== id) return;
  if (!res.ok) { message(problems(res.body)[0] || `HTTP ${res.status}`, false); return; }
  const {qr_svg: svg, url, ttl_s: ttl} = res.body;
  const link = new URL(url, location.origin).href;
  $('act-qr-img').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  const a = $('act-qr-url');
  a.href = link;
  a.textContent = link;
  a.dataset.url = link;
  $('act-qr-screen').href = `/checkin?activity=${encodeURIComponent(id)}&lang=${window.djmap.cfg.lang}`;
  $('act-qr').hidden = false;
  clearTimeout(card.qrTimer); // a fresh code before this one runs out
  card.qrTimer = setTimeout(showQR, Math.max(5, (ttl || 60) - 15) * 1000);
}

// ---- cancelling (DELETE with If-Match: an activity with registrations is cancelled, kept) ------
async function cancel(reason) {
  const {t} = window.djmap;
  const res = await send('DELETE', `${itemURL(card.id)}?${new URLSearchParams({reason})}`, {headers: {'If-Match': card.etag || '*'}});
  if (res.status === 412) { message(t.act_conflict, false, true); return; }
  if (res.status === 403) { message(t.act_forbidden, false); return; }
  if (!res.ok) { message(problems(res.body).join(' · ') || `HTTP ${res.status}`, false); return; }
  if (res.status === 204 || !res.body) {
    $('act-card-body').innerHTML = `<p class="act-msg ok">${window.djmap.esc(t.act_deleted)}</p>`;
    stopQR();
    return;
  }
  await openCard(card.id);
  message(t.act_cancelled, true);
}

/** Wire the card: its buttons, the cancel dialog, and refreshes from the event stream. */
export function setupCard(on, h) {
  hooks = {...hooks, ...h};
  $('act-card-close').addEventListener('click', closeCard);
  $('act-card').addEventListener('click', (ev) => {
    const id = ev.target.id;
    if (id === 'act-edit') hooks.edit(card.feature, card.etag);
    else if (id === 'act-qr-btn') showQR();
    else if (id === 'act-reload') openCard(card.id);
    else if (id === 'act-cancel') { $('act-cancel-reason').value = ''; $('act-cancel-dialog').showModal(); }
  });
  $('act-cancel-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('act-cancel-dialog').close();
    cancel($('act-cancel-reason').value.trim());
  });
  $('act-cancel-close').addEventListener('click', () => $('act-cancel-dialog').close());
  const mine = (ev) => card.id != null && ev.data && String(ev.data.activity_id ?? ev.data.id) === card.id;
  for (const type of ['registration.changed', 'checkin.created']) {
    on(type, async (ev) => { if (mine(ev)) { card.summary = await loadSummary(card.id); render(); } });
  }
  for (const type of ['activity.updated', 'activity.cancelled']) {
    on(type, (ev) => { if (mine(ev)) openCard(card.id); });
  }
}

export const current = () => card;
