// The landing page: register, log in, show who is signed in, log out.
// Session cookies are HttpOnly: this script never sees them; it asks the server (/me) instead.

const AUTH = '/api/v1/auth';

/** A failed API call: the server's `{"error": {"code", "message"}}`, or a network failure. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the auth API; resolves to the JSON body (null for 204), rejects with an ApiError. */
async function api(path, { method = 'GET', body } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(AUTH + path, init);
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

const $ = (id) => document.getElementById(id);

const ui = {
  main: $('main'),
  loading: $('loading'),
  signedOut: $('signed-out'),
  signedIn: $('signed-in'),
  accountTitle: $('account-title'),
  accountError: $('account-error'),
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

const FIELD_LABELS = { display_name: 'Name', email: 'Email', password: 'Password' };

/** "password: must be at least 10 characters" → "Password must be at least 10 characters." */
function humanize(message) {
  const match = /^([a-z_]+): (.*)$/s.exec(message);
  const text = match && FIELD_LABELS[match[1]] ? `${FIELD_LABELS[match[1]]} ${match[2]}` : message;
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** The field a server message is about, if it names one of the form's fields. */
function fieldOf(form, message) {
  const match = /^([a-z_]+): /.exec(message);
  return match ? form.fields[match[1]] : undefined;
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

/** Runs `work` with `button` disabled and labelled as busy; re-enables it afterwards. */
async function busy(button, label, work) {
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
  ui.accountError.textContent = '';
  ui.signedOut.hidden = true;
  ui.signedIn.hidden = false;
  if (focus) ui.accountTitle.focus();
}

function showSignedOut({ focus = false } = {}) {
  for (const id of ['me-name', 'me-email', 'me-role', 'me-initials']) $(id).textContent = '';
  ui.signedIn.hidden = true;
  ui.signedOut.hidden = false;
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
  ui.register.form.addEventListener('submit', onRegister);
  ui.login.form.addEventListener('submit', onLogin);
  for (const form of [ui.register.form, ui.login.form]) {
    form.addEventListener('input', (event) => event.target.removeAttribute('aria-invalid'));
  }
  const logout = $('logout-button');
  const logoutAll = $('logout-all-button');
  logout.addEventListener('click', () => onLogout('/logout', logout, 'Logging out…'));
  logoutAll.addEventListener('click', () => onLogout('/logout-all', logoutAll, 'Logging out everywhere…'));

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
