/**
 * `gridseam demo` end to end: the real binary, every server on 127.0.0.1 with free ports, a whole
 * simulated day in 60 seconds (5 sites, x1440). The JSON summary on stdout must show what the real
 * chain did: events from both the IEEE 2030.5 utility and the OpenADR VTN received, at least one
 * utility control applied and confirmed by the devices' read-back, Responses at the utility server.
 * Then the start failures: a taken port, a data folder that cannot be written, bad options — one
 * `error:` line, a non-zero exit, no stack trace. No timing assertions: the guards only stop a hung
 * child.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { DemoSummary } from '../../src/demo/summary.ts';
import { binPath, type CliResult, cleanEnv } from '../cli/helpers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

/** Runs `gridseam demo ...args` to completion (a guard kills it after `guardMs`). */
function runDemo(args: readonly string[], cwd: string, guardMs: number): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [binPath, 'demo', ...args],
      { cwd, env: cleanEnv(), timeout: guardMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function assertOneErrorLine(result: CliResult, pattern: RegExp): void {
  const errors = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
  assert.equal(errors.length, 1, result.stderr);
  assert.match(errors[0] ?? '', pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

describe('gridseam demo', () => {
  const temp = useTempDir('gridseam-demo-cli-');

  test('a day in 60 s: both utilities heard, controls applied and confirmed by read-back, Responses sent', async () => {
    const data = join(temp.dir(), 'data');
    const args = ['--duration', '60', '--sites', '5', '--speed', '1440', '--port', '0', '--data', data, '--json'];
    const result = await runDemo(args, temp.dir(), 240_000);
    assert.equal(result.code, 0, `stderr: ${result.stderr}`);
    const summary = JSON.parse(result.stdout) as DemoSummary;
    assert.equal(summary.version, 1);
    assert.equal(summary.demo.complete, true);
    assert.equal(summary.demo.sites, 5);
    assert.ok(summary.events.received['ieee2030.5'] !== undefined && summary.events.received['ieee2030.5'] >= 1);
    assert.ok(summary.events.received.openadr3 !== undefined && summary.events.received.openadr3 >= 1);
    assert.ok(summary.utilityControls.applied >= 1, JSON.stringify(summary.utilityControls));
    assert.ok(summary.utilityControls.confirmedByReadBack >= 1, JSON.stringify(summary.utilityControls));
    assert.ok(summary.responses.ieee2030_5.sent >= 1, JSON.stringify(summary.responses));
    const sep = summary.perEvent.find((e) => e.source === 'ieee2030.5');
    assert.ok(sep?.responses && (sep.responses.byStatus['1'] ?? 0) >= 1, 'Response 1 (received) for the control');
    assert.ok(sep.commands.confirmed >= 1, JSON.stringify(sep.commands));
    assert.equal(sep.signal?.kind, 'exportLimit');
    const oadr = summary.perEvent.find((e) => e.source === 'openadr3');
    assert.equal(oadr?.signal?.kind, 'importLimit');
    assert.equal(summary.devices.total, 5 * 3 + 3, 'three SunSpec devices a site and three chargers');
    // The run's real day went through the ledger: settleDay refuses any double attribution
    // (GW_ERR_DOUBLE_ATTRIBUTION would show as settlement.error); the batteries' metered energy
    // is split between programs and 'unattributed' and written as lines.
    assert.equal(summary.settlement.error, undefined, summary.settlement.error);
    assert.ok(summary.settlement.days.length >= 1, JSON.stringify(summary.settlement));
    assert.ok(summary.settlement.meteredKwh !== 0, JSON.stringify(summary.settlement));
    assert.ok(summary.settlement.lines > 0, JSON.stringify(summary.settlement));
    const programKwh = summary.settlement.programs.reduce((acc, p) => acc + Math.abs(p.energyKwh), 0);
    assert.ok(programKwh > 0, JSON.stringify(summary.settlement.programs));
    // Progress and the console URL on stderr; stdout holds the JSON only.
    assert.match(result.stderr, /console: http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+/);
    assert.match(result.stderr, /\[demo\]/);
  });

  test('a taken --port: one error line naming it, exit 1, nothing left running', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    try {
      const address = blocker.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const result = await runDemo(['--port', String(port), '--data', join(temp.dir(), 'taken')], temp.dir(), 60_000);
      assert.equal(result.code, 1, result.stderr);
      assertOneErrorLine(result, new RegExp(`--port ${port}: 127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('a data folder that cannot be written: one error line, exit 1', async () => {
    const file = join(temp.dir(), 'not-a-folder');
    await writeFile(file, 'x');
    const result = await runDemo(['--port', '0', '--data', join(file, 'data')], temp.dir(), 60_000);
    assert.equal(result.code, 1, result.stderr);
    assertOneErrorLine(result, /cannot write the data folder .*not-a-folder\/data/);
  });

  test('bad options: one error line each, exit 2, before anything starts', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--sites', '0'], /--sites must be an integer from 1 to 5000/],
      [['--speed', 'fast'], /--speed must be a number from 1 to 3600/],
      [['--profile', 'ieee'], /--profile must be csip-aus or csip/],
      [['--start', '25:00'], /--start must be a time of day HH:MM/],
      [['--port', '-1'], /--port must be an integer from 0 to 65535/],
    ];
    for (const [args, pattern] of cases) {
      const result = await runDemo([...args, '--data', join(temp.dir(), 'never')], temp.dir(), 60_000);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assertOneErrorLine(result, pattern);
    }
  });
});
