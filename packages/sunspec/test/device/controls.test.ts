import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError, SETPOINT_KINDS, type Setpoint, type SetpointKind } from '@gridseam/model';
import type { DecodedModel } from '../../src/codec/types.ts';
import { controlsOf, planSetpoint, type WritePlan } from '../../src/device/index.ts';
import { dm } from './models.ts';

const NOW = 1_700_000_000_000;
const IN_15_MIN = NOW + 900_000;

function setpoint(kind: SetpointKind, value: number, expiry = IN_15_MIN): Setpoint {
  return { id: 'sp-1', deviceId: 'dev-1', kind, value, start: NOW, expiry, source: { kind: 'operator' } };
}

function plan(models: DecodedModel[], kind: SetpointKind, value: number, expiry?: number): WritePlan {
  return planSetpoint(models, setpoint(kind, value, expiry), { now: NOW });
}

/** 'model.point=value' per write, in order. */
function writes(p: WritePlan): string[] {
  return p.writes.map((w) => `${w.modelId}.${w.path}=${w.value}`);
}

function throwsCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(GridseamError.is(e), String(e));
    assert.equal(e.code, code);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** A 1547-era battery inverter: 701, 702, 703, 704, 713, 802. */
const der = () => [
  dm(701, { W: 0 }),
  dm(702, { WMaxRtg: 6000, WMax: 5000, WChaRteMaxRtg: 5000, WDisChaRteMaxRtg: 5000 }),
  dm(703, { ES: 1 }),
  dm(704, {
    WMaxLimPctEna: 0,
    WMaxLimPct: 100,
    WMaxLimPctRvrtTms: 0,
    WSetEna: 0,
    WSetMod: 0,
    WSet: 0,
    WSetRvrtTms: 0,
  }),
  dm(713, { WHRtg: 10000, SoC: 50 }),
  dm(802, { WHRtg: 10000, SoCMin: 10, SoCMax: 95, SoCRsvMin: 20, LocRemCtl: 0, SoC: 50 }),
];

/** A legacy hybrid: 103, 120, 121, 123, 124. */
const legacy = () => [
  dm(103, { W: 0 }),
  dm(120, { WRtg: 5000, DERTyp: 82 }),
  dm(121, { WMax: 4000 }),
  dm(123, {
    Conn_RvrtTms: 0,
    Conn: 1,
    WMaxLimPct: 100,
    WMaxLimPct_RvrtTms: 0,
    WMaxLim_Ena: 0,
  }),
  dm(124, {
    WChaMax: 3000,
    StorCtl_Mod: 0,
    MinRsvPct: 10,
    OutWRte: 100,
    InWRte: 100,
    InOutWRte_RvrtTms: 0,
  }),
];

