/**
 * CACTUS server procedures, category Control (DefaultDERControl): S-ALL-19..24 and S-ALL-48 (changing ramp
 * rates).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SetDefaultControlInput } from '../../src/server/contract.ts';
import type { SepClient } from '../helpers/sep-client.ts';
import {
  assertDefaults,
  assertOwnEndDevice,
  assertVisitedOk,
  type DefaultCriteria,
  discoveredDefaults,
  linkHref,
} from './checks.ts';
import { type CactusEnv, ensureEndDevice, ensureProgram, SET_MAX_W, startCactus, watts } from './harness.ts';

interface DefaultCase {
  id: string;
  title: string;
  input: Omit<SetDefaultControlInput, 'programId'>;
  expect: DefaultCriteria;
}

const p30 = SET_MAX_W * 0.3;
const half = SET_MAX_W * 0.5;
const CASES: DefaultCase[] = [
  {
    id: 'S-ALL-19',
    title: 'Default Control - Export Limit',
    input: { base: { opModExpLimW: watts(p30) } },
    expect: { opModExpLimW: p30 },
  },
  {
    id: 'S-ALL-20',
    title: 'Default Control - Generation Limit',
    input: { base: { opModGenLimW: watts(p30) } },
    expect: { opModGenLimW: p30 },
  },
  {
    id: 'S-ALL-21',
    title: 'Default Control - Import Limit',
    input: { base: { opModImpLimW: watts(p30) } },
    expect: { opModImpLimW: p30 },
  },
  {
    id: 'S-ALL-22',
    title: 'Default Control - Load Limit',
    input: { base: { opModLoadLimW: watts(p30) } },
    expect: { opModLoadLimW: p30 },
  },
  {
    id: 'S-ALL-23',
    title: 'Default Control - Ramp Rate',
    input: { base: {}, setGradW: 100 },
    expect: { setGradW: 100 },
  },
  {
    id: 'S-ALL-24',
    title: 'Default Control - Control Combinations',
    input: {
      base: {
        opModExpLimW: watts(half),
        opModGenLimW: watts(0),
        opModImpLimW: watts(half),
        opModLoadLimW: watts(0),
      },
    },
    expect: { opModExpLimW: half, opModGenLimW: 0, opModImpLimW: half, opModLoadLimW: 0 },
  },
  {
    id: 'S-ALL-48',
    title: 'Changing Ramp-Rates',
    input: { base: {}, setGradW: 100 },
    expect: { setGradW: 100 },
  },
];

for (const defaultCase of CASES) {
  describe(`${defaultCase.id} ${defaultCase.title}`, () => {
    let env: CactusEnv;
    let client: SepClient;
    before(async () => {
      env = await startCactus();
      client = env.client('device-a');
    });
    after(() => env.close());

    test(`(A) PRECONDITION: the utility sets a DefaultDERControl; discovery finds it (${JSON.stringify(defaultCase.expect)})`, async () => {
      await ensureEndDevice(env, 'device-a', { derCount: 1 });
      const programId = await ensureProgram(env);
      await env.server.admin.setDefaultControl({ programId, ...defaultCase.input });
      const discovery = await client.walk();
      const own = assertOwnEndDevice(discovery, env.identity('device-a').lfdi);
      assert.ok(own.ders.length >= 1, 'DER discovered');
      assert.ok(own.fsas[0]?.programs[0]?.controlList, 'DERControlList discovered');
      assertDefaults(discoveredDefaults(discovery), defaultCase.expect, { min: 1 });
      assertVisitedOk(discovery);
      const dderc = discoveredDefaults(discovery)[0]!.control;
      assert.ok(dderc.href, 'DefaultDERControl carries its href');
      assert.equal(dderc.href, linkHref(own.fsas[0]!.programs[0]!.program, 'DefaultDERControlLink'));
    });

    test('the DefaultDERControl is replaced when the utility changes it (one per program)', async () => {
      const programId = await ensureProgram(env);
      await env.server.admin.setDefaultControl({ programId, base: { opModExpLimW: watts(1234) }, setGradW: 50 });
      const defaults = discoveredDefaults(await client.walk());
      assertDefaults(defaults, { opModExpLimW: 1234, setGradW: 50 }, { min: 1, max: 1 });
      assert.equal(defaults.length, 1);
    });
  });
}
