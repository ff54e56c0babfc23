import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError, type Setpoint } from '@gridseam/model';
import { SunSpecAdapter } from '../src/adapter.ts';
import { FakeTransport } from './device/fake-transport.ts';
import { layDevice, rawModel } from './device/images.ts';

const NOW = 1_700_000_000_000;

function inverter(fake = new FakeTransport()) {
  const starts = layDevice(fake, 40000, [
    rawModel(1, { Mn: 'Gridseam', Md: 'PV-5', Vr: '1.2.3', SN: 'SN-77' }),
    rawModel(103, { W: 2500, W_SF: 0, St: 4, Evt1: 0 }),
    rawModel(120, { DERTyp: 4, WRtg: 5000, WRtg_SF: 0 }),
    rawModel(123, {
      Conn: 1,
      Conn_RvrtTms: 0,
      WMaxLimPct: 100,
      WMaxLimPct_RvrtTms: 0,
      WMaxLim_Ena: 0,
      WMaxLimPct_SF: 0,
    }),
    rawModel(203, { W: 100, W_SF: 0, TotWhImp: 5, TotWh_SF: 0 }),
  ]);
  return { fake, starts };
}

describe('SunSpecAdapter', () => {
  it('describes the device from its own data: class, identity, capabilities', async () => {
    const { fake } = inverter();
    const adapter = new SunSpecAdapter({ deviceId: 'pv-1', transport: fake, unit: 1, now: () => NOW });
    const description = await adapter.describe();
    assert.deepEqual(description, {
      class: 'pv-inverter',
      manufacturer: 'Gridseam',
      model: 'PV-5',
      serial: 'SN-77',
      firmware: '1.2.3',
      capabilities: { ratings: { maxW: 5000 }, controls: ['exportLimit', 'generationLimit', 'connect', 'energize'] },
    });
  });

  it('polls only the models it maps, after one scan', async () => {
    const { fake, starts } = inverter();
    const adapter = new SunSpecAdapter({ deviceId: 'pv-1', transport: fake, unit: 1 });
    const readings = await adapter.poll(NOW);
    assert.equal(readings.find((r) => r.measurand === 'activePower')?.value, 2500);
    assert.ok(readings.every((r) => r.deviceId === 'pv-1' && r.ts === NOW));
    fake.requests.length = 0;
    await adapter.poll(NOW + 1000);
    // 103, then 203 (120 and 123 between them are not polled): no scan, no model 1.
    assert.deepEqual(
      fake.reads.map((r) => [r.address, r.count]),
      [
        [starts[1], 52],
        [starts[4], 107],
      ],
    );
  });

  it('reads a meter that shares the inverter unit as its own device', async () => {
    const { fake } = inverter();
    const meter = new SunSpecAdapter({ deviceId: 'meter-1', transport: fake, unit: 1, pollModels: [203] });
    assert.equal((await meter.describe()).class, 'meter');
    const readings = await meter.poll(NOW);
    assert.equal(readings.find((r) => r.measurand === 'activePower')?.value, -100);
    assert.equal(readings.find((r) => r.measurand === 'energyImported')?.value, 5);
  });

  it('applies a setpoint and returns the read-back in setpoint units', async () => {
    const { fake } = inverter();
    const adapter = new SunSpecAdapter({ deviceId: 'pv-1', transport: fake, unit: 1, now: () => NOW });
    const setpoint: Setpoint = {
      id: 'sp',
      deviceId: 'pv-1',
      kind: 'exportLimit',
      value: 2000,
      start: NOW,
      expiry: NOW + 60_000,
      source: { kind: 'operator' },
    };
    const outcome = await adapter.apply(setpoint);
    assert.deepEqual(outcome.readBack, { at: NOW, value: 2000 });
    assert.equal(outcome.detail, '123.WMaxLimPct=40 123.WMaxLimPct_RvrtTms=60 123.WMaxLim_Ena=1');
  });

  it('rescans after the register map changed under it', async () => {
    const { fake } = inverter();
    const adapter = new SunSpecAdapter({ deviceId: 'pv-1', transport: fake, unit: 1 });
    await adapter.poll(NOW);
    // The device reboots into a layout with the inverter at another address.
    const moved = new FakeTransport();
    layDevice(moved, 40000, [rawModel(1), rawModel(120), rawModel(103, { W: 42, W_SF: 0 })]);
    fake.put(40070, moved.get(40070, 200));
    await assert.rejects(adapter.poll(NOW), (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_DEVICE_PROTOCOL');
    assert.equal(adapter.scan, undefined);
    const readings = await adapter.poll(NOW);
    assert.equal(readings.find((r) => r.measurand === 'activePower')?.value, 42);
  });

  it('closes the transport only when it owns it', async () => {
    const { fake } = inverter();
    await new SunSpecAdapter({ deviceId: 'a', transport: fake, unit: 1 }).close();
    assert.equal(fake.closed, false);
    await new SunSpecAdapter({ deviceId: 'a', transport: fake, unit: 1, ownsTransport: true }).close();
    assert.equal(fake.closed, true);
  });
});