describe('planSetpoint with 704 (1547-2018)', () => {
  it('exportLimit -> WMaxLimPct as % of 702 WMax, reversion timer to the expiry, enable last', () => {
    const p = plan(der(), 'exportLimit', 2500);
    assert.deepEqual(writes(p), ['704.WMaxLimPct=50', '704.WMaxLimPctRvrtTms=900', '704.WMaxLimPctEna=1']);
    assert.equal(p.deviceReverts, true);
    assert.deepEqual(p.restore, []);
    assert.deepEqual(p.primary, { modelId: 704, path: 'WMaxLimPct', factor: 50 });
  });

  it('generationLimit above WMax -> 100 % with a note; timer rounds partial seconds up', () => {
    const p = plan(der(), 'generationLimit', 7000, NOW + 1500);
    assert.deepEqual(writes(p), ['704.WMaxLimPct=100', '704.WMaxLimPctRvrtTms=2', '704.WMaxLimPctEna=1']);
    assert.match(p.notes.join(' '), /above WMax 5000 W/);
  });

  it('fixedW -> WSetMod WATTS, WSet (signed, charge negative), WSetRvrtTms, WSetEna', () => {
    assert.deepEqual(writes(plan(der(), 'fixedW', -3000)), [
      '704.WSetMod=1',
      '704.WSet=-3000',
      '704.WSetRvrtTms=900',
      '704.WSetEna=1',
    ]);
  });

  it('refuses to charge a PV-only inverter', () => {
    const pvOnly = [dm(701, {}), dm(702, { WMax: 5000 }), dm(704, { WSet: 0, WMaxLimPct: 100 })];
    throwsCode(() => plan(pvOnly, 'fixedW', -100), 'GW_ERR_NOT_SUPPORTED', /needs storage/);
    // WSetMod, WSetRvrtTms and WSetEna are not implemented on this device: WSet alone, no reversion.
    const p = plan(pvOnly, 'fixedW', 2000);
    assert.deepEqual(writes(p), ['704.WSet=2000']);
    assert.equal(p.deviceReverts, false);
    assert.match(p.notes.join(' '), /704\.WSetMod is not implemented/);
  });

  it('energize -> 703 ES, no timer: the gateway gets the restore writes', () => {
    const p = plan(der(), 'energize', 0);
    assert.deepEqual(writes(p), ['703.ES=0']);
    assert.equal(p.deviceReverts, false);
    assert.deepEqual(p.restore, [{ modelId: 703, path: 'ES', value: 1 }]);
  });

  it('targetSoc -> 802 SoCRsvMin, clamped to the nameplate window, restore to the old reserve', () => {
    const p = plan(der(), 'targetSoc', 80);
    assert.deepEqual(writes(p), ['802.SoCRsvMin=80']);
    assert.equal(p.deviceReverts, false);
    assert.deepEqual(p.restore, [{ modelId: 802, path: 'SoCRsvMin', value: 20 }]);
    const high = plan(der(), 'targetSoc', 100);
    assert.deepEqual(writes(high), ['802.SoCRsvMin=95']);
    assert.match(high.notes.join(' '), /outside the nameplate window 10..95/);
  });

  it('targetSoc on a battery under local control -> GW_ERR_DEVICE_REJECTED', () => {
    const models = der();
    models[5]!.points.LocRemCtl = 1;
    throwsCode(() => plan(models, 'targetSoc', 50), 'GW_ERR_DEVICE_REJECTED', /local control/);
  });

  it('connect and charge/discharge limits are not in 704/802: not supported', () => {
    throwsCode(() => plan(der(), 'connect', 0), 'GW_ERR_NOT_SUPPORTED', /no 123 Conn/);
    throwsCode(() => plan(der(), 'chargeLimit', 1000), 'GW_ERR_NOT_SUPPORTED', /124/);
  });
});

