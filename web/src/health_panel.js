// The leader page's organisation health (issue 13 §3-4), bundled into static/dist/health.js:
// the selected organisation's card (score, what is missing and since when, a 12-month
// sparkline), the ranking (排名) of a 党委's branches, the green/amber/red distribution in the
// statistics strip, and the reminders inbox (a bell with a count; mark read). Leaders and up
// only: for anyone else the API answers 401/403 and nothing is shown. leader.js calls
// window.djmapHealth.select(orgId) when an organisation is chosen.
const {cfg, esc, getJSON, request, token} = window.djmap;
const s = cfg.health || {};
const en = cfg.lang === 'en';
const COLORS = {green: '#389e0d', amber: '#d48806', red: '#cf1322'};
const st = {org: null, me: null, dist: null, reminders: [], unread: 0, seq: 0};
const $ = (id) => document.getElementById(id);

function el(html) {
  const box = document.createElement('div');
  box.innerHTML = html.trim();
  return box.firstElementChild;
}

/** A 12-month sparkline of scores (0-100) as inline SVG, the last point in its status colour. */
export function sparkline(trend, width = 220, height = 44) {
  if (!trend || !trend.length) return '';
  const n = trend.length;
  const x = (i) => (n === 1 ? width / 2 : 4 + (i * (width - 8)) / (n - 1));
  const y = (v) => height - 4 - (v / 100) * (height - 8);
  const pts = trend.map((p, i) => `${x(i).toFixed(1)},${y(p.score).toFixed(1)}`).join(' ');
  const last = trend[n - 1];
  return `<svg class="hp-spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(s.health_trend)}">`
    + `<polyline points="${pts}" fill="none" stroke="#b50d28" stroke-width="2"/>`
    + `<circle cx="${x(n - 1)}" cy="${y(last.score)}" r="4" fill="${COLORS[last.status] || '#888'}"/></svg>`;
}

function missingLines(breakdown) {
  const missing = breakdown.filter((r) => r.lost > 0.05 && r.state !== 'not_applicable');
  if (!missing.length) return `<p class="hp-ok">${esc(s.health_none)}</p>`;
  return `<ul class="hp-missing">${missing.map((r) => `<li><b>${esc(en ? r.name_en : r.name_zh)}</b>`
    + ` <span class="hp-lost">−${r.lost.toFixed(1)}</span>`
    + (r.missing_since ? ` <small>${esc(s.health_since.replace('{d}', r.missing_since))}</small>` : '')
    + `<br><small>${esc(en ? r.evidence_en : r.evidence_zh)}</small></li>`).join('')}</ul>`;
}

function rankingList(r) {
  if (!r || !r.items.length) return '';
  return `<h4>${esc(s.health_ranking)}</h4><ol class="hp-rank">${r.items.map((o) => `<li class="${esc(o.status || '')}">`
    + `<span>${o.rank == null ? '–' : o.rank}. ${esc(o.name)}</span><b>${o.score == null ? '–' : Math.round(o.score)}</b></li>`).join('')}</ol>`;
}

function card() {
  let box = $('health-card');
  if (!box) {
    box = el(`<aside class="panel card health-card" id="health-card" hidden aria-live="polite"></aside>`);
    document.body.appendChild(box);
    box.addEventListener('click', (ev) => { if (ev.target.closest('.hp-close')) box.hidden = true; });
  }
  return box;
}

async function showOrg(id) {
  const seq = ++st.seq;
  const box = card();
  if (!id) { box.hidden = true; return; }
  let h;
  try { h = await getJSON(`/api/orgs/${id}/health`); } catch (err) { box.hidden = true; return; }
  const r = await getJSON(`/api/orgs/${id}/ranking?of=branches`).catch(() => null);
  if (seq !== st.seq) return;
  box.innerHTML = `<header><h3>${esc(s.health_title)} · ${esc(h.name)}</h3><button type="button" class="chip hp-close" aria-label="×">×</button></header>`
    + `<div class="hp-score ${esc(h.status)}"><b>${Math.round(h.score)}</b><span>${esc(s.health_score)}</span>`
    + `<figure>${sparkline(h.trend)}<figcaption>${esc(s.health_trend)}</figcaption></figure></div>`
    + `<h4>${esc(s.health_missing)}</h4>${missingLines(h.breakdown)}${rankingList(r)}`;
  box.hidden = false;
  if (r) setDist(r.distribution);
}

