// The admin screen (/admin): users and roles, embed keys, screen keys, through /api/admin/…
// with the logged-in admin's token, and imports (admin_imports.js), which data stewards see
// alone. Anonymous: the login prompt; other roles: a refusal.
(function () {
  'use strict';
  const {cfg, esc, request, token, fmtTime} = window.djmap;
  const a = cfg.a;
  const $ = (id) => document.getElementById(id);
  const roleTitle = Object.fromEntries(cfg.roles.map((r) => [r.id, r.title]));
  const API = '/api/admin';

  function say(text, bad) {
    const box = $('notice');
    box.hidden = false;
    box.classList.toggle('bad', !!bad);
    box.replaceChildren(...(Array.isArray(text) ? text : [text]).map((x) => (typeof x === 'string' ? document.createTextNode(x) : x)));
  }

  function problem(err) {
    const lines = ((err.body && err.body.errors) || []).map((e) => e.msg).filter(Boolean);
    say([err.message, ...lines.map((l) => `\n· ${l}`)].join(''), true);
  }

  function send(method, path, body) {
    const opts = {method};
    if (body !== undefined) {
      opts.headers = {'Content-Type': 'application/json'};
      opts.body = JSON.stringify(body);
    }
    return request(API + path, opts);
  }

  async function act(method, path, body, done) {
    try {
      const out = await send(method, path, body);
      if (done) done(out);
      await loadAll();
      return out;
    } catch (err) {
      problem(err);
      return null;
    }
  }

  function code(text) {
    const el = document.createElement('code');
    el.textContent = text;
    return el;
  }

  // ---- users ---------------------------------------------------------------------------
  function userRow(u) {
    const opts = cfg.roles.map((r) => `<option value="${r.id}"${r.id === u.role ? ' selected' : ''}>${esc(r.title)}</option>`).join('');
    const name = esc(u.username);
    return `<tr data-user="${name}" class="${u.active ? '' : 'off'}">
      <td>${name}</td>
      <td><select aria-label="${esc(a.role)} ${name}" data-f="role">${opts}</select></td>
      <td><input aria-label="${esc(a.scope_short)} ${name}" data-f="org" value="${esc(u.org || '')}" placeholder="${esc(a.district)}" size="10"></td>
      <td>${esc(u.member || '—')}</td>
      <td>${u.active ? esc(a.active) : esc(a.disabled)}</td>
      <td>${u.last_login_at ? esc(fmtTime(u.last_login_at)) : esc(a.never)}</td>
      <td><div class="acts"><button type="button" class="secondary" data-act="save">${esc(a.save)}</button>
        <button type="button" class="secondary" data-act="${u.active ? 'disable' : 'enable'}">${esc(u.active ? a.disable : a.enable)}</button>
        <button type="button" class="secondary" data-act="reset">${esc(a.reset_pw)}</button></div></td></tr>`;
  }

  function userAction(ev) {
    const btn = ev.target.closest('button[data-act]');
    if (!btn) return;
    const row = btn.closest('tr');
    const name = row.dataset.user;
    const path = `/users/${encodeURIComponent(name)}`;
    const kind = btn.dataset.act;
    if (kind === 'save') {
      const org = row.querySelector('[data-f=org]').value.trim();
      act('PATCH', path, {role: row.querySelector('[data-f=role]').value, org: org || null}, () => say(a.saved));
    } else if (kind === 'reset') {
      act('POST', `${path}/password`, undefined, (out) => say([a.new_pw.replace('{user}', out.username), ' ', code(out.password)]));
    } else {
      act('PATCH', path, {active: kind === 'enable'}, () => say(a.saved));
    }
  }

  function addUser(ev) {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = {username: f.get('username').trim(), password: f.get('password'), role: f.get('role')};
    for (const k of ['org', 'member']) if (f.get(k).trim()) body[k] = f.get(k).trim();
    act('POST', '/users', body, (u) => { ev.target.reset(); say(`${a.saved} · ${u.username}`); });
  }

  // ---- embed keys ----------------------------------------------------------------------
  function embedRow(k) {
    const preview = `/admin/embed?lang=${encodeURIComponent(cfg.lang)}&key=${encodeURIComponent(k.key)}`;
    return `<tr data-key="${k.id}" class="${k.active ? '' : 'off'}">
      <td>${esc(k.name)}</td><td><code>${esc(k.key)}</code></td>
      <td><textarea aria-label="${esc(a.origins_short)} ${esc(k.name)}" rows="2" data-f="origins">${esc(k.allowed_origins.join('\n'))}</textarea></td>
      <td>${k.active ? esc(a.active) : esc(a.revoked)}</td>
      <td><div class="acts"><button type="button" class="secondary" data-act="save">${esc(a.save)}</button>
        <button type="button" class="secondary" data-act="${k.active ? 'revoke' : 'enable'}">${esc(k.active ? a.revoke : a.enable)}</button>
        <a class="secondary" href="${esc(preview)}">${esc(a.snippet)}</a></div></td></tr>`;
  }

  const lines = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

  function embedAction(ev) {
    const btn = ev.target.closest('button[data-act]');
    if (!btn) return;
    const row = btn.closest('tr');
    const path = `/embed-keys/${row.dataset.key}`;
    const kind = btn.dataset.act;
    if (kind === 'save') act('PATCH', path, {origins: lines(row.querySelector('[data-f=origins]').value)}, () => say(a.saved));
    else if (kind === 'enable' || window.confirm(a.confirm_revoke)) act('PATCH', path, {active: kind === 'enable'}, () => say(a.saved));
  }

  function addEmbed(ev) {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = {name: f.get('name').trim(), origins: lines(f.get('origins'))};
    act('POST', '/embed-keys', body, (k) => { ev.target.reset(); say([`${a.saved} · ${k.name} `, code(k.key)]); });
  }

  // ---- screen keys ---------------------------------------------------------------------
  function screenRow(k) {
    return `<tr data-key="${k.id}" class="${k.active ? '' : 'off'}">
      <td>${esc(k.name)}</td><td><code>${esc(k.key)}</code></td><td>${esc(k.org_name || k.org || a.district)}</td>
      <td>${k.active ? esc(a.active) : esc(a.revoked)}</td><td>${esc(fmtTime(k.created_at))}</td>
      <td><div class="acts">${k.active ? `<button type="button" class="secondary" data-act="revoke">${esc(a.revoke)}</button>` : ''}</div></td></tr>`;
  }

  function screenAction(ev) {
    const btn = ev.target.closest('button[data-act=revoke]');
    if (!btn || !window.confirm(a.confirm_revoke)) return;
    act('DELETE', `/screen-keys/${btn.closest('tr').dataset.key}`, undefined, () => say(a.saved));
  }

  function addScreen(ev) {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = {name: f.get('name').trim()};
    if (f.get('org').trim()) body.org = f.get('org').trim();
    act('POST', '/screen-keys', body, (k) => {
      ev.target.reset();
      const url = `${location.origin}/screen?key=${encodeURIComponent(k.key)}`;
      say([a.new_screen, ' ', code(k.key), ` · ${a.screen_url}: `, code(url)]);
    });
  }

  // ---- page ----------------------------------------------------------------------------
  function fill(id, rows, render, cols) {
    $(id).innerHTML = rows.length ? rows.map(render).join('') : `<tr><td colspan="${cols}" class="muted">${esc(a.none)}</td></tr>`;
  }

  function gate(text, withLogin) {
    $('console-body').hidden = true;
    $('gate').textContent = text;
    if (withLogin) {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'primary';
      btn.textContent = cfg.t.login;
      btn.addEventListener('click', () => $('login-dialog').showModal());
      $('gate').append(' ', btn);
    }
    $('gate').hidden = false;
  }

  async function loadAll() {
    const [users, embed, screen] = await Promise.all(['/users', '/embed-keys', '/screen-keys'].map((p) => send('GET', p)));
    fill('users-rows', users.users, userRow, 7);
    fill('embed-rows', embed.keys, embedRow, 5);
    fill('screen-rows', screen.keys, screenRow, 6);
  }

  // Admins see every tab; stewards the imports tab alone (the users and keys APIs refuse them).
  function allowTabs(admin) {
    for (const id of ['users', 'embed', 'screen']) $(`tab-${id}`).hidden = !admin;
    const current = document.querySelector('[role=tab][aria-selected=true]');
    if (!admin && current.hidden) selectTab($('tab-imports'));
  }

  async function start() {
    $('notice').hidden = true;
    if (!token()) return gate(a.need_login, true);
    try {
      const me = await request('/api/auth/me');  // a role check first: no 403 for the console
      if (me.role === 'public') return gate(a.need_login, true);
      if (me.role !== 'admin' && me.role !== 'steward') return gate(a.refused.replace('{who}', me.username || ''), false);
      allowTabs(me.role === 'admin');
      if (window.djmapImports) window.djmapImports.start(me);
      if (me.role === 'admin') await loadAll();
    } catch (err) {
      if (err.status === 401) return gate(a.need_login, true);
      if (err.status === 403) return gate(a.refused.replace('{who}', localStorage.getItem('djmap_user') || ''), false);
      return gate(err.message, false);
    }
    $('gate').hidden = true;
    $('console-body').hidden = false;
  }

  function selectTab(tab) {
    for (const t of document.querySelectorAll('[role=tab]')) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
  }

  const tabs = [...document.querySelectorAll('[role=tab]')];
  for (const tab of tabs) {
    tab.addEventListener('click', () => selectTab(tab));
    tab.addEventListener('keydown', (ev) => {
      const step = {ArrowRight: 1, ArrowLeft: -1}[ev.key];
      if (!step) return;
      const shown = tabs.filter((t) => !t.hidden);
      const next = shown[(shown.indexOf(tab) + step + shown.length) % shown.length];
      selectTab(next);
      next.focus();
    });
  }
  const wanted = location.hash.length > 1 && $(`tab-${location.hash.slice(1)}`);
  if (wanted) selectTab(wanted);
  $('users-rows').addEventListener('click', userAction);
  $('embed-rows').addEventListener('click', embedAction);
  $('screen-rows').addEventListener('click', screenAction);
  $('user-form').addEventListener('submit', addUser);
  $('embed-key-form').addEventListener('submit', addEmbed);
  $('screen-key-form').addEventListener('submit', addScreen);
  window.djmap.setupLogin(start);
  start();
})();
