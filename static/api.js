// The JSON API under /api/v1, shared by the pages. Every failure the server answers has the body
// `{"error": {"code", "message"}}`; callers get it as an ApiError.

export const API = '/api/v1';

/** A failed API call: the server's `{"error": {"code", "message"}}`, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls `API + path`; resolves to the JSON body (null for 204), rejects with an ApiError.
 * `headers` are added to the request's (an invite's `X-Interview-Token`).
 */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check that viva is running and try again.');
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.ok) return data;

  let message = data?.error?.message || `Request failed (${res.status}).`;
  const retryAfter = res.headers.get('Retry-After');
  if (res.status === 429 && retryAfter && !message.includes(retryAfter)) {
    message = `${message.replace(/[.!?]?$/, '.')} Try again in ${retryAfter} seconds.`;
  }
  throw new ApiError(res.status, data?.error?.code ?? 'request_failed', message);
}

/**
 * A server message as a sentence: "password: must be …" → "Password must be …." when `labels`
 * names the field, otherwise the message with a capital and a full stop.
 */
export function humanize(message, labels = {}) {
  const match = /^([a-z_]+): (.*)$/s.exec(message);
  const text = match && labels[match[1]] ? `${labels[match[1]]} ${match[2]}` : message;
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** The field name a server message starts with ("skills: …" → "skills"), if any. */
export function fieldNamed(message) {
  const match = /^([a-z_]+): /.exec(message);
  return match ? match[1] : undefined;
}

/** Runs `work` with `button` disabled and labelled as busy; re-enables it afterwards. */
export async function busy(button, label, work) {
  const idle = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = idle;
  }
}

/** Words for an interview's status. */
export const STATUS_LABELS = {
  pending: 'Not started',
  in_progress: 'In progress',
  completed: 'Completed',
  abandoned: 'Abandoned',
  expired: 'Expired',
};

/** True when no live session can run any more. */
export const isClosedStatus = (status) => ['completed', 'abandoned', 'expired'].includes(status);

/** "2024-05-01T09:30:00Z" → a short local date and time. */
export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso ?? '';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const capitalize = (word) => (word ? word.charAt(0).toUpperCase() + word.slice(1) : '');
