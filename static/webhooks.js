// The Webhooks section of the jobs page: my endpoints (add, edit, enable, delete), the signing
// secret shown once (at creation and after a rotation) with a copy button, a test event, and
// each endpoint's delivery log with a Redeliver button per message.

import { api, busy, formatDate, humanize } from './api.js';

const $ = (id) => document.getElementById(id);

const EVENT_LABELS = {
  'candidate.invited': 'Candidate invited',
  'interview.started': 'Interview started',
  'interview.completed': 'Interview completed',
  'invite.expired': 'Invite expired',
  ping: 'Test',
};

const ui = {
  section: $('webhooks'),
  status: $('webhooks-status'),
  error: $('webhooks-error'),
  empty: $('webhooks-empty'),
  list: $('webhooks-list'),
  secret: {
    box: $('webhook-secret'),
    title: $('webhook-secret-title'),
    value: $('webhook-secret-value'),
    copy: $('webhook-secret-copy'),
    status: $('webhook-secret-status'),
    close: $('webhook-secret-close'),
  },
  form: {
    form: $('webhook-form'),
    title: $('webhook-form-title'),
    url: $('webhook-url'),
    description: $('webhook-description'),
    events: $('webhook-events'),
    enabled: $('webhook-enabled'),
    error: $('webhook-form-error'),
    submit: $('webhook-submit'),
    cancel: $('webhook-cancel'),
  },
};

/** The endpoint being edited (null: the form adds one). */
let editing = null;
let endpoints = [];

/** Loads and draws the section; called once the jobs list is shown. */
export async function showWebhooks() {
  if (!ui.section) return;
  ui.form.form.addEventListener('submit', onSubmit);
  ui.form.cancel.addEventListener('click', () => resetForm({ focus: true }));
  ui.secret.copy.addEventListener('click', onCopySecret);
  ui.secret.close.addEventListener('click', hideSecret);
  await load();
}

async function load() {
  try {
    endpoints = (await api('/webhooks')) ?? [];
    ui.error.textContent = '';
  } catch (error) {
    ui.error.textContent = `Could not load your webhooks. ${humanize(error.message)}`;
    return;
  }
  render();
}

function render() {
  ui.list.replaceChildren(...endpoints.map(endpointItem));
  ui.empty.hidden = endpoints.length > 0;
  ui.status.textContent = endpoints.length === 0 ? '' : `${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'}`;
}

function button(label, onClick, { kind = 'secondary', aria } = {}) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `button button--${kind} button--small`;
  b.textContent = label;
  if (aria) b.setAttribute('aria-label', aria);
  b.addEventListener('click', onClick);
  return b;
}

function endpointItem(endpoint) {
  const item = document.createElement('li');
  item.className = 'webhook-item';
  item.dataset.endpointId = endpoint.id;
  const url = document.createElement('p');
  url.className = 'webhook-item__url';
  url.textContent = endpoint.url;
  const meta = document.createElement('p');
  meta.className = 'job-item__meta';
  const badge = document.createElement('span');
  badge.className = `badge badge--job-${endpoint.enabled ? 'open' : 'closed'}`;
  badge.textContent = endpoint.enabled ? 'Enabled' : 'Disabled';
  const events = endpoint.events.map((e) => EVENT_LABELS[e] ?? e).join(', ');
  meta.append(badge, ` ${events}`);
  if (endpoint.description) meta.append(` · ${endpoint.description}`);
  if (endpoint.previous_secret_expires_at) {
    meta.append(` · the previous secret also signs until ${formatDate(endpoint.previous_secret_expires_at)}`);
  }
  const status = document.createElement('p');
  status.className = 'field__hint';
  status.setAttribute('role', 'status');
  const log = document.createElement('div');
  log.className = 'table-frame';
  log.hidden = true;
  const name = endpoint.description || endpoint.url;
  const actions = document.createElement('div');
  actions.className = 'actions';
  const deliveries = button('Deliveries', () => toggleLog(endpoint, log, deliveries), { aria: `Deliveries to ${name}` });
  deliveries.setAttribute('aria-expanded', 'false');
  actions.append(
    button('Send test', (event) => onTest(endpoint, event.currentTarget, status, log), { aria: `Send a test event to ${name}` }),
    deliveries,
    button('Edit', () => startEdit(endpoint), { aria: `Edit ${name}` }),
    button(endpoint.enabled ? 'Disable' : 'Enable', (event) => onToggle(endpoint, event.currentTarget), {
      aria: `${endpoint.enabled ? 'Disable' : 'Enable'} ${name}`,
    }),
    button('Rotate secret', (event) => onRotate(endpoint, event.currentTarget), { aria: `Rotate the secret of ${name}` }),
    button('Delete', (event) => onDelete(endpoint, event.currentTarget), { kind: 'quiet', aria: `Delete ${name}` }),
  );
  item.append(url, meta, actions, status, log);
  return item;
}

