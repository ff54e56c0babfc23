/**
 * The demo's data folder: the test PKI and the API tokens are made once and reused, each run's
 * databases start afresh, tokens are private (0600), and a folder the demo cannot use is one
 * clear error. Also the status line's formatting and its pace without a terminal.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { AGGREGATOR_CLIENT, prepareDemoData } from '../../src/demo/data.ts';
import { DemoStartError } from '../../src/demo/errors.ts';
import { formatPower, formatStatus, STATUS_EVERY_MS, StatusDisplay } from '../../src/demo/status.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

describe('prepareDemoData', () => {
  const temp = useTempDir('gridseam-demo-data-');

  test('first run: a test PKI (server names 127.0.0.1, an aggregator) and private tokens; later runs reuse both', async () => {
    const dir = join(temp.dir(), 'data');
    const first = await prepareDemoData(dir);
    assert.equal(first.pkiCreated, true);
    assert.equal(first.tokensCreated, true);
    assert.ok(first.pki.server.hostnames.includes('127.0.0.1'));
    assert.equal(first.pki.clients.find((c) => c.name === AGGREGATOR_CLIENT)?.kind, 'aggregator');
    assert.match(first.aggregatorLfdi, /^[0-9a-f]{40}$/);
    assert.equal((await stat(first.paths.tokens)).mode & 0o777, 0o600);
    assert.notEqual(first.tokens.operator, first.tokens.viewer);

    // A previous run's database is removed; the PKI and tokens stay.
    await writeFile(first.paths.gatewayDb, 'old');
    await writeFile(`${first.paths.gatewayDb}-wal`, 'old');
    const second = await prepareDemoData(dir);
    assert.equal(second.pkiCreated, false);
    assert.equal(second.tokensCreated, false);
    assert.equal(second.caPem, first.caPem, 'the same CA');
    assert.deepEqual(second.tokens, first.tokens, 'the same tokens');
    await assert.rejects(stat(first.paths.gatewayDb), /ENOENT/);
    await assert.rejects(stat(`${first.paths.gatewayDb}-wal`), /ENOENT/);
  });

  test('a folder under a file cannot be written: one DemoStartError with its errno code', async () => {
    const file = join(temp.dir(), 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(
      prepareDemoData(join(file, 'data')),
      (error: unknown) =>
        error instanceof DemoStartError &&
        /cannot write the data folder .*a-file\/data/.test(error.message) &&
        /^E[A-Z]+$/.test(error.code),
    );
  });

  test('a PKI or token file the demo did not make is refused (a usage error), never overwritten', async () => {
    const dir = join(temp.dir(), 'foreign');
    await mkdir(join(dir, 'pki'), { recursive: true });
    await writeFile(join(dir, 'pki', 'ca.cert.pem'), 'not ours');
    await assert.rejects(
      prepareDemoData(dir),
      (error: unknown) => GridseamError.is(error) && /holds a test PKI the demo cannot read/.test(error.message),
    );
    assert.equal(await readFile(join(dir, 'pki', 'ca.cert.pem'), 'utf8'), 'not ours');

    const other = join(temp.dir(), 'tokens');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'tokens.json'), '{"hello": 1}');
    await assert.rejects(
      prepareDemoData(other),
      (error: unknown) =>
        GridseamError.is(error) && error.code === 'GW_ERR_CONFIG' && /is not a demo token file/.test(error.message),
    );
  });

  test('errors are GridseamError or DemoStartError, never a bare TypeError', async () => {
    const error = await prepareDemoData('\0bad').catch((e: unknown) => e);
    assert.ok(error instanceof DemoStartError || GridseamError.is(error), String(error));
  });
});

describe('status line', () => {
  const status = {
    time: '11:05',
    online: 17,
    devices: 18,
    activeEvents: 1,
    upcomingEvents: 1,
    fleetW: 12_345,
    meanSocPct: 54.4,
  };

  test('formats time, devices online, events, fleet power and mean SoC', () => {
    assert.equal(formatStatus(status), '11:05 | 17/18 online | events 1 active, 1 upcoming | fleet 12.3 kW | SoC 54%');
    assert.equal(
      formatStatus({ ...status, activeEvents: 0, upcomingEvents: 0, meanSocPct: null }),
      '11:05 | 17/18 online | no events | fleet 12.3 kW | SoC -',
    );
    assert.equal(formatPower(2_345_000), '2.35 MW');
    assert.equal(formatPower(-500), '-0.5 kW');
  });

  test('without a terminal: a plain line at most every STATUS_EVERY_MS, notes on their own lines', () => {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    });
    const display = new StatusDisplay(stream, false);
    display.update(0.25, status, 1_000_000);
    display.update(0.26, status, 1_000_000 + STATUS_EVERY_MS - 1);
    display.note('11:00 something happens');
    display.update(0.5, status, 1_000_000 + STATUS_EVERY_MS);
    display.stop();
    assert.deepEqual(text.trimEnd().split('\n'), [
      `[demo]  25% ${formatStatus(status)}`,
      '11:00 something happens',
      `[demo]  50% ${formatStatus(status)}`,
    ]);
  });
});
