// A real OAuth 2.0 / OpenID Connect provider (npm `oidc-provider`) for Chatter's integration
// tests, started by `chatter_testkit::OidcServer`.
//
// Settings come as JSON in the first argument or in `OIDC_SETTINGS`:
//   port                0 picks a free port on 127.0.0.1
//   node_modules        where `oidc-provider` is installed (default: beside this script)
//   client_id, client_secret, redirect_uris
//   extra_scopes        scopes accepted besides the OpenID ones (e.g. "data:read")
//   access_token_ttl_s  lifetime of access tokens in seconds (default 3600)
//
// Once it listens it prints one line `listening <port>` on stdout. The issuer is
// `http://127.0.0.1:<port>`. Signing in and consent need no person: the interaction route signs
// in the one account (Ada Lovelace) and grants every requested scope, or, after
// `POST /test/consent {"mode":"deny"}`, answers `access_denied`.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const settings = JSON.parse(process.argv[2] ?? process.env.OIDC_SETTINGS ?? '{}');
const here = dirname(fileURLToPath(import.meta.url));
const modules = settings.node_modules ?? join(here, 'node_modules');
const providerPath = createRequire(join(modules, 'resolve.js')).resolve('oidc-provider');
const { default: Provider, errors } = await import(pathToFileURL(providerPath).href);

// The one account every sign-in ends with.
const ACCOUNT = {
  sub: 'user-ada',
  name: 'Ada Lovelace',
  given_name: 'Ada',
  family_name: 'Lovelace',
  email: 'ada@example.com',
  email_verified: true,
  preferred_username: 'ada',
};

const extraScopes = settings.extra_scopes ?? ['data:read', 'data:write', 'user-profile:read'];
const accessTokenTtl = settings.access_token_ttl_s ?? 3600;

// Whether the next interactions grant (`allow`) or refuse (`deny`) what is asked.
let consentMode = 'allow';

function log(line) {
  process.stdout.write(`${line}\n`);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'testkit', use: 'sig', alg: 'RS256' };

const configuration = {
  clients: [
    {
      client_id: settings.client_id,
      client_secret: settings.client_secret,
      redirect_uris: settings.redirect_uris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  // Each extra scope is declared through the claims it releases: Autodesk's `user-profile:read`
  // gives the profile, as `profile` and `email` do.
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
    ...Object.fromEntries(extraScopes.map((scope) => [
      scope,
      scope === 'user-profile:read'
        ? ['name', 'given_name', 'family_name', 'preferred_username', 'email', 'email_verified']
        : [],
    ])),
  },
  responseTypes: ['code'],
  scopes: ['openid', 'offline_access', 'profile', 'email', ...extraScopes],
  async findAccount(_ctx, sub) {
    if (sub !== ACCOUNT.sub) return undefined;
    return { accountId: sub, async claims() { return { ...ACCOUNT }; } };
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    // Tokens are for the userinfo endpoint (and the stand-in APIs that ask it): opaque.
    resourceIndicators: { enabled: false },
  },
  pkce: { required: () => true },
  // A refresh token with every code, `offline_access` asked for or not, as Autodesk does; each
  // use replaces it, and a replaced one used again is refused (and ends the grant).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  rotateRefreshToken: true,
  // Client and provider share one clock: a token is expired the second its lifetime ends.
  clockTolerance: 0,
  interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  jwks: { keys: [signingKey] },
  ttl: {
    AccessToken: accessTokenTtl,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

// The interaction route: signs in the account, then grants (or refuses) what was asked.
async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session, grantId } = details;
  if (consentMode === 'deny') {
    log(`interaction ${prompt.name}: denied`);
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User denied the request',
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'login') {
    log(`interaction login: ${ACCOUNT.sub}`);
    await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT.sub } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  if (prompt.name === 'consent') {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const scopes = new Set(String(params.scope ?? '').split(' ').filter(Boolean));
    scopes.add('offline_access');
    grant.addOIDCScope([...scopes].join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [resource, missing] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, missing.join(' '));
    }
    const saved = await grant.save();
    log(`interaction consent: ${[...scopes].join(' ')}`);
    await provider.interactionFinished(req, res, { consent: { grantId: saved } }, {
      mergeWithLastSubmission: true,
    });
    return;
  }
  throw new Error(`unexpected prompt ${prompt.name}`);
}

// `POST /test/consent` with `{"mode":"allow"|"deny"}`.
async function setConsent(req, res) {
  let body = '';
  for await (const chunk of req) body += chunk;
  let mode;
  try {
    ({ mode } = JSON.parse(body));
  } catch {
    mode = undefined;
  }
  if (mode !== 'allow' && mode !== 'deny') {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'mode must be "allow" or "deny"' }));
    return;
  }
  consentMode = mode;
  log(`consent mode: ${mode}`);
  res.writeHead(204);
  res.end();
}

const server = createServer();
server.listen(settings.port ?? 0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error',
    'revocation.error', 'introspection.error']) {
    provider.on(event, (_ctx, error) => {
      log(`${event}: ${error.name}: ${error.message}${error.error_detail ? ` (${error.error_detail})` : ''}`);
    });
  }
  provider.on('grant.success', (ctx) => log(`grant.success: ${ctx.oidc.params.grant_type}`));
  provider.on('grant.revoked', (_ctx, grantId) => log(`grant.revoked: ${grantId}`));
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    res.on('finish', () => log(`${req.method} ${path} ${res.statusCode}`));
    if (req.method === 'POST' && path === '/test/consent') {
      setConsent(req, res).catch((error) => fail(res, error));
    } else if (req.method === 'GET' && path.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((error) => fail(res, error));
    } else {
      callback(req, res);
    }
  });
  log(`listening ${port}`);
});

function fail(res, error) {
  log(`error: ${error instanceof errors.OIDCProviderError ? error.error_description ?? error.message : error.stack}`);
  if (!res.headersSent) {
    res.writeHead(500, { 'content-type': 'application/json' });
  }
  res.end(JSON.stringify({ error: 'server_error', error_description: String(error.message) }));
}

process.on('SIGTERM', () => process.exit(0));
