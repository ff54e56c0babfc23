import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkReadings, GridseamError, type Reading } from '@gridseam/model';
import { capabilitiesOf, classify, readingsOf } from '../../src/device/index.ts';
import { dm } from './models.ts';

const TS = 1_700_000_000_000;

/** Readings as 'measurand[/phase]=value' strings, sorted, for exact comparison. */
function summary(readings: readonly Reading[]): string[] {
  return readings
    .map((r) => `${r.measurand}${r.phase ? `/${r.phase}` : ''}=${r.value}${r.quality ? ` (${r.quality})` : ''}`)
    .sort();
}

function valid(readings: Reading[]): Reading[] {
  const result = checkReadings(readings);
  assert.ok(result.ok, `canonical readings must validate: ${JSON.stringify(result.ok ? [] : result.issues)}`);
  return readings;
}

const inverter103 = () =>
  dm(103, {
    A: 19.5,
    AphA: 6.5,
    AphB: 6.6,
    AphC: 6.4,
    PPVphAB: 398.5,
    PPVphBC: null,
    PPVphCA: null,
    PhVphA: 230.1,
    PhVphB: 229.9,
    PhVphC: null,
    W: 4500,
    Hz: 50.01,
    VA: 4510,
    VAr: -300,
    PF: 99.8,
    WH: 123456,
    DCW: 4700,
    TmpCab: 41.5,
    TmpSnk: 50,
    St: 4,
    Evt1: 0,
  });

describe('readingsOf: inverters', () => {
  it('maps 103 (int+SF, three phase): scaled values, phases, PF percent -> fraction, null -> absent', () => {
    const readings = valid(readingsOf('inv-1', [dm(1, { Mn: 'X' }), inverter103()], TS));
    assert.deepEqual(summary(readings), [
      'activePower=4500',
      'alarm=',
      'apparentPower=4510',
      'current/A=6.5',
      'current/B=6.6',
      'current/C=6.4',
      'current=19.5',
      'energyExported=123456',
      'frequency=50.01',
      'operatingState=running',
      'powerFactor=0.998',
      'reactivePower=-300',
      'temperature=41.5',
      'voltage/A=230.1',
      'voltage/AB=398.5',
      'voltage/B=229.9',
    ]);
    for (const r of readings) {
      assert.equal(r.deviceId, 'inv-1');
      assert.equal(r.ts, TS);
    }
    assert.equal(readings.find((r) => r.measurand === 'activePower')?.unit, 'W');
    assert.equal(readings.find((r) => r.measurand === 'temperature')?.unit, 'Cel');
  });

  it('maps 101 (single phase) without inventing the missing phases', () => {
    const readings = readingsOf(
      'inv-2',
      [dm(101, { A: 8.2, AphA: 8.2, AphB: null, AphC: null, PhVphA: 239.5, PhVphB: null, W: -12, St: 2, WH: 0 })],
      TS,
    );
    assert.deepEqual(summary(readings), [
      'activePower=-12',
      'current/A=8.2',
      'current=8.2',
      'energyExported=0',
      'operatingState=sleeping',
      'voltage/A=239.5',
    ]);
  });

  it('maps 113 (float): unimplemented NaN is absent, a cos-phi PF is kept as a fraction', () => {
    const readings = readingsOf(
      'inv-3',
      [dm(113, { W: 3000.5, VAr: null, PF: 0.97, Hz: 59.98, WH: 8e6, St: 5, TmpCab: null, Evt1: null })],
      TS,
    );
    assert.deepEqual(summary(readings), [
      'activePower=3000.5',
      'energyExported=8000000',
      'frequency=59.98',
      'operatingState=throttled',
      'powerFactor=0.97',
    ]);
  });

  it('prefers 701 over 103 point by point, the legacy model only filling gaps', () => {
    const m701 = dm(701, {
      ACType: 2,
      St: 1,
      InvSt: 3,
      Alrm: 0,
      W: 5000,
      VA: 5100,
      Var: 250,
      PF: -0.98,
      A: 21.7,
      LLV: 400,
      LNV: 231,
      Hz: 50,
      TotWhInj: 1_000_000,
      TotWhAbs: 1200,
      TmpCab: null,
      WL1: 1700,
      WL2: 1650,
      WL3: 1650,
      AL1: 7.3,
      VL1: 231.2,
      VL1L2: 400.4,
      VL2: null,
    });
    const m103 = inverter103();
    m103.points.St = 7; // FAULT in the legacy model, running in 701: 701 wins
    m103.points.Evt1 = 2 ** 7; // OVER_TEMP; 701 Alrm (0) is the alarm source
    const readings = readingsOf('inv-4', [m701, m103], TS);
    const byKey = new Map(summary(readings).map((s) => [s.split('=')[0], s.split('=')[1]]));
    assert.equal(byKey.get('activePower'), '5000');
    assert.equal(byKey.get('activePower/A'), '1700');
    assert.equal(byKey.get('reactivePower'), '250');
    assert.equal(byKey.get('powerFactor'), '-0.98');
    assert.equal(byKey.get('energyExported'), '1000000');
    assert.equal(byKey.get('energyImported'), '1200');
    assert.equal(byKey.get('temperature'), '41.5', 'TmpCab unimplemented in 701: 103 fills it');
    assert.equal(byKey.get('voltage/A'), '231.2');
    assert.equal(byKey.get('voltage/B'), '229.9', 'VL2 unimplemented in 701: 103 PhVphB fills it');
    assert.equal(byKey.get('voltage/AB'), '400.4');
    assert.equal(byKey.get('current/A'), '7.3');
    assert.equal(byKey.get('operatingState'), 'running');
    assert.equal(byKey.get('alarm'), '');
    assert.equal(readings.filter((r) => r.measurand === 'activePower' && r.phase === undefined).length, 1);
  });

  it('falls back to 701 St and 122 ActWh', () => {
    const readings = readingsOf(
      'inv-5',
      [dm(701, { W: 10, InvSt: null, St: 0, TotWhInj: null }), dm(122, { ActWh: 777n })],
      TS,
    );
    assert.deepEqual(summary(readings), ['activePower=10', 'energyExported=777', 'operatingState=off']);
  });

  it('maps every inverter St value', () => {
    const expected = ['off', 'sleeping', 'starting', 'running', 'throttled', 'off', 'fault', 'standby'];
    expected.forEach((state, i) => {
      const readings = readingsOf('inv', [dm(103, { St: i + 1 })], TS);
      assert.equal(readings.find((r) => r.measurand === 'operatingState')?.value, state, `St ${i + 1}`);
    });
    const der = ['off', 'sleeping', 'starting', 'running', 'throttled', 'off', 'fault', 'standby'];
    der.forEach((state, i) => {
      const readings = readingsOf('inv', [dm(701, { InvSt: i })], TS);
      assert.equal(readings.find((r) => r.measurand === 'operatingState')?.value, state, `InvSt ${i}`);
    });
  });
});