// ---- The form (add or edit) ----

function readForm() {
  const f = ui.form;
  return {
    url: f.url.value.trim(),
    description: f.description.value.trim(),
    events: [...f.events.querySelectorAll('input[name="events"]:checked')].map((box) => box.value),
    enabled: f.enabled.checked,
  };
}

function startEdit(endpoint) {
  editing = endpoint;
  const f = ui.form;
  f.title.textContent = 'Edit endpoint';
  f.submit.textContent = 'Save endpoint';
  f.cancel.hidden = false;
  f.url.value = endpoint.url;
  f.description.value = endpoint.description;
  for (const box of f.events.querySelectorAll('input[name="events"]')) box.checked = endpoint.events.includes(box.value);
  f.enabled.checked = endpoint.enabled;
  f.error.textContent = '';
  f.url.focus();
}

function resetForm({ focus = false } = {}) {
  editing = null;
  const f = ui.form;
  f.form.reset();
  f.title.textContent = 'Add an endpoint';
  f.submit.textContent = 'Add endpoint';
  f.cancel.hidden = true;
  f.error.textContent = '';
  if (focus) f.url.focus();
}

async function onSubmit(event) {
  event.preventDefault();
  const f = ui.form;
  const body = readForm();
  if (!body.url) {
    f.error.textContent = 'Enter the URL viva should send events to.';
    f.url.focus();
    return;
  }
  if (body.events.length === 0) {
    f.error.textContent = 'Choose at least one event.';
    return;
  }
  f.error.textContent = '';
  await busy(f.submit, editing ? 'Saving…' : 'Adding…', async () => {
    try {
      if (editing) {
        await api(`/webhooks/${encodeURIComponent(editing.id)}`, { method: 'PATCH', body });
        resetForm();
      } else {
        const created = await api('/webhooks', { method: 'POST', body });
        resetForm();
        showSecret(created.secret, 'Signing secret');
      }
      await load();
    } catch (error) {
      f.error.textContent = humanize(error.message, { url: 'The URL', events: 'Events', description: 'The description' });
    }
  });
}

// ---- Actions on one endpoint ----

async function onToggle(endpoint, control) {
  await busy(control, 'Saving…', async () => {
    try {
      await api(`/webhooks/${encodeURIComponent(endpoint.id)}`, { method: 'PATCH', body: { enabled: !endpoint.enabled } });
      await load();
    } catch (error) {
      ui.error.textContent = humanize(error.message);
    }
  });
}

async function onDelete(endpoint, control) {
  if (!window.confirm(`Delete the endpoint ${endpoint.url}? Its delivery log goes with it.`)) return;
  await busy(control, 'Deleting…', async () => {
    try {
      await api(`/webhooks/${encodeURIComponent(endpoint.id)}`, { method: 'DELETE' });
      if (editing?.id === endpoint.id) resetForm();
      await load();
    } catch (error) {
      ui.error.textContent = humanize(error.message);
    }
  });
}

async function onRotate(endpoint, control) {
  await busy(control, 'Rotating…', async () => {
    try {
      const rotated = await api(`/webhooks/${encodeURIComponent(endpoint.id)}/rotate-secret`, { method: 'POST' });
      showSecret(rotated.secret, `New secret (the old one also signs until ${formatDate(rotated.previous_secret_expires_at)})`);
      await load();
    } catch (error) {
      ui.error.textContent = humanize(error.message);
    }
  });
}

async function onTest(endpoint, control, status, log) {
  await busy(control, 'Sending…', async () => {
    try {
      await api(`/webhooks/${encodeURIComponent(endpoint.id)}/test`, { method: 'POST' });
      status.textContent = 'Test event queued: it shows in the deliveries once sent.';
      if (!log.hidden) await loadLog(endpoint, log);
    } catch (error) {
      status.textContent = humanize(error.message);
    }
  });
}

