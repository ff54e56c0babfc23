/**
 * The SunSpec DeviceAdapter against the project's simulator over real Modbus TCP on 127.0.0.1:
 * describe, poll, confirmed setpoints, a shared connection per host:port, health, discovery.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkReadings, type Setpoint, type SetpointKind } from '@gridseam/model';
import {
  discoverSunSpec,
  type ModbusTransport,
  SunSpecAdapter,
  SunSpecConnections,
  SunSpecSimulator,
} from '@gridseam/sunspec';

const NOON = Date.UTC(2025, 5, 21, 12, 0, 0);

function setpoint(kind: SetpointKind, value: number): Setpoint {
  return {
    id: `sp-${kind}-${value}`,
    deviceId: 'bat-1',
    kind,
    value,
    start: Date.now(),
    expiry: Date.now() + 3_600_000,
    source: { kind: 'operator' },
  };
}

describe('SunSpecAdapter over loopback against the simulator', () => {
  let simulator: SunSpecSimulator;
  let connections: SunSpecConnections;
  let transport: ModbusTransport;
  let port: number;

  before(async () => {
    simulator = new SunSpecSimulator({
      port: 0,
      profile: 'battery,pv-inverter',
      count: 2,
      startTime: NOON,
      physics: { utcOffsetMinutes: 0 },
    });
    ({ port } = await simulator.start());
    connections = new SunSpecConnections({ timeoutMs: 2000 });
    transport = await connections.get('127.0.0.1', port);
  });

  after(async () => {
    await connections?.close();
    await simulator?.stop();
  });

  test('describe() maps model 1 and the models present to a canonical description', async () => {
    const adapter = new SunSpecAdapter({ deviceId: 'bat-1', transport, unit: 1 });
    const description = await adapter.describe();
    assert.equal(description.class, 'battery');
    assert.equal(description.model, 'SimBattery');
    assert.match(description.serial ?? '', /^SIMBAT/);
    assert.ok(description.manufacturer && description.manufacturer.length > 0);
    assert.equal(description.capabilities.storage?.capacityWh, 10000);
    for (const kind of ['exportLimit', 'fixedW', 'chargeLimit', 'dischargeLimit', 'targetSoc'] as const)
      assert.ok(description.capabilities.controls.includes(kind), `controls include ${kind}`);
    assert.equal(adapter.health, 'ok');
    assert.equal(adapter.scan?.base, 40000);
    assert.deepEqual(
      adapter.scan?.models.map((m) => m.id),
      [1, 701, 702, 704, 713, 802, 124],
    );
  });

  test('poll() returns valid canonical readings stamped with the poll time, SoC included', async () => {
    const adapter = new SunSpecAdapter({ deviceId: 'bat-1', transport, unit: 1 });
    const at = Date.now();
    const readings = await adapter.poll(at);
    assert.ok(checkReadings(readings).ok, 'every reading passes the model checks');
    assert.ok(readings.every((r) => r.deviceId === 'bat-1' && r.ts === at));
    const soc = readings.find((r) => r.measurand === 'stateOfCharge');
    assert.ok(soc, 'a state-of-charge reading');
    assert.equal(soc.unit, '%');
    assert.ok(typeof soc.value === 'number' && soc.value > 0 && soc.value <= 100);
    assert.ok(readings.some((r) => r.measurand === 'activePower' && r.phase === undefined));
    assert.ok(readings.some((r) => r.measurand === 'availableEnergy'));
  });

  test('apply() confirms an export limit and a fixed power by read-back', async () => {
    const adapter = new SunSpecAdapter({ deviceId: 'bat-1', transport, unit: 1 });
    const limit = await adapter.apply(setpoint('exportLimit', 2500));
    assert.equal(limit.readBack.value, 2500);
    assert.match(limit.detail ?? '', /704\.WMaxLimPct=50\b/);
    const fixed = await adapter.apply(setpoint('fixedW', -1200));
    assert.equal(fixed.readBack.value, -1200);
    assert.match(fixed.detail ?? '', /704\.WSet=-1200\b/);
    assert.equal(adapter.health, 'ok');
  });

  test('a setpoint the device cannot take rejects without making the device faulty', async () => {
    const adapter = new SunSpecAdapter({ deviceId: 'bat-1', transport, unit: 1, faultyAfter: 1 });
    await assert.rejects(adapter.apply(setpoint('evChargingLimit', 10)), { code: 'GW_ERR_NOT_SUPPORTED' });
    assert.equal(adapter.health, 'ok');
  });

  test('units behind one host:port share one connection', async () => {
    const again = await connections.get('127.0.0.1', port);
    assert.equal(again, transport);
    assert.equal(connections.size, 1);
    const pv = new SunSpecAdapter({ deviceId: 'pv-2', transport: again, unit: 2 });
    assert.equal((await pv.describe()).class, 'pv-inverter');
  });

  test('a unit that keeps failing turns faulty; rescan() walks the model chain again', async () => {
    const absent = new SunSpecAdapter({ deviceId: 'ghost', transport, unit: 9, faultyAfter: 2 });
    await assert.rejects(absent.poll(Date.now()), { code: 'GW_ERR_DEVICE_UNREACHABLE' });
    assert.equal(absent.health, 'ok');
    await assert.rejects(absent.describe(), { code: 'GW_ERR_DEVICE_UNREACHABLE' });
    assert.equal(absent.health, 'faulty');
    assert.equal(absent.consecutiveFailures, 2);
    assert.equal(absent.lastError?.code, 'GW_ERR_DEVICE_UNREACHABLE');

    const present = new SunSpecAdapter({ deviceId: 'bat-1', transport, unit: 1, faultyAfter: 1 });
    await present.poll(Date.now());
    const scan = await present.rescan();
    assert.equal(scan.models.length, 7);
    assert.equal(present.health, 'ok');
  });

  test('discovery keeps the units that answer as SunSpec devices', async () => {
    const skipped: number[] = [];
    const found = await discoverSunSpec(transport, [1, 2, 3, 4], {
      deviceIdOf: (unit) => `dev-${unit}`,
      onSkip: (unit) => skipped.push(unit),
    });
    assert.deepEqual(
      found.map((f) => [f.unit, f.adapter.deviceId, f.description.class]),
      [
        [1, 'dev-1', 'battery'],
        [2, 'dev-2', 'pv-inverter'],
      ],
    );
    assert.deepEqual(skipped, [3, 4]);
  });
});
