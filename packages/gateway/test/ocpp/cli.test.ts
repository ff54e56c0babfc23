/**
 * `gridseam sim ocpp`, run as the real command (node packages/gateway/bin/gridseam.js ...) against
 * a gateway started in this process with an `ocpp` section on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Device } from '@gridseam/model';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { binPath, cleanEnv, repoRoot, runCli } from '../cli/helpers.ts';
import { eventually } from '../edge/helpers.ts';

const PASSWORD = 'fleet-password-0123456';

describe('gridseam sim ocpp', () => {
  let gateway: Gateway;

  before(async () => {
    const config = parseConfig(
      `
store: { kind: sqlite, path: ':memory:' }
api: { port: 0 }
log: { level: silent }
fleet:
  sites: [{ id: s1, name: Site one }]
ocpp:
  port: 0
  securityProfile: 1
  meterIntervalSeconds: 1
  pollIntervalMs: 100
  stations:
    - { identity: SIM-1, siteId: s1, passwordSha256: ${sha256Hex(PASSWORD)} }
    - { identity: SIM-2, siteId: s1, passwordSha256: ${sha256Hex(PASSWORD)} }
    - { identity: SIM-3, siteId: s1, passwordSha256: ${sha256Hex(PASSWORD)} }
`,
      join(process.cwd(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }) });
  });

  after(async () => {
    await gateway?.close();
  });

  test('connects N stations with a password, prints status lines, stops on SIGTERM with exit 0', async () => {
    const endpoint = gateway.ocpp?.endpoint ?? '';
    const child = spawn(
      process.execPath,
      [
        binPath,
        'sim',
        'ocpp',
        '--url',
        endpoint,
        '--count',
        '3',
        '--version',
        '2.0.1',
        '--prefix',
        'SIM-',
        '--password',
        PASSWORD,
        '--speed',
        '60',
        '--arrival-interval',
        '1',
        '--status-interval',
        '0.2',
      ],
      { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(
        () => (/ocpp simulator: .* 3 connected, 3 booted/.test(stdout) ? true : undefined),
        `a status line with 3 booted stations; stdout: ${stdout}; stderr: ${stderr}`,
      );
      assert.match(stdout, /3 station\(s\) SIM-1\.\.SIM-3 \(OCPP 2\.0\.1\) -> ws:\/\/127\.0\.0\.1:\d+\/ocpp/);
      assert.deepEqual(gateway.ocpp?.csms.connected().sort(), ['SIM-1', 'SIM-2', 'SIM-3']);
      // EVs arrive (once a second, simulated): readings and a session reach the gateway.
      await eventually(async () => {
        const latest = await gateway.registry.latestTelemetry('SIM-1');
        return latest.some((r) => r.measurand === 'activePower' && typeof r.value === 'number' && r.value < 0)
          ? true
          : undefined;
      }, 'SIM-1 charging power in the store');
      const device: Device = await gateway.registry.getDevice('SIM-2');
      assert.equal(device.model, 'SimCharger');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stdout, /ocpp simulator stopped \(SIGTERM\)/);
      await eventually(() => (gateway.ocpp?.csms.connected().length === 0 ? true : undefined), 'all disconnected');
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('usage errors exit 2 with the reason', async () => {
    const cwd = repoRoot;
    const badVersion = await runCli(['sim', 'ocpp', '--url', 'ws://127.0.0.1:1/ocpp', '--version', '1.5'], { cwd });
    assert.equal(badVersion.code, 2);
    assert.match(badVersion.stderr, /--version must be 1\.6 or 2\.0\.1/);
    const badUrl = await runCli(['sim', 'ocpp', '--url', 'http://127.0.0.1:1/ocpp', '--version', '1.6'], { cwd });
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /--url must be a ws:\/\/ or wss:\/\/ URL/);
    const noCa = await runCli(['sim', 'ocpp', '--url', 'wss://127.0.0.1:1/ocpp', '--version', '1.6'], { cwd });
    assert.equal(noCa.code, 2);
    assert.match(noCa.stderr, /a wss:\/\/ URL needs --ca/);
  });
});
