/**
 * OCPP to canonical: vectors built from the official schema shapes (each checked with
 * validate.ts first, so they are real messages), both versions, phases, units and multipliers,
 * the 1.6 "Celcius" spelling, and garbage that must be dropped rather than thrown.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkCapabilities, checkReadings, GridseamError, type Reading } from '@gridseam/model';
import {
  capabilitiesOf,
  epochMsOf,
  evseStatusOf16,
  evseStatusOf201,
  operatingStateOf,
  operatingStateOfChargingState201,
  parseDecimal16,
  readingsFromMeterValues16,
  readingsFromMeterValues201,
  stationInfoFromBoot16,
  stationInfoFromBoot201,
} from '../src/canonical.ts';
import type { EvseStatus, StationInfo } from '../src/contract.ts';
import type { V16, V201 } from '../src/types/index.ts';
import { ocppProblems } from '../src/validate.ts';

const T0 = '2025-06-01T10:00:00Z';
const T0_MS = Date.UTC(2025, 5, 1, 10, 0, 0);

type SampledValue16 = V16.MeterValuesRequestMeterValueSampledValue;

/** A 1.6 MeterValues.req, asserted valid against the schema, and its meterValue list. */
function meterValues16(
  entries: Array<{ timestamp?: string; sampledValue: SampledValue16[] }>,
): V16.MeterValuesRequest['meterValue'] {
  const req: V16.MeterValuesRequest = {
    connectorId: 1,
    meterValue: entries.map((entry) => ({ timestamp: entry.timestamp ?? T0, sampledValue: entry.sampledValue })),
  };
  assert.deepEqual(ocppProblems('1.6', 'MeterValues', 'req', req), [], 'a valid 1.6 MeterValues.req');
  return req.meterValue;
}

function meterValues201(
  entries: Array<{ timestamp?: string; sampledValue: V201.SampledValueType[] }>,
): V201.MeterValueType[] {
  const req: V201.MeterValuesRequest = {
    evseId: 1,
    meterValue: entries.map((entry) => ({ timestamp: entry.timestamp ?? T0, sampledValue: entry.sampledValue })),
  };
  assert.deepEqual(ocppProblems('2.0.1', 'MeterValues', 'req', req), [], 'a valid 2.0.1 MeterValuesRequest');
  return req.meterValue;
}

/** "measurand[/phase]=value" per reading, plus a check that every reading is a valid canonical one. */
function summary(readings: Reading[]): string[] {
  const checked = checkReadings(readings);
  assert.ok(checked.ok, JSON.stringify(checked.ok ? [] : checked.issues));
  return readings.map((r) => `${r.measurand}${r.phase ? `/${r.phase}` : ''}=${r.value}`);
}

describe('stationInfoFromBoot16 / stationInfoFromBoot201', () => {
  test('1.6: vendor, model, charge point serial first, firmware; no EVSEs yet', () => {
    const req: V16.BootNotificationRequest = {
      chargePointVendor: 'Alfen',
      chargePointModel: 'Eve Single',
      chargeBoxSerialNumber: 'BOX-9',
      chargePointSerialNumber: 'CP-1',
      firmwareVersion: '4.12',
    };
    assert.deepEqual(ocppProblems('1.6', 'BootNotification', 'req', req), []);
    assert.deepEqual(stationInfoFromBoot16('CP001', req), {
      identity: 'CP001',
      version: '1.6',
      vendor: 'Alfen',
      model: 'Eve Single',
      serial: 'CP-1',
      firmware: '4.12',
      evses: [],
    });
    const minimal = stationInfoFromBoot16('CP002', {
      chargePointVendor: 'V',
      chargePointModel: 'M',
      chargeBoxSerialNumber: 'B',
    });
    assert.equal(minimal.serial, 'B', 'the charge box serial when the charge point has none');
    assert.equal('firmware' in minimal, false);
  });

  test('2.0.1: chargingStation facts', () => {
    const req: V201.BootNotificationRequest = {
      reason: 'PowerUp',
      chargingStation: { vendorName: 'ABB', model: 'Terra AC', serialNumber: 'T-77', firmwareVersion: '1.8.0' },
    };
    assert.deepEqual(ocppProblems('2.0.1', 'BootNotification', 'req', req), []);
    assert.deepEqual(stationInfoFromBoot201('CS-7', req), {
      identity: 'CS-7',
      version: '2.0.1',
      vendor: 'ABB',
      model: 'Terra AC',
      serial: 'T-77',
      firmware: '1.8.0',
      evses: [],
    });
    const minimal = stationInfoFromBoot201('CS-8', {
      reason: 'Unknown',
      chargingStation: { vendorName: 'V', model: 'M' },
    });
    assert.deepEqual(Object.keys(minimal).sort(), ['evses', 'identity', 'model', 'vendor', 'version']);
  });
});

