import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Device, GridseamError } from '@gridseam/model';
import {
  type AllocatableDevice,
  allocatableFromDevice,
  allocateAggregate,
  allocateSite,
  type DeviceAllocation,
  deviceSetpointFor,
} from '../../src/control/index.ts';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const FIVE_MIN = 300_000;
const HALF_HOUR = 1_800_000;

function meter(id: string, powerW: number): AllocatableDevice {
  return { id, class: 'meter', online: true, controls: [], powerW };
}

function pv(id: string, availableW: number, extra: Partial<AllocatableDevice> = {}): AllocatableDevice {
  return {
    id,
    class: 'pv-inverter',
    online: true,
    controls: ['generationLimit'],
    maxW: 10_000,
    powerW: availableW,
    availablePvW: availableW,
    ...extra,
  };
}

function battery(id: string, extra: Partial<AllocatableDevice> = {}): AllocatableDevice {
  return {
    id,
    class: 'battery',
    online: true,
    controls: ['fixedW', 'chargeLimit', 'dischargeLimit'],
    maxChargeW: 3000,
    maxDischargeW: 3000,
    capacityWh: 10_000,
    socPct: 50,
    powerW: 0,
    ...extra,
  };
}

function byId(devices: readonly DeviceAllocation[], id: string): DeviceAllocation {
  const found = devices.find((d) => d.deviceId === id);
  assert.ok(found, `no allocation for ${id}`);
  return found;
}

function setpointOf(devices: readonly DeviceAllocation[], id: string): [string, number] | undefined {
  const setpoint = byId(devices, id).setpoint;
  return setpoint === undefined ? undefined : [setpoint.kind, Math.round(setpoint.value * 1000) / 1000];
}

function isValidationError(error: unknown): boolean {
  return GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION';
}

