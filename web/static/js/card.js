// /card: the member card on the phone: name, branch, activities attended this year, upcoming
// registered activities, and a QR code of a signed member code that changes every 30 s.
(function () {
  'use strict';
  const {t, esc, fmtTime, getJSON, token, setupLogin} = window.djmap;
  const $ = (id) => document.getElementById(id);
  const ROTATE_MS = 30000;
  let timer = null;

  function upcoming(regs) {
    const now = Date.now();
    return regs
      .filter((r) => r.status !== 'cancelled' && Date.parse(r.ends_at) > now)
      .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  }

  function item(r) {
    const tags = [];
    if (r.activity_status === 'cancelled') {
      tags.push(`${t.activity_cancelled}${r.cancel_reason ? `：${esc(r.cancel_reason)}` : ''}`);
    } else if (r.status === 'waitlisted') {
      tags.push(t.reg_position.replace('{n}', r.position));
    } else if (r.status === 'not_invited') {
      tags.push(esc(t.reg_not_invited));  // registered before the invitation rule, or uninvited
    }
    const tagHtml = tags.map((x) => `<span class="tag">${x}</span>`).join('');
    const where = r.service_point ? ` · ${esc(r.service_point)}` : '';
    return `<li data-activity="${r.activity_id}"><b>${esc(r.title)}</b>${tagHtml}` +
      `<div class="when">${esc(fmtTime(r.starts_at))}${where}</div></li>`;
  }

  async function qr() {
    const r = await getJSON('/api/me/card-token');
    $('card-qr').innerHTML = r.qr_svg;  // made by the server (segno) from the code alone
    document.body.dataset.code = r.token;
  }

  async function load() {
    clearInterval(timer);
    if (!token()) {
      $('card-login').hidden = false;
      $('card').hidden = true;
      return;
    }
    try {
      const me = await getJSON('/api/me/activities');
      $('card-login').hidden = true;
      $('card').hidden = false;
      $('card-name').textContent = me.member.name;
      $('card-branch').textContent = me.member.branch;
      $('card-attended').textContent = String(me.attended_this_year);
      const list = upcoming(me.registrations);
      $('card-upcoming-sheet').hidden = false;
      $('card-upcoming').innerHTML = list.length ? list.map(item).join('') : `<li>${t.card_none}</li>`;
      await qr();
      timer = setInterval(() => qr().catch(() => {}), ROTATE_MS);
    } catch (err) {
      $('card-login').hidden = false;
      $('card-login').textContent = err.status === 401 || err.status === 403 ? t.card_login : err.message;
    }
  }

  setupLogin(load);
  load();
})();
