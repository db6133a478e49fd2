// The event stream (GET /api/events, text/event-stream) read with fetch, not EventSource: the
// pages authenticate with a bearer token, which EventSource cannot send. Like EventSource it
// reconnects by itself and resumes with Last-Event-ID; it also notices a silent connection
// (no heartbeat for WATCHDOG_MS) and replaces it.

const WATCHDOG_MS = 40000; // the server sends a heartbeat comment every 15 s
const BACKOFF_MS = [500, 1000, 2000, 5000, 10000, 15000];

/** Split a text/event-stream body into events ({id, event, data}); `push` takes each chunk. */
export function parser(onEvent, onActivity) {
  let buffer = '';
  let ev = {id: null, event: 'message', data: []};
  function line(text) {
    if (text === '') {
      if (ev.data.length || ev.event !== 'message') onEvent({id: ev.id, event: ev.event, data: ev.data.join('\n')});
      ev = {id: null, event: 'message', data: []};
      return;
    }
    if (text.startsWith(':')) return; // a comment: a heartbeat
    const at = text.indexOf(':');
    const name = at < 0 ? text : text.slice(0, at);
    let value = at < 0 ? '' : text.slice(at + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') ev.data.push(value);
    else if (name === 'id' && !value.includes('\0')) ev.id = value;
    else if (name === 'event') ev.event = value;
  }
  return (chunk) => {
    onActivity();
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const l of lines) line(l);
  };
}

/**
 * Subscribe to the stream from event `since` (the newest event when the page was made).
 * opts: {url, since, headers(): object, onEvent(cloudEvent), onReset(), onState(state)}
 * States: 'connecting', 'open', 'down' (waiting to reconnect), 'closed'.
 * Returns {close(), lastId()}.
 */
export function subscribe(opts) {
  let lastId = opts.since == null ? null : Number(opts.since);
  let closed = false;
  let failures = 0;
  let ctrl = null;
  let watchdog = null;
  const state = (s) => opts.onState && opts.onState(s);

  function kick() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => ctrl && ctrl.abort(), WATCHDOG_MS);
  }

  function deliver(raw) {
    if (raw.event === 'reset') { // our queue overflowed on the server: catch up from the table
      opts.onReset && opts.onReset();
      return;
    }
    const id = raw.id == null ? null : Number(raw.id);
    if (id != null && lastId != null && id <= lastId) return; // already seen (a resume overlaps)
    if (id != null) lastId = id;
    let body;
    try { body = JSON.parse(raw.data); } catch (err) { return; }
    if (body && body.type) opts.onEvent(body);
  }

  async function once() {
    ctrl = new AbortController();
    const headers = {Accept: 'text/event-stream', ...(opts.headers ? opts.headers() : {})};
    let url = opts.url;
    if (lastId != null) {
      headers['Last-Event-ID'] = String(lastId);
      url += `${url.includes('?') ? '&' : '?'}since=${lastId}`;
    }
    state('connecting');
    kick();
    const res = await fetch(url, {headers, signal: ctrl.signal, cache: 'no-store'});
    if (res.status === 401 && opts.onUnauthorized) opts.onUnauthorized();
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    failures = 0;
    state('open');
    const push = parser(deliver, kick);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      push(decoder.decode(value, {stream: true}));
    }
  }

  (async () => {
    while (!closed) {
      try { await once(); } catch (err) { /* reconnect below */ }
      clearTimeout(watchdog);
      if (closed) break;
      state('down');
      const wait = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
      failures += 1;
      await new Promise((r) => setTimeout(r, wait));
    }
    state('closed');
  })();

  return {
    close() { closed = true; clearTimeout(watchdog); if (ctrl) ctrl.abort(); },
    lastId: () => lastId,
  };
}
