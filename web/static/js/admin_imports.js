// The imports tab of /admin (issue 11 §5), for admins and data stewards: choose a kind and a file →
// POST /api/imports/preview (header, first rows, automatic column matching) → adjust the mapping →
// POST /api/imports with dry_run=true (every check, nothing written) → the row-numbered report as a
// table and a CSV → confirm (the same POST without dry_run) or cancel.
(function () {
  'use strict';
  const {cfg, esc, authHeaders} = window.djmap;
  const a = cfg.a;
  const reasons = cfg.reasons || {};
  const $ = (id) => document.getElementById(id);
  const SUFFIXES = ['.csv', '.txt', '.tsv', '.xlsx', '.xlsm', '.geojson', '.json', '.gpkg', '.zip'];
  const SHOWN = 200;  // report lines drawn in the table (the CSV has them all)
  const state = {file: null, kind: null, preview: null, report: null, reportShown: null, busy: false};
  // {name} placeholders filled as plain text (for textContent; djmap.fill escapes for HTML)
  const fmt = (tpl, props) => tpl.replace(/\{(\w+)\}/g, (_, k) => (props[k] == null ? '' : String(props[k])));

  // ---- requests: XHR for the upload progress; errors carry status and the Problem body -------
  function post(url, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
      xhr.upload.addEventListener('progress', (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); });
      xhr.upload.addEventListener('load', () => onProgress(1));
      xhr.addEventListener('load', () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300) return resolve({status: xhr.status, body});
        const err = new Error((body && typeof body.description === 'string' && body.description) || `HTTP ${xhr.status}`);
        err.status = xhr.status;
        err.body = body;
        return reject(err);
      });
      xhr.addEventListener('error', () => { const err = new Error(a.err_network); err.status = 0; reject(err); });
      xhr.send(form);
    });
  }

  // ---- busy indicator, notices -----------------------------------------------------------
  function busy(text, fraction) {
    state.busy = text != null;
    $('imp-busy').hidden = !state.busy;
    $('panel-imports').setAttribute('aria-busy', String(state.busy));
    for (const b of document.querySelectorAll('#panel-imports button')) b.disabled = state.busy;
    if (!state.busy) return refreshConfirm();
    $('imp-busy-text').textContent = text;
    const bar = $('imp-progress');
    if (fraction == null) bar.removeAttribute('value');
    else bar.value = Math.round(fraction * 100);
  }

  function uploading(next) {
    return (f) => busy(f < 1 ? fmt(a.imp_uploading, {pct: Math.round(f * 100)}) : next, f < 1 ? f : null);
  }

  function notice(text, bad, detail) {
    const box = $('imp-notice');
    box.hidden = !text;
    box.classList.toggle('bad', !!bad);
    box.textContent = text || '';
    if (detail && detail !== text) {
      const small = document.createElement('small');
      small.className = 'detail';
      small.textContent = detail;
      box.append(document.createElement('br'), small);
    }
  }

  // A refusal in the page language, with the server's own sentence as the detail.
  function explain(err, unreadable) {
    const body = err.body || {};
    const detail = typeof body.description === 'string' ? body.description : '';
    const code = typeof body.code === 'string' ? body.code : '';
    let text;
    if (err.status === 0) text = a.err_network;
    else if (err.status === 413) text = fmt(a.err_too_large, {mb: cfg.max_upload_mb});
    else if (err.status === 401) text = a.need_login;
    else if (err.status === 403) text = a.err_forbidden;
    else if (code === 'content_mismatch') text = a.err_content;
    else if (err.status === 400 && /unsupported file type/.test(detail)) text = a.err_type;
    else if (err.status === 400) text = a.err_bad_request;
    else if (err.status === 422) text = unreadable ? a.err_unreadable : a.err_rejected;
    else if (err.status === 503) text = a.err_busy;
    else text = fmt(a.err_generic, {status: err.status});
    notice(text, true, detail);
  }

  // ---- step 1: upload and preview ----------------------------------------------------------
  function show(step) {
    $('imp-preview').hidden = step !== 'preview' && step !== 'report';
    $('imp-report').hidden = step !== 'report';
  }

  function reset(message) {
    Object.assign(state, {file: null, preview: null, report: null, reportShown: null});
    const kind = $('imp-kind').value;  // the kind stays chosen; the file goes
    $('imp-form').reset();
    $('imp-kind').value = kind;
    show(null);
    notice(message || '', false);
  }

  async function upload(ev) {
    ev.preventDefault();
    const file = $('imp-file').files[0];
    show(null);
    if (!file) return notice(a.err_no_file, true);
    if (!SUFFIXES.some((s) => file.name.toLowerCase().endsWith(s))) return notice(a.err_type, true);
    if (file.size > cfg.max_upload_mb * 1024 * 1024) return notice(fmt(a.err_too_large, {mb: cfg.max_upload_mb}), true);
    notice('');
    const form = new FormData();
    form.append('kind', $('imp-kind').value);
    form.append('file', file, file.name);
    busy(fmt(a.imp_uploading, {pct: 0}), 0);
    try {
      const {body} = await post('/api/imports/preview', form, uploading(a.imp_reading));
      Object.assign(state, {file, kind: $('imp-kind').value, preview: body, report: null});
      drawPreview(body);
      show('preview');
    } catch (err) {
      if (err.status === 422 && err.body && err.body.report) {
        state.report = null;
        drawReport(err.body.report, file.name);
        $('imp-preview').hidden = true;
        $('imp-report').hidden = false;
      }
      explain(err, true);
    } finally {
      busy(null);
    }
  }

  function drawPreview(p) {
    const kindName = $('imp-kind').selectedOptions[0].textContent;
    const summary = fmt(a.imp_summary, {name: state.file.name, format: p.format.toUpperCase(), rows: p.rows_total, cols: p.columns.length});
    $('imp-summary').textContent = `${kindName} · ${summary}${p.geometry ? ` ${a.imp_geometry}` : ''}`;
    $('imp-head').innerHTML = p.columns.map((c, i) => `<th scope="col" data-col="${i}">${esc(c)}<small class="maps"></small></th>`).join('');
    $('imp-rows').innerHTML = p.rows.length
      ? p.rows.map((r) => `<tr>${r.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`).join('')
      : `<tr><td colspan="${Math.max(p.columns.length, 1)}" class="muted">${esc(a.none)}</td></tr>`;
    const label = (f) => (cfg.lang === 'en' ? f.label_en : f.label_zh);
    $('imp-map').innerHTML = p.fields.map((f) => {
      const opts = [`<option value="">${esc(a.imp_none)}</option>`]
        .concat(p.columns.map((c) => `<option value="${esc(c)}"${c === f.matched ? ' selected' : ''}>${esc(c)}</option>`));
      const star = f.required ? ' <span class="req" aria-hidden="true">*</span>' : '';
      const name = `${label(f)} (${f.name})${f.required ? ` · ${a.imp_required}` : ''}`;
      return `<label class="${f.required ? 'required' : ''}"><span class="lbl">${esc(label(f))}${star} <code>${esc(f.name)}</code></span>
        <select data-target="${esc(f.name)}" aria-label="${esc(name)}">${opts.join('')}</select></label>`;
    }).join('');
    $('imp-skip').checked = false;
    mappingChanged(false);
  }

  // The header cells say which field each column feeds; required fields left unmatched are named.
  function mappingChanged(stale) {
    const p = state.preview;
    const label = (f) => (cfg.lang === 'en' ? f.label_en : f.label_zh);
    const byColumn = new Map();
    const missing = [];
    for (const sel of $('imp-map').querySelectorAll('select')) {
      const f = p.fields.find((x) => x.name === sel.dataset.target);
      sel.closest('label').classList.toggle('unset', !sel.value && f.required);
      if (sel.value) byColumn.set(sel.value, [...(byColumn.get(sel.value) || []), label(f)]);
      else if (f.required) missing.push(label(f));
    }
    for (const th of $('imp-head').querySelectorAll('th')) {
      const names = byColumn.get(p.columns[Number(th.dataset.col)]);
      th.querySelector('.maps').textContent = names ? fmt(a.imp_maps_to, {field: names.join(', ')}) : '';
      th.classList.toggle('unused', !names);
    }
    $('imp-unmapped').hidden = !missing.length;
    $('imp-unmapped').textContent = missing.length ? fmt(a.imp_unmapped, {fields: missing.join('、')}) : '';
    if (stale && state.report) {
      state.report = null;
      $('imp-report').hidden = true;
      notice(a.imp_stale, false);
    }
  }

  // ---- step 2: check (dry run), step 3: confirm ---------------------------------------------
  function importForm(dryRun) {
    const form = new FormData();
    form.append('kind', state.kind);
    for (const sel of $('imp-map').querySelectorAll('select')) form.append('map', `${sel.dataset.target}=${sel.value}`);
    if ($('imp-skip').checked) form.append('skip_invalid', 'true');
    if (dryRun) form.append('dry_run', 'true');
    form.append('file', state.file, state.file.name);
    return form;
  }

  async function validate() {
    notice('');
    busy(fmt(a.imp_uploading, {pct: 0}), 0);
    try {
      const {body} = await post('/api/imports', importForm(true), uploading(a.imp_checking));
      state.report = body;
      drawReport(body, state.file.name);
      show('report');
      $('imp-verdict').scrollIntoView({block: 'nearest'});
    } catch (err) {
      explain(err);
    } finally {
      busy(null);
    }
  }

  async function confirmImport() {
    if (!state.report || state.report.status !== 'checked') return;
    notice('');
    busy(fmt(a.imp_uploading, {pct: 0}), 0);
    try {
      const {body} = await post('/api/imports', importForm(false), uploading(a.imp_writing));
      const counts = {name: body.source};
      for (const k of ['rows_written', 'rows_inserted', 'rows_updated', 'rows_unchanged', 'rows_skipped']) counts[k.slice(5)] = body[k] || 0;
      reset();
      notice(fmt(a.imp_written, counts), false);
    } catch (err) {
      if (err.status === 422 && err.body && err.body.report) {
        state.report = null;
        drawReport(err.body.report, state.file.name);
      }
      explain(err);
    } finally {
      busy(null);
    }
  }

  function refreshConfirm() {
    $('imp-confirm').disabled = state.busy || !state.report || state.report.status !== 'checked';
  }

  // ---- the report ------------------------------------------------------------------------
  function items(report) {
    const level = (list, kind) => (list || []).map((x) => ({...x, level: kind}));
    return level(report.errors, 'error').concat(level(report.warnings, 'warning'));
  }

  function words(item) {
    if (cfg.lang === 'en' || !reasons[item.code]) return item.message;
    return item.value != null && item.value !== '' ? `${reasons[item.code]}（${a.col_value}：${item.value}）` : reasons[item.code];
  }

  function verdict(report) {
    if (report.status === 'checked') return [fmt(a.imp_ok, {valid: report.rows_valid || 0, skipped: report.rows_skipped || 0}), false];
    if (report.rows_total) return [fmt(a.imp_bad, {bad: report.rows_bad || 0}), true];
    return [a.imp_file_bad, true];
  }

  function drawReport(report, name) {
    state.reportShown = {report, name};
    const [text, bad] = verdict(report);
    $('imp-verdict').textContent = text;
    $('imp-verdict').classList.toggle('bad', bad);
    const list = items(report);
    $('imp-issues').innerHTML = list.length
      ? list.slice(0, SHOWN).map((x) => {
        const detail = x.row == null && words(x) !== x.message ? `<br><small class="detail">${esc(x.message)}</small>` : '';
        return `<tr class="lv-${x.level}" data-row="${x.row == null ? '' : x.row}" data-code="${esc(x.code)}">
          <td>${x.row == null ? esc(a.row_file) : esc(x.row)}</td><td>${esc(x.column || '—')}</td>
          <td>${esc(x.level === 'error' ? a.level_error : a.level_warning)}</td><td><code>${esc(x.code)}</code></td>
          <td>${esc(words(x))}${detail}</td></tr>`;
      }).join('')
      : `<tr><td colspan="5" class="muted">${esc(a.imp_no_issues)}</td></tr>`;
    $('imp-more').hidden = list.length <= SHOWN;
    $('imp-more').textContent = fmt(a.imp_more, {n: list.length - SHOWN});
    refreshConfirm();
  }

  // A spreadsheet never runs a cell as a formula (=, +, @, or - not starting a number).
  const csvCell = (v) => {
    let s = v == null ? '' : String(v);
    if (/^[=+@\t\r]|^-(?![\d.])/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };

  function download() {
    const shown = state.reportShown;
    if (!shown) return;
    const head = [a.col_level, a.col_row, a.col_line, a.col_column, a.col_code, a.col_message, a.col_value, a.col_detail];
    const lines = [head.map(csvCell).join(',')];
    for (const x of items(shown.report)) {
      const row = [x.level === 'error' ? a.level_error : a.level_warning, x.row == null ? a.row_file : x.row, x.line,
        x.column, x.code, words(x), x.value, x.message];
      lines.push(row.map(csvCell).join(','));
    }
    const blob = new Blob(['\ufeff' + lines.join('\r\n') + '\r\n'], {type: 'text/csv;charset=utf-8'});
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${shown.name.replace(/\.[^.]+$/, '')}-report.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  }

  // ---- who may import what -------------------------------------------------------------------
  function start(me) {
    const bound = me.role === 'steward' && me.org_id != null;
    for (const opt of $('imp-kind').options) {
      const off = bound && opt.dataset.scoped !== 'yes';
      opt.disabled = off;
      opt.textContent = opt.textContent.replace(` ${a.imp_not_scope}`, '') + (off ? ` ${a.imp_not_scope}` : '');
    }
    reset();
    const kind = $('imp-kind');
    if (kind.selectedOptions[0].disabled) kind.value = [...kind.options].find((o) => !o.disabled).value;
  }

  $('imp-form').addEventListener('submit', upload);
  $('imp-kind').addEventListener('change', () => show(null));
  $('imp-file').addEventListener('change', () => { show(null); notice(''); });
  $('imp-map').addEventListener('change', () => mappingChanged(true));
  $('imp-skip').addEventListener('change', () => mappingChanged(true));
  $('imp-validate').addEventListener('click', validate);
  $('imp-confirm').addEventListener('click', confirmImport);
  $('imp-download').addEventListener('click', download);
  for (const b of document.querySelectorAll('[data-imp=cancel]')) b.addEventListener('click', () => reset(a.imp_cancelled));
  window.djmapImports = {start};
})();
