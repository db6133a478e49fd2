// Human times for the pages (issue 11): Beijing time in words, opening hours in words with
// whether the place is open now. zh-CN: "12月12日 周六 11:00–13:00"; en: ISO dates.
(function () {
  'use strict';
  const {cfg, t} = window.djmap;
  const TZ = 'Asia/Shanghai';
  const en = cfg.lang === 'en';
  const days = t.weekday_names.split(',');  // Sunday first
  const OSM_DAYS = ['Su', 'Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa'];

  /** Beijing wall clock of an instant: {ymd, md, dow, hm}. */
  function beijing(d) {
    const parts = {};
    for (const p of new Intl.DateTimeFormat('en-CA', {timeZone: TZ, year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', weekday: 'short'}).formatToParts(d)) {
      parts[p.type] = p.value;
    }
    const dow = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday);
    return {ymd: `${parts.year}-${parts.month}-${parts.day}`, month: Number(parts.month), day: Number(parts.day),
      dow, hm: `${parts.hour}:${parts.minute}`, minutes: Number(parts.hour) * 60 + Number(parts.minute)};
  }

  /** "12月12日 周六 11:00–13:00" (en: "Sat 2026-12-12 11:00–13:00"); the end's date when another day. */
  function fmtWhen(startIso, endIso) {
    if (!startIso) return '';
    const a = beijing(new Date(startIso));
    const date = (b) => (en ? `${days[b.dow]} ${b.ymd}` : `${b.month}月${b.day}日 ${days[b.dow]}`);
    if (!endIso) return `${date(a)} ${a.hm}`;
    const b = beijing(new Date(endIso));
    return b.ymd === a.ymd ? `${date(a)} ${a.hm}–${b.hm}` : `${date(a)} ${a.hm} – ${date(b)} ${b.hm}`;
  }

  function dayList(spec) {  // "Mo-Fr,Su" -> [1..5, 0]
    const out = [];
    for (const part of spec.split(',')) {
      const [from, to] = part.split('-').map((d) => OSM_DAYS.indexOf(d));
      if (from < 0 || (to !== undefined && to < 0)) return null;
      for (let i = from; ; i = (i + 1) % 7) { out.push(i); if (to === undefined || i === to) break; }
    }
    return out;
  }

  /** Rules of simple OSM opening_hours ("Mo-Fr 08:30-17:30; Sa 09:00-12:00", "24/7"), or null. */
  function parseHours(text) {
    const rules = [];
    for (const raw of String(text).split(';').map((s) => s.trim()).filter(Boolean)) {
      if (raw === '24/7') { rules.push({days: [0, 1, 2, 3, 4, 5, 6], spans: [[0, 1440]], label: raw}); continue; }
      const m = raw.match(/^((?:Mo|Tu|We|Th|Fr|Sa|Su)(?:[-,](?:Mo|Tu|We|Th|Fr|Sa|Su))*)?\s*(off|closed|[\d:,\s-]+)$/);
      if (!m) return null;
      const ds = m[1] ? dayList(m[1]) : [0, 1, 2, 3, 4, 5, 6];
      if (!ds) return null;
      const spans = /off|closed/.test(m[2]) ? [] : m[2].split(',').map((s) => s.trim().split('-').map((hm) => {
        const [h, mi] = hm.split(':').map(Number);
        return h * 60 + (mi || 0);
      }));
      if (spans.some((s) => s.length !== 2 || s.some(Number.isNaN))) return null;
      rules.push({days: ds, spans, dayText: m[1] || '', timeText: m[2].replace(/-/g, '–').replace(/\s+/g, '')});
    }
    return rules.length ? rules : null;
  }

  function daysText(spec) {
    if (!spec) return t.every_day;
    return spec.split(',').map((part) => {
      const [a, b] = part.split('-').map((d) => days[OSM_DAYS.indexOf(d)]);
      return b ? t.day_to_day.replace('{a}', a).replace('{b}', b) : a;
    }).join(en ? ', ' : '、');
  }

  /** {text, open}: the hours in words and whether open now (null when the text is not understood). */
  function fmtHours(text, now = new Date()) {
    if (!text) return {text: '', open: null};
    const rules = parseHours(text);
    if (!rules) return {text, open: null};
    const bj = beijing(now);
    let open = false;
    for (const r of rules) {  // later rules override earlier ones for their days (OSM)
      if (!r.days.includes(bj.dow)) continue;
      open = r.spans.some(([a, b]) => a <= bj.minutes && bj.minutes < b);
    }
    const words = rules.map((r) => (r.label === '24/7' ? `${t.every_day} 00:00–24:00`
      : `${daysText(r.dayText)} ${r.spans.length ? r.timeText : t.hours_off}`)).join(en ? '; ' : '；');
    return {text: words, open};
  }

  Object.assign(window.djmap, {fmtWhen, fmtHours, beijing});
})();
