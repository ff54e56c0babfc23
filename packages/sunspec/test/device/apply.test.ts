import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError, type Setpoint, type SetpointKind } from '@gridseam/model';
import { applySetpoint, type ReadBackEntry, scanSunSpec } from '../../src/device/index.ts';
import { FakeTransport } from './fake-transport.ts';
import { layDevice, rawModel } from './images.ts';

const NOW = 1_700_000_000_000;

function setpoint(kind: SetpointKind, value: number): Setpoint {
  return { id: 'sp-9', deviceId: 'dev-9', kind, value, start: NOW, expiry: NOW + 600_000, source: { kind: 'program' } };
}

/** A hybrid with both generations of controls: 1, 103, 120, 121, 123, 124, 702, 704, 713, 802. */
async function device() {
  const fake = new FakeTransport();
  const [, , , , m123, m124, , m704] = layDevice(fake, 40000, [
    rawModel(1, { Mn: 'Gridseam' }),
    rawModel(103, { W: 0, W_SF: 0 }),
    rawModel(120, { DERTyp: 82, WRtg: 5000, WRtg_SF: 0 }),
    rawModel(121, { WMax: 4000, WMax_SF: 0 }),
    rawModel(123, {
      Conn: 1,
      Conn_RvrtTms: 0,
      WMaxLimPct: 100,
      WMaxLimPct_RvrtTms: 0,
      WMaxLim_Ena: 0,
      WMaxLimPct_SF: 0,
    }),
    rawModel(124, {
      WChaMax: 3000,
      WChaMax_SF: 0,
      StorCtl_Mod: 0,
      OutWRte: 10000,
      InWRte: 10000,
      InOutWRte_RvrtTms: 0,
      InOutWRte_SF: -2,
    }),
    rawModel(702, { WMax: 5000, WMaxRtg: 5000, W_SF: 0 }),
    rawModel(704, {
      WMaxLimPctEna: 0,
      WMaxLimPct: 10000,
      WMaxLimPctRvrtTms: 0,
      WMaxLimPct_SF: -2,
      WSetEna: 0,
      WSetMod: 0,
      WSet: 0,
      WSetRvrtTms: 0,
      WSet_SF: 0,
    }),
    rawModel(713, { SoC: 500, Pct_SF: -1 }),
    rawModel(802, { SoCRsvMin: 20, SoCMin: 5, SoCMax: 95, SoC_SF: 0, LocRemCtl: 0 }),
  ]);
  const scan = await scanSunSpec(fake, 1);
  fake.requests.length = 0;
  return { fake, scan, at: { m123: m123!, m124: m124!, m704: m704! } };
}

function rejected(pattern: RegExp, check?: (e: GridseamError) => void) {
  return (error: unknown) => {
    assert.ok(GridseamError.is(error), String(error));
    assert.equal(error.code, 'GW_ERR_DEVICE_REJECTED');
    assert.match(error.message, pattern);
    check?.(error);
    return true;
  };
}