function setDist(dist) {
  st.dist = dist;
  const stats = $('stats');
  if (!stats || !dist) return;
  let chip = $('health-dist');
  if (!chip) {
    chip = el(`<div class="stat health-dist" id="health-dist"></div>`);
    stats.appendChild(chip);
  }
  chip.innerHTML = `<span class="label">${esc(s.health_dist)}</span><span class="hp-dist">${['green', 'amber', 'red'].map((k) => `<i class="${k}" title="${k}">${dist[k]}</i>`).join('')}</span>`;
}

// The strip is redrawn by leader.js: put the distribution back each time.
function keepInStrip() {
  const stats = $('stats');
  if (!stats) return;
  new MutationObserver(() => { if (st.dist && !$('health-dist')) setDist(st.dist); }).observe(stats, {childList: true});
}

async function loadReminders() {
  try {
    const body = await getJSON('/api/me/reminders');
    st.reminders = body.reminders;
    st.unread = body.unread;
  } catch (err) { return false; }
  drawBell();
  return true;
}

function drawBell() {
  let bell = $('hp-bell');
  const tools = document.querySelector('.topbar .tools');
  if (!bell && tools) {
    bell = el(`<button type="button" class="ghost hp-bell" id="hp-bell" aria-haspopup="true" aria-label="${esc(s.reminders_title)}">`
      + `<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.8V3a1.5 1.5 0 0 0-3 0v1.2A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"/></svg>`
      + `<span class="hp-count" id="hp-count"></span></button>`);
    tools.insertBefore(bell, tools.firstChild);
    bell.addEventListener('click', toggleInbox);
  }
  if (!bell) return;
  const count = $('hp-count');
  count.textContent = st.unread ? String(st.unread) : '';
  count.hidden = !st.unread;
  if ($('hp-inbox') && !$('hp-inbox').hidden) drawInbox();
}

function drawInbox() {
  let box = $('hp-inbox');
  if (!box) {
    box = el(`<div class="card hp-inbox" id="hp-inbox" hidden role="dialog" aria-label="${esc(s.reminders_title)}"></div>`);
    document.body.appendChild(box);
    box.addEventListener('click', async (ev) => {
      const b = ev.target.closest('button[data-read]');
      if (!b) return;
      b.disabled = true;
      await request(`/api/me/reminders/${b.dataset.read}/read`, {method: 'POST'}).catch(() => null);
      await loadReminders();
    });
  }
  box.innerHTML = `<h3>${esc(s.reminders_title)}</h3>` + (st.reminders.length
    ? `<ul>${st.reminders.map((r) => `<li class="${r.read_at ? 'read' : 'unread'} ${esc(r.kind)}">`
      + `<b>${esc(en ? r.title_en : r.title_zh)}</b><small>${esc(r.org_name)} · ${esc(r.kind === 'overdue' ? s.reminders_overdue : s.reminders_due)} ${esc(r.due_on)}</small>`
      + (r.read_at ? '' : `<button type="button" class="chip" data-read="${r.id}">${esc(s.reminders_read)}</button>`) + '</li>').join('')}</ul>`
    : `<p class="muted">${esc(s.reminders_none)}</p>`);
  return box;
}

function toggleInbox() {
  const box = drawInbox();
  box.hidden = !box.hidden;
}

async function init() {
  if (!token()) return;
  st.me = await getJSON('/api/auth/me').catch(() => null);
  if (!st.me || !['leader', 'planner', 'steward', 'admin'].includes(st.me.role)) return;
  keepInStrip();
  await loadReminders();
  if (st.me.org_id != null) {
    const r = await getJSON(`/api/orgs/${st.me.org_id}/ranking?of=branches`).catch(() => null);
    if (r) setDist(r.distribution);
  }
  // New reminders arrive on the event stream; leader.js's live module dispatches nothing for
  // them, so the inbox asks again every few minutes as well.
  setInterval(loadReminders, 180000);
}

function styles() {
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/static/css/health_panel.css';
  document.head.appendChild(link);
}

styles();
const ready = init();
window.djmapHealth = {
  select: (id) => { st.org = id; return ready.then(() => (st.me ? showOrg(id) : null)); },
  sparkline, reload: loadReminders, ready, state: st,
};
