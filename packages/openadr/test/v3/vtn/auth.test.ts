import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import { BL, programBody, startVtn, TOKEN_SECRET, VEN1, VERSIONS, vtnOptions } from './support.ts';

/** OAuth2 client credentials: the token endpoint, bearer checks, roles and scopes, external issuers. */

function form(fields: Record<string, string>): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function jwt(header: Record<string, unknown>, claims: Record<string, unknown>, signer: (input: string) => Buffer) {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${signer(input).toString('base64url')}`;
}

for (const version of VERSIONS) {
  describe(`VTN ${version} auth`, () => {
    test('issues a JWT for form credentials, HTTP Basic and the RI headers', async (t) => {
      const h = await startVtn(t, version);
      const viaForm = await h.call<{ access_token: string; token_type: string; expires_in: number; scope: string }>(
        'POST',
        '/auth/token',
        form({ grant_type: 'client_credentials', client_id: BL.clientId, client_secret: BL.secret }),
      );
      assert.equal(viaForm.status, 200);
      assert.equal(viaForm.body.token_type, 'Bearer');
      assert.equal(viaForm.body.expires_in, 3600);
      assert.equal(viaForm.headers.get('cache-control'), 'no-store');
      const [, payload] = viaForm.body.access_token.split('.');
      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
      assert.equal(claims.client_id, BL.clientId);
      assert.equal(claims.role, 'bl');
      assert.ok(String(claims.scope).split(' ').includes('write_programs'));

      const basic = Buffer.from(`${VEN1.clientId}:${VEN1.secret}`).toString('base64');
      const viaBasic = await h.call<{ access_token: string; scope: string }>('POST', '/auth/token', {
        ...form({ grant_type: 'client_credentials' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      });
      assert.equal(viaBasic.status, 200);
      assert.ok(viaBasic.body.scope.split(' ').includes('write_reports'));
      assert.ok(!viaBasic.body.scope.split(' ').includes('write_programs'));

      const viaHeaders = await h.call('POST', '/auth/token', {
        headers: { clientID: BL.clientId, clientSecret: BL.secret },
      });
      assert.equal(viaHeaders.status, 200);

      const programs = await h.call('GET', '/programs', { token: viaForm.body.access_token });
      assert.equal(programs.status, 200);
    });

    test('refuses a wrong secret, an unknown client and a wrong grant', async (t) => {
      const h = await startVtn(t, version);
      const wrong = await h.call<{ error: string; status: number }>(
        'POST',
        '/auth/token',
        form({ grant_type: 'client_credentials', client_id: BL.clientId, client_secret: 'nope' }),
      );
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
      const unknown = await h.call<{ error: string }>(
        'POST',
        '/auth/token',
        form({ grant_type: 'client_credentials', client_id: 'who', client_secret: BL.secret }),
      );
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error, 'invalid_client');
      const grant = await h.call<{ error: string }>(
        'POST',
        '/auth/token',
        form({ grant_type: 'password', client_id: BL.clientId, client_secret: BL.secret }),
      );
      assert.equal(grant.status, 400);
      assert.equal(grant.body.error, 'unsupported_grant_type');
      const missing = await h.call<{ error: string }>(
        'POST',
        '/auth/token',
        form({ grant_type: 'client_credentials' }),
      );
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, 'invalid_request');
      const json = await h.call('POST', '/auth/token', {
        json: { grant_type: 'client_credentials', client_id: BL.clientId, client_secret: BL.secret },
      });
      assert.equal(json.status, 415);
    });

    test('the scope parameter narrows the token; an ungranted scope is invalid_scope', async (t) => {
      const h = await startVtn(t, version);
      const readScope = version === '3.0.1' ? 'read_all' : 'read_targets';
      const narrow = await h.call<{ access_token: string; scope: string }>(
        'POST',
        '/auth/token',
        form({ grant_type: 'client_credentials', client_id: BL.clientId, client_secret: BL.secret, scope: readScope }),
      );
      assert.equal(narrow.status, 200);
      assert.equal(narrow.body.scope, readScope);
      const write = await h.call('POST', '/programs', {
        token: narrow.body.access_token,
        json: programBody(version, 'narrow'),
      });
      assert.equal(write.status, 403);
      const refused = await h.call<{ error: string }>(
        'POST',
        '/auth/token',
        form({
          grant_type: 'client_credentials',
          client_id: VEN1.clientId,
          client_secret: VEN1.secret,
          scope: 'write_programs',
        }),
      );
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error, 'invalid_scope');
    });

    test('401 with WWW-Authenticate for a missing, malformed, forged or expired token', async (t) => {
      let clock = Date.parse('2030-01-01T00:00:00Z');
      const h = await startVtn(t, version, { now: () => new Date(clock) });
      const none = await h.call('GET', '/programs');
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="openadr3"');
      const garbage = await h.call('GET', '/programs', { token: 'not-a-jwt' });
      assert.equal(garbage.status, 401);
      assert.match(garbage.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      const notBearer = await h.call('GET', '/programs', { headers: { authorization: 'Basic abc' } });
      assert.equal(notBearer.status, 401);

      const token = await h.token(BL);
      const [header, payload] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
      const forged = `${header}.${b64({ ...claims, role: 'bl', client_id: VEN1.clientId })}.${token.split('.')[2]}`;
      const forgedAnswer = await h.call('GET', '/programs', { token: forged });
      assert.equal(forgedAnswer.status, 401);
      const none256 = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
      assert.equal((await h.call('GET', '/programs', { token: none256 })).status, 401);

      assert.equal((await h.call('GET', '/programs', { token })).status, 200);
      clock += 3600_000 + 61_000;
      const expired = await h.call<{ detail: string }>('GET', '/programs', { token });
      assert.equal(expired.status, 401);
      assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      assert.match(expired.body.detail, /expired/);
    });

    test('403 insufficient_scope when a VEN writes programs or events', async (t) => {
      const h = await startVtn(t, version);
      const bl = await h.token(BL);
      const ven = await h.token(VEN1);
      const program = await h.call<{ id: string }>('POST', '/programs', {
        token: bl,
        json: programBody(version, 'p'),
      });
      const denied = await h.call('POST', '/programs', { token: ven, json: programBody(version, 'mine') });
      assert.equal(denied.status, 403);
      assert.match(denied.headers.get('www-authenticate') ?? '', /insufficient_scope/);
      assert.equal((await h.call('DELETE', `/programs/${program.body.id}`, { token: ven })).status, 403);
      const event = await h.call('POST', '/events', {
        token: ven,
        json: { programID: program.body.id, intervals: [] },
      });
      assert.equal(event.status, 403);
      // BL has no write_reports by default ("only VENs can write to reports").
      assert.equal(
        (await h.call('POST', '/reports', { token: bl, json: { eventID: 'x', clientName: 'y', resources: [] } }))
          .status,
        403,
      );
    });

    test('an anonymous caller gets 401 before its body is read', async (t) => {
      const h = await startVtn(t, version);
      const answer = await h.call('POST', '/programs', {
        body: 'not json at all',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(answer.status, 401);
    });

    test('ES256 tokens from an internal key pair', async (t) => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const options = vtnOptions(version);
      const h = await startVtn(t, version, {
        auth: {
          ...options.auth,
          issuer: {
            kind: 'internal',
            key: { alg: 'ES256', privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }), kid: 'k1' },
            tokenTtlSeconds: 600,
          },
        },
      });
      const token = await h.token(BL);
      assert.equal(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).alg, 'ES256');
      assert.equal((await h.call('GET', '/programs', { token })).status, 200);
    });

    test('an external issuer: RS256 and ES256 keys, issuer and audience checks', async (t) => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      let clock = Date.parse('2030-01-01T00:00:00Z');
      const h = await startVtn(t, version, {
        now: () => new Date(clock),
        auth: {
          issuer: {
            kind: 'external',
            keys: [
              { alg: 'RS256', publicKey: rsa.publicKey.export({ format: 'pem', type: 'spki' }) },
              { alg: 'ES256', publicKey: ec.publicKey.export({ format: 'pem', type: 'spki' }), kid: 'ec-1' },
            ],
            issuer: 'https://auth.example',
            audience: 'vtn',
            tokenUrl: 'https://auth.example/token',
          },
          clients: [{ clientId: 'ven-x', role: 'ven', venName: 'ven-x' }],
        },
      });
      const now = Math.floor(clock / 1000);
      const base = { iss: 'https://auth.example', aud: 'vtn', iat: now, exp: now + 300 };
      const rs = (input: string) => sign('sha256', Buffer.from(input), rsa.privateKey);
      const es = (input: string) =>
        sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      const blScopes =
        version === '3.0.1'
          ? 'read_all write_programs write_events'
          : 'read_targets read_all write_programs write_events';
      const blToken = jwt({ alg: 'RS256', typ: 'JWT' }, { ...base, client_id: 'bl-x', scope: blScopes }, rs);
      const created = await h.call('POST', '/programs', { token: blToken, json: programBody(version, 'ext') });
      assert.equal(created.status, 201, created.text);
      const venToken = jwt(
        { alg: 'ES256', kid: 'ec-1' },
        { ...base, sub: 'ven-x', scp: ['read_all', 'read_targets'] },
        es,
      );
      assert.equal((await h.call('GET', '/programs', { token: venToken })).status, 200);
      assert.equal(
        (await h.call('POST', '/programs', { token: venToken, json: programBody(version, 'no') })).status,
        403,
      );
      const wrongIssuer = jwt({ alg: 'RS256' }, { ...base, iss: 'https://evil.example', client_id: 'bl-x' }, rs);
      assert.equal((await h.call('GET', '/programs', { token: wrongIssuer })).status, 401);
      const wrongAudience = jwt({ alg: 'RS256' }, { ...base, aud: ['other'], client_id: 'bl-x' }, rs);
      assert.equal((await h.call('GET', '/programs', { token: wrongAudience })).status, 401);
      // An HS256 token signed with the RSA public key as secret (algorithm confusion) is refused.
      const confused = jwt({ alg: 'HS256' }, { ...base, client_id: 'bl-x', scope: blScopes }, () =>
        Buffer.from(TOKEN_SECRET),
      );
      assert.equal((await h.call('GET', '/programs', { token: confused })).status, 401);
      // The token endpoint is the external issuer's.
      const local = await h.call('POST', '/auth/token', {
        ...form({ grant_type: 'client_credentials', client_id: 'ven-x', client_secret: 's' }),
      });
      assert.equal(local.status, 501);
      if (version === '3.1.0') {
        const server = await h.call<{ tokenURL: string }>('GET', '/auth/server');
        assert.equal(server.body.tokenURL, 'https://auth.example/token');
      }
      clock += 600_000;
      assert.equal((await h.call('GET', '/programs', { token: venToken })).status, 401);
    });

    if (version === '3.1.0')
      test('GET /auth/server names the token endpoint; GET /notifiers says WEBHOOK', async (t) => {
        const h = await startVtn(t, version);
        const server = await h.call<{ tokenURL: string }>('GET', '/auth/server');
        assert.equal(server.status, 200);
        assert.equal(server.body.tokenURL, `${h.url}/auth/token`);
        const bl = await h.token(BL);
        const notifiers = await h.call<{ WEBHOOK: boolean }>('GET', '/notifiers', { token: bl });
        assert.deepEqual(notifiers.body, { WEBHOOK: true });
        const mqtt = await h.call('GET', '/notifiers/mqtt/topics/programs', { token: bl });
        assert.equal(mqtt.status, 404);
        // read_all is BL's ("BL can read all resources").
        assert.equal((await h.call('GET', '/notifiers', { token: await h.token(VEN1) })).status, 403);
      });
  });
}