describe('applySetpoint', () => {
  it('writes the 704 export limit (value, timer, enable), reads it back and confirms', async () => {
    const { fake, scan, at } = await device();
    const result = await applySetpoint(fake, 1, scan, setpoint('exportLimit', 2000), { now: NOW });
    assert.equal(result.confirmed, true);
    assert.equal(result.value, 2000, 'WMaxLimPct 40 % of WMax 5000 W');
    assert.deepEqual(
      result.readBack.map((e) => [e.path, e.written, e.read, e.matched]),
      [
        ['WMaxLimPct', 40, 40, true],
        ['WMaxLimPctRvrtTms', 600, 600, true],
        ['WMaxLimPctEna', 1, 1, true],
      ],
    );
    // 704 offsets: WMaxLimPctEna 14, WMaxLimPct 15, WMaxLimPctRvrtTms 18 (uint32).
    assert.deepEqual(
      fake.writes.map((w) => [w.address - at.m704, w.count]),
      [
        [15, 1],
        [18, 2],
        [14, 1],
      ],
    );
    assert.deepEqual(fake.get(at.m704 + 14, 6), [1, 4000, 0xffff, 0xffff, 0, 600]);
  });

  it('merges adjacent writes into one FC16 (124 OutWRte + InWRte) and confirms within the scaling resolution', async () => {
    const { fake, scan, at } = await device();
    // Without 704 WSet the fixedW plan falls to 124; hide 704 from the scan.
    const legacyScan = { models: scan.models.filter((m) => m.id !== 704) };
    const result = await applySetpoint(fake, 1, legacyScan, setpoint('fixedW', 1000), { now: NOW });
    assert.equal(result.confirmed, true);
    const out = result.readBack[0]!;
    assert.equal(out.path, 'OutWRte');
    assert.equal(out.written, 33.3333333333);
    assert.equal(out.read, 33.33, 'InOutWRte_SF -2: one step is 0.01');
    assert.equal(out.matched, true);
    assert.equal(result.value, 999.9);
    // 124 offsets: StorCtl_Mod 5, OutWRte 12, InWRte 13, InOutWRte_RvrtTms 15.
    assert.deepEqual(
      fake.writes.map((w) => [w.address - at.m124, w.count]),
      [
        [12, 2],
        [15, 1],
        [5, 1],
      ],
    );
    assert.deepEqual(fake.get(at.m124 + 12, 2), [3333, 0x10000 - 3333]);
  });

  it('targetSoc lands in 802 SoCRsvMin and says the gateway must restore it', async () => {
    const { fake, scan } = await device();
    const result = await applySetpoint(fake, 1, scan, setpoint('targetSoc', 70), { now: NOW });
    assert.equal(result.plan.deviceReverts, false);
    assert.deepEqual(result.plan.restore, [{ modelId: 802, path: 'SoCRsvMin', value: 20 }]);
    assert.deepEqual(
      result.readBack.map((e) => [e.modelId, e.path, e.read]),
      [[802, 'SoCRsvMin', 70]],
    );
  });

  it('throws GW_ERR_DEVICE_REJECTED with the read-back when the device ignores the writes', async () => {
    const { fake, scan } = await device();
    fake.dropWrites = true;
    await assert.rejects(
      applySetpoint(fake, 1, scan, setpoint('generationLimit', 2500), { now: NOW }),
      rejected(/did not take generationLimit 2500: 704\.WMaxLimPct wrote 50 read 100/, (e) => {
        const readBack = e.details?.readBack as ReadBackEntry[];
        assert.deepEqual(
          readBack.map((r) => [r.path, r.written, r.read, r.matched]),
          [
            ['WMaxLimPct', 50, 100, false],
            ['WMaxLimPctRvrtTms', 600, 0, false],
            ['WMaxLimPctEna', 1, 0, false],
          ],
        );
      }),
    );
  });

  it('throws GW_ERR_DEVICE_REJECTED when the device keeps another value (clamps)', async () => {
    const { fake, scan, at } = await device();
    // The device caps WMaxLimPct at 80.00 %.
    fake.transformWrite = (address, values) =>
      address === at.m704 + 15 ? values.map((v) => Math.min(v, 8000)) : values;
    await assert.rejects(
      applySetpoint(fake, 1, scan, setpoint('exportLimit', 4900), { now: NOW }),
      rejected(/704\.WMaxLimPct wrote 98 read 80/),
    );
  });

  it('throws GW_ERR_DEVICE_REJECTED with the exception code when the device refuses the write', async () => {
    const { fake, scan } = await device();
    fake.writeException = 3;
    await assert.rejects(
      applySetpoint(fake, 1, scan, setpoint('connect', 0), { now: NOW }),
      rejected(/refused connect with Modbus exception 3; read back: 123\.Conn_RvrtTms wrote 600 read 0/, (e) => {
        assert.equal(e.details?.modbusException, 3);
        assert.ok(Array.isArray(e.details?.readBack));
      }),
    );
    assert.equal(fake.writes.length, 1, 'stops at the first refused frame');
  });

  it('plans before writing: an unsupported kind writes nothing', async () => {
    const { fake, scan } = await device();
    await assert.rejects(applySetpoint(fake, 1, scan, setpoint('importLimit', 100), { now: NOW }), (e: unknown) => {
      assert.ok(GridseamError.is(e));
      assert.equal(e.code, 'GW_ERR_NOT_SUPPORTED');
      return true;
    });
    assert.equal(fake.writes.length, 0);
  });

  it('keeps an unreachable device retryable (not a rejection)', async () => {
    const { fake, scan } = await device();
    await assert.rejects(applySetpoint(fake, 2, scan, setpoint('exportLimit', 100), { now: NOW }), (e: unknown) => {
      assert.ok(GridseamError.is(e));
      assert.equal(e.code, 'GW_ERR_DEVICE_UNREACHABLE');
      assert.equal(e.retryable, true);
      return true;
    });
  });
});
