/**
 * End to end over real sockets: startGateway with an `ocpp` section (security profile 1, port 0)
 * and charge-point simulators for OCPP 1.6 and 2.0.1 in this process. The stations are registered
 * as ev-charger devices, their meter values reach the telemetry API and their transactions the
 * sessions API, a setpoint posted to the API becomes a charging profile the simulator obeys, a
 * station that goes away leaves its command queued until it is back (or the setpoint expires), and
 * a station with a wrong password never gets in.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Command, type Device, isNumericReading, type Reading } from '@gridseam/model';
import { ChargePointSimulator, type ChargePointSimulatorOptions, type ChargingSession } from '@gridseam/ocpp';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { eventually } from '../edge/helpers.ts';

const TOKEN = 'ocpp-test-operator';
const PASSWORD_16 = 'password-of-cp16-0123';
const PASSWORD_201 = 'password-of-cp201-4567';
const EV = { energyNeedWh: 80_000, socPct: 20, capacityWh: 100_000, maxCurrentA: 32 } as const;

describe('gateway as an OCPP CSMS (security profile 1, simulators on loopback)', () => {
  let gateway: Gateway;
  let url: string;
  const simulators: ChargePointSimulator[] = [];

  function simulator(options: Omit<ChargePointSimulatorOptions, 'url'>): ChargePointSimulator {
    const sim = new ChargePointSimulator({
      url,
      meterIntervalS: 1,
      reconnectMinMs: 100,
      reconnectMaxMs: 200,
      ...options,
    });
    sim.on('error', () => {}); // refusals are asserted through the simulator's state
    simulators.push(sim);
    return sim;
  }

  before(async () => {
    const config = parseConfig(
      `
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api: { port: 0, tokens: [{ name: op, role: operator, tokenSha256: ${sha256Hex(TOKEN)} }] }
telemetry: { flushIntervalMs: 20, batchSize: 100 }
log: { level: silent }
fleet:
  sites: [{ id: s1, name: Site one }]
ocpp:
  port: 0
  securityProfile: 1
  meterIntervalSeconds: 1
  pollIntervalMs: 100
  stations:
    - { identity: CP-16, siteId: s1, name: Bay 16, passwordSha256: ${sha256Hex(PASSWORD_16)} }
    - { identity: CP-201, siteId: s1, id: charger-201, passwordEnv: CP201_PASSWORD, maxCurrentA: 16 }
    - { identity: CP-BAD, siteId: s1, passwordSha256: ${sha256Hex('the-right-password-89')} }
`,
      join(process.cwd(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, {
      logger: createLogger({ level: 'silent' }),
      env: { CP201_PASSWORD: PASSWORD_201 },
    });
    assert.ok(gateway.ocpp);
    url = gateway.ocpp.endpoint;
  });

  after(async () => {
    await Promise.allSettled(simulators.map((s) => s.close()));
    await gateway?.close();
  });

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${gateway.address}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  async function command(id: string): Promise<Command> {
    return (await api<Command>('GET', `/api/commands/${id}`)).body;
  }

  async function terminal(id: string): Promise<Command> {
    return eventually(async () => {
      const found = await command(id);
      return ['pending', 'sent'].includes(found.status) ? undefined : found;
    }, `command ${id} to settle`);
  }

  /** The newest activePower reading of a device stamped after `since`. */
  async function powerAfter(deviceId: string, since: number, accept: (w: number) => boolean): Promise<number> {
    return eventually(async () => {
      const { body } = await api<{ readings: Reading[] }>(
        'GET',
        // from one ms earlier: the API refuses a window whose start is its own "now" (from must be before to).
        `/api/devices/${deviceId}/telemetry?measurand=activePower&from=${since - 1}`,
      );
      const last = body.readings.filter(isNumericReading).at(-1);
      return last !== undefined && accept(last.value) ? last.value : undefined;
    }, `${deviceId} activePower after ${since}`);
  }

  test('configured stations are registered as ev-charger devices at start', async () => {
    const { body: devices } = await api<Device[]>('GET', '/api/devices');
    assert.deepEqual(devices.map((d) => [d.id, d.class, d.adapter.kind, d.adapter.address]).sort(), [
      ['CP-16', 'ev-charger', 'ocpp', 'ocpp://CP-16'],
      ['CP-BAD', 'ev-charger', 'ocpp', 'ocpp://CP-BAD'],
      ['charger-201', 'ev-charger', 'ocpp', 'ocpp://CP-201'],
    ]);
    const small = devices.find((d) => d.id === 'charger-201');
    assert.equal(small?.capabilities.ev?.maxCurrentA, 16);
    assert.ok(small?.capabilities.controls.includes('evChargingLimit'));
    assert.equal(devices.find((d) => d.id === 'CP-16')?.name, 'Bay 16');
  });

  test('1.6 and 2.0.1 stations connect with their passwords, boot, and report readings and sessions', async () => {
    const cp16 = simulator({ identity: 'CP-16', version: '1.6', password: PASSWORD_16 });
    const cp201 = simulator({ identity: 'CP-201', version: '2.0.1', password: PASSWORD_201 });
    assert.equal(await cp16.start(), true);
    assert.equal(await cp201.start(), true);
    await Promise.all([cp16.waitForBoot(), cp201.waitForBoot()]);
    cp16.plugIn(1, EV);
    cp201.plugIn(1, EV);

    // The boot's facts replace the configured ones in the registry.
    const booted = await eventually(async () => {
      const { body } = await api<Device>('GET', '/api/devices/charger-201');
      return body.manufacturer !== undefined ? body : undefined;
    }, 'charger-201 updated from its BootNotification');
    assert.equal(booted.serial, 'SIM-CP-201');

    for (const deviceId of ['CP-16', 'charger-201']) {
      const latest = await eventually(async () => {
        const { body } = await api<Reading[]>('GET', `/api/devices/${deviceId}/telemetry/latest`);
        const power = body.find((r) => r.measurand === 'activePower');
        const state = body.find((r) => r.measurand === 'operatingState');
        // 1.6: StatusNotification Charging; 2.0.1: the TransactionEvent's chargingState Charging.
        return power && typeof power.value === 'number' && power.value < 0 && state?.value === 'charging'
          ? body
          : undefined;
      }, `${deviceId} charging readings`);
      assert.ok(latest.every((r) => r.deviceId === deviceId));
      assert.ok(latest.some((r) => r.measurand === 'energyImported'));

      const sessions = await eventually(async () => {
        const { body } = await api<ChargingSession[]>('GET', `/api/devices/${deviceId}/sessions`);
        return body.length > 0 ? body : undefined;
      }, `${deviceId} session stored`);
      assert.equal(sessions[0]?.state, 'active');
      assert.equal(sessions[0]?.evseId, 1);
    }
    assert.deepEqual(gateway.ocpp?.csms.connected().sort(), ['CP-16', 'CP-201']);
  });

  test('a wrong password is refused before the WebSocket opens; the station never gets in', async () => {
    const bad = simulator({
      identity: 'CP-BAD',
      version: '2.0.1',
      password: 'not-the-right-password',
      retryFirstConnect: false,
    });
    assert.equal(await bad.start(), false);
    assert.equal(bad.connected, false);
    assert.equal(bad.registration, undefined);
    assert.ok(!gateway.ocpp?.csms.connected().includes('CP-BAD'));
    const { body: device } = await api<Device>('GET', '/api/devices/CP-BAD');
    assert.equal(device.manufacturer, undefined); // never booted
    assert.deepEqual((await api<Reading[]>('GET', '/api/devices/CP-BAD/telemetry/latest')).body, []);
    assert.deepEqual((await api<ChargingSession[]>('GET', '/api/devices/CP-BAD/sessions')).body, []);
    // An identity that is not configured at all is refused the same way.
    const stranger = simulator({
      identity: 'CP-STRANGER',
      version: '1.6',
      password: PASSWORD_16,
      retryFirstConnect: false,
    });
    assert.equal(await stranger.start(), false);
  });

  test('an evChargingLimit setpoint becomes a charging profile the 2.0.1 station obeys', async () => {
    const cp201 = simulators.find((s) => s.identity === 'CP-201');
    assert.ok(cp201);
    const before = Date.now();
    const posted = await api<Command>('POST', '/api/devices/charger-201/setpoints', {
      kind: 'evChargingLimit',
      value: 4000,
      unit: 'W',
      durationS: 600,
    });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const done = await terminal(posted.body.id);
    assert.equal(done.status, 'confirmed', JSON.stringify(done.error));
    assert.equal(done.readBack?.value, 4000);
    assert.match(done.history.at(-1)?.detail ?? '', /StationMax profile \d+/);
    // The simulator draws at most the limit, and says so in its next meter values.
    assert.ok(cp201.powerNow(1) <= 4000 + 1, `draws ${cp201.powerNow(1)} W`);
    const power = await powerAfter('charger-201', before, (w) => w >= -4000 - 1);
    assert.ok(power < 0 && power >= -4001, `reported ${power} W`);
  });

  test('a limit in amps on the 1.6 station is confirmed in amps', async () => {
    const cp16 = simulators.find((s) => s.identity === 'CP-16');
    assert.ok(cp16);
    const before = Date.now();
    const posted = await api<Command>('POST', '/api/devices/CP-16/setpoints', {
      kind: 'evChargingLimit',
      value: 10,
      unit: 'A',
      durationS: 600,
    });
    const done = await terminal(posted.body.id);
    assert.equal(done.status, 'confirmed', JSON.stringify(done.error));
    assert.equal(done.readBack?.value, 10);
    assert.equal(cp16.limitNow(1), 10);
    // 10 A x 230 V x 3 phases.
    const power = await powerAfter('CP-16', before, (w) => w >= -6900 - 1);
    assert.ok(power >= -6901, `reported ${power} W`);
  });

  test('a station that goes away: its command stays queued and is delivered when it is back; it expires otherwise', async () => {
    const old = simulators.find((s) => s.identity === 'CP-16');
    await old?.close();
    await eventually(() => (gateway.ocpp?.csms.connected().includes('CP-16') ? undefined : true), 'CP-16 gone');
    // Polls now fail: the edge marks the device faulty (the control engine leaves it out).
    await eventually(
      () => (gateway.edge?.devices().find((d) => d.id === 'CP-16')?.health === 'faulty' ? true : undefined),
      'CP-16 faulty',
    );

    // Commands of one device are delivered in order: the short one first, it expires in the queue.
    const expiring = await api<Command>('POST', '/api/devices/CP-16/setpoints', {
      kind: 'loadLimit',
      value: 3000,
      durationS: 1,
    });
    const expired = await terminal(expiring.body.id);
    assert.equal(expired.status, 'failed');
    assert.equal(expired.error?.code, 'GW_ERR_DEVICE_UNREACHABLE');

    const queued = await api<Command>('POST', '/api/devices/CP-16/setpoints', {
      kind: 'evChargingLimit',
      value: 5000,
      durationS: 600,
    });
    // Sent to the adapter, held by the CSMS until the station is back.
    await eventually(async () => ((await command(queued.body.id)).status === 'sent' ? true : undefined), 'sent');

    const back = simulator({ identity: 'CP-16', version: '1.6', password: PASSWORD_16 });
    assert.equal(await back.start(), true);
    const done = await terminal(queued.body.id);
    assert.equal(done.status, 'confirmed', JSON.stringify(done.error));
    assert.equal(done.readBack?.value, 5000);
    assert.ok(back.installedProfiles().some((p) => p.evseId === 0 && p.profile.periods[0]?.limit === 5000));
    await eventually(
      () => (gateway.edge?.devices().find((d) => d.id === 'CP-16')?.health === 'ok' ? true : undefined),
      'CP-16 ok again',
    );
  });

  test('setpoint kinds a charger does not list are refused at the API', async () => {
    const posted = await api<{ code: string; message: string }>('POST', '/api/devices/CP-16/setpoints', {
      kind: 'exportLimit',
      value: 1000,
      durationS: 60,
    });
    assert.equal(posted.status, 400);
    assert.equal(posted.body.code, 'GW_ERR_VALIDATION');
    assert.match(posted.body.message, /does not support exportLimit \(controls: evChargingLimit, loadLimit\)/);
  });
});
