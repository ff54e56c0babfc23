/**
 * CACTUS server procedures, category Control (active controls and scheduling): S-ALL-11..18, S-ALL-43 (poll
 * rates), S-ALL-44 (scheduling), S-ALL-45 (randomisation), S-ALL-49 (multiple DER programs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DERControl } from '../../src/resources/types.ts';
import type { ControlBase } from '../../src/server/contract.ts';
import type { SepClient } from '../helpers/sep-client.ts';
import {
  assertControls,
  assertDefaults,
  assertOwnEndDevice,
  type ControlCriteria,
  discoveredControls,
  discoveredDefaults,
  linkHref,
} from './checks.ts';
import {
  type CactusEnv,
  createDerControl,
  ensureEndDevice,
  ensureProgram,
  SET_MAX_W,
  startCactus,
  watts,
} from './harness.ts';

interface ActiveCase {
  id: string;
  title: string;
  steps: Array<{ step: string; base: ControlBase; expect: ControlCriteria }>;
}

const half = SET_MAX_W * 0.5;
const ACTIVE_CASES: ActiveCase[] = [
  {
    id: 'S-ALL-11',
    title: 'Active Control - Export Limit',
    steps: [{ step: '(A) PRECONDITION', base: { opModExpLimW: watts(0) }, expect: { opModExpLimW: 0, rampTms: null } }],
  },
  {
    id: 'S-ALL-12',
    title: 'Active Control - Generation Limit',
    steps: [{ step: '(A) PRECONDITION', base: { opModGenLimW: watts(0) }, expect: { opModGenLimW: 0, rampTms: null } }],
  },
  {
    id: 'S-ALL-13',
    title: 'Active Control - Import Limit',
    steps: [{ step: '(A) PRECONDITION', base: { opModImpLimW: watts(0) }, expect: { opModImpLimW: 0, rampTms: null } }],
  },
  {
    id: 'S-ALL-14',
    title: 'Active Control - Load Limit',
    steps: [
      {
        step: '(A) PRECONDITION',
        base: { opModLoadLimW: watts(0) },
        expect: { opModLoadLimW: 0, rampTms: null, eventStatus: 1 },
      },
    ],
  },
  {
    id: 'S-ALL-15',
    title: 'Active Control - Energise / De-energise',
    steps: [
      {
        step: '(A) PRECONDITION',
        base: { opModEnergize: true },
        expect: { opModEnergize: true, rampTms: null, eventStatus: 1 },
      },
      {
        step: '(1) De-energize',
        base: { opModEnergize: false },
        expect: { opModEnergize: false, rampTms: null, eventStatus: 1 },
      },
      {
        step: '(2) Energize',
        base: { opModEnergize: true },
        expect: { opModEnergize: true, rampTms: null, eventStatus: 1 },
      },
    ],
  },
  {
    id: 'S-ALL-16',
    title: 'Active Control - Disconnect',
    steps: [
      {
        step: '(A) PRECONDITION',
        base: { opModConnect: true },
        expect: { opModConnect: true, rampTms: null, eventStatus: 1 },
      },
      {
        step: '(1) Disconnect',
        base: { opModConnect: false },
        expect: { opModConnect: false, rampTms: null, eventStatus: 1 },
      },
      {
        step: '(2) Connect',
        base: { opModConnect: true },
        expect: { opModConnect: true, rampTms: null, eventStatus: 1 },
      },
    ],
  },
  {
    id: 'S-ALL-17',
    title: 'Active Control - Control Combinations',
    steps: [
      {
        step: '(A) PRECONDITION',
        base: {
          opModExpLimW: watts(half),
          opModGenLimW: watts(0),
          opModImpLimW: watts(half),
          opModLoadLimW: watts(0),
          opModEnergize: false,
          opModConnect: false,
        },
        expect: {
          opModExpLimW: half,
          opModGenLimW: 0,
          opModImpLimW: half,
          opModLoadLimW: 0,
          opModEnergize: false,
          opModConnect: false,
          rampTms: null,
          eventStatus: 1,
        },
      },
    ],
  },
  {
    id: 'S-ALL-18',
    title: 'Active Control - Ramp Rates',
    steps: [
      {
        step: '(A) PRECONDITION',
        base: { opModExpLimW: watts(0), opModImpLimW: watts(0), rampTms: 3000 },
        expect: { opModExpLimW: 0, opModImpLimW: 0, rampTms: 3000, eventStatus: 1 },
      },
    ],
  },
];

for (const activeCase of ACTIVE_CASES) {
  describe(`${activeCase.id} ${activeCase.title}`, () => {
    let env: CactusEnv;
    let client: SepClient;
    before(async () => {
      env = await startCactus();
      client = env.client('device-a');
      await ensureEndDevice(env, 'device-a');
    });
    after(() => env.close());

    for (const { step, base, expect } of activeCase.steps) {
      test(`${step}: create an active control; discovery finds it (${JSON.stringify(expect)})`, async () => {
        await createDerControl(env, { status: 'active', base });
        env.clock.advance(1);
        const discovery = await client.walk();
        assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
        assertControls(discoveredControls(discovery), expect, { min: 1 });
        // Every DERControl href answers GET (the EPRI client fetches each active event by its href).
        for (const { control } of discoveredControls(discovery)) {
          assert.ok(control.href, 'DERControl has an href');
          const own = await client.fetch(control.href, 'DERControl');
          assert.equal(own.mRID, control.mRID);
        }
      });
    }
  });
}

describe('S-ALL-43 Update Poll Rates', () => {
  let env: CactusEnv;
  let client: SepClient;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  async function pollRates(): Promise<Record<string, number | undefined>> {
    const discovery = await client.walk();
    const own = assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    const rate = (r: unknown) => (r as { pollRate?: number } | undefined)?.pollRate;
    return {
      DeviceCapability: rate(discovery.dcap),
      EndDeviceList: rate(discovery.endDeviceList),
      FunctionSetAssignmentsList: rate(own.fsaList),
      DERProgramList: rate(own.fsas[0]?.programList),
      DERList: rate(own.derList),
      MirrorUsagePointList: rate(discovery.mirrorUsagePointList),
    };
  }

  test('(A) PRECONDITION: the rates the utility set are on DCAP, EndDeviceList, FSA, DERProgram, DER and MUP lists', async () => {
    await ensureEndDevice(env, 'device-a', { derCount: 1 });
    await ensureProgram(env);
    await env.server.admin.setPollRate('DeviceCapability', 300);
    await env.server.admin.setPollRate('EndDeviceList', 300);
    await env.server.admin.setPollRate('FunctionSetAssignmentsList', 300);
    await env.server.admin.setPollRate('DERProgramList', 60);
    await env.server.admin.setPollRate('DERList', 60);
    await env.server.admin.setPollRate('MirrorUsagePointList', 60);
    assert.deepEqual(await pollRates(), {
      DeviceCapability: 300,
      EndDeviceList: 300,
      FunctionSetAssignmentsList: 300,
      DERProgramList: 60,
      DERList: 60,
      MirrorUsagePointList: 60,
    });
  });

  for (const [step, family, rate] of [
    ['(1) UPDATE DeviceCapability poll-rate', 'DeviceCapability', 60],
    ['(2) UPDATE EndDeviceList poll-rate', 'EndDeviceList', 60],
    ['(3) UPDATE FunctionSetAssignmentsList poll-rate', 'FunctionSetAssignmentsList', 60],
    ['(4) UPDATE DERProgramList poll-rate', 'DERProgramList', 120],
    ['(5) UPDATE DERList poll-rate', 'DERList', 120],
    ['(6) UPDATE MirrorUsagePointList poll-rate', 'MirrorUsagePointList', 120],
  ] as const) {
    test(`${step} to ${rate} s`, async () => {
      await env.server.admin.setPollRate(family, rate);
      assert.equal((await pollRates())[family], rate);
    });
  }
});

describe('S-ALL-44 Scheduling', () => {
  let env: CactusEnv;
  let client: SepClient;
  before(async () => {
    env = await startCactus();
    client = env.client('device-a');
  });
  after(() => env.close());

  // start_offset_seconds and opModExpLimW (fraction of setMaxW) of the 24 controls in the procedure.
  const schedule: Array<[number, number]> = [
    [60, 0.1],
    [130, 0.6],
    [200, 0.3],
    [280, 0.85],
    [350, 0.2],
    [420, 0.75],
    [490, 0.4],
    [560, 0.95],
    [630, 0.15],
    [700, 0.55],
    [770, 1.0],
    [840, 0.35],
    [910, 0.8],
    [980, 0.05],
    [1050, 0.65],
    [1120, 0.25],
    [1190, 0.9],
    [1260, 0.45],
    [1330, 0.7],
    [1400, 0.1],
    [1470, 0.5],
    [1540, 0.8],
    [1610, 0.3],
    [1680, 0.6],
  ];

  let dercHref = '';
  test('(A) PRECONDITION: 24 sequential non-overlapping 60 s controls are all Scheduled', async () => {
    await ensureEndDevice(env, 'device-a');
    for (const [offset, fraction] of schedule) {
      await createDerControl(env, {
        status: 'scheduled',
        startOffsetSeconds: offset,
        durationSeconds: 60,
        base: { opModExpLimW: watts(Math.round(SET_MAX_W * fraction)) },
      });
    }
    const discovery = await client.walk({ pageSize: 5 });
    assertControls(discoveredControls(discovery), { eventStatus: 0, duration: 60 }, { min: 24 });
    const own = assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    dercHref = linkHref(own.fsas[0]?.programs[0]?.program, 'DERControlListLink');
    // 2030.5 §8.2.3 list ordering for DERControl: by interval start (ascending) — the schedule order.
    const starts = discoveredControls(discovery).map((c) => c.control.interval.start);
    assert.deepEqual(
      starts,
      [...starts].sort((x, y) => x - y),
    );
  });

  test('(1) DERControlQuery: s=0, l=10 answers exactly 10 Scheduled 60 s controls, all=24', async () => {
    const reply = await client.get(`${dercHref}?s=0&l=10`);
    assert.equal(reply.status, 200);
    const list = reply.resource as { all: number; results: number; DERControl: DERControl[] };
    assert.equal(list.results, 10);
    assert.equal(list.all, 24);
    assertControls(
      list.DERControl.map((control) => ({ control })),
      { eventStatus: 0, duration: 60 },
      { min: 10, max: 10 },
    );
  });
});

describe('S-ALL-45 Randomisation', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus();
  });
  after(() => env.close());

  test('(A) PRECONDITION: five sequential 120 s controls with randomizeStart 60 are listed with it, Scheduled', async () => {
    await ensureEndDevice(env, 'device-a');
    for (const offset of [60, 260, 460, 660, 860]) {
      await createDerControl(env, {
        status: 'scheduled',
        startOffsetSeconds: offset,
        durationSeconds: 120,
        randomizeStart: 60,
        base: { opModExpLimW: watts(SET_MAX_W * 2) },
      });
    }
    const discovery = await env.client('device-a').walk();
    assertControls(
      discoveredControls(discovery),
      { opModExpLimW: SET_MAX_W * 2, randomizeStart: 60, eventStatus: 0, duration: 120 },
      { min: 5, max: 5 },
    );
  });
});

describe('S-ALL-49 Multiple DER Programs', () => {
  let env: CactusEnv;
  before(async () => {
    env = await startCactus();
  });
  after(() => env.close());

  test('(A) PRECONDITION: two FSAs each with a program (primacy 1 and 2); default on 1, active control on 2', async () => {
    await ensureEndDevice(env, 'device-a');
    await ensureProgram(env, 'derp1', 1, 'fsa1');
    await ensureProgram(env, 'derp2', 2, 'fsa2');
    await env.server.admin.setDefaultControl({ programId: 'derp1', base: { opModExpLimW: watts(SET_MAX_W * 0.3) } });
    await createDerControl(env, { status: 'active', programId: 'derp2', base: { opModExpLimW: watts(SET_MAX_W * 2) } });

    const discovery = await env.client('device-a').walk({ pageSize: 1 });
    const own = assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
    assert.ok(own.fsas.length >= 2, 'function-set-assignment: at least 2 FSAs for the EndDevice');
    const primacies = (i: number) => own.fsas[i]!.programs.map((p) => p.program.primacy);
    assert.deepEqual(primacies(0), [1], 'der-program: FSA 0 holds exactly one program, primacy 1');
    assert.deepEqual(primacies(1), [2], 'der-program: FSA 1 holds exactly one program, primacy 2');
    assertDefaults(discoveredDefaults(discovery), { derpPrimacy: 1, opModExpLimW: SET_MAX_W * 0.3 }, { min: 1 });
    assertControls(discoveredControls(discovery), { derpPrimacy: 2, opModExpLimW: SET_MAX_W * 2 }, { min: 1 });
  });
});
