import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Battery,
  BatteryPack,
  clearSkyFraction,
  deviceFactory,
  Hybrid,
  LegacyInverter,
  Meter,
  PvInverter,
  SunSpecSimulator,
  siteLoadW,
} from '../../src/simulator/index.ts';
import { DAY, HOUR, NOON, num, set, value } from './helpers.ts';

const MIN = 60_000;

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

function pvAt(startMs: number, unit = 1): PvInverter {
  const device = deviceFactory('pv-inverter').create(unit, startMs);
  assert.ok(device instanceof PvInverter);
  return device;
}

function batteryAt(startMs: number, initialSocPct: number, options = {}): Battery {
  const device = deviceFactory('battery', { initialSocPct, ...options }).create(1, startMs);
  assert.ok(device instanceof Battery);
  return device;
}

describe('PV production curve', () => {
  test('clear-sky shape: zero at night, one at noon, symmetric', () => {
    assert.equal(clearSkyFraction(2), 0);
    assert.equal(clearSkyFraction(6), 0);
    assert.equal(clearSkyFraction(18), 0);
    assert.equal(clearSkyFraction(12), 1);
    close(clearSkyFraction(9), clearSkyFraction(15), 1e-12, 'symmetry');
    assert.ok(clearSkyFraction(9) > 0 && clearSkyFraction(9) < clearSkyFraction(11));
  });

  test('pv-inverter: no power at night (SLEEPING), peak power at noon (MPPT)', () => {
    const device = pvAt(DAY + 2 * HOUR);
    const map = device.map;
    assert.equal(num(map, 103, 'W'), 0);
    assert.equal(num(map, 103, 'St'), 2, 'SLEEPING');
    assert.equal(num(map, 701, 'InvSt'), 1, 'SLEEPING');
    const whAtNight = num(map, 103, 'WH');

    device.tick(NOON);
    assert.ok(device.peakW >= 8500 && device.peakW <= 9500, `peak ${device.peakW}`);
    assert.equal(num(map, 103, 'W'), Math.round(device.peakW));
    assert.equal(num(map, 701, 'W'), Math.round(device.peakW));
    assert.equal(num(map, 103, 'St'), 4, 'MPPT');
    assert.equal(num(map, 701, 'InvSt'), 3, 'RUNNING');
    close(num(map, 103, 'A'), device.peakW / 230, 0.01, 'A');
    // Energy from 02:00 to 12:00 is half a clear-sky day's: peak * integral of sin^1.5 over 6 h.
    const halfDayWh = device.peakW * 6 * (2 / Math.PI) * 0.8740191847; // int_0^(pi/2) sin^1.5 = 0.874...
    close(num(map, 103, 'WH') - whAtNight, halfDayWh, 2, 'WH');
    assert.equal(num(map, 701, 'TotWhInj'), num(map, 103, 'WH'));

    device.tick(DAY + 15 * HOUR);
    const afternoon = num(map, 103, 'W');
    const morning = pvAt(DAY + 9 * HOUR);
    assert.equal(num(morning.map, 103, 'W'), afternoon, '09:00 equals 15:00');
    assert.ok(afternoon > 0 && afternoon < num(pvAt(NOON).map, 103, 'W'));
  });

  test('units differ a little and deterministically', () => {
    const a = pvAt(NOON, 1);
    const b = pvAt(NOON, 2);
    assert.notEqual(a.peakW, b.peakW);
    assert.equal(pvAt(NOON, 2).peakW, b.peakW);
    assert.equal(value(b.map, 1, 'SN'), 'SIMPV-000002');
  });

  test('704 WMaxLimPct caps the output when enabled; it takes precedence over 123', () => {
    const device = pvAt(NOON);
    const map = device.map;
    const peak = Math.round(device.peakW);
    set(device, 704, 'WMaxLimPct', 50);
    assert.equal(num(map, 103, 'W'), peak, 'not enabled yet');
    set(device, 704, 'WMaxLimPctEna', 1);
    assert.equal(num(map, 103, 'W'), 5000, '50 % of WMax 10 kW');
    assert.equal(num(map, 103, 'St'), 5, 'THROTTLED');
    assert.equal(num(map, 701, 'ThrotSrc'), 1, 'MAX_W');
    close(num(map, 701, 'ThrotPct'), (100 * (device.peakW - 5000)) / device.peakW, 1, 'ThrotPct');

    set(device, 123, 'WMaxLimPct', 30);
    set(device, 123, 'WMaxLim_Ena', 1);
    assert.equal(num(map, 103, 'W'), 5000, '704 wins while enabled');
    set(device, 704, 'WMaxLimPctEna', 0);
    assert.equal(num(map, 103, 'W'), 3000, 'then 123 applies');
    // The limit is a share of 702 WMax, the setting.
    set(device, 702, 'WMax', 8000);
    assert.equal(num(map, 103, 'W'), 2400);
    set(device, 123, 'WMaxLim_Ena', 0);
    assert.equal(num(map, 103, 'W'), Math.min(8000, peak));
    // Energy over an hour at a fixed limit is exactly the limit (the sun is above 2.4 kW all hour).
    set(device, 123, 'WMaxLim_Ena', 1);
    const wh = num(map, 103, 'WH');
    device.tick(NOON + HOUR);
    assert.equal(num(map, 103, 'WH') - wh, 2400);
  });

  test('704 WSet caps a PV inverter at a fixed power; 123 Conn disconnects it', () => {
    const device = pvAt(NOON);
    const map = device.map;
    set(device, 704, 'WSet', 1500);
    set(device, 704, 'WSetEna', 1);
    assert.equal(num(map, 103, 'W'), 1500);
    assert.equal(num(map, 701, 'ThrotSrc'), 2, 'FIXED_W');
    set(device, 704, 'WSetMod', 0);
    set(device, 704, 'WSetPct', 25);
    assert.equal(num(map, 103, 'W'), 2500, '25 % of WMax');
    set(device, 123, 'Conn', 0);
    assert.equal(num(map, 103, 'W'), 0);
    assert.equal(num(map, 103, 'St'), 1, 'OFF');
    assert.equal(num(map, 701, 'ConnSt'), 0);
  });

  test('a fixed power factor gives reactive power', () => {
    const device = pvAt(NOON);
    set(device, 123, 'OutPFSet', 0.9);
    set(device, 123, 'OutPFSet_Ena', 1);
    const w = num(device.map, 103, 'W');
    close(num(device.map, 103, 'VAr'), w * Math.tan(Math.acos(0.9)), 1, 'VAr');
    close(num(device.map, 701, 'PF'), 0.9, 0.001, '701 PF');
  });
});