describe('planSetpoint with legacy 123/124', () => {
  it('exportLimit -> 123 WMaxLimPct as % of 121 WMax, WMaxLimPct_RvrtTms, WMaxLim_Ena', () => {
    const p = plan(legacy(), 'exportLimit', 1000);
    assert.deepEqual(writes(p), ['123.WMaxLimPct=25', '123.WMaxLimPct_RvrtTms=900', '123.WMaxLim_Ena=1']);
    assert.equal(p.primary.factor, 40);
    assert.equal(p.deviceReverts, true);
  });

  it('caps a uint16 timer at 65535 s with a note', () => {
    const p = plan(legacy(), 'generationLimit', 2000, NOW + 100_000_000);
    assert.deepEqual(writes(p), ['123.WMaxLimPct=50', '123.WMaxLimPct_RvrtTms=65535', '123.WMaxLim_Ena=1']);
    assert.match(p.notes.join(' '), /capped at 65535 s/);
  });

  it('without a timer point the plan says so and carries the restore writes', () => {
    const models = legacy();
    models[3]!.points.WMaxLimPct_RvrtTms = null;
    const p = plan(models, 'exportLimit', 1000);
    assert.deepEqual(writes(p), ['123.WMaxLimPct=25', '123.WMaxLim_Ena=1']);
    assert.equal(p.deviceReverts, false);
    assert.deepEqual(p.restore, [
      { modelId: 123, path: 'WMaxLimPct', value: 100 },
      { modelId: 123, path: 'WMaxLim_Ena', value: 0 },
    ]);
  });

  it('connect and energize -> 123 Conn with Conn_RvrtTms first', () => {
    assert.deepEqual(writes(plan(legacy(), 'connect', 0)), ['123.Conn_RvrtTms=900', '123.Conn=0']);
    assert.deepEqual(writes(plan(legacy(), 'energize', 1)), ['123.Conn_RvrtTms=900', '123.Conn=1']);
  });

  it('fixedW -> 124 window pinned at p: OutWRte = p, InWRte = -p, both StorCtl_Mod bits', () => {
    assert.deepEqual(writes(plan(legacy(), 'fixedW', 1500)), [
      '124.OutWRte=50',
      '124.InWRte=-50',
      '124.InOutWRte_RvrtTms=900',
      '124.StorCtl_Mod=3',
    ]);
    assert.deepEqual(writes(plan(legacy(), 'fixedW', -750)), [
      '124.OutWRte=-25',
      '124.InWRte=25',
      '124.InOutWRte_RvrtTms=900',
      '124.StorCtl_Mod=3',
    ]);
  });

  it('chargeLimit / dischargeLimit -> InWRte / OutWRte of WChaMax, keeping the other StorCtl_Mod bit', () => {
    const models = legacy();
    models[4]!.points.StorCtl_Mod = 2; // a discharge limit is in force
    assert.deepEqual(writes(plan(models, 'chargeLimit', 1500)), [
      '124.InWRte=50',
      '124.InOutWRte_RvrtTms=900',
      '124.StorCtl_Mod=3',
    ]);
    assert.deepEqual(writes(plan(legacy(), 'dischargeLimit', 600)), [
      '124.OutWRte=20',
      '124.InOutWRte_RvrtTms=900',
      '124.StorCtl_Mod=2',
    ]);
    const p = plan(legacy(), 'chargeLimit', 1000);
    assert.equal(p.writes[0]!.value, 33.3333333333);
    assert.equal(p.primary.factor, 30);
  });

  it('targetSoc -> 124 MinRsvPct without 802', () => {
    const p = plan(legacy(), 'targetSoc', 60);
    assert.deepEqual(writes(p), ['124.MinRsvPct=60']);
    assert.deepEqual(p.restore, [{ modelId: 124, path: 'MinRsvPct', value: 10 }]);
  });
});

describe('planSetpoint refusals', () => {
  it('kinds SunSpec has no control for', () => {
    for (const kind of ['importLimit', 'loadLimit', 'evChargingLimit'] as const) {
      throwsCode(() => plan(legacy(), kind, 1000), 'GW_ERR_NOT_SUPPORTED', /SunSpec has no control/);
    }
  });

  it('a device without control models', () => {
    throwsCode(() => plan([dm(103, {})], 'exportLimit', 1000), 'GW_ERR_NOT_SUPPORTED', /no 704 or 123/);
    throwsCode(
      () => plan([dm(103, {}), dm(123, { WMaxLimPct: 100 })], 'exportLimit', 10),
      'GW_ERR_NOT_SUPPORTED',
      /no WMax/,
    );
  });

  it('an unimplemented primary point', () => {
    const models = legacy();
    models[3]!.points.Conn = null;
    throwsCode(() => plan(models, 'connect', 1), 'GW_ERR_NOT_SUPPORTED', /123\.Conn is not implemented/);
  });

  it('an expired setpoint', () => {
    throwsCode(() => plan(der(), 'exportLimit', 1000, NOW), 'GW_ERR_VALIDATION', /expired/);
  });

  it('controlsOf agrees with planSetpoint for every kind', () => {
    const noMode = [dm(103, {}), dm(124, { WChaMax: 3000, StorCtl_Mod: null, InWRte: 100, OutWRte: 100 })];
    assert.deepEqual(controlsOf(noMode), [], '124 without StorCtl_Mod cannot be driven');
    for (const models of [der(), legacy(), noMode, [dm(103, {}), dm(802, { SoCRsvMin: null })]]) {
      const supported = new Set(controlsOf(models));
      for (const kind of SETPOINT_KINDS) {
        const value = kind === 'connect' || kind === 'energize' ? 1 : 50;
        if (supported.has(kind)) assert.ok(plan(models, kind, value).writes.length > 0, kind);
        else throwsCode(() => plan(models, kind, value), 'GW_ERR_NOT_SUPPORTED');
      }
    }
  });
});
