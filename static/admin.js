// The admin's user list (admin.html): find accounts, change a role, disable or enable an account
// (disabling signs it out everywhere at once).

import { api, busy, formatDate, humanize } from './api.js';

const $ = (id) => document.getElementById(id);
const ROLES = ['candidate', 'recruiter', 'admin'];
const PER_PAGE = 50;

let me = null;
let page = 1;

function problem(title, text) {
  $('users').hidden = true;
  $('users-problem').hidden = false;
  $('users-problem-title').textContent = title;
  $('users-problem-text').textContent = text;
  $('users-problem-title').focus();
}

function cell(...children) {
  const td = document.createElement('td');
  td.append(...children);
  return td;
}

async function update(user, change, control) {
  $('users-error').textContent = '';
  try {
    const updated = await api(`/admin/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: change });
    const row = document.querySelector(`tr[data-id="${CSS.escape(user.id)}"]`);
    row?.replaceWith(rowOf(updated));
    $('users-status').textContent = `${updated.display_name}: saved.`;
  } catch (error) {
    $('users-error').textContent = humanize(error.message);
    if (control) control.value = user.role;
  }
}

function rowOf(user) {
  const row = document.createElement('tr');
  row.dataset.id = user.id;
  row.classList.toggle('is-disabled', user.disabled);
  const self = me && user.id === me.id;

  const role = document.createElement('select');
  role.setAttribute('aria-label', `Role of ${user.display_name}`);
  for (const name of ROLES) role.append(new Option(name, name, false, name === user.role));
  role.disabled = self;
  role.addEventListener('change', () => update(user, { role: role.value }, role));

  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = user.disabled ? 'button button--secondary' : 'button button--danger';
  toggle.textContent = user.disabled ? 'Enable' : 'Disable';
  toggle.setAttribute('aria-label', `${toggle.textContent} ${user.display_name}`);
  toggle.disabled = self;
  toggle.addEventListener('click', () =>
    busy(toggle, 'Saving…', () => update(user, { disabled: !user.disabled })));

  row.append(
    cell(user.display_name),
    cell(user.email),
    cell(role),
    cell(user.last_sign_in_at ? formatDate(user.last_sign_in_at) : 'Never'),
    cell(toggle),
  );
  return row;
}

async function load({ append = false } = {}) {
  $('users-error').textContent = '';
  const params = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
  const q = $('users-q').value.trim();
  const role = $('users-role').value;
  if (q) params.set('q', q);
  if (role) params.set('role', role);
  try {
    const found = await api(`/admin/users?${params}`);
    if (!append) $('users-rows').replaceChildren();
    $('users-rows').append(...found.items.map(rowOf));
    $('users-status').textContent = `${found.total} account${found.total === 1 ? '' : 's'}.`;
    $('users-more').hidden = page * PER_PAGE >= found.total;
  } catch (error) {
    if (error.status === 401) problem('Log in first', 'Log in as an admin to manage users.');
    else $('users-error').textContent = humanize(error.message);
  }
}

async function start() {
  try {
    me = await api('/auth/me');
  } catch (error) {
    problem('Log in first', error.status === 401 ? 'Log in as an admin to manage users.' : humanize(error.message));
    return;
  } finally {
    $('users-loading').hidden = true;
    $('main').removeAttribute('aria-busy');
  }
  if (me.role !== 'admin') {
    problem('Admins only', 'Only admins manage users.');
    return;
  }
  $('users').hidden = false;
  $('users-search').addEventListener('submit', (event) => {
    event.preventDefault();
    page = 1;
    load();
  });
  $('users-more').addEventListener('click', () => {
    page += 1;
    load({ append: true });
  });
  await load();
}

start();
