/**
 * The gateway as an OCPP CSMS over TLS, end to end: a config file whose `ocpp` section names TLS
 * certificate, key and CA files (relative to the file, in a temp folder) at security profile 3
 * (mutual TLS) and at profile 2 (TLS + Basic), started with startGateway. A charge-point simulator
 * with the right credentials becomes an online ev-charger device with readings; one with wrong
 * credentials (a certificate naming another station, a certificate from another CA, a wrong
 * password) never appears: no connection, no boot facts, no readings.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Device, isNumericReading, type Reading } from '@gridseam/model';
import { ChargePointSimulator, type ChargePointSimulatorOptions } from '@gridseam/ocpp';
import { type Gateway, startGateway } from '../../src/app.ts';
import { loadConfig, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { eventually } from '../edge/helpers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { createOcppTestPki, type OcppTestPki } from './tls-pki.ts';

const TOKEN = 'ocpp-tls-test-operator';
const EV = { energyNeedWh: 80_000, socPct: 20, capacityWh: 100_000, maxCurrentA: 16 } as const;

/** A gateway from a config file written into `dir`, with the API and the given `ocpp` section. */
async function gatewayWith(dir: string, ocpp: string): Promise<Gateway> {
  const file = join(dir, 'gateway.yaml');
  await writeFile(
    file,
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
  meterIntervalSeconds: 1
  pollIntervalMs: 100
${ocpp}
`,
  );
  const { config } = await loadConfig(file);
  return startGateway(config, { logger: createLogger({ level: 'silent' }) });
}

/** The harness around one gateway: its API, and simulators closed at the end. */
function harness(getGateway: () => Gateway) {
  const simulators: ChargePointSimulator[] = [];

  async function api<T>(path: string): Promise<T> {
    const response = await fetch(`${getGateway().address}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200, path);
    return (await response.json()) as T;
  }

  function simulator(options: Omit<ChargePointSimulatorOptions, 'url'>): {
    sim: ChargePointSimulator;
    errors: Error[];
  } {
    const ocpp = getGateway().ocpp;
    assert.ok(ocpp);
    const sim = new ChargePointSimulator({
      url: ocpp.endpoint,
      meterIntervalS: 1,
      retryFirstConnect: false,
      ...options,
    });
    const errors: Error[] = [];
    sim.on('error', (error) => errors.push(error));
    simulators.push(sim);
    return { sim, errors };
  }

  /** The device is an online ev-charger whose latest readings show it charging. */
  async function chargingDevice(deviceId: string): Promise<Reading[]> {
    const device = await api<Device>(`/api/devices/${deviceId}`);
    assert.equal(device.class, 'ev-charger');
    const latest = await eventually(async () => {
      const readings = await api<Reading[]>(`/api/devices/${deviceId}/telemetry/latest`);
      const power = readings.find((r) => r.measurand === 'activePower');
      const state = readings.find((r) => r.measurand === 'operatingState');
      return power && isNumericReading(power) && power.value < 0 && state?.value === 'charging' ? readings : undefined;
    }, `${deviceId} charging readings`);
    assert.ok(latest.some((r) => r.measurand === 'energyImported'));
    await eventually(
      () =>
        getGateway()
          .edge?.devices()
          .find((d) => d.id === deviceId)?.health === 'ok'
          ? true
          : undefined,
      `${deviceId} healthy`,
    );
    const booted = await api<Device>(`/api/devices/${deviceId}`);
    assert.equal(booted.serial, `SIM-${deviceId}`, 'the boot facts reached the registry');
    return latest;
  }

  /** Refused: never connected, never booted, no readings; checked after `witness` reported again. */
  async function neverAppears(deviceId: string, witness: string): Promise<void> {
    const since = Date.now();
    await eventually(async () => {
      const { readings } = await api<{ readings: Reading[] }>(
        `/api/devices/${witness}/telemetry?measurand=activePower&from=${since - 1}`,
      );
      return readings.length > 0 ? true : undefined;
    }, `${witness} reporting after ${since}`);
    assert.ok(!getGateway().ocpp?.csms.connected().includes(deviceId));
    assert.equal(getGateway().ocpp?.csms.station(deviceId), undefined);
    const device = await api<Device>(`/api/devices/${deviceId}`);
    assert.equal(device.manufacturer, undefined, 'never booted');
    assert.deepEqual(await api<Reading[]>(`/api/devices/${deviceId}/telemetry/latest`), []);
    assert.notEqual(
      getGateway()
        .edge?.devices()
        .find((d) => d.id === deviceId)?.health,
      'ok',
    );
  }

  const close = () => Promise.allSettled(simulators.map((s) => s.close()));
  return { api, simulator, chargingDevice, neverAppears, close };
}

