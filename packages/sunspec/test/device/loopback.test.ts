/**
 * The device edge against the project's simulator over real Modbus TCP on 127.0.0.1: discovery,
 * reading, canonical mapping and confirmed writes per profile. The simulator's clock is frozen, so
 * values change only through the writes the tests make.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkReadings, type Reading, type Setpoint, type SetpointKind } from '@gridseam/model';
import {
  applySetpoint,
  capabilitiesOf,
  classify,
  readingsOf,
  readModels,
  type ScanResult,
  scanSunSpec,
} from '../../src/device/index.ts';
import { type ModbusTcpTransport, openModbusTcp } from '../../src/modbus/client.ts';
import { SunSpecSimulator } from '../../src/simulator/index.ts';

const NOON = Date.UTC(2025, 5, 21, 12, 0, 0);
const PROFILES = ['pv-inverter', 'battery', 'hybrid', 'meter', 'legacy-inverter'] as const;

function setpoint(kind: SetpointKind, value: number): Setpoint {
  return {
    id: `sp-${kind}`,
    deviceId: 'sim',
    kind,
    value,
    start: NOON,
    expiry: NOON + 3_600_000,
    source: { kind: 'operator' },
  };
}

function value(readings: readonly Reading[], measurand: string, phase?: string): Reading['value'] | undefined {
  return readings.find((r) => r.measurand === measurand && r.phase === phase)?.value;
}

describe('device edge over loopback against the simulator', () => {
  let simulator: SunSpecSimulator;
  let transport: ModbusTcpTransport;
  const scans = new Map<number, ScanResult>();

  before(async () => {
    simulator = new SunSpecSimulator({
      port: 0,
      profile: PROFILES.join(','),
      count: PROFILES.length,
      clock: () => 0,
      startTime: NOON,
      physics: { utcOffsetMinutes: 0 },
    });
    const { port } = await simulator.start();
    transport = await openModbusTcp({ host: '127.0.0.1', port, timeoutMs: 2000 });
  });

  after(async () => {
    await transport?.close();
    await simulator?.stop();
  });

  async function poll(unit: number): Promise<Reading[]> {
    let scan = scans.get(unit);
    if (!scan) {
      scan = await scanSunSpec(transport, unit);
      scans.set(unit, scan);
    }
    return readingsOf(`sim-${unit}`, await readModels(transport, unit, scan), NOON);
  }

  it('discovers every profile, classifies it and maps it to valid canonical readings', async () => {
    const expected = ['pv-inverter', 'battery', 'hybrid-inverter', 'meter', 'pv-inverter'];
    for (let unit = 1; unit <= PROFILES.length; unit++) {
      const scan = await scanSunSpec(transport, unit);
      scans.set(unit, scan);
      assert.equal(scan.base, 40000);
      assert.equal(scan.endMarker, true);
      const models = await readModels(transport, unit, scan);
      assert.equal(models.length, scan.models.length, `unit ${unit}: every shipped model decodes`);
      assert.equal(classify(models), expected[unit - 1], `unit ${unit} (${PROFILES[unit - 1]})`);
      const readings = readingsOf(`sim-${unit}`, models, NOON);
      const check = checkReadings(readings);
      assert.ok(check.ok, JSON.stringify(check.ok ? [] : check.issues));
      const ac = simulator.unit(unit).acPowerW;
      const power = value(readings, 'activePower');
      assert.equal(typeof power, 'number', `unit ${unit} reports activePower`);
      // Same sign and magnitude as the simulator's own AC power (export / discharge positive).
      assert.ok(
        Math.abs((power as number) - ac) <= Math.max(1, Math.abs(ac) * 0.01),
        `unit ${unit}: ${power} vs ${ac}`,
      );
    }
  });

  it('reports storage capabilities and SoC for the battery', async () => {
    const scan = scans.get(2)!;
    const models = await readModels(transport, 2, scan);
    const caps = capabilitiesOf(models);
    assert.ok(caps.storage && caps.storage.capacityWh > 0);
    assert.ok(caps.controls.includes('fixedW') && caps.controls.includes('targetSoc'));
    const soc = value(readingsOf('b', models, NOON), 'stateOfCharge');
    assert.ok(typeof soc === 'number' && soc > 0 && soc < 100);
  });

  it('limits the PV inverter through 704 and sees the limit in its output', async () => {
    const result = await applySetpoint(transport, 1, scans.get(1)!, setpoint('exportLimit', 3000), { now: NOON });
    assert.equal(result.confirmed, true);
    assert.equal(result.value, 3000);
    assert.deepEqual(
      result.readBack.map((e) => `${e.modelId}.${e.path}`),
      ['704.WMaxLimPct', '704.WMaxLimPctRvrtTms', '704.WMaxLimPctEna'],
    );
    const power = value(await poll(1), 'activePower') as number;
    assert.ok(power <= 3000 + 1, `output ${power} W within the 3000 W limit`);
  });

  it('charges the battery at a fixed power through 704 WSet', async () => {
    const result = await applySetpoint(transport, 2, scans.get(2)!, setpoint('fixedW', -2000), { now: NOON });
    assert.equal(result.confirmed, true);
    const readings = await poll(2);
    assert.equal(value(readings, 'activePower'), -2000);
    assert.equal(value(readings, 'operatingState'), 'charging');
  });

  it('sets the battery reserve for targetSoc', async () => {
    const result = await applySetpoint(transport, 2, scans.get(2)!, setpoint('targetSoc', 60), { now: NOON });
    assert.equal(result.confirmed, true);
    assert.equal(result.value, 60);
    assert.equal(result.plan.deviceReverts, false);
  });

  it('limits and disconnects the legacy inverter through 123', async () => {
    const limit = await applySetpoint(transport, 5, scans.get(5)!, setpoint('generationLimit', 1000), { now: NOON });
    assert.deepEqual(
      limit.readBack.map((e) => `${e.modelId}.${e.path}`),
      ['123.WMaxLimPct', '123.WMaxLimPct_RvrtTms', '123.WMaxLim_Ena'],
    );
    assert.ok((value(await poll(5), 'activePower') as number) <= 1000 + 1);
    const off = await applySetpoint(transport, 5, scans.get(5)!, setpoint('connect', 0), { now: NOON });
    assert.equal(off.confirmed, true);
    assert.equal(value(await poll(5), 'activePower'), 0);
  });

  it('refuses a control the meter does not have, without writing', async () => {
    let writes = 0;
    const counting = {
      readHoldingRegisters: transport.readHoldingRegisters.bind(transport),
      writeRegisters: async (unit: number, address: number, values: Uint16Array | readonly number[]) => {
        writes++;
        await transport.writeRegisters(unit, address, values);
      },
      close: async () => {},
    };
    await assert.rejects(applySetpoint(counting, 4, scans.get(4)!, setpoint('exportLimit', 1000), { now: NOON }), {
      code: 'GW_ERR_NOT_SUPPORTED',
    });
    assert.equal(writes, 0);
  });
});

describe('discovery quirks over loopback', () => {
  const cases = [
    { base: 50000, pastEnd: 'exception' as const, warning: /exception 2 at/ },
    { base: 0, pastEnd: 'zeros' as const, warning: /unexpected register values/ },
  ];
  for (const { base, pastEnd, warning } of cases) {
    it(`finds a device at base ${base} without an end marker (past the end: ${pastEnd})`, async () => {
      const simulator = new SunSpecSimulator({
        port: 0,
        profile: 'hybrid',
        base,
        endMarker: false,
        pastEnd,
        clock: () => 0,
        startTime: NOON,
      });
      const { port } = await simulator.start();
      const transport = await openModbusTcp({ host: '127.0.0.1', port, timeoutMs: 2000 });
      try {
        const scan = await scanSunSpec(transport, 1);
        assert.equal(scan.base, base);
        assert.equal(scan.endMarker, false);
        assert.deepEqual(
          scan.models.map((m) => m.id),
          [1, 103, 701, 702, 704, 713, 802, 124, 160],
        );
        assert.match(scan.warnings.join(' '), warning);
        const models = await readModels(transport, 1, scan);
        assert.equal(classify(models), 'hybrid-inverter');
      } finally {
        await transport.close();
        await simulator.stop();
      }
    });
  }
});