describe('revert timeouts', () => {
  test('704: after WMaxLimPctRvrtTms the limit takes its reversion values', () => {
    const device = pvAt(NOON);
    const map = device.map;
    const peak = Math.round(device.peakW);
    set(device, 704, 'WMaxLimPctRvrt', 70);
    set(device, 704, 'WMaxLimPctEnaRvrt', 1);
    set(device, 704, 'WMaxLimPctRvrtTms', 60);
    set(device, 704, 'WMaxLimPct', 40);
    set(device, 704, 'WMaxLimPctEna', 1);
    assert.equal(num(map, 704, 'WMaxLimPctRvrtRem'), 60);
    assert.equal(num(map, 103, 'W'), 4000);

    device.tick(NOON + 30_000);
    assert.equal(num(map, 704, 'WMaxLimPctRvrtRem'), 30);
    assert.equal(num(map, 704, 'WMaxLimPct'), 40, 'the register holds what was written');
    assert.equal(num(map, 103, 'W'), 4000);

    const wh = num(map, 103, 'WH');
    device.tick(NOON + 90_000);
    assert.equal(num(map, 704, 'WMaxLimPct'), 70, 'reverted to WMaxLimPctRvrt');
    assert.equal(num(map, 704, 'WMaxLimPctEna'), 1, 'and to WMaxLimPctEnaRvrt');
    assert.equal(num(map, 704, 'WMaxLimPctRvrtRem'), 0);
    assert.equal(num(map, 103, 'W'), 7000);
    assert.ok(peak > 7000);
    // The tick split at the deadline: 30 s at 4 kW, then 30 s at 7 kW.
    close(num(map, 103, 'WH') - wh, (4000 * 30 + 7000 * 30) / 3600, 1, 'energy across the reversion');
  });

  test('704: the default reversion disables the limit; a new write restarts the timer', () => {
    const device = pvAt(NOON);
    const map = device.map;
    set(device, 704, 'WMaxLimPctRvrtTms', 60);
    set(device, 704, 'WMaxLimPct', 20);
    set(device, 704, 'WMaxLimPctEna', 1);
    set(device, 704, 'WMaxLimPct', 30, NOON + 50_000);
    device.tick(NOON + 100_000);
    assert.equal(num(map, 103, 'W'), 3000, 'restarted at 50 s: still limited at 100 s');
    assert.equal(num(map, 704, 'WMaxLimPctRvrtRem'), 10);
    device.tick(NOON + 111_000);
    assert.equal(num(map, 704, 'WMaxLimPctEna'), 0);
    assert.equal(num(map, 704, 'WMaxLimPct'), 100);
    assert.equal(num(map, 103, 'W'), Math.round(device.peakW));
  });

  test('704 WSet reverts on a battery; 123 limit and Conn revert on a legacy inverter', () => {
    const battery = batteryAt(NOON, 50);
    set(battery, 704, 'WSetRvrtTms', 120);
    set(battery, 704, 'WSet', 3000);
    set(battery, 704, 'WSetEna', 1);
    battery.tick(NOON + 119_000);
    assert.equal(num(battery.map, 802, 'W'), 3000);
    battery.tick(NOON + 121_000);
    assert.equal(num(battery.map, 704, 'WSetEna'), 0);
    assert.equal(num(battery.map, 704, 'WSet'), 0);
    assert.equal(num(battery.map, 802, 'W'), 0);

    const legacy = deviceFactory('legacy-inverter').create(1, NOON);
    assert.ok(legacy instanceof LegacyInverter);
    set(legacy, 123, 'WMaxLimPct_RvrtTms', 10);
    set(legacy, 123, 'WMaxLimPct', 20);
    set(legacy, 123, 'WMaxLim_Ena', 1);
    assert.equal(num(legacy.map, 101, 'W'), 1000);
    legacy.tick(NOON + 10_000);
    assert.equal(num(legacy.map, 123, 'WMaxLim_Ena'), 0);
    assert.equal(num(legacy.map, 101, 'W'), Math.round(legacy.availableW), 'no longer limited');
    assert.ok(legacy.availableW > 4000);
    set(legacy, 123, 'Conn_RvrtTms', 300);
    set(legacy, 123, 'Conn', 0);
    assert.equal(num(legacy.map, 101, 'W'), 0);
    legacy.tick(NOON + 310_000);
    assert.equal(num(legacy.map, 123, 'Conn'), 1, 'reconnected');
    assert.ok(num(legacy.map, 101, 'W') > 4000);
  });
});