describe('readingsFromMeterValues16', () => {
  test('energy in Wh (default measurand and unit) and kWh x 1000, exactly', () => {
    const readings = readingsFromMeterValues16(
      'CP001',
      meterValues16([
        { timestamp: '2025-06-01T10:00:00Z', sampledValue: [{ value: '1234.5' }] },
        {
          timestamp: '2025-06-01T10:15:00Z',
          sampledValue: [
            { value: '12.345', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
            { value: '0.1', measurand: 'Energy.Active.Export.Register', unit: 'kWh' },
          ],
        },
      ]),
    );
    assert.deepEqual(summary(readings), ['energyImported=1234.5', 'energyImported=12345', 'energyExported=100']);
    assert.deepEqual(
      readings.map((r) => r.ts),
      [T0_MS, T0_MS + 15 * 60_000, T0_MS + 15 * 60_000],
    );
    assert.ok(readings.every((r) => r.deviceId === 'CP001' && r.unit === 'Wh'));
  });

  test('Power.Active.Import is negative (power into the charger), Export positive, per phase', () => {
    const readings = readingsFromMeterValues16(
      'CP001',
      meterValues16([
        {
          sampledValue: [
            { value: '7.4', measurand: 'Power.Active.Import', unit: 'kW' },
            { value: '2466', measurand: 'Power.Active.Import', unit: 'W', phase: 'L1' },
            { value: '2467', measurand: 'Power.Active.Import', phase: 'L2' },
            { value: '2467', measurand: 'Power.Active.Import', unit: 'W', phase: 'L3' },
          ],
        },
        { timestamp: '2025-06-01T10:01:00Z', sampledValue: [{ value: '3000', measurand: 'Power.Active.Export' }] },
      ]),
    );
    assert.deepEqual(summary(readings), [
      'activePower=-7400',
      'activePower/A=-2466',
      'activePower/B=-2467',
      'activePower/C=-2467',
      'activePower=3000',
    ]);
  });

  test('import and export of the same instant are netted into one signed reading; 0 is never -0', () => {
    const readings = readingsFromMeterValues16(
      'CP001',
      meterValues16([
        {
          sampledValue: [
            { value: '5000', measurand: 'Power.Active.Import', unit: 'W' },
            { value: '1200', measurand: 'Power.Active.Export', unit: 'W' },
            { value: '0', measurand: 'Power.Reactive.Import', unit: 'var' },
          ],
        },
      ]),
    );
    assert.deepEqual(summary(readings), ['activePower=-3800', 'reactivePower=0']);
    assert.ok(Object.is(readings[1]?.value, 0), 'a zero import is +0');
  });

  test('current and voltage phases: L1/L2/L3 -> A/B/C, L1-N -> A, L2-L3 -> BC, N stays N', () => {
    const readings = readingsFromMeterValues16(
      'CP001',
      meterValues16([
        {
          sampledValue: [
            { value: '16.1', measurand: 'Current.Import', unit: 'A', phase: 'L1' },
            { value: '16.2', measurand: 'Current.Import', unit: 'A', phase: 'L2' },
            { value: '16.3', measurand: 'Current.Import', unit: 'A', phase: 'L3' },
            { value: '0.4', measurand: 'Current.Import', unit: 'A', phase: 'N' },
            { value: '231.2', measurand: 'Voltage', unit: 'V', phase: 'L1-N' },
            { value: '400.1', measurand: 'Voltage', unit: 'V', phase: 'L2-L3' },
            { value: '399.8', measurand: 'Voltage', phase: 'L3-L1' },
          ],
        },
      ]),
    );
    assert.deepEqual(summary(readings), [
      'current/A=16.1',
      'current/B=16.2',
      'current/C=16.3',
      'current/N=0.4',
      'voltage/A=231.2',
      'voltage/BC=400.1',
      'voltage/CA=399.8',
    ]);
  });

  test('frequency, SoC, temperature in Celsius, "Celcius", Fahrenheit and K', () => {
    const readings = readingsFromMeterValues16(
      'CP001',
      meterValues16([
        {
          sampledValue: [
            { value: '50.02', measurand: 'Frequency' },
            { value: '63', measurand: 'SoC', unit: 'Percent', location: 'EV' },
            { value: '41.5', measurand: 'Temperature', unit: 'Celcius', location: 'Body' },
          ],
        },
        {
          timestamp: '2025-06-01T10:01:00Z',
          sampledValue: [
            { value: '49.98', measurand: 'Frequency' },
            { value: '40', measurand: 'Temperature', unit: 'Celsius' },
          ],
        },
        {
          timestamp: '2025-06-01T10:02:00Z',
          sampledValue: [{ value: '212', measurand: 'Temperature', unit: 'Fahrenheit' }],
        },
        { timestamp: '2025-06-01T10:03:00Z', sampledValue: [{ value: '300', measurand: 'Temperature', unit: 'K' }] },
      ]),
    );
    assert.deepEqual(summary(readings), [
      'frequency=50.02',
      'stateOfCharge=63',
      'temperature=41.5',
      'frequency=49.98',
      'temperature=40',
      'temperature=100',
      'temperature=26.85',
    ]);
    assert.deepEqual(
      readings.map((r) => r.unit),
      ['Hz', '%', 'Cel', 'Hz', 'Cel', 'Cel', 'Cel'],
    );
  });

  test('"Hertz" (in mobilityhouse\'s 1.6 schema, not in the OCA\'s that validate.ts uses) is accepted', () => {
    const meterValue: V16.MeterValuesRequest['meterValue'] = [
      { timestamp: T0, sampledValue: [{ value: '50.1', measurand: 'Frequency', unit: 'Hertz' }] },
    ];
    assert.equal(ocppProblems('1.6', 'MeterValues', 'req', { connectorId: 1, meterValue }).length, 1);
    assert.deepEqual(summary(readingsFromMeterValues16('CP001', meterValue)), ['frequency=50.1']);
  });

  test('garbage values are dropped, never thrown; the good ones beside them are kept', () => {
    const garbage = [
      'abc',
      '',
      ' 12',
      '12 ',
      '1,5',
      'NaN',
      'Infinity',
      '-Infinity',
      '1e999',
      '0x10',
      '1.2.3',
      '--1',
      '٣',
    ];
    const readings = readingsFromMeterValues16(
      'CP001',
      meterValues16([
        {
          sampledValue: [
            ...garbage.map((value): SampledValue16 => ({ value, measurand: 'Power.Active.Import', unit: 'W' })),
            { value: '1000', measurand: 'Energy.Active.Import.Register', format: 'SignedData' },
            { value: '-5', measurand: 'Energy.Active.Import.Register' }, // a register is never negative
            { value: '150', measurand: 'SoC', unit: 'Percent' }, // beyond 100 %
            { value: '10', measurand: 'Energy.Active.Import.Register', unit: 'A' }, // unit does not fit
            { value: '10', measurand: 'Power.Factor', unit: 'Percent' },
            { value: '1500', measurand: 'RPM' }, // no canonical measurand
            { value: '2', measurand: 'Energy.Active.Import.Interval', unit: 'kWh' }, // an interval, not a register
            { value: '11000', measurand: 'Power.Offered', unit: 'W' }, // echoes our own limit
            { value: '16', measurand: 'Current.Offered', unit: 'A' },
            { value: '3', measurand: 'Current.Export', unit: 'A' },
            { value: '+2.5e3', measurand: 'Power.Active.Export', unit: 'W' },
            { value: '.5', measurand: 'Power.Factor' },
          ],
        },
      ]),
    );
    assert.deepEqual(summary(readings), ['activePower=2500', 'powerFactor=0.5']);
  });

  test('a bad timestamp drops only its meter value', () => {
    const meterValue = meterValues16([
      { timestamp: '2025-06-01T10:00:00Z', sampledValue: [{ value: '1' }] },
      { timestamp: '2025-06-01T10:00:00.250+02:00', sampledValue: [{ value: '2' }] },
    ]);
    // Timestamps the schema's date-time format also refuses; the mapping must not trust validation.
    const bad = [
      '2025-02-30T00:00:00Z',
      '2025-06-01T24:00:00Z',
      '2025-06-01T10:00:00',
      'yesterday',
      '1969-12-31T23:59:59Z',
    ];
    for (const timestamp of bad)
      assert.ok(
        ocppProblems('1.6', 'MeterValues', 'req', {
          connectorId: 1,
          meterValue: [{ timestamp, sampledValue: [{ value: '1' }] }],
        }).length > 0 || timestamp.startsWith('1969'),
        timestamp,
      );
    const withBad = [...meterValue, ...bad.map((timestamp) => ({ timestamp, sampledValue: [{ value: '9' }] }))];
    const readings = readingsFromMeterValues16('CP001', withBad);
    assert.deepEqual(summary(readings), ['energyImported=1', 'energyImported=2']);
    assert.equal(readings[1]?.ts, T0_MS - 2 * 3_600_000 + 250);
  });

  test('one reading per instant, measurand and phase: the outlet wins over the inlet, the body for temperature', () => {
    const readings = readingsFromMeterValues16(
      'CP001',
      meterValues16([
        {
          sampledValue: [
            { value: '7000', measurand: 'Power.Active.Import', location: 'Inlet' },
            { value: '6900', measurand: 'Power.Active.Import', location: 'Outlet' },
            { value: '31', measurand: 'Temperature', location: 'EV' },
            { value: '45', measurand: 'Temperature', location: 'Body' },
          ],
        },
        // The same instant again (Transaction.Begin next to Sample.Clock): the first one stays.
        {
          sampledValue: [
            { value: '100', context: 'Sample.Clock' },
            { value: '101', context: 'Transaction.Begin' },
          ],
        },
      ]),
    );
    assert.deepEqual(summary(readings), ['activePower=-6900', 'temperature=45', 'energyImported=100']);
  });

  test('StopTransaction.transactionData has the same shape', () => {
    const stop: V16.StopTransactionRequest = {
      transactionId: 12,
      meterStop: 20500,
      timestamp: T0,
      reason: 'EVDisconnected',
      transactionData: [{ timestamp: T0, sampledValue: [{ value: '20.5', unit: 'kWh', context: 'Transaction.End' }] }],
    };
    assert.deepEqual(ocppProblems('1.6', 'StopTransaction', 'req', stop), []);
    assert.deepEqual(summary(readingsFromMeterValues16('CP001', stop.transactionData ?? [])), ['energyImported=20500']);
  });

  test('unvalidated input of the wrong shape yields no readings instead of throwing', () => {
    for (const input of [
      null,
      undefined,
      'x',
      42,
      {},
      [null],
      [{ timestamp: T0 }],
      [{ timestamp: T0, sampledValue: [null, 7, { value: 5 }] }],
    ])
      assert.deepEqual(readingsFromMeterValues16('CP001', input as V16.MeterValuesRequest['meterValue']), []);
  });
});

describe('readingsFromMeterValues201', () => {
  test('unitOfMeasure multiplier is a power of ten; kWh and kW scale by 1000; Wh is the energy default', () => {
    const readings = readingsFromMeterValues201(
      'CS-7',
      meterValues201([
        {
          sampledValue: [
            { value: 12.345, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'kWh' } },
            { value: 1.5, measurand: 'Energy.Active.Export.Register', unitOfMeasure: { unit: 'Wh', multiplier: 3 } },
            { value: 11, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W', multiplier: 3 } },
            { value: 2315, measurand: 'Voltage', phase: 'L1-N', unitOfMeasure: { unit: 'V', multiplier: -1 } },
            { value: 16, measurand: 'Current.Import', phase: 'L2', unitOfMeasure: { unit: 'A' } },
            { value: 72, measurand: 'SoC', location: 'EV', unitOfMeasure: { unit: 'Percent' } },
            { value: 50, measurand: 'Frequency', unitOfMeasure: { unit: 'Hz' } },
          ],
        },
        { timestamp: '2025-06-01T10:00:01Z', sampledValue: [{ value: 99 }] },
      ]),
    );
    assert.deepEqual(summary(readings), [
      'energyImported=12345',
      'energyExported=1500',
      'activePower=-11000',
      'voltage/A=231.5',
      'current/B=16',
      'stateOfCharge=72',
      'frequency=50',
      'energyImported=99',
    ]);
  });

  test('TransactionEvent.meterValue maps the same way; export is positive (V2G)', () => {
    const event: V201.TransactionEventRequest = {
      eventType: 'Updated',
      timestamp: T0,
      triggerReason: 'MeterValuePeriodic',
      seqNo: 4,
      transactionInfo: { transactionId: 'tx-1', chargingState: 'Charging' },
      meterValue: [
        {
          timestamp: T0,
          sampledValue: [
            { value: 3.7, measurand: 'Power.Active.Export', unitOfMeasure: { unit: 'kW' }, context: 'Sample.Periodic' },
            { value: 2, measurand: 'Power.Reactive.Import', unitOfMeasure: { unit: 'kvar' } },
          ],
        },
      ],
    };
    assert.deepEqual(ocppProblems('2.0.1', 'TransactionEvent', 'req', event), []);
    assert.deepEqual(summary(readingsFromMeterValues201('CS-7', event.meterValue ?? [])), [
      'activePower=3700',
      'reactivePower=-2000',
    ]);
  });

  test('unknown units and measurands, absurd multipliers and non-finite values are dropped', () => {
    const readings = readingsFromMeterValues201(
      'CS-7',
      meterValues201([
        {
          sampledValue: [
            { value: 5, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'BTU' } },
            { value: 5, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { multiplier: 400 } },
            { value: 5, measurand: 'Energy.Apparent.Net' },
            { value: 5, measurand: 'Energy.Active.Net' },
            { value: 22, measurand: 'Power.Offered', unitOfMeasure: { unit: 'kW' } },
            { value: 32, measurand: 'Current.Offered', unitOfMeasure: { unit: 'A' } },
            { value: 7, measurand: 'Current.Import', phase: 'L1', unitOfMeasure: { unit: 'A' } },
          ],
        },
      ]),
    );
    assert.deepEqual(summary(readings), ['current/A=7']);
    const nonFinite = [{ timestamp: T0, sampledValue: [{ value: Number.POSITIVE_INFINITY }, { value: Number.NaN }] }];
    assert.deepEqual(readingsFromMeterValues201('CS-7', nonFinite), []);
    const badMultiplier = [{ timestamp: T0, sampledValue: [{ value: 1, unitOfMeasure: { multiplier: 0.5 } }] }];
    assert.deepEqual(readingsFromMeterValues201('CS-7', badMultiplier), []);
  });

  test('a signed meter value keeps its plain value; a bad timestamp drops the meter value', () => {
    const readings = readingsFromMeterValues201(
      'CS-7',
      meterValues201([
        {
          sampledValue: [
            {
              value: 4321.5,
              signedMeterValue: {
                signedMeterData: 'AAEC',
                signingMethod: 'ECDSA-secp256r1-SHA256',
                encodingMethod: 'OCMF',
                publicKey: 'BAUG',
              },
            },
          ],
        },
      ]),
    );
    assert.deepEqual(summary(readings), ['energyImported=4321.5']);
    const bad: V201.MeterValueType[] = [{ timestamp: '2025-13-01T00:00:00Z', sampledValue: [{ value: 1 }] }];
    assert.ok(ocppProblems('2.0.1', 'MeterValues', 'req', { evseId: 1, meterValue: bad }).length > 0);
    assert.deepEqual(readingsFromMeterValues201('CS-7', bad), []);
  });
});