describe('allocateSite: export limit', () => {
  // PV 6 kW, site load 1 kW (meter exports 5 kW), battery idle at 50 %.
  const fleet = [meter('m', 5000), pv('pv', 6000), battery('bat')];

  it('is met by charging the battery before any curtailment', () => {
    const result = allocateSite({ id: 's' }, fleet, { now: NOW, periodMs: FIVE_MIN, exportLimitW: 2000 });
    assert.equal(result.siteLoadW, 1000);
    assert.deepEqual(result.meter, { source: 'device', deviceId: 'm', powerW: 5000 });
    assert.equal(result.baselineExportW, 5000);
    assert.equal(result.plannedExportW, 2000);
    assert.deepEqual(setpointOf(result.devices, 'bat'), ['fixedW', -3000]);
    assert.equal(setpointOf(result.devices, 'pv'), undefined, 'PV is not curtailed while storage can absorb');
    assert.equal(byId(result.devices, 'm').excluded, 'meter');
    assert.equal(result.summary.met, true);
    assert.equal(result.summary.direction, 'down');
    assert.equal(
      result.summary.reason,
      'lower output by 3000 W to meet [-inf W, 3000 W]: storage charging 3000 W of 3000 W headroom, PV curtailment 0 W of 6000 W headroom',
    );
  });

  it('curtails PV only for what the battery cannot absorb', () => {
    const result = allocateSite({ id: 's' }, fleet, { now: NOW, periodMs: FIVE_MIN, exportLimitW: 1000 });
    assert.deepEqual(setpointOf(result.devices, 'bat'), ['fixedW', -3000]);
    assert.deepEqual(setpointOf(result.devices, 'pv'), ['generationLimit', 5000]);
    assert.equal(result.plannedExportW, 1000);
    assert.deepEqual(
      result.summary.tiers.map((t) => [t.tier, t.usedW]),
      [
        ['storage-charge', 3000],
        ['pv-curtail', 1000],
      ],
    );
  });

  it('a full battery leaves it all to curtailment', () => {
    const full = [meter('m', 5000), pv('pv', 6000), battery('bat', { socPct: 100 })];
    const result = allocateSite({ id: 's' }, full, { now: NOW, periodMs: FIVE_MIN, exportLimitW: 2000 });
    assert.equal(setpointOf(result.devices, 'bat'), undefined);
    assert.deepEqual(setpointOf(result.devices, 'pv'), ['generationLimit', 3000]);
  });

  it('respects the SoC ceiling over the setpoint lifetime', () => {
    // 1 % below a 90 % ceiling of 10 kWh = 100 Wh; over 30 min that is 200 W of charge at most.
    const nearlyFull = [meter('m', 5000), pv('pv', 6000), battery('bat', { socPct: 89, socMaxPct: 90 })];
    const result = allocateSite({ id: 's' }, nearlyFull, {
      now: NOW,
      periodMs: HALF_HOUR,
      marginMs: 0,
      exportLimitW: 2000,
    });
    assert.deepEqual(setpointOf(result.devices, 'bat'), ['fixedW', -200]);
    assert.deepEqual(setpointOf(result.devices, 'pv'), ['generationLimit', 3200]);
    assert.equal(byId(result.devices, 'bat').minW, -200);
  });

  it('no action while within the limit', () => {
    const result = allocateSite({ id: 's' }, fleet, { now: NOW, periodMs: FIVE_MIN, exportLimitW: 8000 });
    assert.equal(result.summary.direction, 'none');
    assert.equal(result.summary.devices.setpoints, 0);
    assert.equal(result.summary.reason, 'baseline 6000 W already within [-inf W, 9000 W]: no change');
  });

  it('uses the tighter of the dynamic limit and the connection limit', () => {
    const result = allocateSite({ id: 's', connection: { exportLimitW: 1000 } }, fleet, {
      now: NOW,
      periodMs: FIVE_MIN,
      exportLimitW: 5000,
    });
    assert.equal(result.exportLimitW, 1000);
    assert.equal(result.plannedExportW, 1000);
  });

  it('works out the uncurtailed export when PV is already curtailed', () => {
    // PV curtailed to 3 kW of 6 kW available; meter shows 2 kW export; load 1 kW.
    const curtailed = [meter('m', 2000), pv('pv', 6000, { powerW: 3000 }), battery('bat', { socPct: 100 })];
    const result = allocateSite({ id: 's' }, curtailed, { now: NOW, periodMs: FIVE_MIN, exportLimitW: 4000 });
    assert.equal(result.siteLoadW, 1000);
    assert.equal(result.baselineExportW, 5000);
    assert.deepEqual(setpointOf(result.devices, 'pv'), ['generationLimit', 5000]);
  });

  it('without a meter takes the load as 0 and says so', () => {
    const result = allocateSite({ id: 's' }, [pv('pv', 6000), battery('bat', { socPct: 100 })], {
      now: NOW,
      periodMs: FIVE_MIN,
      exportLimitW: 4000,
    });
    assert.equal(result.meter.source, 'absent');
    assert.equal(result.siteLoadW, 0);
    assert.deepEqual(setpointOf(result.devices, 'pv'), ['generationLimit', 4000]);
    assert.match(result.summary.reason, /no online site meter: site load taken as 0/);
    const explicit = allocateSite({ id: 's' }, [meter('a', 1), meter('b', 2), pv('pv', 6000)], {
      now: NOW,
      periodMs: FIVE_MIN,
      exportLimitW: 4000,
      siteMeterW: 5000,
    });
    assert.deepEqual(explicit.meter, { source: 'constraint', powerW: 5000 });
    assert.equal(explicit.siteLoadW, 1000);
  });
});

