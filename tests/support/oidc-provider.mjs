// A real OpenID Connect provider for viva's tests: the npm package oidc-provider (installed by
// tests/support/oidc.rs), with one confidential client and a sign-in page that signs in whoever
// its form names (subject, email, whether the email is verified, name), so a test can be any
// person at the provider. Settings come from the environment:
//   OIDC_PROVIDER_MODULE  the package's lib/index.js
//   OIDC_ISSUER           http://127.0.0.1:PORT (the port it listens on)
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI  the client (viva)
//   OIDC_CLAIMS_AT_USERINFO  when set, the person's claims are at the userinfo endpoint only,
//                            not in the ID token (as some providers do in a code flow)
// It prints "listening" once it accepts connections.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

function setting(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const { default: Provider } = await import(pathToFileURL(setting('OIDC_PROVIDER_MODULE')).href);
const issuer = setting('OIDC_ISSUER');

// A signing key of its own, new at every start: a restarted provider has rotated its keys.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

/** Claims of everyone who signed in on the form, by subject. */
const people = new Map();

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: setting('OIDC_CLIENT_ID'),
      client_secret: setting('OIDC_CLIENT_SECRET'),
      redirect_uris: [setting('OIDC_REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Put the person's claims in the ID token, as Google and Keycloak do (unless asked not to).
  conformIdTokenClaims: Boolean(process.env.OIDC_CLAIMS_AT_USERINFO),
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['a test provider of viva'] },
  async findAccount(ctx, sub) {
    const claims = people.get(sub);
    return claims && { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  // viva is this provider's own client: no consent screen.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function signInPage(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test provider: sign in</title></head>
<body>
  <h1>Sign in to the test provider</h1>
  <p>Prompt: ${escape(details.prompt.name)}</p>
  <form id="provider-login" method="post" action="/interaction/${escape(uid)}/login">
    <label>Subject <input id="provider-sub" name="sub" required></label>
    <label>Email <input id="provider-email" name="email"></label>
    <label>Name <input id="provider-name" name="name"></label>
    <label><input id="provider-email-verified" name="email_verified" type="checkbox" value="true"> Email verified</label>
    <button type="submit">Sign in</button>
  </form>
</body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function signIn(req, res) {
  const form = await readForm(req);
  const sub = form.get('sub');
  if (!sub) {
    res.statusCode = 400;
    res.end('sub is required');
    return;
  }
  const claims = { email_verified: form.get('email_verified') === 'true' };
  if (form.get('email')) claims.email = form.get('email');
  if (form.get('name')) claims.name = form.get('name');
  people.set(sub, claims);
  await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
}

const handle = provider.callback();
const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const interaction = /^\/interaction\/([^/]+)(\/login)?$/.exec(pathname);
  if (!interaction) {
    handle(req, res);
    return;
  }
  const step = interaction[2] && req.method === 'POST' ? signIn(req, res) : signInPage(req, res, interaction[1]);
  step.catch((error) => {
    res.statusCode = 400;
    res.end(`interaction failed: ${error.message}`);
  });
});
server.listen(Number(new URL(issuer).port), '127.0.0.1', () => console.log('listening'));