describe('readingsOf: alarms', () => {
  it('names every set Evt1 bit by its symbol, across inverter and battery, unknown bits by number', () => {
    const readings = readingsOf(
      'hyb',
      [
        dm(103, { Evt1: 2 ** 0 + 2 ** 7 + 2 ** 31 }),
        dm(802, { Evt1: 2 ** 1 }),
        dm(160, {}), // PV: hybrid
      ],
      TS,
    );
    const alarms = readings.filter((r) => r.measurand === 'alarm').map((r) => r.value);
    assert.deepEqual(alarms.sort(), ['EVT1_BIT_31', 'GROUND_FAULT', 'OVER_TEMP', 'OVER_TEMP_ALARM']);
    for (const r of readings.filter((x) => x.measurand === 'alarm')) assert.equal(r.unit, 'code');
  });

  it('clears with one empty alarm when every source reads 0, says nothing when none is implemented', () => {
    const clear = readingsOf('b', [dm(103, { Evt1: 0 }), dm(802, { Evt1: 0 })], TS);
    assert.deepEqual(
      clear.filter((r) => r.measurand === 'alarm').map((r) => r.value),
      [''],
    );
    const silent = readingsOf('b', [dm(103, { Evt1: null }), dm(802, { Evt1: null })], TS);
    assert.equal(silent.filter((r) => r.measurand === 'alarm').length, 0);
  });

  it('uses 701 Alrm for the inverter when implemented', () => {
    const readings = readingsOf('i', [dm(701, { Alrm: 2 ** 16 }), dm(103, { Evt1: 1 })], TS);
    assert.deepEqual(
      readings.filter((r) => r.measurand === 'alarm').map((r) => r.value),
      ['MANUFACTURER_ALRM'],
    );
  });
});

