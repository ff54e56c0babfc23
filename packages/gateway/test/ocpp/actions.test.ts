/**
 * Operator actions on charging stations over the API (routes/chargers.ts), end to end: startGateway
 * with an `ocpp` section and charge-point simulators for OCPP 1.6 and 2.0.1 on loopback. Remote
 * start and stop show in the sessions API, availability in the station's operating state, settings
 * round-trip through the station, the composite schedule shows a setpoint's profile, and roles,
 * unknown devices, non-chargers, offline stations and hostile bodies get their stable errors.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command, Reading } from '@gridseam/model';
import { ChargePointSimulator, type ChargingSession, type CompositeSchedule, type OcppVersion } from '@gridseam/ocpp';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import type { AuditEntry } from '../../src/store/types.ts';
import { eventually } from '../edge/helpers.ts';

const TOKENS = { operator: 'actions-operator-token', viewer: 'actions-viewer-token', admin: 'actions-admin-token' };
type Role = keyof typeof TOKENS;

interface Answer<T> {
  status: number;
  body: T;
}
interface ErrorBody {
  code: string;
  message: string;
  retryable: boolean;
  issues?: Array<{ path: string; message: string }>;
}

/** One station per version: its registry device id, its identity and the key its meter interval lives under. */
const STATIONS: ReadonlyArray<{ version: OcppVersion; deviceId: string; identity: string; meterKey: string }> = [
  { version: '1.6', deviceId: 'charger-16', identity: 'CP-A16', meterKey: 'MeterValueSampleInterval' },
  { version: '2.0.1', deviceId: 'charger-201', identity: 'CP-B201', meterKey: 'SampledDataCtrlr.TxUpdatedInterval' },
];

