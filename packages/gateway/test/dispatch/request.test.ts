/**
 * The rolling horizon's pure parts: which enrolled devices are batteries and which are left out
 * (and why), how a device's capabilities, SoH and enrolment map onto the optimiser's battery, how
 * prices are averaged onto plan intervals, and how controls of higher precedence become power
 * windows the plan is solved around.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planDispatch } from '@gridseam/dispatch';
import type { Device, Enrolment, ProgramEvent, Site } from '@gridseam/model';
import type { ControlDecisionRecord } from '../../src/control/engine.ts';
import { eventIntents } from '../../src/control/intents.ts';
import {
  type BatteryCandidate,
  batteryControls,
  buildPlanRequest,
  dispatchSettings,
  enrolledBatteries,
  fitFirstWindowToEnergy,
  openPriceSource,
  plannedSocAt,
  type TimedValue,
  wearOf,
  windowsFor,
} from '../../src/dispatch/index.ts';

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;

function battery(
  id: string,
  overrides: Partial<Device> = {},
  storage: Partial<NonNullable<Device['capabilities']['storage']>> = {},
): Device {
  return {
    id,
    siteId: 'site-1',
    class: 'battery',
    adapter: { kind: 'sunspec-modbus', address: `127.0.0.1:502/${id}` },
    capabilities: {
      controls: ['fixedW', 'chargeLimit', 'dischargeLimit'],
      storage: { capacityWh: 10_000, maxChargeW: 5000, maxDischargeW: 4000, socMinPct: 10, socMaxPct: 90, ...storage },
    },
    enabled: true,
    ...overrides,
  };
}

function enrolment(
  id: string,
  target: { deviceId?: string; siteId?: string },
  extra: Partial<Enrolment> = {},
): Enrolment {
  return { id, programId: 'dispatch', validFrom: NOW - 1000, status: 'active', ...target, ...extra };
}

function readings(entries: Record<string, [number, number]>): Map<string, TimedValue> {
  return new Map(Object.entries(entries).map(([measurand, [value, ts]]) => [measurand, { value, ts }]));
}

function candidate(device: Device, extra: Partial<BatteryCandidate> = {}): BatteryCandidate {
  return {
    device,
    enrolment: enrolment(`e-${device.id}`, { deviceId: device.id }),
    online: true,
    readings: readings({ stateOfCharge: [50, NOW - 1000] }),
    staleAfterMs: 60_000,
    ...extra,
  };
}

const settings = dispatchSettings({ intervalSeconds: 900, horizonMinutes: 60, terminal: 'free' });
const starts = [0, 1, 2, 3].map((k) => NOW + k * 15 * MIN);
const prices = { energyUsdPerMwh: [20, 30, 200, 40], openadrIntervals: 0 };

describe('dispatch request: batteries from the registry', () => {
  test('enrolled batteries: by device and through their site; other classes enrolled directly are left out', () => {
    const devices: Device[] = [
      battery('bat-a'),
      battery('bat-b', { siteId: 'site-2' }),
      battery('hybrid-c', { siteId: 'site-2', class: 'hybrid-inverter' }),
      battery('pv-d', { class: 'pv-inverter', siteId: 'site-2' }),
      battery('pv-e', { class: 'pv-inverter' }),
      battery('bat-f', { siteId: 'site-3' }),
      battery('bat-g'),
    ];
    const enrolments = [
      enrolment('e1', { deviceId: 'bat-a' }),
      enrolment('e2', { siteId: 'site-2' }),
      enrolment('e3', { deviceId: 'pv-e' }),
      enrolment('e4', { siteId: 'site-3' }, { validTo: NOW - 1 }), // ended
      enrolment('e5', { deviceId: 'bat-g' }, { programId: 'other' }),
    ];
    const { batteries, leftOut } = enrolledBatteries('dispatch', devices, enrolments, NOW);
    assert.deepEqual(
      batteries.map((b) => [b.device.id, b.enrolment.id]),
      [
        ['bat-a', 'e1'],
        ['bat-b', 'e2'],
        ['hybrid-c', 'e2'],
      ],
    );
    assert.deepEqual(leftOut, [{ deviceId: 'pv-e', reason: 'not a battery (class pv-inverter)' }]);
  });

  test('left out with the reason: no storage, no fixedW, disabled, offline, no SoC, stale SoC', () => {
    const noStorage = battery('no-storage');
    delete noStorage.capabilities.storage;
    const built = buildPlanRequest({
      now: NOW,
      settings,
      starts,
      prices,
      candidates: [
        candidate(noStorage),
        candidate(battery('no-fixed', { capabilities: { ...battery('x').capabilities, controls: ['chargeLimit'] } })),
        candidate(battery('disabled', { enabled: false })),
        candidate(battery('offline'), { online: false }),
        candidate(battery('no-soc'), { readings: readings({ stateOfHealth: [95, NOW] }) }),
        candidate(battery('stale'), { readings: readings({ stateOfCharge: [50, NOW - 120_000] }) }),
        candidate(battery('ok')),
      ],
    });
    assert.deepEqual(built.leftOut, [
      { deviceId: 'no-storage', reason: 'no storage capability (capacityWh, maxChargeW, maxDischargeW)' },
      { deviceId: 'no-fixed', reason: 'cannot take fixedW setpoints (controls: chargeLimit)' },
      { deviceId: 'disabled', reason: 'disabled' },
      { deviceId: 'offline', reason: 'offline' },
      { deviceId: 'no-soc', reason: 'no stateOfCharge reading yet' },
      { deviceId: 'stale', reason: 'stale: last stateOfCharge 120 s old (limit 60 s)' },
    ]);
    assert.deepEqual(
      built.request.batteries.map((b) => b.id),
      ['ok'],
    );
  });

  test('SoH, SoC band, reserve, efficiencies and power limits map onto the optimiser battery', () => {
    const withSoh = candidate(battery('bat-1', {}, { roundTripEfficiency: 0.81 }), {
      readings: readings({ stateOfCharge: [60, NOW - 500], stateOfHealth: [90, NOW - 3_600_000] }),
      enrolment: enrolment('e', { deviceId: 'bat-1' }, { reserve: { socReservePct: 20 } }),
    });
    const noSoh = candidate(battery('bat-2', {}, { socMinPct: undefined, socMaxPct: undefined }), {
      readings: readings({ stateOfCharge: [140, NOW - 500] }),
    });
    const built = buildPlanRequest({ now: NOW, settings, starts, prices, candidates: [withSoh, noSoh] });
    const [one, two] = built.request.batteries;
    assert.deepEqual(one, {
      id: 'bat-1',
      energyKwh: 10,
      chargeKw: 5,
      dischargeKw: 4,
      soh: 0.9,
      // the reserve (20 %) raises the floor above the capability's 10 %
      socMin: 0.2,
      socMax: 0.9,
      // SoC is a share of usable energy: 60 % of 0.9 x nameplate
      soc0: 0.54,
      etaCharge: 0.9,
      etaDischarge: 0.9,
      terminal: { kind: 'free' },
    });
    assert.equal(built.batteries[0]?.usableKwh, 9);
    assert.equal(built.batteries[0]?.sohPct, 90);
    // No SoH: nameplate; no band: 0..100 %; a reading above 100 % is clamped; default efficiency 0.9 round trip.
    assert.equal(two?.soh, undefined);
    assert.equal(two?.soc0, 1);
    assert.equal(two?.socMin, 0);
    assert.equal(two?.socMax, 1);
    assert.ok(Math.abs((two?.etaCharge ?? 0) - Math.sqrt(0.9)) < 1e-12);
    assert.deepEqual(built.request.starts, starts);
    assert.equal(built.request.intervalMinutes, 15);
    assert.deepEqual(built.request.energyPriceUsdPerMwh, [20, 30, 200, 40]);
  });

  test('SoH is ignored when useStateOfHealth is off', () => {
    const off = dispatchSettings({ battery: { useStateOfHealth: false } });
    const built = buildPlanRequest({
      now: NOW,
      settings: off,
      starts,
      prices,
      candidates: [
        candidate(battery('b'), { readings: readings({ stateOfCharge: [50, NOW], stateOfHealth: [80, NOW] }) }),
      ],
    });
    assert.equal(built.request.batteries[0]?.soh, undefined);
    assert.equal(built.request.batteries[0]?.soc0, 0.5);
  });

  test("a site's connection limits are shared between its batteries by power; degradation, terminal and regulation pass through", () => {
    const site: Site = { id: 'site-1', name: 'one', connection: { importLimitW: 9000, exportLimitW: 3000 } };
    const big = battery('big', {}, { maxChargeW: 6000, maxDischargeW: 6000 });
    const small = battery('small', {}, { maxChargeW: 3000, maxDischargeW: 3000 });
    const rich = dispatchSettings({
      terminal: { valueUsdPerMwh: 42 },
      degradation: { throughputUsdPerMwh: 12 },
      regulation: { sustainHours: 0.5 },
      battery: { selfDischargePerHour: 0.001 },
    });
    const built = buildPlanRequest({
      now: NOW,
      settings: rich,
      starts,
      prices: { ...prices, regUpUsdPerMwH: [1, 2, 3, 4], regDownUsdPerMwH: [4, 3, 2, 1] },
      candidates: [candidate(big, { site }), candidate(small, { site })],
    });
    const [b1, b2] = built.request.batteries;
    assert.deepEqual(b1?.site, { importLimitKw: 6, exportLimitKw: 2 });
    assert.deepEqual(b2?.site, { importLimitKw: 3, exportLimitKw: 1 });
    assert.deepEqual(b1?.terminal, { kind: 'value', usdPerMwh: 42 });
    assert.deepEqual(b1?.degradation, { throughputUsdPerMwh: 12 });
    assert.equal(b1?.selfDischargePerHour, 0.001);
    assert.deepEqual(built.request.products, {
      regUp: { priceUsdPerMwH: [1, 2, 3, 4], sustainHours: 0.5 },
      regDown: { priceUsdPerMwH: [4, 3, 2, 1], sustainHours: 0.5 },
    });
  });

  test('the horizon ends where the prices do', () => {
    const built = buildPlanRequest({
      now: NOW,
      settings,
      starts,
      prices: { energyUsdPerMwh: [20, 30], openadrIntervals: 0 },
      candidates: [candidate(battery('b'))],
    });
    assert.deepEqual(built.request.starts, starts.slice(0, 2));
  });
});

describe('dispatch prices', () => {
  test('inline prices are averaged over plan intervals by time; the run stops where they end', async () => {
    const source = await openPriceSource({
      kind: 'inline',
      start: new Date(NOW).toISOString(),
      intervalSeconds: 600,
      usdPerMwh: [10, 40, 100],
    });
    const result = source.prices([NOW, NOW + 15 * MIN, NOW + 30 * MIN], 15 * MIN);
    // [0, 15 min): 10 for 10 min and 40 for 5 min; [15, 30 min): 40 for 5 min and 100 for 10 min; then nothing.
    assert.deepEqual(result.energyUsdPerMwh, [20, 80]);
    assert.equal(source.hasRegulation, false);
  });

  test('OpenADR price signals replace the base price over the time they cover ($/kWh unless MWh)', async () => {
    const source = await openPriceSource({ kind: 'inline', start: NOW, intervalSeconds: 3600, usdPerMwh: [50] });
    const result = source.prices([NOW, NOW + 30 * MIN], 30 * MIN, [
      { payloadType: 'PRICE', start: NOW + 15 * MIN, durationS: 900, value: 0.25, units: 'KWH' },
      { payloadType: 'PRICE', start: NOW + 30 * MIN, durationS: 1800, value: 300, units: 'MWH' },
      { payloadType: 'EXPORT_PRICE', start: NOW, durationS: 3600, value: 9 },
    ]);
    assert.deepEqual(result.energyUsdPerMwh, [(50 * 15 + 250 * 15) / 30, 300]);
    assert.equal(result.openadrIntervals, 2);
  });

  test('the shipped CAISO sample repeats its days on the time of day, with regulation prices', async () => {
    const source = await openPriceSource({ kind: 'sample' });
    assert.equal(source.hasRegulation, true);
    // 2020-03-09 HE1 (00:00-01:00) is 25.60968 $/MWh; day 0 of the cycle is the first day in the file.
    const day0 = Math.ceil(NOW / 86_400_000 / 7) * 7 * 86_400_000;
    const result = source.prices([day0, day0 + 3_600_000 * 24 * 5 + 18 * 3_600_000], 3_600_000);
    assert.ok(Math.abs((result.energyUsdPerMwh[0] as number) - 25.60968) < 1e-9);
    // Day 5 is 2020-08-14: HE19 (18:00-19:00) is the 997 $/MWh scarcity hour.
    assert.ok(Math.abs((result.energyUsdPerMwh[1] as number) - 997) < 1, String(result.energyUsdPerMwh[1]));
    assert.equal(result.regUpUsdPerMwH?.length, 2);
  });
});

describe('dispatch overrides: controls of higher precedence as power windows', () => {
  const batteries = [{ deviceId: 'bat-1', siteId: 'site-1', maxW: 5000 }];
  const utility: ProgramEvent = {
    id: 'ev-utility',
    programId: 'doe',
    source: 'ieee2030.5',
    primacy: 10,
    intervals: [{ start: NOW + 15 * MIN, durationS: 1800, signals: [{ kind: 'fixedW', value: -1500 }] }],
    targets: { deviceIds: ['bat-1'] },
    status: 'scheduled',
    statusHistory: [],
    createdAt: NOW - 10_000,
  };
  const siteEvent = (kind: 'dischargeLimit' | 'fixedW', primacy: number): ProgramEvent => ({
    ...utility,
    id: `ev-site-${kind}-${primacy}`,
    primacy,
    intervals: [{ start: NOW, durationS: 900, signals: [{ kind, value: 2000 }] }],
    targets: { siteIds: ['site-1'] },
  });

  test('device events and per-device site controls that beat the program count; site targets, lower precedence and own events do not', () => {
    const intents = [
      utility,
      siteEvent('dischargeLimit', 5),
      siteEvent('fixedW', 5),
      siteEvent('dischargeLimit', 250),
    ].flatMap((event) => eventIntents(event, [], NOW));
    const own = eventIntents({ ...utility, id: 'own', source: 'market', programId: 'dispatch', primacy: 1 }, [], NOW);
    const controls = batteryControls({
      now: NOW,
      horizonEnd: NOW + 60 * MIN,
      dispatchPrimacy: 200,
      ownEventIds: new Set(['own']),
      batteries,
      intents: [...intents, ...own],
      groupMembers: new Map(),
      decisions: [],
    });
    assert.deepEqual(
      controls.map((c) => [c.ref, c.type, c.minKw, c.maxKw]),
      [
        ['ev-utility', 'fixedW', -1.5, -1.5],
        ['ev-site-dischargeLimit-5', 'dischargeLimit', undefined, 2],
      ],
    );
  });

  test("a decision that put a setpoint on the battery holds it for the winner's window", () => {
    const decision: ControlDecisionRecord = {
      key: 'site:site-1|exportLimit',
      scope: { kind: 'site', id: 'site-1' },
      type: 'exportLimit',
      at: NOW,
      winner: {
        id: 'x',
        source: 'openadr3',
        value: 1000,
        primacy: 20,
        createdAt: NOW - 1,
        window: { start: NOW - MIN, end: NOW + 20 * MIN },
        isDefault: false,
        ref: 'oadr3.event.x',
      },
      winnerReason: 'only active control',
      losers: [],
      summary: '',
      delivery: {
        issued: 1,
        unchanged: 0,
        skipped: [],
        setpoints: [{ deviceId: 'bat-1', kind: 'fixedW', value: -700 }],
      },
    };
    const controls = batteryControls({
      now: NOW,
      horizonEnd: NOW + 60 * MIN,
      dispatchPrimacy: 200,
      ownEventIds: new Set(),
      batteries,
      intents: [],
      groupMembers: new Map(),
      decisions: [decision],
    });
    assert.deepEqual(
      controls.map((c) => [c.ref, c.type, c.minKw, c.from, c.to]),
      [['oadr3.event.x', 'fixedW', -0.7, NOW - MIN, NOW + 20 * MIN]],
    );
  });

  test('windows: a control governs the intervals it covers at least half; the fixing control of highest precedence wins inside the limits', () => {
    const base = { deviceId: 'bat-1', createdAt: NOW, value: 0 };
    const windows = windowsFor(
      [
        {
          ...base,
          source: 'ieee2030.5',
          type: 'fixedW',
          primacy: 10,
          from: NOW + 10 * MIN,
          to: NOW + 40 * MIN,
          ref: 'a',
          minKw: -3,
          maxKw: -3,
          fixes: true,
        },
        {
          ...base,
          source: 'operator',
          type: 'fixedW',
          primacy: 0,
          from: NOW + 30 * MIN,
          to: NOW + 45 * MIN,
          ref: 'b',
          minKw: 1,
          maxKw: 1,
          fixes: true,
        },
        {
          ...base,
          source: 'openadr3',
          type: 'chargeLimit',
          primacy: 5,
          from: NOW,
          to: NOW + 60 * MIN,
          ref: 'c',
          minKw: -2,
          fixes: false,
        },
      ],
      starts,
      15 * MIN,
    );
    // interval 0: 'a' covers 5 of 15 min (not governed), 'c' limits charging to 2 kW;
    // interval 1: 'a' (-3 kW) clipped by 'c' to -2; interval 2: 'b' (operator, primacy 0) wins; 3: only 'c'.
    assert.deepEqual(windows.bounds, [
      [-2, Number.POSITIVE_INFINITY],
      [-2, -2],
      [1, 1],
      [-2, Number.POSITIVE_INFINITY],
    ]);
    assert.deepEqual(windows.powerWindows, [
      { fromInterval: 0, toInterval: 1, minNetDischargeKw: -2 },
      { fromInterval: 1, toInterval: 2, minNetDischargeKw: -2, maxNetDischargeKw: -2 },
      { fromInterval: 2, toInterval: 3, minNetDischargeKw: 1, maxNetDischargeKw: 1 },
      { fromInterval: 3, toInterval: 4, minNetDischargeKw: -2 },
    ]);
    assert.deepEqual(windows.overrides.map((o) => [o.ref, o.fromInterval, o.toInterval]).sort(), [
      ['a', 1, 2],
      ['b', 2, 3],
      ['c', 0, 4],
    ]);
  });

  test('a fixed discharge in force now stops where the battery would reach its floor', () => {
    const fitted = fitFirstWindowToEnergy(
      [{ fromInterval: 0, toInterval: 3, minNetDischargeKw: 4, maxNetDischargeKw: 4 }],
      { initialKwh: 2.5, floorKwh: 1, ceilingKwh: 9, etaCharge: 1, etaDischarge: 1 },
      0.25,
    );
    // 1 kWh per interval at 4 kW: 1.5 kWh above the floor lasts one and a half intervals.
    assert.deepEqual(fitted, [
      { fromInterval: 0, toInterval: 1, minNetDischargeKw: 4, maxNetDischargeKw: 4 },
      { fromInterval: 1, toInterval: 2, minNetDischargeKw: 2, maxNetDischargeKw: 2 },
      { fromInterval: 2, toInterval: 3, minNetDischargeKw: 0, maxNetDischargeKw: 0 },
    ]);
  });

  test('a plan with a fixed window holds the battery there and adapts the rest', async () => {
    const built = buildPlanRequest({
      now: NOW,
      settings,
      starts,
      prices,
      candidates: [candidate(battery('bat-1'))],
    });
    const request = built.request;
    const params = request.batteries[0];
    assert.ok(params);
    params.powerWindows = [{ fromInterval: 2, toInterval: 3, minNetDischargeKw: -1, maxNetDischargeKw: -1 }];
    const plan = await planDispatch(request);
    const intervals = plan.batteries[0]?.intervals ?? [];
    // The 200 $/MWh interval would be the best time to discharge; the window makes it charge 1 kW.
    assert.equal(intervals[2]?.chargeKw, 1);
    assert.equal(intervals[2]?.dischargeKw, 0);
    assert.ok((intervals[3]?.dischargeKw ?? 0) > 0, 'it discharges in the next best interval instead');
  });
});

describe('dispatch wear and trajectories', () => {
  test('rainflow wear of a planned SoC trace', () => {
    // One full cycle of depth 0.6 (0.2 -> 0.8 -> 0.2) plus the half cycles of the residue.
    const wear = wearOf([0.5, 0.2, 0.8, 0.2, 0.8, 0.5], { k: 1, b: 2 });
    assert.ok(wear.rainflowCycles > 0);
    assert.equal(wear.deepestCyclePct, 60);
    assert.ok(wear.lifeConsumed >= 0.36 - 1e-12, String(wear.lifeConsumed));
  });

  test('the planned SoC between interval ends is linear; outside the plan there is none', () => {
    const trajectory = { times: [0, 100, 200], socPct: [50, 60, 40] };
    assert.equal(plannedSocAt(trajectory, 50), 55);
    assert.equal(plannedSocAt(trajectory, 150), 50);
    assert.equal(plannedSocAt(trajectory, 250), undefined);
  });
});