describe('readingsOf: storage', () => {
  const m802 = () =>
    dm(802, {
      AHRtg: 200,
      WHRtg: 10000,
      WChaRteMax: 5000,
      WDisChaRteMax: 6000,
      SoCMax: 95,
      SoCMin: 10,
      SocRsvMax: 90,
      SoCRsvMin: 20,
      SoC: 60,
      SoH: 97,
      ChaSt: 4,
      LocRemCtl: 0,
      State: 3,
      Evt1: 0,
      V: 51.2,
      A: -48.8,
      W: -2500,
    });

  it('maps a bare 802 battery: W kept as discharge-positive, estimated available energy above the floor', () => {
    const readings = valid(readingsOf('bat', [m802()], TS));
    assert.deepEqual(summary(readings), [
      'activePower=-2500',
      'alarm=',
      'availableEnergy=4000 (estimated)', // 10000 Wh x (60 - max(10, 20)) %
      'maxChargePower=5000',
      'maxDischargePower=6000',
      'operatingState=charging',
      'stateOfCharge=60',
      'stateOfHealth=97',
    ]);
  });

  it('flips 802 W for a device that reports charge positive (quirk)', () => {
    const readings = readingsOf('bat', [m802()], TS, { quirks: { batteryPowerChargePositive: true } });
    assert.equal(readings.find((r) => r.measurand === 'activePower')?.value, 2500);
  });

  it('prefers 802 over 713 over 124, 713 WHAvail over the estimate, AC power over 802 W', () => {
    const models = [
      dm(103, { W: -2400, St: 4 }),
      m802(),
      dm(713, { WHRtg: 9800, WHAvail: 5100, SoC: 61, SoH: 96, Sta: 0 }),
      dm(124, { WChaMax: 3000, ChaState: 62, ChaSt: 3 }),
      dm(702, { WChaRteMax: 4500, WDisChaRteMax: null }),
    ];
    const byKey = new Map(summary(readingsOf('bat', models, TS)).map((s) => s.split('=') as [string, string]));
    assert.equal(byKey.get('stateOfCharge'), '60');
    assert.equal(byKey.get('stateOfHealth'), '97');
    assert.equal(byKey.get('availableEnergy'), '5100');
    assert.equal(byKey.get('activePower'), '-2400');
    assert.equal(byKey.get('maxChargePower'), '4500', '702 setting first');
    assert.equal(byKey.get('maxDischargePower'), '6000', '702 unimplemented: 802 rating');
    // class battery (inverter + storage, no PV): the storage state speaks
    assert.equal(byKey.get('operatingState'), 'charging');
  });

  it('maps 124 alone: ChaState as SoC, ChaSt states, WChaMax as max charge power', () => {
    const states = ['off', 'idle', 'discharging', 'charging', 'idle', 'idle', 'unavailable'];
    states.forEach((state, i) => {
      const readings = readingsOf('b', [dm(124, { ChaSt: i + 1, ChaState: 55.5, WChaMax: 3000 })], TS);
      assert.equal(readings.find((r) => r.measurand === 'operatingState')?.value, state);
      assert.equal(readings.find((r) => r.measurand === 'stateOfCharge')?.value, 55.5);
      assert.equal(readings.find((r) => r.measurand === 'maxChargePower')?.value, 3000);
      assert.equal(
        readings.find((r) => r.measurand === 'maxDischargePower'),
        undefined,
      );
    });
  });

  it('reports fault when 802 State or 713 Sta say so, whatever ChaSt says', () => {
    const fault802 = readingsOf('b', [dm(802, { ChaSt: 4, State: 99 })], TS);
    assert.equal(fault802.find((r) => r.measurand === 'operatingState')?.value, 'fault');
    const fault713 = readingsOf('b', [dm(103, { St: 4 }), dm(713, { Sta: 2 })], TS);
    assert.equal(fault713.find((r) => r.measurand === 'operatingState')?.value, 'fault');
  });

  it('uses the inverter state for a hybrid inverter', () => {
    const readings = readingsOf('h', [dm(103, { St: 5 }), dm(160, {}), dm(124, { ChaSt: 4 })], TS);
    assert.equal(readings.find((r) => r.measurand === 'operatingState')?.value, 'throttled');
  });
});

