import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertValid,
  check,
  checkDevice,
  checkReadings,
  checkSetpoint,
  Device,
  GridseamError,
  ProgramEvent,
  Site,
} from '../src/index.ts';
import { aBattery, anEvent, aReading, aSite, T0 } from './fixtures.ts';

describe('site and device validation', () => {
  it('accepts a complete site and a battery', () => {
    assert.equal(check(Site, aSite()).ok, true);
    assert.equal(checkDevice(aBattery()).ok, true);
  });

  it('names the path of every bad field', () => {
    const bad = aBattery();
    (bad.capabilities.storage as { capacityWh: unknown }).capacityWh = 'lots';
    (bad as { class: unknown }).class = 'toaster';
    const result = checkDevice(bad);
    assert.equal(result.ok, false);
    if (result.ok) return;
    const paths = result.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['/capabilities/storage/capacityWh', '/class']);
    assert.match(result.issues.find((i) => i.path === '/class')?.message ?? '', /one of: pv-inverter/);
  });

  it('reports missing required fields and unknown properties by path', () => {
    const { siteId: _siteId, ...noSite } = aBattery();
    const result = check(Device, { ...noSite, colour: 'red' });
    assert.equal(result.ok, false);
    if (result.ok) return;
    const paths = result.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['/colour', '/siteId']);
  });

  it('rejects SoC limits that cross and coordinates out of range', () => {
    const crossed = aBattery();
    crossed.capabilities.storage = { capacityWh: 1000, maxChargeW: 1, maxDischargeW: 1, socMinPct: 90, socMaxPct: 20 };
    const result = checkDevice(crossed);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.issues[0]?.path, '/capabilities/storage/socMinPct');
    const site = check(Site, aSite({ location: { latitude: 91, longitude: 0 } }));
    assert.equal(site.ok, false);
    if (!site.ok) assert.equal(site.issues[0]?.path, '/location/latitude');
  });

  it('rejects ids that are not subject-safe', () => {
    for (const id of ['', 'a b', 'a/b', 'a*', '-leading', 'x'.repeat(129)]) {
      assert.equal(check(Site, aSite({ id })).ok, false, `id ${JSON.stringify(id)} should be rejected`);
    }
  });

  it('assertValid throws GW_ERR_VALIDATION carrying the issues', () => {
    assert.throws(
      () => assertValid(Site, { id: 'x' }, 'site'),
      (error: unknown) => {
        assert.ok(GridseamError.is(error));
        assert.equal(error.code, 'GW_ERR_VALIDATION');
        assert.equal(error.statusCode, 400);
        assert.equal(error.retryable, false);
        assert.deepEqual(
          error.issues.map((i) => i.path),
          ['/name'],
        );
        assert.match(error.message, /invalid site: \/name is required/);
        return true;
      },
    );
  });
});

describe('readings', () => {
  it('accepts numeric and text readings', () => {
    const result = checkReadings([
      aReading(),
      aReading({ measurand: 'stateOfCharge', value: 0, unit: '%' }),
      aReading({ measurand: 'operatingState', value: 'charging', unit: 'state' }),
      aReading({ measurand: 'voltage', value: 239.8, unit: 'V', phase: 'A', quality: 'estimated' }),
    ]);
    assert.equal(result.ok, true);
  });

  it('keeps 0 as a value: a zero reading is valid and distinct from absence', () => {
    const result = checkReadings([aReading({ value: 0 })]);
    assert.ok(result.ok);
    assert.equal(result.value[0]?.value, 0);
  });

  it('rejects a unit that does not belong to the measurand, with the index in the path', () => {
    const result = checkReadings([aReading(), aReading({ measurand: 'activePower', unit: 'Wh' })]);
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.issues, [{ path: '/1/unit', message: 'must be W for activePower' }]);
  });

  it('rejects out-of-range SoC, unknown operating states, wrong types and non-arrays', () => {
    const result = checkReadings([
      aReading({ measurand: 'stateOfCharge', value: 101, unit: '%' }),
      aReading({ measurand: 'operatingState', value: 'dancing', unit: 'state' }),
      { ...aReading(), value: '12' },
      { ...aReading(), ts: -5 },
    ]);
    assert.equal(result.ok, false);
    if (result.ok) return;
    const paths = result.issues.map((i) => i.path);
    assert.ok(paths.includes('/0/value'));
    assert.ok(paths.includes('/1/value'));
    assert.ok(paths.some((p) => p.startsWith('/2')));
    assert.ok(paths.some((p) => p.startsWith('/3')));
    assert.equal(checkReadings({ not: 'an array' }).ok, false);
  });

  it('rejects NaN and Infinity (never valid JSON numbers)', () => {
    assert.equal(checkReadings([aReading({ value: Number.NaN })]).ok, false);
    assert.equal(checkReadings([aReading({ value: Number.POSITIVE_INFINITY })]).ok, false);
  });
});

describe('setpoints', () => {
  const base = {
    id: 'sp-1',
    deviceId: 'bess-1',
    kind: 'exportLimit',
    value: 1500,
    start: T0,
    expiry: T0 + 60_000,
    source: { kind: 'operator', ref: 'alice' },
  };

  it('accepts a well-formed limit', () => {
    assert.equal(checkSetpoint(base).ok, true);
  });

  it('applies per-kind value rules', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ kind: 'exportLimit', value: -1 }, '/value'],
      [{ kind: 'targetSoc', value: 120 }, '/value'],
      [{ kind: 'connect', value: 0.5 }, '/value'],
      [{ kind: 'fixedW', unit: 'A' }, '/unit'],
      [{ expiry: T0 }, '/expiry'],
    ];
    for (const [patch, path] of cases) {
      const result = checkSetpoint({ ...base, ...patch });
      assert.equal(result.ok, false, JSON.stringify(patch));
      if (!result.ok) assert.equal(result.issues[0]?.path, path);
    }
    assert.equal(checkSetpoint({ ...base, kind: 'fixedW', value: -3000 }).ok, true, 'fixedW is signed');
    assert.equal(checkSetpoint({ ...base, kind: 'evChargingLimit', value: 16, unit: 'A' }).ok, true);
  });
});

describe('program events', () => {
  it('accepts an event with intervals, targets and history', () => {
    assert.equal(check(ProgramEvent, anEvent()).ok, true);
  });

  it('requires at least one interval with at least one signal', () => {
    const noIntervals = check(ProgramEvent, anEvent({ intervals: [] }));
    assert.equal(noIntervals.ok, false);
    if (!noIntervals.ok) assert.equal(noIntervals.issues[0]?.path, '/intervals');
    const noSignals = check(ProgramEvent, anEvent({ intervals: [{ start: T0, durationS: 60, signals: [] }] }));
    assert.equal(noSignals.ok, false);
    if (!noSignals.ok) assert.equal(noSignals.issues[0]?.path, '/intervals/0/signals');
  });
});
