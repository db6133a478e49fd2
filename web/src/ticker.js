// The leader page's live ticker: check-ins as they happen, as counts per activity (the events
// `checkin.created` reach leaders whose scope includes the organiser, and leaders over an
// organisation the activity invites when the count is a multiple of 10; never a member's name).
// A count under 10 shows as "fewer than 10" (geo/privacy: no member figure under 10 on a page).

const KEEP = 8;
const K = 10;

/** An activity's check-in count as the ticker shows it: from 10 only. */
export function tickerCount(n, t) {
  return n >= K ? String(n) : t.act_fewer_than.replace('{n}', K);
}

/** Show check-in counts per activity in `box` as `checkin.created` events arrive. */
export function setupTicker(on, box, onPick) {
  if (!box) return;
  const rows = new Map(); // activity id → {id, title, count, at}
  function render() {
    const {t, esc} = window.djmap;
    const list = [...rows.values()].sort((a, b) => b.at - a.at).slice(0, KEEP);
    const ol = box.querySelector('ol');
    box.querySelector('.empty').hidden = list.length > 0;
    ol.innerHTML = list.map((r) => `<li data-activity="${esc(r.id)}" class="${r.fresh ? 'fresh' : ''}">
      <button type="button" class="link" data-open-activity="${esc(r.id)}">${esc(r.title)}</button>
      <b class="n">${esc(tickerCount(r.count, t))}</b><span class="unit">${esc(t.ticker_n)}</span></li>`).join('');
    for (const r of list) r.fresh = false;
  }
  on('checkin.created', (ev) => {
    const d = ev.data || {};
    if (d.activity_id == null) return;
    const id = String(d.activity_id);
    const row = rows.get(id) || {id, title: d.title || `#${id}`, count: 0};
    row.count = d.count != null ? d.count : row.count + 1;
    row.title = d.title || row.title;
    row.at = Date.now();
    row.fresh = true;
    rows.set(id, row);
    render();
  });
  box.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-open-activity]');
    if (btn && onPick) onPick(btn.dataset.openActivity);
  });
}