describe('battery', () => {
  const eta = Math.sqrt(0.9);

  test('charging raises SoC with the charge efficiency and stops at SoCMax', () => {
    const device = batteryAt(NOON, 50);
    const map = device.map;
    const absorbed = num(map, 701, 'TotWhAbs');
    set(device, 704, 'WSet', -5000);
    set(device, 704, 'WSetEna', 1);
    assert.equal(num(map, 802, 'W'), -5000);
    assert.equal(num(map, 802, 'ChaSt'), 4, 'CHARGING');
    device.tick(NOON + 0.5 * HOUR);
    const expected = 50 + (5000 * 0.5 * eta * 100) / 10_000;
    close(device.socPct, expected, 1e-9, 'SoC after 30 min');
    assert.equal(num(map, 802, 'SoC'), Math.round(expected * 10) / 10);
    assert.equal(num(map, 713, 'SoC'), Math.round(expected * 10) / 10);
    assert.equal(num(map, 124, 'ChaState'), Math.round(expected * 10) / 10);
    assert.equal(num(map, 701, 'W'), -5000);

    device.tick(NOON + 2 * HOUR);
    assert.equal(device.socPct, 95, 'held at SoCMax');
    assert.equal(num(map, 802, 'SoC'), 95);
    assert.equal(num(map, 802, 'W'), 0);
    assert.equal(num(map, 802, 'ChaSt'), 5, 'FULL');
    // Energy drawn from the grid: only until full, (95 - 50) % of 10 kWh / eta.
    close(num(map, 701, 'TotWhAbs') - absorbed, 4500 / eta, 1, 'TotWhAbs');
    assert.equal(num(map, 704, 'WSet'), -5000, 'the setpoint still reads back');
  });

  test('discharging lowers SoC through the discharge efficiency and stops at SoCMin', () => {
    const device = batteryAt(NOON, 80);
    const map = device.map;
    const injected = num(map, 701, 'TotWhInj');
    set(device, 704, 'WSet', 4000);
    set(device, 704, 'WSetEna', 1);
    device.tick(NOON + HOUR);
    close(device.socPct, 80 - (4000 / eta / 10_000) * 100, 1e-9, 'SoC after 1 h');
    assert.equal(num(map, 701, 'TotWhInj') - injected, 4000);
    assert.equal(num(map, 802, 'ChaSt'), 3, 'DISCHARGING');
    device.tick(NOON + 3 * HOUR);
    close(device.socPct, 5, 1e-9, 'held at SoCMin');
    assert.equal(num(map, 802, 'W'), 0);
    assert.equal(num(map, 802, 'ChaSt'), 2, 'EMPTY');
    // AC energy delivered in all: (80 - 5) % of 10 kWh times the discharge efficiency.
    close(num(map, 701, 'TotWhInj') - injected, 7500 * eta, 1, 'TotWhInj');
  });

  test('round trip: energy out is the round-trip efficiency times energy in', () => {
    const pack = new BatteryPack({ capacityWh: 10_000, roundTripEfficiency: 0.9 }, 50);
    const charged = pack.step(-2000, HOUR, 0, 100);
    assert.equal(charged.acWh, -2000);
    let out = 0;
    while (pack.socPct > 50 + 1e-9) out += pack.step(100, 60_000, 50, 100).acWh;
    close(out, 1800, 1e-6, 'Wh out for 2000 Wh in');
  });

  test('charge and discharge limits, the reserve window and 124 storage controls', () => {
    const device = batteryAt(NOON, 50);
    const map = device.map;
    set(device, 124, 'InWRte', 50);
    set(device, 124, 'StorCtl_Mod', 1); // CHARGE
    assert.equal(num(map, 802, 'W'), -2500, '50 % of WChaMax');
    set(device, 124, 'WChaMax', 2000);
    assert.equal(num(map, 802, 'W'), -1000, '50 % of the lowered WChaMax');
    assert.equal(num(map, 802, 'WChaRteMax'), 2000);
    set(device, 124, 'OutWRte', 40);
    set(device, 124, 'StorCtl_Mod', 2); // DISCHARGE
    assert.equal(num(map, 802, 'W'), 2000, '40 % of WDisChaRteMax');
    set(device, 702, 'WDisChaRteMax', 1000);
    assert.equal(num(map, 802, 'W'), 400);
    set(device, 702, 'WDisChaRteMax', 5000);
    set(device, 124, 'OutWRte', 100);
    set(device, 802, 'SoCRsvMin', 40);
    device.tick(NOON + HOUR);
    close(device.socPct, 40, 1e-9, 'stops at the reserve');
    assert.equal(num(map, 802, 'W'), 0);
    set(device, 802, 'SoCRsvMin', 5);
    // Both bits: a window around the autonomous 0 W; a negative InWRte forces charging.
    set(device, 124, 'InWRte', -10);
    set(device, 124, 'StorCtl_Mod', 3);
    assert.equal(num(map, 802, 'W'), 200, 'forced: at least 10 % of WChaMax');
    set(device, 124, 'InWRte', 10);
    assert.equal(num(map, 802, 'W'), 0);
    // 704 WSet overrides 124, and is clamped to the charge limit.
    set(device, 704, 'WSet', -4000);
    set(device, 704, 'WSetEna', 1);
    assert.equal(num(map, 802, 'W'), -2000, 'WChaMax 2000');
    // 704 WMaxLimPct caps discharge.
    set(device, 704, 'WSet', 4000);
    set(device, 704, 'WMaxLimPct', 10);
    set(device, 704, 'WMaxLimPctEna', 1);
    assert.equal(num(map, 802, 'W'), 500, '10 % of WMax 5000');
    // SetOp DISCONNECT stops it.
    set(device, 802, 'SetOp', 2);
    assert.equal(num(map, 802, 'W'), 0);
    assert.equal(num(map, 802, 'State'), 1, 'DISCONNECTED');
  });

  test('124 InOutWRte_RvrtTms returns the battery to autonomous (idle)', () => {
    const device = batteryAt(NOON, 50);
    set(device, 124, 'InOutWRte_RvrtTms', 60);
    set(device, 124, 'StorCtl_Mod', 2);
    assert.equal(num(device.map, 802, 'W'), 5000);
    device.tick(NOON + 61_000);
    assert.equal(num(device.map, 124, 'StorCtl_Mod'), 0);
    assert.equal(num(device.map, 802, 'W'), 0);
    close(device.socPct, 50 - (5000 * (60 / 3600)) / eta / 100, 1e-9, 'discharged for exactly 60 s');
  });

  test('713 and 802 report capacity, health and available energy', () => {
    const device = batteryAt(NOON, 50);
    const map = device.map;
    assert.equal(num(map, 713, 'WHRtg'), 10_000);
    assert.equal(num(map, 713, 'SoH'), 98);
    assert.equal(num(map, 802, 'SoH'), 98);
    assert.equal(num(map, 802, 'SoCMax'), 95);
    assert.equal(num(map, 802, 'SoCMin'), 5);
    assert.equal(num(map, 713, 'WHAvail'), Math.round(4500 * eta));
  });
});

