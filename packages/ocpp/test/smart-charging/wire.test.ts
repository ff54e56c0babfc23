import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { ChargingProfileSpec } from '../../src/contract.ts';
import { profileProblems } from '../../src/smart-charging/problems.ts';
import { fromV16Profile, fromV201Profile, toV16Profile, toV201Profile } from '../../src/smart-charging/wire.ts';
import { ocppProblems } from '../../src/validate.ts';

/** ocpp-rpc's own strict-mode validators, built from its bundled schemas (lib/standard-validators.js). */
interface RpcValidator {
  subprotocol: string;
  validate(schemaId: string, params: unknown): boolean;
}
const require = createRequire(import.meta.url);
const validators = require('ocpp-rpc/lib/standard-validators.js') as RpcValidator[];
function validator(subprotocol: string): RpcValidator {
  const found = validators.find((v) => v.subprotocol === subprotocol);
  assert.ok(found, subprotocol);
  return found;
}
const v16 = validator('ocpp1.6');
const v201 = validator('ocpp2.0.1');

const T0 = Date.UTC(2025, 0, 6, 8, 30, 15, 250);

const SPECS: ChargingProfileSpec[] = [
  {
    id: 1,
    stackLevel: 0,
    purpose: 'StationMax',
    kind: 'Absolute',
    startSchedule: T0,
    unit: 'W',
    periods: [
      { startPeriod: 0, limit: 11_000 },
      { startPeriod: 900, limit: 7_360.5, numberPhases: 3 },
    ],
  },
  {
    id: 2,
    stackLevel: 3,
    purpose: 'TxDefault',
    kind: 'Recurring',
    recurrency: 'Weekly',
    validFrom: T0,
    validTo: T0 + 86_400_000,
    startSchedule: T0,
    durationS: 7200,
    unit: 'A',
    periods: [{ startPeriod: 0, limit: 16, numberPhases: 1 }],
    minChargingRate: 6,
  },
  {
    id: 3,
    stackLevel: 1,
    purpose: 'Tx',
    kind: 'Relative',
    transactionId: '42',
    unit: 'A',
    durationS: 3600,
    periods: [
      { startPeriod: 0, limit: 32 },
      { startPeriod: 600, limit: 6.5 },
    ],
  },
];

