/**
 * The fresh-telemetry gate of the ControlEngine: a reading counts only while it is younger than
 * the freshness limit, and a storage device's only if taken after the engine started; stale
 * devices are left out like offline ones and their share goes to the others. The restart case runs
 * a second engine over the SQLite file the first one left, with the old telemetry still in it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DEFAULT_STALE_AFTER_MS, FRESH_TELEMETRY_RECHECK_MS, MIN_STALE_AFTER_MS } from '../../src/control/engine.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { BATTERY, HOUR, type Loop, loop, METER, PV, pvBatterySite, T0 } from './engine-support.ts';

const PERIOD_MS = 60_000;

describe('ControlEngine: the freshness limit', () => {
  const loops: Loop[] = [];
  afterEach(async () => {
    for (const l of loops.splice(0)) await l.close();
  });

  test('3 poll intervals when the edge knows the device (at least 15 s), a fixed limit when configured, else 5 min', async () => {
    const intervals: Record<string, number> = { slow: 20_000, fast: 1000 };
    const byInterval = await loop({ engine: { pollIntervalMs: (id) => intervals[id] } });
    loops.push(byInterval);
    assert.equal(byInterval.engine.staleAfterMs('slow'), 60_000);
    assert.equal(byInterval.engine.staleAfterMs('fast'), MIN_STALE_AFTER_MS);
    assert.equal(byInterval.engine.staleAfterMs('unpolled'), DEFAULT_STALE_AFTER_MS);
    assert.equal(DEFAULT_STALE_AFTER_MS, 300_000);
    const fixed = await loop({ engine: { staleAfterMs: 42_000, pollIntervalMs: (id) => intervals[id] } });
    loops.push(fixed);
    assert.equal(fixed.engine.staleAfterMs('slow'), 42_000);
    assert.equal(fixed.engine.staleAfterMs('unpolled'), 42_000);
    await assert.rejects(
      (async () => loop({ engine: { staleAfterMs: 0 } }))(),
      (e: unknown) => e instanceof Error && /staleAfterMs/.test(e.message),
    );
  });
});

describe('ControlEngine: stale telemetry', () => {
  let l: Loop;
  beforeEach(async () => {
    l = await loop({ engine: { staleAfterMs: PERIOD_MS } });
  });
  afterEach(() => l.close());

  async function groupOfTwoBatteries(): Promise<void> {
    await l.registry.createSite({ id: 's1', name: 'Site 1' }, 'test');
    await l.registry.createProgram(
      { id: 'p-utility', name: 'Utility', kind: 'demand-response', source: 'ieee2030.5', primacy: 1 },
      'test',
    );
    await l.registry.createGroup({ id: 'g1', name: 'VPP', kind: 'group' }, 'test');
    for (const id of ['bat1', 'bat2']) {
      await l.addDevice(id, 's1', BATTERY);
      await l.registry.addMember('g1', { deviceId: id, validFrom: T0 - HOUR }, 'test');
      await l.feed(id, { activePower: 0, stateOfCharge: 60 });
    }
    await l.engine.submitEvent(
      l.event('dispatch', {
        targets: { groupIds: ['g1'] },
        intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'fixedW', value: 4000 }] }],
      }),
    );
  }

  test('a battery whose SoC went stale gets no setpoint; its share goes to the fresh one', async () => {
    await groupOfTwoBatteries();
    await l.tick();
    assert.equal(l.devices.get('bat1')?.last('fixedW'), 2000);
    assert.equal(l.devices.get('bat2')?.last('fixedW'), 2000);

    // Two minutes on, only bat1 has reported again: bat2's readings are older than the 60 s limit.
    l.clock.t += 120_000;
    await l.feed('bat1', { activePower: 2000, stateOfCharge: 58 });
    const bat2Writes = l.devices.get('bat2')?.applied.length;
    await l.tick();
    assert.equal(l.devices.get('bat1')?.last('fixedW'), 4000);
    assert.equal(l.devices.get('bat2')?.applied.length, bat2Writes, 'no setpoint from a stale SoC');
    const decision = l.engine.decisions().find((d) => d.key === 'group:g1|fixedW');
    assert.deepEqual(decision?.allocation?.excluded, [
      { deviceId: 'bat2', reason: 'stale: last stateOfCharge 120 s old (limit 60 s)' },
    ]);
    assert.equal(decision?.allocation?.met, true);
    assert.match(decision?.allocation?.reason ?? '', /1 device\(s\) excluded \(offline 0, stale 1, invalid 0\)/);
    // The stale battery is not credited in compliance either: only bat1's fresh power counts.
    const [compliance] = await l.engine.compliance();
    assert.equal(compliance?.targets[0]?.deliveredW, 2000);

    // Once bat2 reports again it is back in the allocation.
    l.clock.t += 1000;
    await l.feed('bat1', { activePower: 4000, stateOfCharge: 58 });
    await l.feed('bat2', { activePower: 0, stateOfCharge: 60 });
    await l.tick();
    assert.equal(l.devices.get('bat2')?.last('fixedW'), 2000);
    assert.deepEqual(l.engine.decisions().find((d) => d.key === 'group:g1|fixedW')?.allocation?.excluded, []);
  });

  test('a stale PV is left out and a stale meter counts as absent: the export limit assumes no site load', async () => {
    const { pv, battery } = await pvBatterySite(l);
    l.clock.t += 90_000;
    // PV and battery report again; the meter does not (its reading is 90 s old).
    await l.feed('pv1', { activePower: 6000 });
    await l.feed('bat1', { activePower: 0, stateOfCharge: 50 });
    await l.engine.submitEvent(
      l.event('e1', { intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }] }),
    );
    await l.tick();
    // Load taken as 0 (over-estimates export): 6 kW down to 1 kW, battery charges 3 kW, PV capped at 4 kW.
    assert.equal(battery.last('fixedW'), -3000);
    assert.equal(pv.last('generationLimit'), 4000);
    const decision = l.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.match(decision?.allocation?.reason ?? '', /site meter telemetry stale: site load taken as 0/);
    assert.equal(decision?.allocation?.plannedExportW, 1000);

    // Now the PV goes stale too: it takes no share, the battery alone cannot meet the limit.
    l.clock.t += 61_000;
    await l.feed('bat1', { activePower: -3000, stateOfCharge: 51 });
    const pvWrites = pv.applied.length;
    await l.tick();
    const after = l.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.deepEqual(after?.allocation?.excluded, [
      { deviceId: 'pv1', reason: 'stale: last activePower 61 s old (limit 60 s)' },
    ]);
    assert.equal(pv.applied.length, pvWrites, 'no new plan for the stale PV, and its cap is not lifted');
    const pvCommands = await l.store.commands.list({ deviceId: 'pv1' });
    assert.deepEqual(
      pvCommands.map((c) => [c.setpoint.value, c.status]),
      [[4000, 'confirmed']],
      'the last cap stays in force until its own expiry',
    );
  });
});

describe('ControlEngine: restart over a store with old telemetry (kill -9 mid-event)', () => {
  const temp = useTempDir('gridseam-control-restart-');
  const loops: Loop[] = [];
  afterEach(async () => {
    for (const l of loops.splice(0)) await l.close();
  });

  test('limits are re-applied at once; the battery waits for a SoC newer than the start; the engine re-checks within seconds', async () => {
    const storePath = join(temp.dir(), 'restart.sqlite');
    const first = await loop({ storePath });
    loops.push(first);
    await pvBatterySite(first);
    await first.engine.submitEvent(
      first.event('e1', {
        intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }],
      }),
    );
    await first.tick();
    assert.equal(first.devices.get('bat1')?.last('fixedW'), -3000);
    assert.equal(first.devices.get('pv1')?.last('generationLimit'), 5000);
    await first.close();
    loops.splice(0);

    // A new process 20 s later; the newest readings in the store are the ones of T0.
    const restartAt = T0 + 20_000;
    const second = await loop({ storePath, startAt: restartAt });
    loops.push(second);
    const pv = second.attach('pv1', PV);
    const battery = second.attach('bat1', BATTERY);
    second.attach('m1', METER);
    const report = await second.tick();

    // The PV cap is re-applied from the 20 s old PV and meter readings (within the 5 min limit);
    // the battery, whose SoC is from before the start, gets nothing.
    assert.equal(pv.applied.length, 1);
    assert.equal(battery.applied.length, 0, 'no SoC-dependent setpoint from a reading older than the start');
    const decision = second.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.equal(decision?.winner?.id, 'e1');
    assert.deepEqual(decision?.allocation?.excluded, [
      { deviceId: 'bat1', reason: 'stale: awaiting stateOfCharge newer than the engine start (last one 20 s old)' },
    ]);
    // Site load from the meter: 6 kW PV - 5 kW export = 1 kW; export limit 1 kW: PV may give 2 kW.
    assert.equal(pv.last('generationLimit'), 2000);
    assert.equal(report.nextTickAt, restartAt + FRESH_TELEMETRY_RECHECK_MS, 're-checked soon, not a period later');

    // The first post-start readings arrive: the battery joins on the re-check, PV is capped less.
    second.clock.t = restartAt + 3000;
    await second.feed('bat1', { activePower: 0, stateOfCharge: 50 });
    await second.feed('pv1', { activePower: 2000 });
    await second.feed('m1', { activePower: 1000 });
    second.clock.t = restartAt + FRESH_TELEMETRY_RECHECK_MS;
    const rechecked = await second.tick();
    // The PV gives 2 kW under our cap; it could give the 6 kW seen at the first tick. Site load
    // 2 kW - 1 kW = 1 kW, so output may be 2 kW: 4 kW down, the battery charges 3 kW, PV capped at 5 kW.
    assert.equal(battery.last('fixedW'), -3000);
    assert.equal(pv.last('generationLimit'), 5000);
    assert.deepEqual(second.engine.decisions().find((d) => d.key === 'site:s1|exportLimit')?.allocation?.excluded, []);
    assert.equal(rechecked.nextTickAt, second.clock.t + PERIOD_MS, 'back to the period once nothing waits');
    const commands = await second.store.commands.list({ deviceId: 'bat1' });
    assert.ok(commands.some((c) => c.status === 'confirmed' && c.setpoint.value === -3000));
  });

  test('a battery still without fresh telemetry after the first period stays out, checked once a period', async () => {
    const storePath = join(temp.dir(), 'quiet.sqlite');
    const first = await loop({ storePath });
    loops.push(first);
    await pvBatterySite(first);
    await first.engine.submitEvent(
      first.event('e1', {
        intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }],
      }),
    );
    await first.tick();
    await first.close();
    loops.splice(0);

    const restartAt = T0 + 10_000;
    const second = await loop({ storePath, startAt: restartAt });
    loops.push(second);
    second.attach('pv1', PV);
    const battery = second.attach('bat1', BATTERY);
    second.attach('m1', METER);
    await second.tick();
    second.clock.t = restartAt + PERIOD_MS + 1000;
    await second.feed('pv1', { activePower: 5000 });
    await second.feed('m1', { activePower: 1000 });
    const report = await second.tick();
    assert.equal(battery.applied.length, 0);
    assert.match(
      second.engine.decisions().find((d) => d.key === 'site:s1|exportLimit')?.allocation?.excluded[0]?.reason ?? '',
      /^stale: awaiting stateOfCharge newer than the engine start/,
    );
    assert.equal(report.nextTickAt, second.clock.t + PERIOD_MS);
  });
});