describe('hybrid', () => {
  test('two MPPT modules add up to the PV power; 704 WSet sets the AC power with the battery', () => {
    const device = deviceFactory('hybrid', { initialSocPct: 50 }).create(1, NOON);
    assert.ok(device instanceof Hybrid);
    const map = device.map;
    assert.equal(num(map, 160, 'N'), 2);
    const dcw = num(map, 160, 'module[0].DCW') + num(map, 160, 'module[1].DCW');
    close(dcw, device.availableW, 1, 'module DCW sum');
    assert.equal(num(map, 103, 'W'), Math.round(device.availableW));

    set(device, 704, 'WSet', 1000);
    set(device, 704, 'WSetEna', 1);
    assert.equal(num(map, 103, 'W'), 1000);
    assert.equal(num(map, 802, 'W'), -5000, 'the battery absorbs what it can');
    close(device.pvW, 6000, 1e-9, 'PV curtailed to WSet + charge');
    assert.equal(num(map, 103, 'St'), 5, 'THROTTLED');

    set(device, 704, 'WSet', -2000);
    assert.equal(num(map, 103, 'W'), -2000, 'importing 2 kW');
    assert.equal(num(map, 802, 'W'), -5000);
    close(device.pvW, 3000, 1e-9, 'PV curtailed to what the battery takes beyond the import');
  });
});

