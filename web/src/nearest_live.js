// The member finder (/nearest) live: activities published while the page is open appear in a
// "just published" list with their 报名 button, and the nearest list is asked again (no reload).
import {loadMine, registerButton} from './register.js';

const SHOWN = 5;

function item(a) {
  const {t, esc, term, fmtTime} = window.djmap;
  const cancelled = a.status === 'cancelled';
  const meta = [term(a.kind), fmtTime(a.starts_at), cancelled ? `${t.act_cancelled}${a.cancel_reason ? `：${a.cancel_reason}` : ''}` : null]
    .filter(Boolean).map((m) => `<span>${esc(m)}</span>`).join('');
  return `<li data-activity="${esc(a.id)}" class="${cancelled ? 'cancelled' : ''}">
    <div><div class="title">${esc(a.title)}</div><div class="meta">${meta}</div></div>
    <div class="acts">${registerButton(a.id, a.status)}</div></li>`;
}

/** Follow activity events on the nearest page; `nearest` is {state, search(fit)} of nearest.js. */
export function followNearest(on, nearest) {
  const box = document.getElementById('live-acts');
  let acts = []; // the events' activities, newest first
  function render() {
    if (!box) return;
    box.hidden = acts.length === 0;
    box.querySelector('ol').innerHTML = acts.slice(0, SHOWN).map(item).join('');
  }
  function changed(ev) {
    const a = ev.data || {};
    if (a.id == null) return;
    const id = String(a.id);
    // New and cancelled activities are news; an update only changes one already shown.
    if (ev.type !== 'activity.updated') acts = [a, ...acts.filter((x) => String(x.id) !== id)];
    else acts = acts.map((x) => (String(x.id) === id ? a : x));
    render();
    const shown = (nearest.state.results || []).concat(nearest.state.nearActs || []);
    const near = shown.some((r) => String(r.id) === id && r.starts_at);
    if (nearest.state.origin && (ev.type === 'activity.created' || near)) nearest.search(false);
  }
  for (const type of ['activity.created', 'activity.updated', 'activity.cancelled']) on(type, changed);
  on('reset', () => { if (nearest.state.origin) nearest.search(false); });
  loadMine();
}