describe('allocateSite: import limit and fixed export', () => {
  it('discharges batteries (within the SoC floor) before reducing load', () => {
    // EV charging 7 kW, other load 1 kW: the meter imports 8 kW. Battery 1 % above its 20 % floor.
    const devices: AllocatableDevice[] = [
      meter('m', -8000),
      { id: 'ev', class: 'ev-charger', online: true, controls: ['evChargingLimit'], maxLoadW: 11_000, powerW: -7000 },
      battery('bat', { socPct: 21, socMinPct: 20 }),
    ];
    const result = allocateSite({ id: 's' }, devices, {
      now: NOW,
      periodMs: HALF_HOUR,
      marginMs: 0,
      importLimitW: 5000,
    });
    assert.equal(result.siteLoadW, 1000);
    // 100 Wh above the floor over 30 min: 200 W.
    assert.deepEqual(setpointOf(result.devices, 'bat'), ['fixedW', 200]);
    assert.deepEqual(setpointOf(result.devices, 'ev'), ['evChargingLimit', 4200]);
    assert.equal(byId(result.devices, 'ev').setpoint?.unit, 'W');
    assert.equal(result.plannedExportW, -5000);
    assert.deepEqual(
      result.summary.tiers.map((t) => [t.tier, Math.round(t.usedW)]),
      [
        ['storage-discharge', 200],
        ['load-reduce', 2800],
      ],
    );
  });

  it('a load with loadLimit is reduced the same way', () => {
    const devices: AllocatableDevice[] = [
      meter('m', -6000),
      { id: 'wh', class: 'water-heater', online: true, controls: ['loadLimit'], maxLoadW: 4500, powerW: -4500 },
    ];
    const result = allocateSite({ id: 's' }, devices, { now: NOW, periodMs: FIVE_MIN, importLimitW: 3000 });
    assert.deepEqual(setpointOf(result.devices, 'wh'), ['loadLimit', 1500]);
  });

  it('holds a fixed net export, clamped into the site limits', () => {
    const devices = [meter('m', 0), battery('b1'), battery('b2')];
    const result = allocateSite({ id: 's', connection: { exportLimitW: 4000 } }, devices, {
      now: NOW,
      periodMs: FIVE_MIN,
      fixedW: 5000,
    });
    assert.equal(result.fixedW, 4000);
    assert.deepEqual(setpointOf(result.devices, 'b1'), ['fixedW', 2000]);
    assert.deepEqual(setpointOf(result.devices, 'b2'), ['fixedW', 2000]);
  });

  it('refuses malformed constraints', () => {
    for (const constraints of [
      { now: NOW, periodMs: FIVE_MIN, exportLimitW: -1 },
      { now: NOW, periodMs: FIVE_MIN, importLimitW: Number.NaN },
      { now: NOW, periodMs: 0 },
      { now: Number.POSITIVE_INFINITY, periodMs: FIVE_MIN },
      { now: NOW, periodMs: FIVE_MIN, marginMs: -5 },
    ])
      assert.throws(() => allocateSite({ id: 's' }, [], constraints), isValidationError);
  });
});

