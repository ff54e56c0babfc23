/**
 * Run-time validation against ocpp-rpc's bundled schemas: real messages pass, broken ones name
 * the field, unknown actions are GW_ERR_VALIDATION, hostile payloads do not crash.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { OcppVersion } from '../../src/contract.ts';
import { V16, V201 } from '../../src/types/index.ts';
import { assertValidOcpp, isOcppAction, type OcppDirection, ocppProblems } from '../../src/validate.ts';

function paths(version: OcppVersion, action: string, direction: OcppDirection, payload: unknown): string[] {
  return ocppProblems(version, action, direction, payload).map((problem) => `${problem.path} ${problem.message}`);
}

const boot16: V16.BootNotificationRequest = {
  chargePointVendor: 'Gridseam',
  chargePointModel: 'AC22',
  chargePointSerialNumber: 'SN-0001',
  firmwareVersion: '1.2.3',
};

const setProfile16: V16.SetChargingProfileRequest = {
  connectorId: 1,
  csChargingProfiles: {
    chargingProfileId: 7,
    stackLevel: 1,
    chargingProfilePurpose: 'TxDefaultProfile',
    chargingProfileKind: 'Absolute',
    chargingSchedule: {
      startSchedule: '2025-06-01T10:00:00Z',
      chargingRateUnit: 'A',
      chargingSchedulePeriod: [
        { startPeriod: 0, limit: 16.1 },
        { startPeriod: 900, limit: 6, numberPhases: 1 },
      ],
    },
  },
};

const boot201: V201.BootNotificationRequest = {
  reason: 'PowerUp',
  chargingStation: { vendorName: 'Gridseam', model: 'DC50', serialNumber: 'S-1', firmwareVersion: '2.0' },
};

const transactionEvent201: V201.TransactionEventRequest = {
  eventType: 'Updated',
  timestamp: '2025-06-01T10:05:00.000Z',
  triggerReason: 'MeterValuePeriodic',
  seqNo: 3,
  transactionInfo: { transactionId: 'tx-42', chargingState: 'Charging' },
  evse: { id: 1, connectorId: 1 },
  meterValue: [
    {
      timestamp: '2025-06-01T10:05:00Z',
      sampledValue: [
        { value: 11.2, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'kW' } },
        { value: 4321, measurand: 'Energy.Active.Import.Register' },
      ],
    },
  ],
};

describe('ocppProblems: valid messages', () => {
  test('1.6 requests and responses from the official shapes pass', () => {
    assert.deepEqual(paths('1.6', 'BootNotification', 'req', boot16), []);
    const bootConf: V16.BootNotificationResponse = {
      status: 'Accepted',
      currentTime: '2025-06-01T10:00:00Z',
      interval: 300,
    };
    assert.deepEqual(paths('1.6', 'BootNotification', 'conf', bootConf), []);
    assert.deepEqual(paths('1.6', 'SetChargingProfile', 'req', setProfile16), []);
    assert.deepEqual(paths('1.6', 'Heartbeat', 'req', {}), []);
    const meter: V16.MeterValuesRequest = {
      connectorId: 1,
      transactionId: 5,
      meterValue: [
        {
          timestamp: '2025-06-01T10:00:00+02:00',
          sampledValue: [{ value: '12.5', measurand: 'Energy.Active.Import.Register', unit: 'kWh' }],
        },
      ],
    };
    assert.deepEqual(paths('1.6', 'MeterValues', 'req', meter), []);
  });

  test('2.0.1 messages pass, customData may carry vendor properties', () => {
    assert.deepEqual(paths('2.0.1', 'BootNotification', 'req', boot201), []);
    assert.deepEqual(paths('2.0.1', 'TransactionEvent', 'req', transactionEvent201), []);
    assert.deepEqual(paths('2.0.1', 'Heartbeat', 'req', { customData: { vendorId: 'acme', anything: [1, 2] } }), []);
    const profile: V201.SetChargingProfileRequest = {
      evseId: 0,
      chargingProfile: {
        id: 1,
        stackLevel: 0,
        chargingProfilePurpose: 'ChargingStationMaxProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: [
          {
            id: 1,
            startSchedule: '2025-06-01T00:00:00Z',
            chargingRateUnit: 'W',
            chargingSchedulePeriod: [{ startPeriod: 0, limit: 11000 }],
          },
        ],
      },
    };
    assert.deepEqual(paths('2.0.1', 'SetChargingProfile', 'req', profile), []);
  });

  test('every action of both versions has a compiling validator in both directions', () => {
    for (const [version, actions] of [
      ['1.6', V16.V16_ACTIONS],
      ['2.0.1', V201.V201_ACTIONS],
    ] as const) {
      for (const action of actions) {
        assert.ok(isOcppAction(version, action), `${version} ${action}`);
        for (const direction of ['req', 'conf'] as const) {
          const problems = ocppProblems(version, action, direction, {});
          assert.ok(
            problems.every((problem) => !problem.message.startsWith('unknown')),
            `${version} ${action}.${direction}`,
          );
        }
      }
    }
  });

  test('assertValidOcpp returns for a valid payload and narrows its type', () => {
    const payload: unknown = JSON.parse(JSON.stringify(boot201));
    assertValidOcpp('2.0.1', 'BootNotification', 'req', payload);
    // Compiles only because the assertion narrowed `payload` to V201.BootNotificationRequest.
    assert.equal(payload.chargingStation.vendorName, 'Gridseam');
  });
});

describe('ocppProblems: invalid messages', () => {
  test('a wrong type names the field', () => {
    assert.deepEqual(
      paths('1.6', 'StatusNotification', 'req', { connectorId: '1', errorCode: 'NoError', status: 'Available' }),
      ['/connectorId must be integer'],
    );
    assert.deepEqual(paths('2.0.1', 'Heartbeat', 'conf', { currentTime: 1_717_236_000_000 }), [
      '/currentTime must be string',
    ]);
  });

  test('a missing required property names it', () => {
    assert.deepEqual(paths('1.6', 'BootNotification', 'req', { chargePointVendor: 'x' }), [
      '/chargePointModel is required',
    ]);
    assert.deepEqual(
      paths('2.0.1', 'BootNotification', 'req', { reason: 'PowerUp', chargingStation: { model: 'm' } }),
      ['/chargingStation/vendorName is required'],
    );
    // customData's own required vendorId.
    assert.deepEqual(paths('2.0.1', 'Heartbeat', 'req', { customData: {} }), ['/customData/vendorId is required']);
  });

  test('a value outside its enumeration lists the allowed ones', () => {
    const [problem] = ocppProblems('1.6', 'BootNotification', 'conf', {
      status: 'Maybe',
      currentTime: '2025-06-01T10:00:00Z',
      interval: 300,
    });
    assert.equal(problem?.path, '/status');
    assert.match(problem?.message ?? '', /must be one of: Accepted, Pending, Rejected/);
    assert.deepEqual(
      paths('2.0.1', 'SetChargingProfile', 'req', {
        evseId: 0,
        chargingProfile: {
          id: 1,
          stackLevel: 0,
          chargingProfilePurpose: 'ChargePointMaxProfile', // the 1.6 name, not 2.0.1's
          chargingProfileKind: 'Absolute',
          chargingSchedule: [{ id: 1, chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] }],
        },
      }).map((line) => line.split(':')[0]),
      ['/chargingProfile/chargingProfilePurpose must be one of'],
    );
  });

  test('extra properties are refused at the root and inside nested objects', () => {
    assert.deepEqual(paths('1.6', 'BootNotification', 'req', { ...boot16, colour: 'red' }), [
      '/colour is not an allowed property',
    ]);
    assert.deepEqual(
      paths('2.0.1', 'BootNotification', 'req', {
        ...boot201,
        chargingStation: { ...boot201.chargingStation, 'a/b': 1 },
      }),
      ['/chargingStation/a~1b is not an allowed property'],
    );
    assert.deepEqual(paths('1.6', 'Heartbeat', 'req', { x: 1 }), ['/x is not an allowed property']);
  });

  test('strings longer than maxLength are refused (1.6 CiString20Type, 2.0.1 model 20)', () => {
    assert.deepEqual(paths('1.6', 'BootNotification', 'req', { ...boot16, chargePointVendor: 'v'.repeat(21) }), [
      '/chargePointVendor must NOT have more than 20 characters',
    ]);
    assert.deepEqual(paths('1.6', 'BootNotification', 'req', { ...boot16, chargePointVendor: 'v'.repeat(20) }), []);
    assert.deepEqual(
      paths('2.0.1', 'BootNotification', 'req', {
        ...boot201,
        chargingStation: { vendorName: 'v', model: 'm'.repeat(21) },
      }),
      ['/chargingStation/model must NOT have more than 20 characters'],
    );
  });

  test('minItems, date-time and 1.6 multipleOf 0.1 are enforced', () => {
    assert.deepEqual(paths('2.0.1', 'MeterValues', 'req', { evseId: 1, meterValue: [] }), [
      '/meterValue must NOT have fewer than 1 items',
    ]);
    // The OCA 1.6 schema (ocpp-rpc's bundle) has no minItems here; mobilityhouse's copy, which the
    // types come from, adds it (specs/ocpp-schemas/README.md). The run-time check follows the OCA.
    assert.deepEqual(paths('1.6', 'MeterValues', 'req', { connectorId: 1, meterValue: [] }), []);
    assert.deepEqual(
      paths('1.6', 'MeterValues', 'req', {
        connectorId: 1,
        meterValue: [{ timestamp: '2025-06-01 10:00', sampledValue: [{ value: '1' }] }],
      }),
      ['/meterValue/0/timestamp must match format "date-time"'],
    );
    const tooFine = structuredClone(setProfile16);
    tooFine.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0]!.limit = 16.15;
    assert.deepEqual(paths('1.6', 'SetChargingProfile', 'req', tooFine), [
      '/csChargingProfiles/chargingSchedule/chargingSchedulePeriod/0/limit must be multiple of 0.1',
    ]);
  });

  test('non-finite numbers (JSON.parse of 1e400, values built in-process) are refused', () => {
    const parsed: unknown = JSON.parse(
      '{"evseId":1,"meterValue":[{"timestamp":"2025-06-01T10:00:00Z","sampledValue":[{"value":1e400}]}]}',
    );
    assert.deepEqual(paths('2.0.1', 'MeterValues', 'req', parsed), [
      '/meterValue/0/sampledValue/0/value must be a finite number',
    ]);
    assert.ok(paths('2.0.1', 'MeterValues', 'req', { evseId: Number.NaN, meterValue: [] }).length >= 2);
  });

  test('a payload that is not an object is refused', () => {
    for (const payload of [null, 'x', 1, [], undefined])
      assert.ok(ocppProblems('1.6', 'Heartbeat', 'req', payload).length > 0, JSON.stringify(payload));
  });

  test('many problems are capped at 20, the last one counting the rest', () => {
    const sampledValue = Array.from({ length: 100 }, () => ({ value: 5 }));
    const problems = ocppProblems('1.6', 'MeterValues', 'req', {
      connectorId: 1,
      meterValue: [{ timestamp: '2025-06-01T10:00:00Z', sampledValue }],
    });
    assert.equal(problems.length, 20);
    assert.equal(problems[0]?.path, '/meterValue/0/sampledValue/0/value');
    assert.equal(problems[19]?.message, 'and 81 more problems');
  });

  test('deeply nested vendor data in customData does not exhaust the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.deepEqual(paths('2.0.1', 'Heartbeat', 'req', { customData: { vendorId: 'v', deep } }), []);
  });
});

describe('unknown actions', () => {
  test('ocppProblems names the unknown action; isOcppAction says no', () => {
    assert.deepEqual(paths('1.6', 'TransactionEvent', 'req', {}), ['/ unknown OCPP 1.6 action "TransactionEvent".req']);
    assert.deepEqual(paths('2.0.1', 'StartTransaction', 'conf', {}), [
      '/ unknown OCPP 2.0.1 action "StartTransaction".conf',
    ]);
    assert.equal(isOcppAction('1.6', 'StartTransaction'), true);
    assert.equal(isOcppAction('2.0.1', 'StartTransaction'), false);
    for (const hostile of ['__proto__', 'constructor', 'Heartbeat.req', '../Heartbeat', ''])
      assert.equal(isOcppAction('2.0.1', hostile), false, hostile);
    assert.equal(isOcppAction('3.0' as OcppVersion, 'Heartbeat'), false);
  });

  test('assertValidOcpp throws GW_ERR_VALIDATION naming it, with a cut-down echo of hostile names', () => {
    assert.throws(
      () => assertValidOcpp('2.0.1', 'FlyToTheMoon', 'req', {}),
      (error: unknown) => {
        assert.ok(GridseamError.is(error));
        assert.equal(error.code, 'GW_ERR_VALIDATION');
        assert.match(error.message, /FlyToTheMoon/);
        assert.equal(error.details?.unknownAction, true);
        return true;
      },
    );
    assert.throws(
      () => assertValidOcpp('1.6', 'A'.repeat(10_000), 'req', {}),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION' && error.message.length < 200,
    );
  });

  test('assertValidOcpp throws GW_ERR_VALIDATION with every issue for an invalid payload', () => {
    assert.throws(
      () => assertValidOcpp('1.6', 'BootNotification', 'req', { chargePointVendor: 5 }),
      (error: unknown) => {
        assert.ok(GridseamError.is(error));
        assert.equal(error.code, 'GW_ERR_VALIDATION');
        assert.equal(error.details?.unknownAction, undefined);
        assert.deepEqual(
          error.issues.map((issue) => issue.path).sort(),
          ['/chargePointModel', '/chargePointVendor'].sort(),
        );
        assert.match(error.message, /BootNotification\.req/);
        return true;
      },
    );
  });
});
