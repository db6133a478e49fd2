// Requests that need the answer's headers (ETag, Location) as well as its body.

/** fetch with the caller's token; resolves {status, ok, headers, body} (body: JSON or null). */
export async function send(method, url, {body, type, headers} = {}) {
  const h = {...window.djmap.authHeaders(), ...(headers || {})};
  if (body !== undefined) h['Content-Type'] = type || 'application/json';
  const res = await fetch(url, {method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store'});
  const ctype = res.headers.get('content-type') || '';
  const parsed = ctype.includes('json') ? await res.json().catch(() => null) : null;
  return {status: res.status, ok: res.ok, headers: res.headers, body: parsed};
}

/** The sentences of a Problem answer: its description, then each field error or report row. */
export function problems(body) {
  if (!body) return [];
  const out = [];
  if (body.description) out.push(body.description);
  for (const e of body.errors || []) out.push(`${(e.loc || []).filter((x) => x !== 'body').join('.')}: ${e.msg}`);
  const report = body.report || {};
  for (const p of report.problems || report.errors || []) {
    out.push(typeof p === 'string' ? p : [p.field, p.reason || p.code, p.message || p.detail].filter(Boolean).join(': '));
  }
  return out;
}

/** Beijing wall-clock time (datetime-local value) of an instant. */
export function beijingLocal(when) {
  const d = when instanceof Date ? when : new Date(when);
  return new Date(d.getTime() + 8 * 3600000).toISOString().slice(0, 16);
}

/** A datetime-local value read as Beijing time, as RFC 3339 with its offset. */
export function fromBeijingLocal(value) {
  return value ? `${value.length === 16 ? `${value}:00` : value}+08:00` : null;
}