describe('profile wire converters', () => {
  for (const spec of SPECS) {
    it(`round-trips ${spec.purpose}/${spec.kind} through 1.6 and validates against ocpp-rpc's schema`, () => {
      const wire = toV16Profile(spec);
      assert.equal(v16.validate('urn:SetChargingProfile.req', { connectorId: 1, csChargingProfiles: wire }), true);
      assert.deepEqual(fromV16Profile(wire), spec);
    });
    it(`round-trips ${spec.purpose}/${spec.kind} through 2.0.1 and validates against ocpp-rpc's schema`, () => {
      const wire = toV201Profile(spec);
      assert.equal(v201.validate('urn:SetChargingProfile.req', { evseId: 1, chargingProfile: wire }), true);
      assert.deepEqual(fromV201Profile(wire), spec);
    });
  }

  it('maps purposes per version and writes ISO date-times', () => {
    const wire16 = toV16Profile(SPECS[0]!);
    assert.equal(wire16.chargingProfilePurpose, 'ChargePointMaxProfile');
    assert.equal(wire16.chargingSchedule.startSchedule, '2025-01-06T08:30:15.250Z');
    assert.equal(toV16Profile(SPECS[1]!).chargingProfilePurpose, 'TxDefaultProfile');
    assert.equal(toV16Profile(SPECS[2]!).transactionId, 42);
    const wire201 = toV201Profile(SPECS[0]!);
    assert.equal(wire201.chargingProfilePurpose, 'ChargingStationMaxProfile');
    assert.equal(wire201.chargingSchedule.length, 1);
    assert.equal(wire201.chargingSchedule[0]!.id, 1);
    const external = toV201Profile({ ...SPECS[0]!, purpose: 'ExternalConstraints' });
    assert.equal(external.chargingProfilePurpose, 'ChargingStationExternalConstraints');
    assert.equal(v201.validate('urn:SetChargingProfile.req', { evseId: 0, chargingProfile: external }), true);
  });

  it('rounds limits to one decimal', () => {
    const spec: ChargingProfileSpec = { ...SPECS[2]!, periods: [{ startPeriod: 0, limit: 15.942 }] };
    assert.equal(toV201Profile(spec).chargingSchedule[0]!.chargingSchedulePeriod[0]!.limit, 15.9);
    assert.equal(toV16Profile(spec).chargingSchedule.chargingSchedulePeriod[0]!.limit, 15.9);
  });

  it('emits one-decimal limits, which the schemas accept (8.1 passes, 8.15 would not)', () => {
    const with81 = toV16Profile({ ...SPECS[2]!, periods: [{ startPeriod: 0, limit: 8.1 }] });
    assert.equal(v16.validate('urn:SetChargingProfile.req', { connectorId: 1, csChargingProfiles: with81 }), true);
    assert.deepEqual(
      ocppProblems('1.6', 'SetChargingProfile', 'req', { connectorId: 1, csChargingProfiles: with81 }),
      [],
    );
    const raw = {
      ...with81,
      chargingSchedule: { ...with81.chargingSchedule, chargingSchedulePeriod: [{ startPeriod: 0, limit: 8.15 }] },
    };
    assert.throws(() => v16.validate('urn:SetChargingProfile.req', { connectorId: 1, csChargingProfiles: raw }));
    assert.equal(
      toV16Profile({ ...SPECS[2]!, periods: [{ startPeriod: 0, limit: 8.15 }] }).chargingSchedule
        .chargingSchedulePeriod[0]!.limit,
      8.2,
    );
  });

  it('refuses what a version cannot carry', () => {
    assert.throws(
      () => toV16Profile({ ...SPECS[0]!, purpose: 'ExternalConstraints' }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_NOT_SUPPORTED',
    );
    assert.throws(
      () => toV16Profile({ ...SPECS[2]!, transactionId: 'abc-1' }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
    assert.throws(
      () => toV201Profile({ ...SPECS[2]!, periods: [{ startPeriod: 0.5, limit: 1 }] }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
    assert.throws(
      () => toV201Profile({ ...SPECS[0]!, startSchedule: Number.NaN }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
    const twoSchedules = toV201Profile(SPECS[0]!);
    twoSchedules.chargingSchedule.push({ ...twoSchedules.chargingSchedule[0]!, id: 9 });
    assert.throws(
      () => fromV201Profile(twoSchedules),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_NOT_SUPPORTED',
    );
    assert.throws(
      () => fromV16Profile({ ...toV16Profile(SPECS[1]!), validFrom: 'yesterday' }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
  });
});

describe('profileProblems', () => {
  const good = SPECS[1]!;

  it('accepts well-formed profiles on both versions', () => {
    for (const spec of SPECS) {
      assert.deepEqual(profileProblems(spec, '2.0.1', spec.purpose === 'StationMax' ? 0 : 1), []);
      assert.deepEqual(profileProblems(spec, '1.6', spec.purpose === 'StationMax' ? 0 : 1), []);
    }
  });

  const cases: Array<[string, ChargingProfileSpec, '1.6' | '2.0.1', number | undefined, string]> = [
    ['first startPeriod not 0', { ...good, periods: [{ startPeriod: 60, limit: 6 }] }, '2.0.1', 1, 'K01.FR.31'],
    ['first startPeriod not 0 (1.6)', { ...good, periods: [{ startPeriod: 60, limit: 6 }] }, '1.6', 1, 'K01.FR.31'],
    [
      'periods out of order',
      {
        ...good,
        periods: [
          { startPeriod: 0, limit: 6 },
          { startPeriod: 0, limit: 8 },
        ],
      },
      '2.0.1',
      1,
      'K01.FR.35',
    ],
    ['no periods', { ...good, periods: [] }, '2.0.1', 1, 'NoChargingSchedulePeriods'],
    ['Absolute without startSchedule', { ...SPECS[0]!, startSchedule: undefined }, '2.0.1', 0, 'K01.FR.40'],
    ['Recurring without startSchedule', { ...good, startSchedule: undefined }, '1.6', 1, 'K01.FR.40'],
    ['Relative with startSchedule', { ...SPECS[2]!, startSchedule: T0 }, '2.0.1', 1, 'K01.FR.41'],
    ['Tx without transactionId', { ...SPECS[2]!, transactionId: undefined }, '2.0.1', 1, 'K01.FR.03'],
    ['StationMax on an EVSE', SPECS[0]!, '2.0.1', 1, 'K01.FR.03'],
    ['StationMax Relative', { ...SPECS[0]!, kind: 'Relative', startSchedule: undefined }, '2.0.1', 0, 'K01.FR.38'],
    ['Tx on EVSE 0', SPECS[2]!, '2.0.1', 0, 'K01.FR.16'],
    ['negative stack level', { ...good, stackLevel: -1 }, '1.6', 1, 'stackLevel'],
    ['bad unit', { ...good, unit: 'kW' as 'W' }, '2.0.1', 1, 'K01.FR.26'],
    ['ExternalConstraints on 1.6', { ...SPECS[0]!, purpose: 'ExternalConstraints' }, '1.6', 0, 'ExternalConstraints'],
    ['Recurring without recurrency', { ...good, recurrency: undefined }, '2.0.1', 1, 'recurrencyKind'],
    ['validTo before validFrom', { ...good, validTo: T0 - 1 }, '2.0.1', 1, 'validTo'],
  ];
  for (const [name, spec, version, evseId, expected] of cases) {
    it(`flags ${name}`, () => {
      const problems = profileProblems(spec, version, evseId);
      assert.ok(
        problems.some((p) => p.includes(expected)),
        `${expected} not in ${JSON.stringify(problems)}`,
      );
    });
  }
});