describe('gateway OCPP CSMS over TLS', () => {
  const temp = useTempDir('gridseam-ocpp-tls-');
  let pki: OcppTestPki;
  before(async () => {
    pki = await createOcppTestPki(temp.dir());
  });

  describe('security profile 3 (mutual TLS)', () => {
    let gateway: Gateway;
    const h = harness(() => gateway);
    before(async () => {
      gateway = await gatewayWith(
        temp.dir(),
        `  securityProfile: 3
  tls: { certificate: ${pki.files.certificate}, key: ${pki.files.key}, ca: ${pki.files.ca} }
  stations:
    - { identity: CP-M3, siteId: s1 }
    - { identity: CP-M3-OTHER, siteId: s1 }
    - { identity: CP-M3-FORGED, siteId: s1 }`,
      );
    });
    after(async () => {
      await h.close();
      await gateway?.close();
    });

    test('a station with a certificate naming it becomes an online ev-charger with readings (1.6)', async () => {
      assert.match(gateway.ocpp?.endpoint ?? '', /^wss:\/\/127\.0\.0\.1:\d+\/ocpp$/);
      const { sim, errors } = h.simulator({
        identity: 'CP-M3',
        version: '1.6',
        tls: { ca: pki.ca, ...(await pki.client('CP-M3')) },
      });
      assert.equal(await sim.start(), true, errors.map((e) => e.message).join('; '));
      await sim.waitForBoot();
      sim.plugIn(1, EV);
      await h.chargingDevice('CP-M3');
      assert.deepEqual(gateway.ocpp?.csms.connected(), ['CP-M3']);
    });

    test('a certificate naming another station, or from another CA, never gets in (2.0.1)', async () => {
      const other = h.simulator({
        identity: 'CP-M3-OTHER',
        version: '2.0.1',
        tls: { ca: pki.ca, ...(await pki.client('CP-M3')) },
      });
      assert.equal(await other.sim.start(), false);
      assert.equal((other.errors[0] as Error & { code?: string }).code, 'GW_ERR_UNAUTHORIZED');
      const forged = h.simulator({
        identity: 'CP-M3-FORGED',
        version: '2.0.1',
        tls: { ca: pki.ca, ...(await pki.foreignClient('CP-M3-FORGED')) },
      });
      assert.equal(await forged.sim.start(), false);
      assert.equal((forged.errors[0] as Error & { code?: string }).code, 'GW_ERR_DEVICE_UNREACHABLE');
      await h.neverAppears('CP-M3-OTHER', 'CP-M3');
      await h.neverAppears('CP-M3-FORGED', 'CP-M3');
    });
  });

  describe('security profile 2 (TLS + Basic)', () => {
    let gateway: Gateway;
    const h = harness(() => gateway);
    const password = 'profile-two-password-1';
    before(async () => {
      gateway = await gatewayWith(
        temp.dir(),
        `  securityProfile: 2
  tls: { certificate: ${pki.files.certificate}, key: ${pki.files.key} }
  stations:
    - { identity: CP-T2, siteId: s1, passwordSha256: ${sha256Hex(password)} }
    - { identity: CP-T2-WRONG, siteId: s1, passwordSha256: ${sha256Hex('another-password-22')} }`,
      );
    });
    after(async () => {
      await h.close();
      await gateway?.close();
    });

    test('a station with its password over wss:// becomes an online ev-charger with readings (2.0.1)', async () => {
      assert.match(gateway.ocpp?.endpoint ?? '', /^wss:\/\//);
      const { sim, errors } = h.simulator({ identity: 'CP-T2', version: '2.0.1', password, tls: { ca: pki.ca } });
      assert.equal(await sim.start(), true, errors.map((e) => e.message).join('; '));
      await sim.waitForBoot();
      sim.plugIn(1, EV);
      await h.chargingDevice('CP-T2');
      assert.deepEqual(gateway.ocpp?.csms.connected(), ['CP-T2']);
    });

    test('a wrong password never gets in (1.6)', async () => {
      const wrong = h.simulator({ identity: 'CP-T2-WRONG', version: '1.6', password, tls: { ca: pki.ca } });
      assert.equal(await wrong.sim.start(), false);
      assert.equal((wrong.errors[0] as Error & { code?: string }).code, 'GW_ERR_UNAUTHORIZED');
      await h.neverAppears('CP-T2-WRONG', 'CP-T2');
    });
  });
});