describe('operator actions on OCPP charging stations through the API (1.6 and 2.0.1 simulators)', () => {
  let gateway: Gateway;
  const simulators = new Map<string, ChargePointSimulator>();

  before(async () => {
    const config = parseConfig(
      `
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api:
  port: 0
  tokens:
    - { name: op, role: operator, tokenSha256: ${sha256Hex(TOKENS.operator)} }
    - { name: view, role: viewer, tokenSha256: ${sha256Hex(TOKENS.viewer)} }
    - { name: adm, role: admin, tokenSha256: ${sha256Hex(TOKENS.admin)} }
telemetry: { flushIntervalMs: 20, batchSize: 100 }
log: { level: silent }
fleet:
  sites: [{ id: s1, name: Site one }]
ocpp:
  port: 0
  securityProfile: 0
  meterIntervalSeconds: 1
  pollIntervalMs: 100
  stations:
    - { identity: CP-A16, siteId: s1, id: charger-16 }
    - { identity: CP-B201, siteId: s1, id: charger-201 }
    - { identity: CP-OFF, siteId: s1 }
`,
      join(process.cwd(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }) });
    assert.ok(gateway.ocpp);
    for (const { identity, version } of STATIONS) {
      const sim: ChargePointSimulator = new ChargePointSimulator({
        url: gateway.ocpp.endpoint,
        identity,
        version,
        meterIntervalS: 1,
        reconnectMinMs: 100,
        reconnectMaxMs: 200,
      });
      sim.on('error', () => {});
      simulators.set(identity, sim);
      assert.equal(await sim.start(), true);
      await sim.waitForBoot();
    }
  });

  after(async () => {
    await Promise.allSettled([...simulators.values()].map((s) => s.close()));
    await gateway?.close();
  });

  async function call<T>(role: Role, method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const response = await fetch(`${gateway.address}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKENS[role]}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as T };
  }
  const op = <T>(method: string, path: string, body?: unknown) => call<T>('operator', method, path, body);

  function simulatorOf(identity: string): ChargePointSimulator {
    const sim = simulators.get(identity);
    assert.ok(sim, identity);
    return sim;
  }

  async function sessions(deviceId: string): Promise<ChargingSession[]> {
    return (await op<ChargingSession[]>('GET', `/api/devices/${deviceId}/sessions`)).body;
  }

  async function operatingState(deviceId: string): Promise<string | undefined> {
    const { body } = await op<Reading[]>('GET', `/api/devices/${deviceId}/telemetry/latest`);
    const state = body.find((r) => r.measurand === 'operatingState')?.value;
    return typeof state === 'string' ? state : undefined;
  }

  async function auditOf(deviceId: string, action: string): Promise<AuditEntry[]> {
    const { body } = await call<AuditEntry[]>(
      'admin',
      'GET',
      `/api/audit?targetType=device&targetId=${deviceId}&limit=1000`,
    );
    return body.filter((entry) => entry.action === action);
  }

  for (const { version, deviceId, identity, meterKey } of STATIONS) {
    test(`${version}: remote start opens a session in /sessions, remote stop ends it, both audited`, async () => {
      const idTag = `OPER-${version.replace('.', '')}`;
      const started = await op<{ status: string }>('POST', `/api/devices/${deviceId}/charger/remote-start`, {
        evseId: 1,
        idTag,
      });
      assert.deepEqual(started, { status: 200, body: { status: 'Accepted' } });
      const active = await eventually(
        async () => (await sessions(deviceId)).find((s) => s.state === 'active' && s.idTag === idTag),
        `${deviceId} remote-started session`,
      );
      assert.equal(active.evseId, 1);
      assert.equal(active.identity, identity);

      // A transaction the station does not know: its Rejected, as a 200 body.
      const unknown = await op<{ status: string }>('POST', `/api/devices/${deviceId}/charger/remote-stop`, {
        transactionId: version === '1.6' ? '999999999' : 'no-such-transaction',
      });
      assert.deepEqual(unknown, { status: 200, body: { status: 'Rejected' } });

      const stopped = await op<{ status: string }>('POST', `/api/devices/${deviceId}/charger/remote-stop`, {
        transactionId: active.transactionId,
      });
      assert.deepEqual(stopped, { status: 200, body: { status: 'Accepted' } });
      const ended = await eventually(
        async () =>
          (await sessions(deviceId)).find((s) => s.transactionId === active.transactionId && s.state === 'ended'),
        `${deviceId} session ended`,
      );
      assert.ok(ended.endedAt !== undefined && ended.endedAt >= active.startedAt);
      assert.equal(
        simulatorOf(identity)
          .sessions()
          .some((s) => s.state === 'active'),
        false,
      );

      const starts = await auditOf(deviceId, 'charger.remote-start');
      assert.equal(starts.length, 1);
      assert.equal(starts[0]?.actor, 'op');
      assert.deepEqual(starts[0]?.detail, { identity, evseId: 1, idTag, status: 'Accepted' });
      const stops = await auditOf(deviceId, 'charger.remote-stop');
      assert.deepEqual(
        stops.map((entry) => entry.detail?.status),
        ['Rejected', 'Accepted'],
      );
    });

    test(`${version}: availability shows in the operating state; an unavailable station refuses a remote start`, async () => {
      const off = await op<{ status: string }>('POST', `/api/devices/${deviceId}/charger/availability`, {
        evseId: 1,
        available: false,
      });
      assert.deepEqual(off, { status: 200, body: { status: 'Accepted' } });
      await eventually(
        async () => ((await operatingState(deviceId)) === 'unavailable' ? true : undefined),
        `${deviceId} unavailable`,
      );
      const refused = await op<{ status: string }>('POST', `/api/devices/${deviceId}/charger/remote-start`, {
        idTag: 'OPER-LATE',
      });
      assert.deepEqual(refused, { status: 200, body: { status: 'Rejected' } });

      const on = await op<{ status: string }>('POST', `/api/devices/${deviceId}/charger/availability`, {
        evseId: 1,
        available: true,
      });
      assert.deepEqual(on, { status: 200, body: { status: 'Accepted' } });
      const state = await eventually(async () => {
        const now = await operatingState(deviceId);
        return now !== undefined && now !== 'unavailable' ? now : undefined;
      }, `${deviceId} operative again`);
      assert.ok(['idle', 'starting', 'standby'].includes(state), state);
      assert.deepEqual(
        (await auditOf(deviceId, 'charger.availability')).map((e) => [e.detail?.available, e.detail?.status]),
        [
          [false, 'Accepted'],
          [true, 'Accepted'],
        ],
      );
    });

    test(`${version}: settings read and write round trip through the station (${meterKey})`, async () => {
      const path = `/api/devices/${deviceId}/charger/settings`;
      const unknownKey = version === '1.6' ? 'NoSuchKey' : 'NoSuchCtrlr.NoSuchVariable';
      const first = await call<{ values: Record<string, string | null> }>(
        'viewer',
        'GET',
        `${path}?keys=${meterKey},${unknownKey}`,
      );
      assert.equal(first.status, 200, JSON.stringify(first.body));
      // The CSMS asked for meterIntervalSeconds (1) at boot.
      assert.deepEqual(first.body, { values: { [meterKey]: '1', [unknownKey]: null } });

      const written = await op<{ statuses: Record<string, string> }>('PUT', path, { values: { [meterKey]: '7' } });
      assert.deepEqual(written, { status: 200, body: { statuses: { [meterKey]: 'Accepted' } } });
      assert.equal(simulatorOf(identity).meterIntervalS, 7);
      assert.deepEqual((await op('GET', `${path}?keys=${meterKey}`)).body, { values: { [meterKey]: '7' } });

      // Per-key statuses as the station answered: a read-only key, an unknown one; secret values are not audited.
      const readOnly = version === '1.6' ? 'NumberOfConnectors' : 'ChargingStation.EVSECount';
      const secret = version === '1.6' ? 'SecretThing' : 'SecurityCtrlr.SecretThing';
      const mixed = await op<{ statuses: Record<string, string> }>('PUT', path, {
        values: { [meterKey]: '1', [readOnly]: '4', [secret]: 'hunter2' },
      });
      assert.equal(mixed.status, 200, JSON.stringify(mixed.body));
      assert.equal(mixed.body.statuses[meterKey], 'Accepted');
      assert.equal(mixed.body.statuses[readOnly], 'Rejected');
      assert.ok(['NotSupported', 'UnknownComponent', 'UnknownVariable'].includes(mixed.body.statuses[secret] ?? ''));
      assert.equal(simulatorOf(identity).meterIntervalS, 1);

      const audited = await auditOf(deviceId, 'charger.settings');
      assert.equal(audited.length, 2);
      assert.deepEqual(audited[0]?.detail, {
        identity,
        values: { [meterKey]: '7' },
        statuses: { [meterKey]: 'Accepted' },
      });
      assert.deepEqual(audited[1]?.detail?.values, { [meterKey]: '1', [readOnly]: '4', [secret]: '[redacted]' });
      assert.ok(!JSON.stringify(audited).includes('hunter2'));
    });

    test(`${version}: the composite schedule shows an operator setpoint's profile`, async () => {
      const posted = await op<Command>('POST', `/api/devices/${deviceId}/setpoints`, {
        kind: 'evChargingLimit',
        value: 4000,
        unit: 'W',
        durationS: 600,
      });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      const done = await eventually(async () => {
        const { body } = await op<Command>('GET', `/api/commands/${posted.body.id}`);
        return ['pending', 'sent'].includes(body.status) ? undefined : body;
      }, `command ${posted.body.id} settled`);
      assert.equal(done.status, 'confirmed', JSON.stringify(done.error));

      const schedule = await call<CompositeSchedule>(
        'viewer',
        'GET',
        `/api/devices/${deviceId}/charger/composite-schedule?evseId=0&durationS=300&unit=W`,
      );
      assert.equal(schedule.status, 200, JSON.stringify(schedule.body));
      assert.equal(schedule.body.evseId, 0);
      assert.equal(schedule.body.unit, 'W');
      assert.ok(schedule.body.periods.length >= 1);
      assert.equal(schedule.body.periods[0]?.limit, 4000);
      assert.ok(Math.abs(schedule.body.start - Date.now()) < 60_000, 'the schedule starts about now');
    });
  }

  test('a viewer reads but may not act (403); the operator writes', async () => {
    const writes: Array<[string, string, unknown]> = [
      ['POST', 'remote-start', { idTag: 'VIEWER' }],
      ['POST', 'remote-stop', { transactionId: '1' }],
      ['POST', 'reset', { type: 'Soft' }],
      ['POST', 'availability', { evseId: 1, available: false }],
      ['PUT', 'settings', { values: { MeterValueSampleInterval: '9' } }],
    ];
    for (const [method, action, body] of writes) {
      const refused = await call<ErrorBody>('viewer', method, `/api/devices/charger-16/charger/${action}`, body);
      assert.equal(refused.status, 403, action);
      assert.equal(refused.body.code, 'GW_ERR_FORBIDDEN');
    }
    assert.equal(simulatorOf('CP-A16').meterIntervalS, 1);
    assert.equal((await auditOf('charger-16', 'charger.reset')).length, 0);
    const read = await call('viewer', 'GET', '/api/devices/charger-16/charger/settings?keys=HeartbeatInterval');
    assert.equal(read.status, 200);
  });

  test('unknown device 404, a device that is not a station 422, an offline station 504 (audited)', async () => {
    for (const [method, path, body] of [
      ['POST', '/api/devices/no-such-device/charger/remote-start', { idTag: 'X' }],
      ['GET', '/api/devices/no-such-device/charger/settings?keys=A', undefined],
      ['GET', '/api/devices/no-such-device/charger/composite-schedule', undefined],
    ] as const) {
      const missing = await op<ErrorBody>(method, path, body);
      assert.equal(missing.status, 404, path);
      assert.equal(missing.body.code, 'GW_ERR_NOT_FOUND');
    }

    const battery = await op('POST', '/api/devices', {
      id: 'bat-1',
      siteId: 's1',
      class: 'battery',
      adapter: { kind: 'simulator', address: 'sim://bat-1' },
      capabilities: {
        storage: { capacityWh: 10_000, maxChargeW: 5000, maxDischargeW: 5000 },
        controls: ['chargeLimit'],
      },
    });
    assert.equal(battery.status, 201, JSON.stringify(battery.body));
    const notCharger = await op<ErrorBody>('POST', '/api/devices/bat-1/charger/reset', { type: 'Hard' });
    assert.equal(notCharger.status, 422);
    assert.equal(notCharger.body.code, 'GW_ERR_NOT_SUPPORTED');
    assert.match(notCharger.body.message, /not an OCPP charging station/);

    const offline = await op<ErrorBody>('POST', '/api/devices/CP-OFF/charger/remote-start', { idTag: 'X' });
    assert.equal(offline.status, 504);
    assert.equal(offline.body.code, 'GW_ERR_DEVICE_UNREACHABLE');
    assert.equal(offline.body.retryable, true);
    const offlineRead = await op<ErrorBody>('GET', '/api/devices/CP-OFF/charger/settings?keys=HeartbeatInterval');
    assert.equal(offlineRead.body.code, 'GW_ERR_DEVICE_UNREACHABLE');
    assert.deepEqual(
      (await auditOf('CP-OFF', 'charger.remote-start')).map((e) => e.detail),
      [{ identity: 'CP-OFF', evseId: 0, idTag: 'X', error: 'GW_ERR_DEVICE_UNREACHABLE' }],
    );
  });

  test('hostile and malformed requests are refused with 400 and change nothing', async () => {
    const base = '/api/devices/charger-16/charger';
    const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`Key${i}`, '1']));
    const cases: Array<[string, string, unknown, string, string | undefined]> = [
      ['POST', 'remote-start', { idTag: 'A', extra: 1 }, 'GW_ERR_VALIDATION', '/extra'],
      ['POST', 'remote-start', { idTag: 'has space' }, 'GW_ERR_VALIDATION', '/idTag'],
      ['POST', 'remote-start', { idTag: 'X'.repeat(37) }, 'GW_ERR_VALIDATION', '/idTag'],
      // 1.6 IdToken is CiString20: the CSMS's strict schema check refuses it before it is sent.
      ['POST', 'remote-start', { idTag: 'X'.repeat(21) }, 'GW_ERR_VALIDATION', undefined],
      ['POST', 'remote-start', { evseId: -1, idTag: 'A' }, 'GW_ERR_VALIDATION', '/evseId'],
      ['POST', 'remote-start', { evseId: 1.5, idTag: 'A' }, 'GW_ERR_VALIDATION', '/evseId'],
      ['POST', 'remote-stop', { transactionId: 'abc' }, 'GW_ERR_VALIDATION', '/transactionId'],
      ['POST', 'remote-stop', { transactionId: 12 }, 'GW_ERR_VALIDATION', '/transactionId'],
      ['POST', 'reset', { type: 'Immediate' }, 'GW_ERR_VALIDATION', '/type'],
      ['POST', 'availability', { evseId: 1 }, 'GW_ERR_VALIDATION', '/available'],
      ['POST', 'availability', { evseId: 1, available: 'no' }, 'GW_ERR_VALIDATION', '/available'],
      ['PUT', 'settings', { values: {} }, 'GW_ERR_VALIDATION', '/values'],
      ['PUT', 'settings', { values: tooMany }, 'GW_ERR_VALIDATION', '/values'],
      ['PUT', 'settings', { values: { 'a,b': '1' } }, 'GW_ERR_VALIDATION', '/values/a,b'],
      ['PUT', 'settings', { values: { HeartbeatInterval: 5 } }, 'GW_ERR_VALIDATION', '/values/HeartbeatInterval'],
      ['PUT', 'settings', { values: { HeartbeatInterval: 'x'.repeat(501) } }, 'GW_ERR_VALIDATION', undefined],
      ['PUT', 'settings', { values: { ['K'.repeat(51)]: '1' } }, 'GW_ERR_VALIDATION', undefined],
      ['PUT', 'settings', '{"values":{"__proto__":{"x":"1"}}}', 'GW_ERR_MALFORMED', undefined],
      ['POST', 'reset', '{"type":', 'GW_ERR_MALFORMED', undefined],
    ];
    for (const [method, action, body, code, path] of cases) {
      const answer = await op<ErrorBody>(method, `${base}/${action}`, body);
      const what = `${action} ${JSON.stringify(body).slice(0, 80)}`;
      assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, code, what);
      if (path !== undefined)
        assert.ok(
          answer.body.issues?.some((issue) => issue.path === path),
          `${what}: ${JSON.stringify(answer.body.issues)}`,
        );
    }
    const distinct = Array.from({ length: 101 }, (_, i) => `K${i}`).join(',');
    for (const query of ['keys=has%20space', `keys=${distinct}`, `keys=${'k'.repeat(8193)}`, 'keys=A,,B%01']) {
      const answer = await op<ErrorBody>('GET', `${base}/settings?${query}`);
      assert.equal(answer.status, 400, query.slice(0, 40));
      assert.equal(answer.body.code, 'GW_ERR_VALIDATION');
    }
    for (const query of ['durationS=0', 'durationS=604801', 'evseId=-1', 'unit=kW', 'other=1']) {
      const answer = await op<ErrorBody>('GET', `${base}/composite-schedule?${query}`);
      assert.equal(answer.status, 400, query);
      assert.equal(answer.body.code, 'GW_ERR_VALIDATION');
    }
    // A 2.0.1 key that is not "Component.Variable", named at the body's field.
    const badKey = await op<ErrorBody>('PUT', '/api/devices/charger-201/charger/settings', {
      values: { NoDotHere: '1' },
    });
    assert.equal(badKey.status, 400);
    assert.equal(badKey.body.issues?.[0]?.path, '/values');
    const badRead = await op<ErrorBody>('GET', '/api/devices/charger-201/charger/settings');
    assert.equal(badRead.status, 400);
    assert.equal(badRead.body.issues?.[0]?.path, '/keys');

    // Nothing reached the stations: the interval is unchanged and every session is still ended.
    assert.equal(simulatorOf('CP-A16').meterIntervalS, 1);
    assert.equal(
      simulatorOf('CP-A16')
        .sessions()
        .some((s) => s.state === 'active'),
      false,
    );
    // The gateway still answers.
    assert.equal((await op('GET', '/api/health')).status, 200);
  });

  test('reset: 2.0.1 Soft waits for the transaction (Scheduled); 1.6 Hard ends it and the station boots again', async () => {
    const start = async (deviceId: string, idTag: string) => {
      assert.deepEqual((await op('POST', `/api/devices/${deviceId}/charger/remote-start`, { evseId: 1, idTag })).body, {
        status: 'Accepted',
      });
      return eventually(
        async () => (await sessions(deviceId)).find((s) => s.state === 'active' && s.idTag === idTag),
        `${deviceId} session ${idTag}`,
      );
    };

    const tx201 = await start('charger-201', 'RESET-201');
    const soft = await op('POST', '/api/devices/charger-201/charger/reset', { type: 'Soft' });
    assert.deepEqual(soft, { status: 200, body: { status: 'Scheduled' } });
    assert.equal(
      simulatorOf('CP-B201')
        .sessions()
        .find((s) => s.transactionId === tx201.transactionId)?.state,
      'active',
    );

    const tx16 = await start('charger-16', 'RESET-16');
    let disconnects = 0;
    simulatorOf('CP-A16').on('disconnected', () => disconnects++);
    const rebooted = new Promise<void>((resolve) => simulatorOf('CP-A16').once('booted', () => resolve()));
    const hard = await op('POST', '/api/devices/charger-16/charger/reset', { type: 'Hard' });
    assert.deepEqual(hard, { status: 200, body: { status: 'Accepted' } });
    const ended = await eventually(
      async () =>
        (await sessions('charger-16')).find((s) => s.transactionId === tx16.transactionId && s.state === 'ended'),
      'the 1.6 session ended by the reset',
    );
    assert.equal(ended.stopReason, 'HardReset');
    // The station drops its connection, reconnects and boots; the CSMS takes commands again.
    await rebooted;
    assert.equal(disconnects, 1);
    const settings = await eventually(async () => {
      const answer = await op<{ values: Record<string, string | null> }>(
        'GET',
        '/api/devices/charger-16/charger/settings?keys=HeartbeatInterval',
      );
      return answer.status === 200 ? answer.body : undefined;
    }, 'CP-A16 back after its reset');
    assert.ok(typeof settings.values.HeartbeatInterval === 'string');
    assert.deepEqual(
      (await auditOf('charger-16', 'charger.reset')).map((e) => e.detail),
      [{ identity: 'CP-A16', type: 'Hard', status: 'Accepted' }],
    );
  });
});