describe('allocateAggregate', () => {
  const discharging = (id: string, maxDischargeW = 3000): AllocatableDevice =>
    battery(id, { maxDischargeW, socPct: 80, capacityWh: 13_500 });

  it('splits a fixed-W target in proportion to headroom', () => {
    const result = allocateAggregate({ kind: 'fixedW', valueW: 2000, now: NOW, periodMs: FIVE_MIN }, [
      discharging('small', 1000),
      discharging('large', 3000),
    ]);
    assert.deepEqual(setpointOf(result.devices, 'small'), ['fixedW', 500]);
    assert.deepEqual(setpointOf(result.devices, 'large'), ['fixedW', 1500]);
    assert.equal(result.summary.allocatedW, 2000);
    assert.equal(result.summary.met, true);
  });

  it('re-allocates an offline device share to the others', () => {
    const fleet = [discharging('b1'), discharging('b2'), { ...discharging('b3'), online: false }];
    const result = allocateAggregate({ kind: 'fixedW', valueW: 6000, now: NOW, periodMs: FIVE_MIN }, fleet);
    assert.deepEqual(setpointOf(result.devices, 'b1'), ['fixedW', 3000]);
    assert.deepEqual(setpointOf(result.devices, 'b2'), ['fixedW', 3000]);
    assert.equal(byId(result.devices, 'b3').excluded, 'offline');
    assert.equal(byId(result.devices, 'b3').setpoint, undefined);
    assert.equal(result.summary.met, true);
    assert.equal(result.summary.devices.excluded.offline, 1);
    assert.match(result.summary.reason, /1 device\(s\) excluded \(offline 1, invalid 0\), their share re-allocated$/);
  });

  it('reports the shortfall of an infeasible target and why', () => {
    const result = allocateAggregate({ kind: 'fixedW', valueW: 10_000, now: NOW, periodMs: FIVE_MIN }, [
      discharging('b1'),
      discharging('b2'),
    ]);
    assert.equal(result.summary.allocatedW, 6000);
    assert.equal(result.summary.shortfallW, 4000);
    assert.equal(result.summary.met, false);
    assert.equal(
      result.summary.reason,
      'raise output by 10000 W to meet 10000 W: storage discharge 6000 W of 6000 W headroom, load reduction 0 W of 0 W headroom; short 4000 W: storage discharge headroom and load reduction exhausted',
    );
  });

  it('an exact target sets every controllable battery, a limit only those that change', () => {
    const fleet = [battery('b1', { powerW: 1000 }), battery('b2', { powerW: 1000 }), pv('pv', 3000)];
    const exact = allocateAggregate({ kind: 'fixedW', valueW: 5000, now: NOW, periodMs: FIVE_MIN }, fleet);
    assert.equal(exact.summary.direction, 'none');
    assert.deepEqual(setpointOf(exact.devices, 'b1'), ['fixedW', 1000]);
    assert.equal(setpointOf(exact.devices, 'pv'), undefined);
    const limit = allocateAggregate({ kind: 'exportLimit', valueW: 5000, now: NOW, periodMs: FIVE_MIN }, fleet);
    assert.equal(limit.summary.devices.setpoints, 0);
  });

  it('an import limit cuts battery charging', () => {
    const fleet = [battery('b1', { powerW: -2000 }), battery('b2', { powerW: -2000 })];
    const result = allocateAggregate({ kind: 'importLimit', valueW: 1000, now: NOW, periodMs: FIVE_MIN }, fleet);
    assert.equal(result.summary.allocatedW, -1000);
    assert.deepEqual(setpointOf(result.devices, 'b1'), ['fixedW', -500]);
  });

  it('a hybrid absorbs into its battery before curtailing its PV', () => {
    const hybrid: AllocatableDevice = {
      id: 'hy',
      class: 'hybrid-inverter',
      online: true,
      controls: ['fixedW'],
      maxW: 5000,
      maxChargeW: 2000,
      maxDischargeW: 2000,
      capacityWh: 10_000,
      socPct: 50,
      powerW: 4000,
      availablePvW: 4000,
    };
    const result = allocateAggregate({ kind: 'exportLimit', valueW: 1000, now: NOW, periodMs: FIVE_MIN }, [
      hybrid,
      pv('pv', 2000),
    ]);
    // Need 5000 down: the hybrid's battery takes 2000, then 3000 of curtailment split 4000:2000.
    assert.deepEqual(setpointOf(result.devices, 'hy'), ['fixedW', 0]);
    assert.deepEqual(setpointOf(result.devices, 'pv'), ['generationLimit', 1000]);
    assert.equal(byId(result.devices, 'hy').minW, -2000);
    assert.equal(byId(result.devices, 'hy').maxW, 5000);
  });

  it('setpoints expire after the period plus the margin', () => {
    const result = allocateAggregate({ kind: 'fixedW', valueW: 1000, now: NOW, periodMs: FIVE_MIN }, [battery('b')]);
    assert.deepEqual(byId(result.devices, 'b').setpoint, {
      deviceId: 'b',
      kind: 'fixedW',
      value: 1000,
      start: NOW,
      expiry: NOW + FIVE_MIN + 30_000,
    });
    const margin = allocateAggregate({ kind: 'fixedW', valueW: 1000, now: NOW, periodMs: FIVE_MIN, marginMs: 5000 }, [
      battery('b'),
    ]);
    assert.equal(byId(margin.devices, 'b').setpoint?.expiry, NOW + FIVE_MIN + 5000);
  });

  it('counts devices it cannot control at their baseline, and excludes bad data', () => {
    const fleet: AllocatableDevice[] = [
      battery('no-fixed', { controls: ['chargeLimit'], powerW: 500 }),
      battery('no-soc', { socPct: undefined, powerW: 700 }),
      battery('nan', { socPct: Number.NaN }),
      battery('floor', { socMinPct: 80, socMaxPct: 20 }),
      { ...battery('neg'), maxChargeW: -1 },
      battery('ok'),
    ];
    const result = allocateAggregate({ kind: 'fixedW', valueW: 3000, now: NOW, periodMs: FIVE_MIN }, fleet);
    assert.equal(byId(result.devices, 'no-fixed').excluded, 'not-controllable');
    assert.equal(byId(result.devices, 'no-soc').excluded, 'no-soc');
    assert.deepEqual(
      ['nan', 'floor', 'neg'].map((id) => [byId(result.devices, id).excluded, byId(result.devices, id).problem]),
      [
        ['invalid-data', 'a number is not finite'],
        ['invalid-data', 'SoC floor and ceiling must satisfy 0 <= floor <= ceiling <= 100'],
        ['invalid-data', 'a power rating is negative'],
      ],
    );
    // 500 + 700 fixed, so the controllable battery supplies the remaining 1800.
    assert.deepEqual(setpointOf(result.devices, 'ok'), ['fixedW', 1800]);
    assert.equal(result.summary.allocatedW, 3000);
    assert.deepEqual(result.summary.devices, {
      total: 6,
      included: 3,
      controllable: 1,
      setpoints: 1,
      excluded: { offline: 0, stale: 0, 'invalid-data': 3, 'no-soc': 1, meter: 0, 'not-controllable': 1 },
    });
  });

  it('refuses a malformed target', () => {
    for (const target of [
      { kind: 'fixedW', valueW: Number.NaN, now: NOW, periodMs: FIVE_MIN },
      { kind: 'exportLimit', valueW: -1, now: NOW, periodMs: FIVE_MIN },
      { kind: 'warp', valueW: 1, now: NOW, periodMs: FIVE_MIN },
      { kind: 'fixedW', valueW: 1, now: NOW, periodMs: -1 },
    ])
      assert.throws(() => allocateAggregate(target as Parameters<typeof allocateAggregate>[0], []), isValidationError);
  });
});