describe('meter', () => {
  test('meter W = site load - the sum of the other units W', () => {
    let now = 0;
    const sim = new SunSpecSimulator({
      port: 0,
      profile: 'pv-inverter,battery,meter',
      count: 6,
      clock: () => now,
      startTime: NOON,
      physics: { initialSocPct: 50 },
    });
    const pv = sim.unit(1);
    const battery = sim.unit(2);
    const meter = sim.unit(3);
    assert.ok(meter instanceof Meter);
    assert.deepEqual(meter.metered, [pv, battery]);
    set(battery, 704, 'WSet', 3000);
    set(battery, 704, 'WSetEna', 1);
    now = 60_000;
    meter.tick(sim.simTime());
    const expected = meter.loadAt(NOON + 60_000) - pv.acPowerW - battery.acPowerW;
    assert.equal(battery.acPowerW, 3000);
    assert.ok(pv.acPowerW > 8000);
    assert.equal(num(meter.map, 203, 'W'), Math.round(expected));
    assert.ok(num(meter.map, 203, 'W') < 0, 'the site exports at noon');
    close(num(meter.map, 203, 'WphA') * 3, expected, 2, 'phases');
    const second = sim.unit(6);
    assert.ok(second instanceof Meter);
    assert.deepEqual(second.metered, [sim.unit(4), sim.unit(5)]);
  });

  test('a meter alone measures the household load', () => {
    const device = deviceFactory('meter', { loadScale: 1 }).create(1, DAY + 19 * HOUR);
    assert.equal(num(device.map, 203, 'W'), Math.round(siteLoadW(19)));
    const imported = num(device.map, 203, 'TotWhImp');
    device.tick(DAY + 20 * HOUR);
    assert.ok(num(device.map, 203, 'TotWhImp') - imported > 2000);
  });
});