// ---- The delivery log ----

async function toggleLog(endpoint, log, control) {
  if (!log.hidden) {
    log.hidden = true;
    control.setAttribute('aria-expanded', 'false');
    return;
  }
  log.hidden = false;
  control.setAttribute('aria-expanded', 'true');
  await loadLog(endpoint, log);
}

async function loadLog(endpoint, log) {
  let deliveries;
  try {
    deliveries = (await api(`/webhooks/${encodeURIComponent(endpoint.id)}/deliveries`)) ?? [];
  } catch (error) {
    log.replaceChildren(paragraph(`Could not load the deliveries. ${humanize(error.message)}`, 'form-error'));
    return;
  }
  const refresh = button('Refresh', () => loadLog(endpoint, log));
  if (deliveries.length === 0) {
    log.replaceChildren(paragraph('Nothing sent yet.', 'empty'), refresh);
    return;
  }
  const table = document.createElement('table');
  table.className = 'candidates-table deliveries';
  const head = table.createTHead().insertRow();
  for (const title of ['Event', 'Status', 'Attempts', 'Last attempt', '']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = title;
    head.append(th);
  }
  const body = table.createTBody();
  for (const delivery of deliveries) body.append(deliveryRow(endpoint, delivery, log));
  log.replaceChildren(table, refresh);
}

function attemptText(attempt) {
  const outcome = attempt.status_code != null ? `HTTP ${attempt.status_code}` : attempt.error ?? 'no answer';
  return `#${attempt.attempt}: ${outcome}, ${attempt.duration_ms} ms, ${formatDate(attempt.at)}`;
}

function deliveryRow(endpoint, delivery, log) {
  const row = document.createElement('tr');
  row.dataset.deliveryId = delivery.id;
  row.dataset.status = delivery.status;
  row.insertCell().textContent = EVENT_LABELS[delivery.event] ?? delivery.event;
  const status = row.insertCell();
  status.textContent = delivery.status === 'pending' && delivery.next_attempt_at
    ? `pending (next try ${formatDate(delivery.next_attempt_at)})`
    : delivery.status;
  const attempts = row.insertCell();
  const list = document.createElement('ul');
  list.className = 'deliveries__attempts';
  for (const attempt of delivery.attempts) {
    const li = document.createElement('li');
    li.textContent = attemptText(attempt);
    list.append(li);
  }
  attempts.append(list);
  const last = delivery.attempts[delivery.attempts.length - 1];
  row.insertCell().textContent = last ? formatDate(last.at) : '—';
  const actions = row.insertCell();
  actions.append(button('Redeliver', async (event) => {
    await busy(event.currentTarget, 'Queuing…', async () => {
      try {
        await api(`/webhooks/${encodeURIComponent(endpoint.id)}/deliveries/${encodeURIComponent(delivery.id)}/redeliver`, { method: 'POST' });
        await loadLog(endpoint, log);
      } catch (error) {
        ui.error.textContent = humanize(error.message);
      }
    });
  }, { aria: `Redeliver this ${EVENT_LABELS[delivery.event] ?? delivery.event} event` }));
  return row;
}

function paragraph(text, className) {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}

// ---- The secret, shown once ----

function showSecret(secret, title) {
  const s = ui.secret;
  s.title.textContent = title;
  s.value.value = secret;
  s.status.textContent = '';
  s.box.hidden = false;
  s.box.scrollIntoView?.({ block: 'nearest' });
  s.value.focus();
  s.value.select();
}

function hideSecret() {
  const s = ui.secret;
  s.box.hidden = true;
  // Once dismissed, the secret is gone from the page too.
  s.value.value = '';
  s.status.textContent = '';
  ui.form.url.focus();
}

async function onCopySecret() {
  const s = ui.secret;
  try {
    await navigator.clipboard.writeText(s.value.value);
    s.status.textContent = 'Copied to the clipboard.';
    return;
  } catch {
    // no clipboard access (an http:// page, or permission refused): select it instead
  }
  s.value.focus();
  s.value.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  s.status.textContent = copied ? 'Copied to the clipboard.' : 'The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.';
}
