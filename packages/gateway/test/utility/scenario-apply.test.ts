import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { createUtilityServer, type UtilityServer } from '@gridseam/ieee2030-5';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { applyScenario, parseScenario, scenarioControlMrid } from '../../src/utility/scenario.ts';
import { documentStateStore } from '../../src/utility/state-store.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const temp = useTempDir('gridseam-utility-scenario-');

const DEVICE = '3e4f45ab31edfe5b67e343e5e4562e31984e23e5';
const AGGREGATOR = '0123456789abcdef0123456789abcdef01234567';
const SITE_SFDI = 1234567895;

const SCENARIO = `
endDevices:
  - { lfdi: ${DEVICE.toUpperCase()}, pin: 111115, nmi: '4102345678' }
  - { sfdi: ${SITE_SFDI}, aggregator: ${AGGREGATOR}, deviceCategory: 0c, postRate: 60 }
  - { lfdi: ${AGGREGATOR}, role: aggregator }
programs:
  - { id: doe, description: Dynamic exports, primacy: 10 }
  - { id: emergency, description: Emergency, primacy: 1 }
defaultControls:
  - { program: doe, opModExpLimW: 1500, opModEnergize: true, setGradW: 2000 }
  - { program: doe, endDevice: ${SITE_SFDI}, opModExpLimW: 0 }
controls:
  - { id: now, program: doe, start: -30, duration: 600, opModExpLimW: 5000, opModMaxLimW: 50 }
  - { program: emergency, start: 3600, duration: 900, opModConnect: false, randomizeStart: 60, endDevices: [${DEVICE}] }
`;

async function open(path: string, sharedControls = true): Promise<{ store: Store; server: UtilityServer }> {
  const store = await openStore({ kind: 'sqlite', path });
  await store.migrate();
  const server = await createUtilityServer(
    { profile: 'csip-aus', terminator: { header: 'x-ssl-cert' }, variances: { sharedControls } },
    documentStateStore(store),
  );
  return { store, server };
}

async function close({ store, server }: { store: Store; server: UtilityServer }): Promise<void> {
  await server.close();
  await store.close();
}