describe('parseDecimal16 and epochMsOf', () => {
  test('decimal strings', () => {
    assert.equal(parseDecimal16('12'), 12);
    assert.equal(parseDecimal16('-0.5'), -0.5);
    assert.equal(parseDecimal16('1.'), 1);
    assert.equal(parseDecimal16('1E3'), 1000);
    for (const bad of ['', '1e', 'e3', '1_000', '١', '1'.repeat(65), undefined, 5])
      assert.equal(parseDecimal16(bad), undefined, String(bad));
  });

  test('RFC 3339 date-times with a zone', () => {
    assert.equal(epochMsOf('2025-06-01T10:00:00Z'), T0_MS);
    assert.equal(epochMsOf('2025-06-01t10:00:00z'), T0_MS);
    assert.equal(epochMsOf('2025-06-01T12:30:00+02:30'), T0_MS);
    assert.equal(epochMsOf('2025-06-01T10:00:00.1239-00:00'), T0_MS + 123);
    assert.equal(epochMsOf('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
    assert.equal(epochMsOf('2025-06-01T10:00:00.29Z'), T0_MS + 290);
    assert.equal(epochMsOf('2025-06-01T10:00:00.5Z'), T0_MS + 500);
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2025-06-01T10:00:60Z',
      '2025-06-01T10:00:00+24:00',
      '2025-06-01',
      '+2025-06-01T10:00:00Z',
    ])
      assert.equal(epochMsOf(bad), undefined, bad);
  });
});

