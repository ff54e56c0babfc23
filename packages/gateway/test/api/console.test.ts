/**
 * The console's files (GET /, GET /assets/*) from a temporary build folder: content types, cache
 * headers (immutable for hashed names, ETag revalidation otherwise), traversal refused through
 * inject and over a real socket with a raw request line, 503 when nothing is built; and
 * GET /api/session, the session the console starts with.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_NOT_BUILT } from '../../src/api/routes/console.ts';
import { type Harness, harness, json, site } from './support.ts';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-AbCdEf12.js"></script></head></html>';
const SECRET = 'not-for-the-browser';

/** GET over a raw TCP connection, so the path reaches the server exactly as written. */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

describe('console files', () => {
  let dir: string;
  let h: Harness;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gridseam-console-'));
    const build = join(dir, 'build');
    await mkdir(join(build, 'assets', 'fonts'), { recursive: true });
    await writeFile(join(build, 'index.html'), INDEX);
    await writeFile(join(build, 'assets', 'index-AbCdEf12.js'), 'console.log("console");');
    await writeFile(join(build, 'assets', 'index-XyZ98765.css'), 'body{margin:0}');
    await writeFile(join(build, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(build, 'assets', 'fonts', 'inter-Qw3rTy12.woff2'), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
    await writeFile(join(build, 'assets', '.env'), SECRET);
    await writeFile(join(dir, 'secret.txt'), SECRET);
    await symlink(join(dir, 'secret.txt'), join(build, 'assets', 'link.txt'));
    h = await harness({ api: { consoleDir: build } });
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / without a token, revalidated by ETag, with a content security policy', async () => {
    const response = await h.call(undefined, { method: 'GET', url: '/' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(response.body, INDEX);
    assert.equal(response.headers['cache-control'], 'no-cache');
    assert.match(String(response.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    const etag = String(response.headers.etag);
    const again = await h.call(undefined, { method: 'GET', url: '/', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  it('serves bundled files with their content types; hashed names are immutable', async () => {
    const cases: Array<[string, string, string]> = [
      ['/assets/index-AbCdEf12.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
      ['/assets/index-XyZ98765.css', 'text/css; charset=utf-8', 'public, max-age=31536000, immutable'],
      ['/assets/fonts/inter-Qw3rTy12.woff2', 'font/woff2', 'public, max-age=31536000, immutable'],
      ['/assets/logo.svg', 'image/svg+xml', 'no-cache'],
    ];
    for (const [url, type, cache] of cases) {
      const response = await h.call(undefined, { method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.headers['content-type'], type, url);
      assert.equal(response.headers['cache-control'], cache, url);
      assert.ok(response.headers.etag, url);
    }
    const js = await h.call(undefined, { method: 'GET', url: '/assets/index-AbCdEf12.js' });
    assert.equal(js.body, 'console.log("console");');
  });

  it('answers /favicon.ico with 204 when the build has none', async () => {
    const response = await h.call(undefined, { method: 'GET', url: '/favicon.ico' });
    assert.equal(response.statusCode, 204);
  });

  it('refuses traversal, hidden files, links out of the folder and unknown files with 404', async () => {
    for (const url of [
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/fonts/..%2f..%2f..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/assets/.env',
      '/assets/link.txt',
      '/assets/',
      '/assets/nothing.js',
      '/assets/index-AbCdEf12.js%00.png',
    ]) {
      const response = await h.call(undefined, { method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
      assert.ok(!response.body.includes(SECRET), url);
    }
  });

  it('refuses a raw ../ path over a real socket', async () => {
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(address).port);
    for (const path of ['/assets/../../secret.txt', '/assets/../index.html/../../secret.txt', '/../secret.txt']) {
      const answer = await rawGet(port, path);
      assert.match(answer, /^HTTP\/1\.1 (404|400)/, `${path}: ${answer.slice(0, 60)}`);
      assert.ok(!answer.includes(SECRET), path);
    }
    const index = await fetch(`${address}/`);
    assert.equal(index.status, 200);
    assert.equal(await index.text(), INDEX);
  });
});

describe('console not built', () => {
  let dir: string;
  let h: Harness;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gridseam-console-empty-'));
    h = await harness({ api: { consoleDir: join(dir, 'build') } });
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers / with 503 text/plain naming the build command; assets 404', async () => {
    const response = await h.call(undefined, { method: 'GET', url: '/' });
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(response.body, CONSOLE_NOT_BUILT);
    assert.equal(CONSOLE_NOT_BUILT, 'the console is not built: run npm run build:console');
    assert.equal((await h.call(undefined, { method: 'GET', url: '/assets/index.js' })).statusCode, 404);
  });
});

describe('GET /api/session', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  it("answers the token's name and role", async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const response = await h.call(role, { method: 'GET', url: '/api/session' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(json(response), { name: `${role}-token`, role });
    }
  });

  it('401 without a token; a viewer cannot write', async () => {
    const anonymous = await h.call(undefined, { method: 'GET', url: '/api/session' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(json(anonymous).code, 'GW_ERR_UNAUTHORIZED');
    const write = await h.call('viewer', { method: 'POST', url: '/api/sites', payload: site() });
    assert.equal(write.statusCode, 403);
    assert.equal(json(write).code, 'GW_ERR_FORBIDDEN');
  });

  it('GET /api/live without an upgrade says it is a WebSocket', async () => {
    const response = await h.call(undefined, { method: 'GET', url: '/api/live' });
    assert.equal(response.statusCode, 400);
    assert.equal(json(response).code, 'GW_ERR_VALIDATION');
    assert.match(String(json(response).message), /WebSocket/);
  });
});
