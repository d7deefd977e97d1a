// API keys (integrations.html): a recruiter's or admin's keys, made here, shown once, listed by
// prefix, revoked, with the log of the requests made with each.

import { api, busy, formatDate, humanize } from './api.js';

const $ = (id) => document.getElementById(id);

// The scopes a key can hold, in the server's order; the last four are for admins only.
const SCOPES = [
  ['jobs:read', 'Read jobs, their invites and the catalog'],
  ['jobs:write', 'Create and change jobs'],
  ['candidates:read', 'List candidates and their scores, download resumes'],
  ['candidates:write', 'Add candidates, upload resumes, reissue and revoke invites'],
  ['reports:read', 'Read interviews and their reports'],
  ['transcriptions:read', 'Read batch transcriptions'],
  ['transcriptions:write', 'Submit audio for transcription'],
  ['webhooks:read', 'List webhooks and their deliveries'],
  ['webhooks:write', 'Manage webhooks'],
  ['questions:read', 'Read the question bank', 'admin'],
  ['questions:write', 'Change the question bank', 'admin'],
  ['users:read', 'List accounts', 'admin'],
  ['users:write', 'Change accounts', 'admin'],
];

function problem(title, text) {
  $('keys-problem-title').textContent = title;
  $('keys-problem-text').textContent = text;
  $('keys-problem').hidden = false;
}

function cell(content) {
  const td = document.createElement('td');
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  return td;
}

function rowOf(key) {
  const row = document.createElement('tr');
  const prefix = document.createElement('code');
  prefix.textContent = `${key.prefix}…`;
  const actions = document.createElement('span');
  const usage = document.createElement('button');
  usage.type = 'button';
  usage.className = 'button button--secondary';
  usage.textContent = 'Requests';
  usage.setAttribute('aria-label', `Requests made with ${key.name}`);
  usage.addEventListener('click', () => busy(usage, 'Loading…', () => showUsage(key)));
  actions.append(usage);
  if (key.status === 'active') {
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.className = 'button button--danger';
    revoke.textContent = 'Revoke';
    revoke.setAttribute('aria-label', `Revoke ${key.name}`);
    revoke.addEventListener('click', () => {
      if (!window.confirm(`Revoke “${key.name}”? Programs using it stop working at once.`)) return;
      busy(revoke, 'Revoking…', async () => {
        try {
          await api(`/me/api-keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
          $('keys-status').textContent = `Revoked “${key.name}”.`;
          await load();
        } catch (error) {
          $('keys-error').textContent = humanize(error.message);
        }
      });
    });
    actions.append(' ', revoke);
  }
  row.append(
    cell(key.name),
    cell(prefix),
    cell(key.scopes.join(', ')),
    cell(formatDate(key.created_at)),
    cell(key.last_used_at ? formatDate(key.last_used_at) : 'Never'),
    cell(key.expires_at ? formatDate(key.expires_at) : 'Never'),
    cell(key.status),
    cell(actions),
  );
  return row;
}

async function showUsage(key) {
  try {
    const uses = await api(`/me/api-keys/${encodeURIComponent(key.id)}/usage`);
    $('usage-title').textContent = `Requests made with “${key.name}”`;
    $('usage-rows').replaceChildren(...uses.map((use) => {
      const row = document.createElement('tr');
      row.append(cell(formatDate(use.at)), cell(`${use.method} ${use.route}`), cell(String(use.status)));
      return row;
    }));
    $('usage-empty').hidden = uses.length > 0;
    $('usage').hidden = false;
    $('usage-title').focus();
  } catch (error) {
    $('keys-error').textContent = humanize(error.message);
  }
}

async function load() {
  $('keys-error').textContent = '';
  try {
    const keys = await api('/me/api-keys');
    $('keys-rows').replaceChildren(...keys.map(rowOf));
    $('keys-table').hidden = keys.length === 0;
    $('keys-empty').hidden = keys.length > 0;
  } catch (error) {
    $('keys-error').textContent = humanize(error.message);
  }
}

async function onCreate(event) {
  event.preventDefault();
  $('new-key-error').textContent = '';
  const scopes = [...document.querySelectorAll('#new-key-scopes input:checked')].map((box) => box.value);
  const body = { name: $('new-key-name').value.trim(), scopes };
  const expires = $('new-key-expires').value;
  if (expires) body.expires_at = new Date(`${expires}T23:59:59`).toISOString();
  await busy(event.submitter ?? event.target.querySelector('[type=submit]'), 'Creating…', async () => {
    try {
      const created = await api('/me/api-keys', { method: 'POST', body });
      $('key-shown-value').value = created.key;
      $('key-copy-status').textContent = '';
      $('key-shown').hidden = false;
      $('key-shown-title').focus();
      event.target.reset();
      await load();
    } catch (error) {
      $('new-key-error').textContent = humanize(error.message, { scopes: 'Scopes', name: 'Name', expires_at: 'Expires' });
    }
  });
}

async function onCopy() {
  try {
    await navigator.clipboard.writeText($('key-shown-value').value);
    $('key-copy-status').textContent = 'Copied.';
  } catch {
    $('key-shown-value').select();
    $('key-copy-status').textContent = 'Select the key and copy it yourself (the browser did not allow copying).';
  }
}

async function start() {
  let me;
  try {
    me = await api('/auth/me');
  } catch (error) {
    problem('Log in first', error.status === 401 ? 'Log in as a recruiter to manage API keys.' : humanize(error.message));
    return;
  } finally {
    $('keys-loading').hidden = true;
    $('main').removeAttribute('aria-busy');
  }
  if (me.role === 'candidate') {
    problem('Recruiters only', 'API keys are for recruiters and admins.');
    return;
  }
  $('new-key-scopes').replaceChildren(...SCOPES.filter(([, , who]) => !who || me.role === 'admin').map(([scope, what]) => {
    const label = document.createElement('label');
    label.className = 'checkbox';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = scope;
    box.name = 'scopes';
    label.append(box, ' ', Object.assign(document.createElement('code'), { textContent: scope }), ` — ${what}`);
    return label;
  }));
  $('keys-view').hidden = false;
  $('new-key-form').addEventListener('submit', onCreate);
  $('key-copy').addEventListener('click', onCopy);
  await load();
}

start();