describe('device mapping helpers', () => {
  it('deviceSetpointFor maps program-level controls to setpoint kinds', () => {
    const inverter = { id: 'pv', controls: ['generationLimit', 'fixedW'] as const, maxW: 8000 };
    const timing = { now: NOW, periodMs: FIVE_MIN };
    assert.deepEqual(deviceSetpointFor('maxLimitPct', 50, inverter, timing), {
      deviceId: 'pv',
      kind: 'generationLimit',
      value: 4000,
      start: NOW,
      expiry: NOW + FIVE_MIN + 30_000,
    });
    assert.equal(deviceSetpointFor('storageTargetW', -1000, inverter, timing)?.kind, 'fixedW');
    assert.equal(deviceSetpointFor('maxLimitPct', 50, { id: 'x', controls: ['generationLimit'] }, timing), undefined);
    assert.equal(deviceSetpointFor('exportLimit', 50, inverter, timing), undefined);
  });

  it('allocatableFromDevice flattens canonical capabilities and present limits', () => {
    const device: Device = {
      id: 'bat-1',
      siteId: 's',
      class: 'battery',
      adapter: { kind: 'simulator', address: 'x' },
      enabled: true,
      capabilities: {
        ratings: { maxW: 5000 },
        storage: { capacityWh: 13_500, maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 95 },
        controls: ['fixedW'],
      },
    };
    assert.deepEqual(allocatableFromDevice(device, { online: true, powerW: -100, socPct: 40, maxChargeW: 2500 }), {
      id: 'bat-1',
      class: 'battery',
      online: true,
      controls: ['fixedW'],
      maxW: 5000,
      capacityWh: 13_500,
      maxChargeW: 2500,
      maxDischargeW: 5000,
      socMinPct: 10,
      socMaxPct: 95,
      powerW: -100,
      socPct: 40,
    });
    assert.equal(allocatableFromDevice({ ...device, enabled: false }, { online: true }).online, false);
    const heater: Device = {
      ...device,
      id: 'wh',
      class: 'water-heater',
      capabilities: { thermal: { setpointMinC: 40, setpointMaxC: 70, ratedPowerW: 4500 }, controls: ['loadLimit'] },
    };
    assert.equal(allocatableFromDevice(heater, { online: true }).maxLoadW, 4500);
  });
});
