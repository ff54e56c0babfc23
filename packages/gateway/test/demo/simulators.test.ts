/**
 * What the demo needs of the SunSpec simulator, over real Modbus TCP on 127.0.0.1: reversion timers
 * on real time at a high speed (`realTimeTimers`), a unit taken off the network and back
 * (`setUnitOnline`: exception 11 meanwhile), and a site meter that also measures a load simulated
 * elsewhere (the EV charger).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Meter, openModbusTcp, SunSpecSimulator } from '@gridseam/sunspec';
import { DEMO_DAY_START_MS, HOUR_MS } from '../../src/demo/clock.ts';
import { batteryWSet, readPoints, writePoint } from '../seams/support.ts';

describe('SunSpec simulator options for the demo', () => {
  let realTime: SunSpecSimulator;
  let simulated: SunSpecSimulator;
  let realPort: number;
  let simPort: number;
  let clockMs = 0;

  before(async () => {
    // Two batteries at x1440 on a hand-driven real clock: one with real-time timers, one without.
    const common = {
      port: 0,
      profile: 'battery',
      count: 1,
      speed: 1440,
      clock: () => clockMs,
      startTime: DEMO_DAY_START_MS + 12 * HOUR_MS,
    };
    realTime = new SunSpecSimulator({ ...common, realTimeTimers: true });
    simulated = new SunSpecSimulator(common);
    ({ port: realPort } = await realTime.start());
    ({ port: simPort } = await simulated.start());
  });

  after(async () => {
    await realTime?.stop();
    await simulated?.stop();
  });

  async function setFixedW(port: number): Promise<void> {
    await writePoint(port, 1, 704, 'WSetMod', 1);
    await writePoint(port, 1, 704, 'WSet', -2000);
    await writePoint(port, 1, 704, 'WSetRvrtTms', 30);
    await writePoint(port, 1, 704, 'WSetEna', 1);
  }

  test('realTimeTimers: a 30 s reversion lasts 30 real seconds, not 30 simulated ones', async () => {
    await setFixedW(realPort);
    await setFixedW(simPort);
    assert.equal(await batteryWSet(realPort, 1), -2000);
    assert.equal(await batteryWSet(simPort, 1), -2000);
    // 10 real seconds later: 4 simulated hours. The simulated-time timer has long run out.
    clockMs += 10_000;
    assert.equal(await batteryWSet(realPort, 1), -2000, 'still in force after 10 real seconds');
    assert.equal(await batteryWSet(simPort, 1), undefined, 'reverted: 30 simulated seconds are long gone');
    const points = await readPoints(realPort, 1, [704]);
    assert.equal(points.get('704.WSetRvrtRem'), 20, 'the remaining time is shown in real seconds');
    clockMs += 21_000;
    assert.equal(await batteryWSet(realPort, 1), undefined, 'reverted after 31 real seconds');
  });

  test('setUnitOnline(u, false): the unit answers exception 11 until it is back', async () => {
    realTime.setUnitOnline(1, false);
    assert.equal(realTime.isUnitOnline(1), false);
    const transport = await openModbusTcp({ host: '127.0.0.1', port: realPort, timeoutMs: 2000, retries: 0 });
    try {
      await assert.rejects(transport.readHoldingRegisters(1, 40000, 2), /exception 11/);
      realTime.setUnitOnline(1, true);
      const registers = await transport.readHoldingRegisters(1, 40000, 2);
      assert.deepEqual(Array.from(registers), [0x5375, 0x6e53], 'SunS again');
    } finally {
      await transport.close();
    }
    assert.throws(() => realTime.setUnitOnline(2, false), /no unit 2/);
  });

  test('a meter also measures a load simulated elsewhere (its W is the site load plus that load)', () => {
    const site = new SunSpecSimulator({
      port: 0,
      profile: 'meter',
      count: 1,
      startTime: DEMO_DAY_START_MS + 3 * HOUR_MS,
      clock: () => 0,
    });
    const meter = site.unit(1);
    assert.ok(meter instanceof Meter);
    const charger = { ratedW: 11_040, acPowerW: 0, tick() {} };
    meter.meter([charger]);
    meter.tick(DEMO_DAY_START_MS + 3 * HOUR_MS + 60_000);
    const alone = -meter.acPowerW;
    charger.acPowerW = -7000; // the EV draws 7 kW (inverter sign: negative is load)
    meter.tick(DEMO_DAY_START_MS + 3 * HOUR_MS + 120_000);
    assert.ok(Math.abs(-meter.acPowerW - alone - 7000) < 5, `import ${-meter.acPowerW} W = load ${alone} W + 7000 W`);
  });
});