describe('status', () => {
  test('1.6 ChargePointStatus and 2.0.1 ConnectorStatusEnumType keep their names', () => {
    const statuses16: V16.StatusNotificationRequestStatus[] = [
      'Available',
      'Preparing',
      'Charging',
      'SuspendedEVSE',
      'SuspendedEV',
      'Finishing',
      'Reserved',
      'Unavailable',
      'Faulted',
    ];
    for (const status of statuses16) {
      assert.deepEqual(
        ocppProblems('1.6', 'StatusNotification', 'req', { connectorId: 1, errorCode: 'NoError', status }),
        [],
      );
      assert.equal(evseStatusOf16(status), status);
    }
    for (const status of ['Available', 'Occupied', 'Reserved', 'Unavailable', 'Faulted'] as const)
      assert.equal(evseStatusOf201(status), status);
    assert.equal(evseStatusOf16('Exploded' as V16.StatusNotificationRequestStatus), 'Unavailable');
    assert.equal(evseStatusOf201('toString' as V201.ConnectorStatusEnumType), 'Unavailable');
  });

  test('operating states', () => {
    const expected: Record<EvseStatus, string> = {
      Available: 'idle',
      Preparing: 'starting',
      Charging: 'charging',
      SuspendedEV: 'standby',
      SuspendedEVSE: 'standby',
      Finishing: 'standby',
      Reserved: 'idle',
      Unavailable: 'unavailable',
      Faulted: 'fault',
      Occupied: 'standby',
    };
    for (const [status, state] of Object.entries(expected)) assert.equal(operatingStateOf(status as EvseStatus), state);
  });

  test('a station with several EVSEs takes the most active state', () => {
    assert.equal(operatingStateOf(['Faulted', 'Charging', 'Available']), 'charging');
    assert.equal(operatingStateOf(['Available', 'Faulted']), 'idle');
    assert.equal(operatingStateOf(['Unavailable', 'Faulted']), 'fault');
    assert.equal(operatingStateOf(['SuspendedEV', 'Preparing']), 'starting');
    assert.equal(operatingStateOf([]), 'unavailable');
  });

  test('2.0.1 chargingState', () => {
    assert.equal(operatingStateOfChargingState201('Charging'), 'charging');
    assert.equal(
      operatingStateOfChargingState201('EVConnected'),
      'starting',
      'as a plugged-in 1.6 connector (Preparing)',
    );
    assert.equal(operatingStateOfChargingState201('SuspendedEVSE'), 'standby');
    assert.equal(operatingStateOfChargingState201('Idle'), 'idle');
  });
});

