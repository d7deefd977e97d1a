// The landing page: register, log in, show who is signed in, log out; signed in, the dashboard
// (dashboard.js): my interviews, a form to start a new one, progress, saved questions and the
// leaderboard; the account's own settings, email confirmation and password reset (account.js).
// Session cookies are HttpOnly: this script never sees them; it asks the server (/me) instead.

import { api as apiCall, busy, humanize as humanizeWith, fieldNamed } from './api.js';
import * as account from './account.js';
import * as dashboard from './dashboard.js';
import * as identities from './identities.js';

const AUTH = '/auth';

/** Calls the auth API; resolves to the JSON body (null for 204), rejects with an ApiError. */
const api = (path, options) => apiCall(AUTH + path, options);

const $ = (id) => document.getElementById(id);

const ui = {
  main: $('main'),
  loading: $('loading'),
  signedOut: $('signed-out'),
  signedIn: $('signed-in'),
  accountTitle: $('account-title'),
  accountError: $('account-error'),
  jobsLink: $('jobs-link'),
  adminLink: $('admin-link'),
  register: {
    form: $('register-form'),
    error: $('register-error'),
    // Server messages name the field they are about ("password: must be …").
    fields: { display_name: $('register-name'), email: $('register-email'), password: $('register-password') },
  },
  login: {
    form: $('login-form'),
    error: $('login-error'),
    fields: { email: $('login-email'), password: $('login-password') },
  },
};

/** Roles that see the jobs page (/jobs.html). */
const HIRING_ROLES = ['recruiter', 'admin'];

const FIELD_LABELS = { display_name: 'Name', email: 'Email', password: 'Password' };

/** "password: must be at least 10 characters" → "Password must be at least 10 characters." */
const humanize = (message) => humanizeWith(message, FIELD_LABELS);

/** The field a server message is about, if it names one of the form's fields. */
function fieldOf(form, message) {
  const name = fieldNamed(message);
  return name ? form.fields[name] : undefined;
}

function showError(form, error) {
  form.error.textContent = humanize(error.message);
  const field = fieldOf(form, error.message);
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function clearError(form) {
  form.error.textContent = '';
  for (const field of Object.values(form.fields)) field.removeAttribute('aria-invalid');
}

function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => Array.from(w)[0].toUpperCase()).join('');
}

function showSignedIn(user, { focus = false } = {}) {
  $('me-name').textContent = user.display_name;
  $('me-email').textContent = user.email;
  $('me-role').textContent = user.role;
  $('me-initials').textContent = initials(user.display_name);
  // Recruiters and admins hire: their jobs page is one click away.
  ui.jobsLink.hidden = !HIRING_ROLES.includes(user.role);
  ui.adminLink.hidden = user.role !== 'admin';
  ui.accountError.textContent = '';
  ui.signedOut.hidden = true;
  ui.signedIn.hidden = false;
  ui.main.classList.add('is-signed-in');
  if (focus) ui.accountTitle.focus();
  account.show(user);
  dashboard.show(user);
  identities.show();
}

function showSignedOut({ focus = false } = {}) {
  dashboard.hide();
  account.hide();
  identities.hide();
  for (const id of ['me-name', 'me-email', 'me-role', 'me-initials']) $(id).textContent = '';
  ui.jobsLink.hidden = true;
  ui.adminLink.hidden = true;
  ui.signedIn.hidden = true;
  ui.signedOut.hidden = false;
  ui.main.classList.remove('is-signed-in');
  if (focus) ui.login.fields.email.focus();
}

function values(form) {
  return Object.fromEntries(Object.entries(form.fields).map(([name, input]) => [name, input.value]));
}

async function onRegister(event) {
  event.preventDefault();
  const form = ui.register;
  clearError(form);
  const { display_name, email, password } = values(form);
  await busy(event.submitter ?? form.form.querySelector('[type=submit]'), 'Creating account…', async () => {
    try {
      await api('/register', { method: 'POST', body: { email, password, display_name } });
    } catch (error) {
      showError(form, error);
      return;
    }
    form.form.reset();
    try {
      showSignedIn(await api('/login', { method: 'POST', body: { email, password } }), { focus: true });
    } catch (error) {
      // The account exists; only the automatic log-in failed (a rate limit, a restart): hand
      // over to the log-in form.
      ui.login.fields.email.value = email;
      ui.login.error.textContent = `Your account was created, but logging in failed. ${humanize(error.message)}`;
      ui.login.fields.password.focus();
    }
  });
}

async function onLogin(event) {
  event.preventDefault();
  const form = ui.login;
  clearError(form);
  const { email, password } = values(form);
  await busy(event.submitter ?? form.form.querySelector('[type=submit]'), 'Logging in…', async () => {
    try {
      const user = await api('/login', { method: 'POST', body: { email, password } });
      form.form.reset();
      showSignedIn(user, { focus: true });
    } catch (error) {
      showError(form, error);
    }
  });
}

async function onLogout(path, button, label) {
  ui.accountError.textContent = '';
  await busy(button, label, async () => {
    try {
      await api(path, { method: 'POST' });
      showSignedOut({ focus: true });
    } catch (error) {
      // Already signed out (an expired session, or another device logged out everywhere).
      if (error.status === 401) showSignedOut({ focus: true });
      else ui.accountError.textContent = humanize(error.message);
    }
  });
}

async function start() {
  dashboard.init({ onSignedOut: () => showSignedOut({ focus: true }) });
  account.init({
    onSignedOut: () => showSignedOut({ focus: true }),
    onVerified: (user) => showSignedIn(user),
  });
  ui.register.form.addEventListener('submit', onRegister);
  ui.login.form.addEventListener('submit', onLogin);
  for (const form of [ui.register.form, ui.login.form]) {
    form.addEventListener('input', (event) => event.target.removeAttribute('aria-invalid'));
  }
  const logout = $('logout-button');
  const logoutAll = $('logout-all-button');
  logout.addEventListener('click', () => onLogout('/logout', logout, 'Logging out…'));
  logoutAll.addEventListener('click', () => onLogout('/logout-all', logoutAll, 'Logging out everywhere…'));

  await identities.init({ onSignedIn: (user) => showSignedIn(user, { focus: true }) });
  try {
    showSignedIn(await api('/me'));
  } catch (error) {
    showSignedOut();
    if (error.status !== 401) ui.login.error.textContent = humanize(error.message);
  } finally {
    ui.loading.hidden = true;
    ui.main.removeAttribute('aria-busy');
  }
}

start();
