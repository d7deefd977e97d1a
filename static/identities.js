// Signing in at OpenID Connect providers: the "Sign in with …" buttons on the sign-in page, what
// the provider's round trip came back with (`?sign_in_error=CODE`, `?sign_in=confirm_link`,
// `?linked=KEY`), the password that links a provider to an existing account, and, signed in,
// the account's linked providers (list, link more, unlink).

import { api, busy, humanize, formatDate } from './api.js';

const $ = (id) => document.getElementById(id);

/** What a failed round trip's code means, in the page's own words (a link cannot make the
 *  page say anything else). */
const SIGN_IN_ERRORS = {
  oidc_state_mismatch: 'That sign-in was not started here, took too long or was already used. Please try again.',
  oidc_refused: 'The provider did not sign you in.',
  oidc_token_invalid: 'The provider’s answer failed viva’s checks. Please try again.',
  oidc_email_missing: 'The provider did not share your email address. Allow viva to see it and try again.',
  oidc_email_unverified: 'An account with this email already exists, and the provider does not confirm that the email is yours. Log in to that account, then link the provider from your account.',
  oidc_account_exists: 'An account with this email already exists. Sign in to it, then link this provider from your account.',
  identity_taken: 'That account at the provider is already linked to another viva account.',
  account_disabled: 'This account is disabled. Ask an administrator.',
  oidc_provider_unavailable: 'The sign-in provider could not be reached. Try again later.',
  not_found: 'That sign-in provider is not configured here.',
  service_unavailable: 'The server could not keep your sign-in. Try again later.',
};
const SIGN_IN_FAILED = 'Signing in with the provider failed. Please try again.';

let providers = [];

const startUrl = (key) => `/auth/oidc/${encodeURIComponent(key)}/start`;

function providerLink(provider, label) {
  const link = document.createElement('a');
  link.className = 'button button--secondary';
  link.href = startUrl(provider.key);
  link.textContent = `${label} ${provider.name}`;
  return link;
}

/** The round trip's outcome from the address, which is then cleaned (a reload shows nothing). */
function takeOutcome() {
  const params = new URLSearchParams(window.location.search);
  const outcome = {
    error: params.get('sign_in_error'),
    confirmLink: params.get('sign_in') === 'confirm_link',
    linked: params.get('linked'),
  };
  if (outcome.error || outcome.confirmLink || outcome.linked) {
    window.history.replaceState(null, '', window.location.pathname);
  }
  return outcome;
}

let outcome = { error: null, confirmLink: false, linked: null };

/**
 * Sets up the sign-in side: the provider buttons, hiding the password forms when password
 * sign-in is off, and the round trip's outcome. `onSignedIn(user)` runs after a link by
 * password signed the person in.
 */
export async function init({ onSignedIn }) {
  outcome = takeOutcome();
  let offered = { password_sign_in: true, providers: [] };
  try {
    offered = await api('/auth/providers');
  } catch {
    // The password forms still work; the buttons just don't show.
  }
  providers = offered.providers;
  const buttons = $('oidc-providers');
  buttons.replaceChildren(...providers.map((p) => providerLink(p, 'Sign in with')));
  $('oidc-sign-in').hidden = providers.length === 0 && !outcome.error;
  if (!offered.password_sign_in) {
    $('register-form').hidden = true;
    $('login-form').hidden = true;
  }
  if (outcome.error) {
    $('oidc-error').textContent = SIGN_IN_ERRORS[outcome.error] ?? SIGN_IN_FAILED;
  }
  if (outcome.confirmLink) await askForPassword(onSignedIn);
}

async function askForPassword(onSignedIn) {
  let waiting;
  try {
    waiting = await api('/auth/oidc/link');
  } catch {
    $('oidc-error').textContent = SIGN_IN_ERRORS.oidc_state_mismatch;
    return;
  }
  const form = $('link-form');
  $('link-intro').textContent =
    `An account with ${waiting.email} already exists. Enter its password to link ${waiting.provider_name} to it and sign in.`;
  form.hidden = false;
  $('link-password').focus();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    $('link-error').textContent = '';
    const password = $('link-password').value;
    await busy(event.submitter ?? form.querySelector('[type=submit]'), 'Linking…', async () => {
      try {
        const user = await api('/auth/oidc/link', { method: 'POST', body: { password } });
        form.reset();
        form.hidden = true;
        onSignedIn(user);
      } catch (error) {
        $('link-error').textContent = humanize(error.message);
      }
    });
  });
}

function identityItem(identity) {
  const item = document.createElement('li');
  item.className = 'identity-item';
  const text = document.createElement('span');
  const used = identity.last_used_at ? `, last used ${formatDate(identity.last_used_at)}` : '';
  text.textContent = `${identity.provider_name}: ${identity.email}${used}`;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'button button--secondary';
  remove.textContent = 'Unlink';
  remove.setAttribute('aria-label', `Unlink ${identity.provider_name} (${identity.email})`);
  remove.addEventListener('click', () => unlink(identity, remove));
  item.append(text, remove);
  return item;
}

async function unlink(identity, button) {
  $('identities-error').textContent = '';
  await busy(button, 'Unlinking…', async () => {
    try {
      await api(`/me/identities/${encodeURIComponent(identity.id)}`, { method: 'DELETE' });
      $('identities-status').textContent = `Unlinked ${identity.provider_name}.`;
      await show();
    } catch (error) {
      $('identities-error').textContent = humanize(error.message);
    }
  });
}

/** Signed in: the account's linked providers, and a way to link each configured one. */
export async function show() {
  const section = $('identities');
  $('oidc-error').textContent = '';
  $('link-form').hidden = true;
  if (providers.length === 0) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  if (outcome.linked) {
    const provider = providers.find((p) => p.key === outcome.linked);
    $('identities-status').textContent = `Linked ${provider ? provider.name : outcome.linked}.`;
    outcome.linked = null;
  }
  if (outcome.error) {
    $('identities-error').textContent = SIGN_IN_ERRORS[outcome.error] ?? SIGN_IN_FAILED;
    outcome.error = null;
  }
  $('identities-link').replaceChildren(...providers.map((p) => providerLink(p, 'Link')));
  try {
    const linked = await api('/me/identities');
    $('identities-list').replaceChildren(...linked.map(identityItem));
    $('identities-empty').hidden = linked.length > 0;
  } catch (error) {
    $('identities-error').textContent = humanize(error.message);
  }
}

/** Signed out: nothing of the account is left. */
export function hide() {
  $('identities').hidden = true;
  $('identities-list').replaceChildren();
  $('identities-status').textContent = '';
  $('identities-error').textContent = '';
}