describe('utility scenario: applying', () => {
  test('creates everything once, converts units, and is idempotent across a restart', async () => {
    const path = join(temp.dir(), 'idempotent.db');
    const scenario = parseScenario(SCENARIO, 'lab.yaml');
    const now = 1_900_000_000;

    const first = await open(path);
    let starts: Map<string, number>;
    try {
      const result = await applyScenario(first.server.admin, scenario, { file: 'lab.yaml', now });
      assert.deepEqual(result.created, { endDevices: 3, programs: 2, defaultControls: 2, controls: 2 });
      assert.deepEqual(result.existing, { endDevices: 0, programs: 0, defaultControls: 0, controls: 0 });

      const admin = first.server.admin;
      const device = admin.getEndDevice(DEVICE);
      assert.ok(device);
      assert.equal(device.registeredBy, 'scenario');
      assert.equal(device.pin, 111115);
      assert.equal(device.connectionPoint?.connectionPointId, '4102345678');
      const site = admin.listEndDevices().find((d) => d.sfdi === SITE_SFDI);
      assert.ok(site);
      assert.equal(site.aggregatorLfdi, AGGREGATOR);
      assert.equal(site.deviceCategory, '0c');
      assert.equal(site.postRate, 60);
      assert.equal(admin.getEndDevice(AGGREGATOR)?.role, 'aggregator');
      assert.deepEqual(
        admin
          .listPrograms()
          .map((p) => [p.id, p.primacy])
          .sort(),
        [
          ['doe', 10],
          ['emergency', 1],
        ],
      );
      const defaults = admin.listDefaultControls('doe');
      const wide = defaults.find((d) => d.endDeviceId === undefined);
      assert.deepEqual(wide?.base, { opModExpLimW: { multiplier: 0, value: 1500 }, opModEnergize: true });
      assert.equal(wide?.setGradW, 2000);
      assert.deepEqual(defaults.find((d) => d.endDeviceId === site.id)?.base, {
        opModExpLimW: { multiplier: 0, value: 0 },
      });

      const control = admin.getControl(scenarioControlMrid(scenario.controls[0] as (typeof scenario.controls)[0], 0));
      assert.ok(control, 'the first control has the mRID derived from its id');
      assert.equal(control.start, now - 30);
      assert.equal(control.duration, 600);
      assert.deepEqual(control.base, { opModExpLimW: { multiplier: 0, value: 5000 }, opModMaxLimW: 5000 });
      const emergency = admin.listControls({ programId: 'emergency', includeExpired: true });
      assert.equal(emergency.length, 1);
      assert.deepEqual(emergency[0]?.endDeviceIds, [device.id]);
      assert.equal(emergency[0]?.randomizeStart, 60);
      assert.deepEqual(emergency[0]?.base, { opModConnect: false });
      starts = new Map(admin.listControls({ includeExpired: true }).map((c) => [c.mRID, c.start]));

      // Applying again in the same process changes nothing.
      const again = await applyScenario(admin, scenario, { file: 'lab.yaml', now: now + 5 });
      assert.deepEqual(again.created, { endDevices: 0, programs: 0, defaultControls: 0, controls: 0 });
      assert.deepEqual(again.existing, { endDevices: 3, programs: 2, defaultControls: 2, controls: 2 });
    } finally {
      await close(first);
    }

    // A restart on the same database: nothing is duplicated, controls keep their first start.
    const second = await open(path);
    try {
      const result = await applyScenario(second.server.admin, scenario, { file: 'lab.yaml', now: now + 100 });
      assert.deepEqual(result.created, { endDevices: 0, programs: 0, defaultControls: 0, controls: 0 });
      assert.deepEqual(result.existing, { endDevices: 3, programs: 2, defaultControls: 2, controls: 2 });
      const admin = second.server.admin;
      assert.equal(admin.listEndDevices().length, 3);
      assert.equal(admin.listDefaultControls().length, 2);
      assert.deepEqual(new Map(admin.listControls({ includeExpired: true }).map((c) => [c.mRID, c.start])), starts);
    } finally {
      await close(second);
    }
  });

  test('with sharedControls off, a control split per EndDevice is still created once across restarts', async () => {
    const path = join(temp.dir(), 'split.db');
    const scenario = parseScenario(
      `endDevices: [ { lfdi: ${DEVICE} }, { sfdi: ${SITE_SFDI} } ]
programs: [ { id: doe, description: DOE, primacy: 1 } ]
controls: [ { id: both, program: doe, duration: 600, opModExpLimW: 0, endDevices: [ ${DEVICE}, ${SITE_SFDI} ] } ]
`,
      'split.yaml',
    );
    for (const round of [1, 2]) {
      const running = await open(path, false);
      try {
        const result = await applyScenario(running.server.admin, scenario, { file: 'split.yaml' });
        assert.equal(result.created.controls, round === 1 ? 1 : 0);
        assert.equal(result.existing.controls, round === 1 ? 0 : 1);
        const controls = running.server.admin.listControls({ programId: 'doe', includeExpired: true });
        assert.equal(controls.length, 2, 'one DERControl per EndDevice');
        assert.deepEqual(
          controls.map((c) => c.endDeviceIds?.length),
          [1, 1],
        );
      } finally {
        await close(running);
      }
    }
  });

  test('the shipped example scenario applies cleanly', async () => {
    const file = resolve(import.meta.dirname, '../../../../examples/utility-scenario.yaml');
    const running = await open(':memory:');
    try {
      const scenario = parseScenario(await readFile(file, 'utf8'), file);
      const result = await applyScenario(running.server.admin, scenario, { file });
      assert.deepEqual(result.created, {
        endDevices: scenario.endDevices.length,
        programs: scenario.programs.length,
        defaultControls: scenario.defaultControls.length,
        controls: scenario.controls.length,
      });
    } finally {
      await close(running);
    }
  });

  test('a scenario naming unknown programs or EndDevices is GW_ERR_CONFIG naming the item', async () => {
    const running = await open(':memory:');
    try {
      const check = async (text: string, pattern: RegExp) =>
        assert.rejects(
          applyScenario(running.server.admin, parseScenario(text, 'lab.yaml'), { file: 'lab.yaml' }),
          (error: unknown) => {
            assert.equal((error as { code?: string }).code, 'GW_ERR_CONFIG');
            assert.match(String((error as Error).message), pattern);
            return true;
          },
        );
      await check(
        'controls: [ { program: ghost, duration: 60, opModEnergize: true } ]\n',
        /^lab\.yaml: controls\[0\]\.program names program 'ghost', which is neither in programs nor on the server/,
      );
      await check(
        `programs: [ { id: p, description: P, primacy: 1 } ]\ncontrols: [ { program: p, duration: 60, opModEnergize: true, endDevices: [ ${'ab'.repeat(20)} ] } ]\n`,
        /^lab\.yaml: controls\[0\]\.endDevices\[0\] names EndDevice abab/,
      );
      await check(
        'defaultControls: [ { program: p, endDevice: 42, opModEnergize: true } ]\n',
        /^lab\.yaml: defaultControls\[0\]\.endDevice names EndDevice 42/,
      );
      await check(
        `endDevices: [ { lfdi: ${DEVICE}, programs: [ nope ] } ]\n`,
        /endDevices\[0\]\.programs\[0\] names program 'nope'/,
      );
    } finally {
      await close(running);
    }
  });
});
