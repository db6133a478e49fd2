// The embed snippet builder: key, layers and view in, a copy-paste iframe out, with a live preview.
(function () {
  'use strict';
  const {cfg, t, esc} = window.djmap;
  const $ = (id) => document.getElementById(id);
  const v = cfg.view;
  $('embed-center').value = `${v.lon.toFixed(5)},${v.lat.toFixed(5)}`;
  $('embed-zoom').value = Math.round(v.zoom * 10) / 10;
  $('embed-pitch').value = v.pitch;
  $('embed-bearing').value = v.bearing;
  $('embed-layers').insertAdjacentHTML('beforeend', cfg.layers
    .map((l) => `<label class="check"><input type="checkbox" value="${esc(l.id)}" checked> ${esc(l.title)}</label>`).join(''));

  function url() {
    const layers = [...document.querySelectorAll('#embed-layers input:checked')].map((i) => i.value);
    const q = new URLSearchParams({
      key: $('embed-key').value.trim(), layers: layers.join(','), center: $('embed-center').value.trim(),
      zoom: $('embed-zoom').value, pitch: $('embed-pitch').value, bearing: $('embed-bearing').value,
      lang: cfg.lang,
    });
    return `${location.origin}/embed?${q}`;
  }

  function snippet() {
    $('embed-snippet').value = `<iframe src="${url().replace(/&/g, '&amp;')}" width="100%" height="480" style="border:0" loading="lazy" referrerpolicy="strict-origin-when-cross-origin" allowfullscreen title="${t.app}"></iframe>`;
  }

  const given = new URLSearchParams(location.search).get('key');  // from /admin's key list
  if (given) $('embed-key').value = given;

  $('embed-form').addEventListener('input', snippet);
  $('embed-form').addEventListener('submit', (ev) => { ev.preventDefault(); $('embed-preview').src = url(); });
  $('embed-copy').addEventListener('click', async () => {
    snippet();
    $('embed-snippet').select();
    try { await navigator.clipboard.writeText($('embed-snippet').value); } catch (err) { document.execCommand('copy'); }
    $('embed-copy').textContent = t.embed_copied;
    setTimeout(() => { $('embed-copy').textContent = t.embed_copy; }, 1500);
  });
  snippet();
  window.djmap.setupLogin(() => {});
})();
