// 报名: a register button per activity (POST /api/activities/{id}/registrations), and cancelling
// it (DELETE …/registrations/me). One delegated click handler serves every page that shows them.

const known = new Map(); // activity id → 'registered' | 'waitlisted' (this member's, as answered)

function routes() {
  const live = window.djmap.cfg.live;
  return (live && live.routes) || {};
}

/** The HTML of an activity's register control (empty while the route is missing). */
export function registerButton(activityId, status) {
  const {t, esc} = window.djmap;
  if (!routes().register || activityId == null) return '';
  if (status === 'cancelled') return `<span class="reg closed">${esc(t.reg_closed)}</span>`;
  const id = esc(activityId);
  const mine = known.get(String(activityId));
  const button = mine && routes().unregister
    ? `<button type="button" class="secondary unregister" data-unregister="${id}">${esc(t.reg_cancel)}</button>`
    : `<button type="button" class="primary register" data-register="${id}" ${mine ? 'disabled' : ''}>${esc(t.reg_register)}</button>`;
  const answer = mine ? esc(mine === 'registered' ? `✓ ${t.reg_registered}` : t.act_waitlisted) : '';
  return `<span class="reg" data-activity="${id}">${button}<span class="reg-answer" role="status">${answer}</span></span>`;
}

/** Redraw every control of an activity from what is known; returns them. */
function paint(id) {
  const sel = `.reg[data-activity="${CSS.escape(String(id))}"]`;
  for (const box of document.querySelectorAll(sel)) box.outerHTML = registerButton(id);
  return document.querySelectorAll(sel);
}

function say(box, text, ok) {
  const out = box.querySelector('.reg-answer');
  out.textContent = text;
  out.className = `reg-answer ${ok ? 'ok' : 'no'}`;
}

async function register(btn) {
  const {t, postJSON, token, fill} = window.djmap;
  const box = btn.closest('.reg');
  const id = btn.dataset.register;
  if (!token()) {
    say(box, t.reg_login, false);
    const login = document.getElementById('login-btn');
    if (login && !login.hidden) login.click();
    return;
  }
  btn.disabled = true;
  try {
    const res = await postJSON(`/api/activities/${id}/registrations`, {});
    known.set(String(id), res.status);
    const text = res.status === 'waitlisted' ? fill(t.reg_waitlisted_n, {n: res.position}) : `✓ ${t.reg_registered}`;
    for (const b of paint(id)) say(b, text, true);
  } catch (err) {
    if (err.status === 409 && /already/.test((err.body && err.body.code) || '')) {
      known.set(String(id), 'registered');
      for (const b of paint(id)) say(b, t.reg_already, true);
      return;
    }
    btn.disabled = false;
    const code = err.body && err.body.code; // a refusal in the page's language (not_invited …)
    say(box, (code && t[`err_${code.replace(/\./g, '_')}`]) || err.message, false);
  }
}

async function unregister(btn) {
  const {t, request} = window.djmap;
  const id = btn.dataset.unregister;
  btn.disabled = true;
  try {
    await request(`/api/activities/${id}/registrations/me`, {method: 'DELETE'});
    known.delete(String(id));
    for (const b of paint(id)) say(b, t.reg_cancelled, true);
  } catch (err) {
    btn.disabled = false;
    say(btn.closest('.reg'), err.message, false);
  }
}

/** This member's registrations (GET /api/me/activities), so the buttons say what is already done. */
export async function loadMine() {
  const {getJSON, token} = window.djmap;
  if (!token() || !routes().me_activities) return;
  try {
    const me = await getJSON('/api/auth/me');
    if (me.member_id == null) return; // a leader's account: no registrations of its own
    const body = await getJSON('/api/me/activities');
    for (const r of body.registrations || []) {
      if (r.status === 'registered' || r.status === 'waitlisted') known.set(String(r.activity_id), r.status);
    }
    for (const id of known.keys()) paint(id);
  } catch (err) { /* the buttons still work; the server answers 409 when already registered */ }
}

export function setupRegistration() {
  document.addEventListener('click', (ev) => {
    const reg = ev.target.closest && ev.target.closest('button[data-register]');
    if (reg) { ev.preventDefault(); register(reg); return; }
    const unreg = ev.target.closest && ev.target.closest('button[data-unregister]');
    if (unreg) { ev.preventDefault(); unregister(unreg); }
  });
}