describe('capabilitiesOf', () => {
  const station: StationInfo = { identity: 'CP001', version: '1.6', vendor: 'V', model: 'M', evses: [] };
  const defaults = { maxCurrentA: 32, phases: 3 as const, voltage: 230 };

  test('no EVSE known yet: one connector at the defaults', () => {
    const capabilities = capabilitiesOf(station, defaults);
    assert.deepEqual(capabilities, {
      ratings: { maxW: 22080, nominalV: 230 },
      ev: { maxCurrentA: 32, phases: 3, connectors: 1, bidirectional: false },
      controls: ['evChargingLimit', 'loadLimit'],
    });
    assert.deepEqual(checkCapabilities(capabilities), []);
  });

  test('EVSEs: power summed, own facts over the defaults, an EVSE maxPowerW caps its share', () => {
    const capabilities = capabilitiesOf(
      {
        ...station,
        evses: [{ evseId: 1 }, { evseId: 2, maxCurrentA: 16, phases: 1 }, { evseId: 3, maxPowerW: 11000 }],
      },
      defaults,
    );
    // 230 x 32 x 3 + 230 x 16 x 1 + min(11000, 22080)
    assert.equal(capabilities.ratings?.maxW, 22080 + 3680 + 11000);
    assert.deepEqual(capabilities.ev, { maxCurrentA: 32, phases: 3, connectors: 3, bidirectional: false });
    assert.deepEqual(checkCapabilities(capabilities), []);
    const singlePhase = capabilitiesOf(station, { maxCurrentA: 16, phases: 1, voltage: 230 });
    assert.equal(singlePhase.ratings?.maxW, 3680);
    assert.equal(singlePhase.ev?.phases, 1);
  });

  test('impossible defaults are GW_ERR_VALIDATION', () => {
    for (const bad of [
      { ...defaults, voltage: 0 },
      { ...defaults, maxCurrentA: -1 },
      { ...defaults, maxCurrentA: Number.NaN },
      { ...defaults, phases: 2 as unknown as 3 },
    ])
      assert.throws(
        () => capabilitiesOf(station, bad),
        (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION',
      );
  });
});