describe('readingsOf: meters', () => {
  const m203 = () =>
    dm(203, {
      A: 6.6,
      AphA: 2.2,
      AphB: 2.2,
      AphC: 2.2,
      PhV: 230,
      PhVphA: 230.5,
      PhVphB: 229.5,
      PhVphC: 230,
      PPV: 400,
      PhVphAB: 399,
      PhVphBC: 400,
      PhVphCA: 401,
      Hz: 50,
      W: 1500,
      WphA: 500,
      WphB: 500,
      WphC: 500,
      VA: 1600,
      VAR: 200,
      PF: 95,
      TotWhExp: 1000,
      TotWhImp: 2000,
      Evt: 2 ** 2,
    });

  it('negates W/VAR/PF (SunSpec meters: import positive) and keeps the energy counters by name', () => {
    const readings = valid(readingsOf('m', [m203()], TS));
    assert.deepEqual(summary(readings), [
      'activePower/A=-500',
      'activePower/B=-500',
      'activePower/C=-500',
      'activePower=-1500',
      'alarm=M_EVENT_Power_Failure',
      'apparentPower=1600',
      'current/A=2.2',
      'current/B=2.2',
      'current/C=2.2',
      'current=6.6',
      'energyExported=1000',
      'energyImported=2000',
      'frequency=50',
      'powerFactor=-0.95',
      'reactivePower=-200',
      'voltage/A=230.5',
      'voltage/AB=399',
      'voltage/B=229.5',
      'voltage/BC=400',
      'voltage/C=230',
      'voltage/CA=401',
    ]);
  });

  it('keeps the sign for a meter that already reports export positive (quirk)', () => {
    const readings = readingsOf('m', [m203()], TS, { quirks: { meterPowerExportPositive: true } });
    assert.equal(readings.find((r) => r.measurand === 'activePower' && !r.phase)?.value, 1500);
  });

  it('reads 201 line-to-line voltage from PPVphAB and prefers 213 (float) over 203', () => {
    const r201 = readingsOf('m', [dm(201, { PPVphAB: 402, W: -300, PF: null, TotWhImp: null })], TS);
    assert.deepEqual(summary(r201), ['activePower=300', 'voltage/AB=402']);
    const both = readingsOf('m', [m203(), dm(213, { W: -42.5 })], TS);
    assert.equal(both.find((r) => r.measurand === 'activePower' && !r.phase)?.value, 42.5);
  });

  it('ignores meter models on an inverter unit (they are another canonical device)', () => {
    const readings = readingsOf('inv', [inverter103(), m203()], TS);
    assert.equal(readings.find((r) => r.measurand === 'activePower' && !r.phase)?.value, 4500);
    assert.equal(readings.filter((r) => r.measurand === 'energyImported').length, 0);
    const meterOnly = readingsOf('m', [inverter103(), m203()], TS, { deviceClass: 'meter' });
    assert.equal(meterOnly.find((r) => r.measurand === 'activePower' && !r.phase)?.value, -1500);
  });
});

describe('classify', () => {
  const cases: Array<[string, ReturnType<typeof dm>[], string]> = [
    ['inverter', [dm(1, {}), dm(103, {})], 'pv-inverter'],
    ['inverter with MPPT', [dm(1, {}), dm(101, {}), dm(160, {})], 'pv-inverter'],
    ['1547 inverter', [dm(701, {}), dm(702, {}), dm(704, {})], 'pv-inverter'],
    ['storage inverter', [dm(103, {}), dm(124, {})], 'battery'],
    ['hybrid with MPPT', [dm(103, {}), dm(124, {}), dm(160, {})], 'hybrid-inverter'],
    [
      '1547 hybrid (714 PV port)',
      [dm(701, {}), dm(713, {}), dm(714, {}, { Prt: [{ points: { PrtTyp: 0 }, groups: {} }] })],
      'hybrid-inverter',
    ],
    [
      '1547 battery (714 ESS port)',
      [dm(701, {}), dm(713, {}), dm(714, {}, { Prt: [{ points: { PrtTyp: 1 }, groups: {} }] })],
      'battery',
    ],
    ['nameplate PV_STOR', [dm(120, { DERTyp: 82 }), dm(103, {})], 'hybrid-inverter'],
    ['bare battery', [dm(1, {}), dm(802, {})], 'battery'],
    ['meter', [dm(1, {}), dm(203, {})], 'meter'],
    ['inverter with a meter on its unit', [dm(103, {}), dm(203, {})], 'pv-inverter'],
  ];
  for (const [name, models, expected] of cases) {
    it(`${name} -> ${expected}`, () => assert.equal(classify(models), expected));
  }

  it('refuses a device with no inverter, storage or meter model', () => {
    assert.throws(
      () => classify([dm(1, {})]),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_NOT_SUPPORTED' && /models 1/.test(e.message),
    );
  });
});