describe('legacy inverter', () => {
  test('models 1, 101, 120-123 only; W_SF changes with the power level', () => {
    const device = deviceFactory('legacy-inverter').create(1, DAY + 6.5 * HOUR);
    assert.ok(device instanceof LegacyInverter);
    const map = device.map;
    assert.deepEqual(
      map.layout.models.map((m) => m.id),
      [1, 101, 120, 121, 122, 123],
    );
    const low = device.acPowerW;
    assert.ok(low > 0 && low < 1000, `low power ${low}`);
    assert.equal(num(map, 101, 'W_SF'), -1);
    const wRegister = map.read(map.point(101, 'W').address, 2);
    assert.ok(wRegister instanceof Uint16Array);
    assert.equal(wRegister[0], Math.round(low * 10), 'the raw value carries a decimal');
    assert.equal(wRegister[1], 0xffff, 'W_SF = -1 right after W');
    assert.equal(num(map, 101, 'W'), Math.round(low * 10) / 10);
    assert.equal(num(map, 101, 'DCW_SF'), -1);

    device.tick(NOON);
    assert.equal(num(map, 101, 'W_SF'), 0);
    assert.equal(num(map, 101, 'W'), Math.round(device.acPowerW));
    assert.equal(num(map, 101, 'DCW_SF'), 0);
    const high = map.read(map.point(101, 'W').address, 2) as Uint16Array;
    assert.deepEqual([...high], [Math.round(device.acPowerW), 0]);
    // A reader that kept the scale factor of the earlier poll would see a tenth of the power.
    assert.notEqual(high[0]! / 10, num(map, 101, 'W'));

    assert.equal(value(map, 101, 'AphB'), null, 'single phase: B and C unimplemented');
    assert.equal(num(map, 122, 'PVConn'), 0b111);
    set(device, 121, 'WMax', 3000);
    assert.equal(num(map, 101, 'W'), 3000);
    assert.equal(num(map, 101, 'St'), 5, 'THROTTLED');
  });
});

describe('determinism', () => {
  test('the same unit at the same simulated time reads the same, however often it was ticked', () => {
    for (const profile of ['pv-inverter', 'hybrid', 'battery', 'legacy-inverter'] as const) {
      const options = { initialSocPct: 60 };
      const often = deviceFactory(profile, options).create(3, DAY + 5 * HOUR);
      const once = deviceFactory(profile, options).create(3, DAY + 5 * HOUR);
      for (const d of [often, once]) {
        if (profile === 'battery' || profile === 'hybrid') {
          set(d, 124, 'StorCtl_Mod', 1);
          set(d, 124, 'InWRte', 30);
        }
      }
      for (let t = DAY + 5 * HOUR; t <= DAY + 13 * HOUR; t += 7 * MIN + 13_000) often.tick(t);
      often.tick(DAY + 13 * HOUR);
      once.tick(DAY + 13 * HOUR);
      const differing: number[] = [];
      for (let i = 0; i < once.map.image.length; i++) {
        const a = often.map.image[i]!;
        const b = once.map.image[i]!;
        if (a !== b && Math.abs(a - b) > 1) differing.push(i);
      }
      assert.deepEqual(differing, [], `${profile}: registers that differ by more than rounding`);
    }
  });
});
