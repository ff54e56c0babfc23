import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { createLogger, prettyLine } from '../../src/log.ts';

function capture() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

describe('createLogger', () => {
  test('writes JSON lines with level, time and message', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.info({ address: 'http://127.0.0.1:1' }, 'listening');
    logger.debug('not at info');
    const lines = out.text().trim().split('\n');
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(entry.msg, 'listening');
    assert.equal(entry.level, 30);
    assert.equal(entry.address, 'http://127.0.0.1:1');
    assert.equal(typeof entry.time, 'number');
  });

  test('redacts authorization headers and token fields', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.info({
      req: { headers: { authorization: 'Bearer dev-admin', cookie: 'session=1', host: 'h' } },
      headers: { authorization: 'Bearer x' },
      token: 'plain-secret',
      tokenSha256: 'a'.repeat(64),
      api: { tokens: [{ name: 'ops', tokenSha256: 'b'.repeat(64) }] },
      options: { password: 'pw' },
    });
    const text = out.text();
    for (const secret of ['dev-admin', 'session=1', 'Bearer x', 'plain-secret', 'a'.repeat(64), 'b'.repeat(64), '"pw"'])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    const entry = JSON.parse(text) as {
      req: { headers: Record<string, string> };
      api: { tokens: Array<Record<string, string>> };
    };
    assert.equal(entry.req.headers.authorization, '[redacted]');
    assert.equal(entry.req.headers.host, 'h', 'other headers stay');
    assert.equal(entry.api.tokens[0]?.name, 'ops', 'the token name stays');
  });

  test('redaction also holds in child loggers', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream }).child({ component: 'api' });
    logger.info({ authorization: 'Bearer child-secret' }, 'x');
    assert.ok(!out.text().includes('child-secret'));
    assert.match(out.text(), /"component":"api"/);
  });

  test('pretty mode prints readable lines', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: true, destination: out.stream });
    logger.warn({ port: 8080, token: 'secret' }, 'port in use');
    const line = out.text();
    assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}port in use port=8080 token=\[redacted\]\n$/);
  });
});

describe('prettyLine', () => {
  test('formats errors with their stack indented, and passes non-JSON through', () => {
    const line = prettyLine(
      JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { message: 'boom', stack: 'Error: boom\n    at x' } }),
    );
    assert.equal(line, '00:00:00.000 ERROR failed\n    Error: boom\n        at x\n');
    assert.equal(prettyLine('not json'), 'not json\n');
  });
});