describe('capabilitiesOf', () => {
  it('legacy inverter: ratings from 120/121, 123 controls', () => {
    const caps = capabilitiesOf([
      dm(103, {}),
      dm(120, { DERTyp: 4, WRtg: 5000, VARtg: 5200, VArRtgQ1: 3000, VArRtgQ4: -2900, WHRtg: null }),
      dm(121, { WMax: 5000, VRef: 230 }),
      dm(123, { Conn: 1, WMaxLimPct: 100, WMaxLim_Ena: 0 }),
    ]);
    assert.deepEqual(caps.ratings, {
      maxW: 5000,
      maxVA: 5200,
      maxVarInjected: 3000,
      maxVarAbsorbed: 2900,
      nominalV: 230,
    });
    assert.equal(caps.storage, undefined);
    assert.deepEqual([...caps.controls].sort(), ['connect', 'energize', 'exportLimit', 'generationLimit']);
  });

  it('1547 battery: 702 wins for ratings and rates, 802 for capacity and the SoC window', () => {
    const caps = capabilitiesOf([
      dm(701, {}),
      dm(702, { WMaxRtg: 6000, VAMaxRtg: 6000, VNomRtg: 240, WChaRteMaxRtg: 5000, WDisChaRteMaxRtg: 5500, WMax: 6000 }),
      dm(703, { ES: 1 }),
      dm(704, { WMaxLimPct: 100, WSet: 0, WMaxLimPctEna: 0 }),
      dm(713, { WHRtg: 9900 }),
      dm(802, { WHRtg: 10000, WChaRteMax: 4000, WDisChaRteMax: 4000, SoCMin: 5, SoCMax: 95, SoCRsvMin: 20 }),
      dm(120, { WRtg: 1 }),
    ]);
    assert.deepEqual(caps.ratings, { maxW: 6000, maxVA: 6000, nominalV: 240 });
    assert.deepEqual(caps.storage, {
      capacityWh: 10000,
      maxChargeW: 5000,
      maxDischargeW: 5500,
      socMinPct: 5,
      socMaxPct: 95,
    });
    assert.deepEqual([...caps.controls].sort(), ['energize', 'exportLimit', 'fixedW', 'generationLimit', 'targetSoc']);
  });

  it('legacy storage: 124 controls, capacity from 120 WHRtg', () => {
    const caps = capabilitiesOf([
      dm(103, {}),
      dm(120, { WRtg: 5000, WHRtg: 9600, MaxChaRte: 3300, MaxDisChaRte: 3500 }),
      dm(124, { WChaMax: 3300, InWRte: 100, OutWRte: 100, MinRsvPct: 10, StorCtl_Mod: 0 }),
    ]);
    assert.deepEqual(caps.storage, { capacityWh: 9600, maxChargeW: 3300, maxDischargeW: 3500 });
    assert.deepEqual([...caps.controls].sort(), ['chargeLimit', 'dischargeLimit', 'fixedW', 'targetSoc']);
  });

  it('omits storage when the capacity is unknown, and limits when WMax is unknown', () => {
    const caps = capabilitiesOf([dm(103, {}), dm(123, { WMaxLimPct: 100, Conn: null }), dm(124, { WChaMax: null })]);
    assert.equal(caps.storage, undefined);
    assert.equal(caps.ratings, undefined);
    assert.deepEqual(caps.controls, []);
  });
});
