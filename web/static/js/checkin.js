// /checkin: a member's phone opened the activity's QR code (?t=<code>) and checks in; the
// organiser opens /checkin?activity=<id> to show the rotating code and to check members in by
// their card's code (a hand-held scanner types it into the field).
(function () {
  'use strict';
  const {t, fmtTime, getJSON, postJSON, token, setupLogin} = window.djmap;
  const params = new URLSearchParams(location.search);
  const code = params.get('t');
  const activity = params.get('activity');
  const $ = (id) => document.getElementById(id);
  const ROTATE_MS = 30000;  // a code lives 60 s: show a new one every 30 s

  function say(el, text, cls) {
    el.hidden = false;
    el.textContent = text;
    el.className = `verdict ${cls || ''}`;
  }

  /** The refusal in the page's language, from the API's code (else its sentence). */
  function reason(err) {
    const c = err.body && err.body.code;
    return (c && t[`err_${c.replace(/\./g, '_')}`]) || (err.body && err.body.description) || err.message;
  }

  /** The phone's position when it gives one within 4 s (evidence only; never required). */
  function position() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve({});
      const timer = setTimeout(() => resolve({}), 4000);
      navigator.geolocation.getCurrentPosition(
        (p) => { clearTimeout(timer); resolve({lon: p.coords.longitude, lat: p.coords.latitude}); },
        () => { clearTimeout(timer); resolve({}); },
        {timeout: 4000, maximumAge: 60000},
      );
    });
  }

  function askLogin(el) {
    say(el, t.checkin_login, 'warn');
    const dlg = $('login-dialog');
    if (dlg && !dlg.open) dlg.showModal();
  }

  async function checkIn() {
    const verdict = $('ck-verdict');
    $('ck-retry').hidden = true;
    if (!token()) return askLogin(verdict);
    say(verdict, t.checkin_sending);
    const where = await position();
    try {
      const r = await postJSON('/api/checkins', {token: code, ...where});
      say(verdict, r.created ? t.checkin_done : t.checkin_already, 'ok');
      $('ck-detail').textContent = fmtTime(r.checked_at);
      document.body.dataset.result = 'ok';
    } catch (err) {
      if (err.status === 401) return askLogin(verdict);
      say(verdict, reason(err), 'bad');
      document.body.dataset.result = (err.body && err.body.code) || 'error';
      $('ck-retry').hidden = false;
    }
  }

  async function showCode() {
    const qr = $('ck-qr');
    if (!token()) return askLogin($('ck-verdict'));
    try {
      const r = await getJSON(`/api/activities/${encodeURIComponent(activity)}/checkin-token`);
      $('ck-member').hidden = true;
      $('ck-organiser').hidden = false;
      qr.innerHTML = r.qr_svg;  // made by the server (segno) from the code alone
      qr.dataset.url = r.url;
      document.body.dataset.code = r.token;
    } catch (err) {
      if (err.status === 401) return askLogin($('ck-verdict'));
      say($('ck-verdict'), reason(err), 'bad');
    }
  }

  async function scanCard(ev) {
    ev.preventDefault();
    const field = $('ck-member-code');
    const out = $('ck-scan-verdict');
    try {
      const url = `/api/activities/${encodeURIComponent(activity)}/checkins`;
      const r = await postJSON(url, {member_code: field.value.trim()});
      say(out, r.created ? t.checkin_scan_done : t.checkin_already, 'ok');
    } catch (err) {
      say(out, reason(err), 'bad');
    }
    field.value = '';
    field.focus();
  }

  function start() {
    if (code) return checkIn();
    if (activity) return showCode();
    say($('ck-verdict'), t.checkin_no_code, 'warn');
  }

  setupLogin(start);
  $('ck-retry').addEventListener('click', checkIn);
  $('ck-scan').addEventListener('submit', scanCard);
  if (activity && !code) setInterval(() => { if (!$('ck-organiser').hidden) showCode(); }, ROTATE_MS);
  start();
})();
