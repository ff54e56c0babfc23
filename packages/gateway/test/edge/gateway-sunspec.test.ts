/**
 * End to end: startGateway with a `sunspec` section pointing at the simulator on 127.0.0.1. The
 * devices are described and registered, their readings reach the store and the API, and a
 * setpoint posted to the API is written, read back and confirmed (or fails with the device's reason).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Command, type Device, GridseamError, type Reading } from '@gridseam/model';
import { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { eventually } from './helpers.ts';

const TOKEN = 'edge-test-operator';

describe('gateway with SunSpec devices (simulator on loopback)', () => {
  let simulator: SunSpecSimulator;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    simulator = new SunSpecSimulator({ port: 0, profile: 'battery,pv-inverter', count: 2 });
    ({ port } = await simulator.start());
    const config = parseConfig(
      `
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api: { port: 0, tokens: [{ name: op, role: operator, tokenSha256: ${sha256Hex(TOKEN)} }] }
telemetry: { flushIntervalMs: 20, batchSize: 100 }
log: { level: silent }
fleet:
  sites: [{ id: s1, name: Site one }]
sunspec:
  timeoutMs: 2000
  devices:
    - { id: bat-1, siteId: s1, host: 127.0.0.1, port: ${port}, unit: 1, pollIntervalMs: 200, name: Garage battery }
  discover:
    - { host: 127.0.0.1, port: ${port}, units: "2-4", siteId: s1, idPrefix: "pv-", pollIntervalMs: 200 }
`,
      join(process.cwd(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }) });
  });

  after(async () => {
    await gateway?.close();
    await simulator?.stop();
  });

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${gateway.address}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  async function terminal(id: string): Promise<Command> {
    return eventually(async () => {
      const { body } = await api<Command>('GET', `/api/commands/${id}`);
      return ['pending', 'sent'].includes(body.status) ? undefined : body;
    }, `command ${id} to settle`);
  }

  test('configured and discovered devices are registered from their SunSpec data', async () => {
    const { body: devices } = await api<Device[]>('GET', '/api/devices');
    assert.deepEqual(devices.map((d) => [d.id, d.class, d.adapter.kind, d.adapter.address]).sort(), [
      ['bat-1', 'battery', 'sunspec-modbus', `tcp://127.0.0.1:${port}/1`],
      ['pv-2', 'pv-inverter', 'sunspec-modbus', `tcp://127.0.0.1:${port}/2`],
    ]);
    const battery = devices.find((d) => d.id === 'bat-1');
    assert.equal(battery?.name, 'Garage battery');
    assert.equal(battery?.model, 'SimBattery');
    assert.equal(battery?.capabilities.storage?.capacityWh, 10000);
    assert.deepEqual(
      gateway.edge?.devices().map((d) => [d.id, d.state]),
      [
        ['bat-1', 'running'],
        ['pv-2', 'running'],
      ],
    );
  });

  test('polled readings reach the store and the telemetry API', async () => {
    const latest = await eventually(async () => {
      const { status, body } = await api<Reading[]>('GET', '/api/devices/bat-1/telemetry/latest');
      assert.equal(status, 200);
      return body.some((r) => r.measurand === 'stateOfCharge') ? body : undefined;
    }, 'a stored state of charge');
    const soc = latest.find((r) => r.measurand === 'stateOfCharge');
    assert.ok(typeof soc?.value === 'number' && soc.value > 0 && soc.value <= 100);
    const pv = await eventually(async () => {
      const { body } = await api<Reading[]>('GET', '/api/devices/pv-2/telemetry/latest');
      return body.some((r) => r.measurand === 'activePower') ? body : undefined;
    }, 'pv-2 readings');
    assert.ok(pv.every((r) => r.deviceId === 'pv-2'));
  });

  test('a setpoint posted to the API is written, read back and confirmed', async () => {
    const posted = await api<Command>('POST', '/api/devices/bat-1/setpoints', {
      kind: 'exportLimit',
      value: 2500,
      durationS: 600,
    });
    assert.equal(posted.status, 202);
    assert.equal(posted.body.status, 'pending');
    const done = await terminal(posted.body.id);
    assert.equal(done.status, 'confirmed', JSON.stringify(done.error));
    assert.equal(done.readBack?.value, 2500);
    assert.equal(done.readBack?.matched, true);
    assert.deepEqual(
      done.history.map((h) => h.status),
      ['pending', 'sent', 'confirmed'],
    );
    const audit = await gateway.store.audit.list({ actor: 'edge', targetId: posted.body.id });
    assert.deepEqual(
      audit.map((a) => `${String(a.detail?.from)}->${String(a.detail?.to)}`),
      ['pending->sent', 'sent->confirmed'],
    );
  });

  test('a setpoint the device cannot carry out becomes a failed command with the reason', async () => {
    // Charging power needs storage: the PV inverter advertises fixedW, but not below zero.
    const posted = await api<Command>('POST', '/api/devices/pv-2/setpoints', {
      kind: 'fixedW',
      value: -500,
      durationS: 600,
    });
    assert.equal(posted.status, 202);
    const done = await terminal(posted.body.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'GW_ERR_NOT_SUPPORTED');
    assert.match(done.error?.message ?? '', /storage/);
  });

  test('a sunspec device whose site is not in fleet.sites is a configuration error naming the key', () => {
    assert.throws(
      () =>
        parseConfig(
          `
fleet: { sites: [{ id: s1, name: S }] }
sunspec:
  devices: [{ id: d1, siteId: nowhere, host: 127.0.0.1 }]
`,
          'bad.yaml',
        ),
      (error: unknown) =>
        GridseamError.is(error) &&
        error.code === 'GW_ERR_CONFIG' &&
        /sunspec\.devices\[0\]\.siteId must name a site in fleet\.sites/.test(error.message),
    );
  });
});
