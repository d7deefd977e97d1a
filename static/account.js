// The signed-in person's account (index.html): confirming their email, changing the password,
// downloading their data and deleting the account; and, signed out, resetting a forgotten
// password. Links in emails open `/#reset?email=…&code=…` or `/#verify?email=…&code=…`: the
// fragment fills the form in (it never reaches a server).

import { api, busy, humanize } from './api.js';

const $ = (id) => document.getElementById(id);

/** The button that submitted `event`'s form (its first submit button when sent by script). */
const submitter = (event) => event.submitter ?? event.target.querySelector('[type=submit]');

const LABELS = { password: 'Password', new_password: 'New password', current_password: 'Current password', email: 'Email', code: 'Code' };
const say = (message) => humanize(message, LABELS);

let hooks = { onSignedOut: () => {}, onVerified: () => {} };
let current = null;

/** `#reset?email=a%40b.c&code=123456` → { action: 'reset', email, code }. */
function linkInFragment() {
  const match = /^#(reset|verify)\?(.*)$/.exec(window.location.hash);
  if (!match) return null;
  const params = new URLSearchParams(match[2]);
  return { action: match[1], email: params.get('email') ?? '', code: params.get('code') ?? '' };
}

function forgetFragment() {
  history.replaceState(null, '', window.location.pathname + window.location.search);
}

// Signed out: the password reset.

function openReset({ email = '', code = '' } = {}) {
  $('reset').hidden = false;
  $('reset-email').value = email || $('login-email').value;
  $('reset-code').value = code;
  $('reset-status').textContent = code ? 'Choose a new password to finish.' : '';
  $('reset-title').focus();
}

async function onResetRequest(event) {
  event.preventDefault();
  $('reset-request-error').textContent = '';
  const email = $('reset-email').value.trim();
  await busy(submitter(event), 'Sending…', async () => {
    try {
      const answer = await api('/auth/password-reset', { method: 'POST', body: { email } });
      $('reset-status').textContent = answer.message;
      $('reset-code').focus();
    } catch (error) {
      $('reset-request-error').textContent = say(error.message);
    }
  });
}

async function onResetConfirm(event) {
  event.preventDefault();
  $('reset-error').textContent = '';
  const body = {
    email: $('reset-email').value.trim(),
    code: $('reset-code').value.trim(),
    password: $('reset-password').value,
  };
  await busy(submitter(event), 'Saving…', async () => {
    try {
      await api('/auth/password-reset/confirm', { method: 'POST', body });
      $('reset').hidden = true;
      $('reset-password').value = '';
      $('reset-code').value = '';
      $('login-email').value = body.email;
      $('login-error').textContent = 'Your password is set. Log in with it.';
      $('login-password').focus();
    } catch (error) {
      $('reset-error').textContent = say(error.message);
    }
  });
}

// Signed in: email verification.

function showVerification(user) {
  const needed = user.email_verification_required && !user.email_verified;
  $('verify-form').hidden = !needed;
  $('verify-email').textContent = user.email;
}

async function verify(email, code, button) {
  $('verify-error').textContent = '';
  await busy(button, 'Confirming…', async () => {
    try {
      const user = await api('/auth/verify-email', { method: 'POST', body: { email, code } });
      $('verify-form').hidden = true;
      $('verify-code').value = '';
      hooks.onVerified(user);
    } catch (error) {
      $('verify-error').textContent = say(error.message);
    }
  });
}

async function onResend(event) {
  $('verify-error').textContent = '';
  $('verify-status').textContent = '';
  await busy(event.currentTarget, 'Sending…', async () => {
    try {
      const answer = await api('/auth/verify-email/resend', { method: 'POST' });
      $('verify-status').textContent = answer.message;
    } catch (error) {
      $('verify-error').textContent = say(error.message);
    }
  });
}

// Signed in: settings.

async function onPasswordChange(event) {
  event.preventDefault();
  $('password-error').textContent = '';
  $('password-status').textContent = '';
  const body = {
    current_password: $('password-current').value,
    new_password: $('password-new').value,
  };
  await busy(submitter(event), 'Saving…', async () => {
    try {
      await api('/me/password', { method: 'PUT', body });
      event.target.reset();
      $('password-status').textContent = 'Password changed. Your other sessions have ended.';
    } catch (error) {
      if (error.status === 401 && error.code === 'unauthenticated') hooks.onSignedOut();
      else $('password-error').textContent = say(error.message);
    }
  });
}

async function onDelete(event) {
  event.preventDefault();
  $('delete-error').textContent = '';
  if (!$('delete-confirm').checked) {
    $('delete-error').textContent = 'Tick the box to confirm that you want to delete your account.';
    return;
  }
  const body = current?.has_password ? { password: $('delete-password').value } : {};
  await busy(submitter(event), 'Deleting…', async () => {
    try {
      await api('/me', { method: 'DELETE', body });
      event.target.reset();
      hooks.onSignedOut();
      $('login-error').textContent = 'Your account has been deleted.';
    } catch (error) {
      $('delete-error').textContent = say(error.message);
    }
  });
}

/** Wires the forms once; `onSignedOut()` when the session is gone, `onVerified(user)` after
 * the email is confirmed. */
export function init(callbacks) {
  hooks = { ...hooks, ...callbacks };
  $('forgot-button').addEventListener('click', () => openReset());
  $('reset-cancel').addEventListener('click', () => {
    $('reset').hidden = true;
    $('login-email').focus();
  });
  $('reset-request-form').addEventListener('submit', onResetRequest);
  $('reset-confirm-form').addEventListener('submit', onResetConfirm);
  $('verify-form').addEventListener('submit', (event) => {
    event.preventDefault();
    verify(current?.email ?? '', $('verify-code').value.trim(), submitter(event));
  });
  $('verify-resend').addEventListener('click', onResend);
  $('password-form').addEventListener('submit', onPasswordChange);
  $('delete-form').addEventListener('submit', onDelete);
}

/** Signed in as `user`. */
export function show(user) {
  current = user;
  showVerification(user);
  $('password-form').hidden = !user.has_password;
  $('password-none').hidden = user.has_password;
  $('delete-password-field').hidden = !user.has_password;
  const link = linkInFragment();
  if (link?.action === 'verify') {
    forgetFragment();
    if (!user.email_verified) verify(link.email, link.code, $('verify-form').querySelector('[type=submit]'));
  } else if (link?.action === 'reset') {
    // Someone signed in opened a reset link: the settings form changes the password.
    forgetFragment();
  }
}

/** Signed out. */
export function hide() {
  current = null;
  $('verify-form').hidden = true;
  const link = linkInFragment();
  if (link?.action === 'reset') {
    forgetFragment();
    openReset(link);
  } else if (link?.action === 'verify') {
    // The link works without a session: confirm, then ask to log in.
    forgetFragment();
    api('/auth/verify-email', { method: 'POST', body: { email: link.email, code: link.code } })
      .then(() => { $('login-error').textContent = 'Your email is confirmed. Log in to continue.'; })
      .catch((error) => { $('login-error').textContent = say(error.message); });
  }
}
