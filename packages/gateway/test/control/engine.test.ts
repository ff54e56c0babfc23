/**
 * ControlEngine end to end in one process: events -> arbitration -> allocation -> tracked
 * commands -> CommandExecutor -> fake adapters -> read-back -> outcomes. Ticks are explicit.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { BATTERY, GridseamError, HOUR, type Loop, loop, pvBatterySite, settle, T0 } from './engine-support.ts';

describe('ControlEngine', () => {
  let l: Loop;

  beforeEach(async () => {
    l = await loop();
  });
  afterEach(() => l.close());

  test('an export limit at a PV + battery site charges the battery before curtailing PV, confirmed by read-back', async () => {
    const { pv, battery } = await pvBatterySite(l);
    // Baseline export 5 kW (PV 6 kW, load 1 kW); limit 1 kW: 4 kW down, battery charges 3 kW first, PV curtailed 1 kW.
    await l.engine.submitEvent(
      l.event('e1', { intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }] }),
    );
    const report = await l.tick();
    assert.equal(report.issued, 2);
    assert.equal(battery.last('fixedW'), -3000);
    assert.equal(pv.last('generationLimit'), 5000);

    const commands = await l.store.commands.list({ deviceId: 'bat1' });
    assert.equal(commands.length, 1);
    assert.equal(commands[0]?.status, 'confirmed');
    assert.deepEqual(commands[0]?.setpoint.source, { kind: 'program', ref: 'e1', primacy: 1 });
    assert.equal(commands[0]?.setpoint.expiry, T0 + 60_000 + 30_000, 'expires after one period plus the margin');

    const [decision] = l.engine.decisions().filter((d) => d.key === 'site:s1|exportLimit');
    assert.equal(decision?.winner?.id, 'e1');
    assert.equal(decision?.allocation?.met, true);
    assert.equal(decision?.allocation?.plannedExportW, 1000);
    assert.match(decision?.allocation?.reason ?? '', /storage charging 3000 W.*PV curtailment 1000 W/);

    const event = await l.store.events.get('e1');
    assert.equal(event?.status, 'active');
    assert.match(event?.statusHistory.at(-1)?.reason ?? '', /control window started; in force: exportLimit @ site:s1/);
    assert.deepEqual(
      l.outcomes.map((o) => [o.eventId, o.externalId, o.outcome]),
      [['e1', 'mrid-e1', 'complied']],
    );

    // Idempotent: nothing changed, nothing is written again within the period.
    const again = await l.tick();
    assert.equal(again.issued, 0);
    assert.equal(again.unchanged, 2);
    assert.equal(battery.applied.length, 1);

    // One period later the setpoints are renewed (they would otherwise lapse); the old ones are superseded.
    l.clock.t += 60_000;
    await l.feed('bat1', { activePower: -3000, stateOfCharge: 51 });
    await l.feed('m1', { activePower: 1000 });
    await l.feed('pv1', { activePower: 5000 });
    const renewed = await l.tick();
    assert.equal(renewed.issued, 2);
    assert.equal(battery.last('fixedW'), -3000);
    const history = await l.store.commands.list({ deviceId: 'bat1' });
    assert.deepEqual(history.map((c) => c.status).sort(), ['confirmed', 'superseded']);
  });

  test('a higher-primacy event wins and the decision explains it, in the decisions and the event history', async () => {
    const { battery } = await pvBatterySite(l);
    await l.engine.submitEvent(
      l.event('low', {
        primacy: 5,
        intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }],
      }),
    );
    await l.engine.submitEvent(
      l.event('high', {
        primacy: 1,
        intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 3000 }] }],
      }),
    );
    await l.tick();
    const decision = l.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.equal(decision?.winner?.id, 'high');
    assert.equal(decision?.winnerReason, 'primacy 1 beats 5 (low)');
    assert.equal(decision?.losers[0]?.intent.id, 'low');
    assert.equal(decision?.losers[0]?.code, 'lower-priority');
    assert.equal(battery.last('fixedW'), -2000, 'the 3 kW limit needs 2 kW of charging');

    const lowHistory = await l.store.audit.list({ targetType: 'event', targetId: 'low' });
    const recorded = lowHistory.find((a) => a.action === 'control.decision');
    assert.equal(recorded?.detail?.role, 'loser');
    assert.match(String(recorded?.detail?.summary), /ieee2030\.5 high = 3000/);
    const low = await l.store.events.get('low');
    assert.match(
      low?.statusHistory.at(-1)?.reason ?? '',
      /not in force at site:s1\|exportLimit: lower priority: primacy 5 vs 1/,
    );
    const outcome = l.outcomes.find((o) => o.eventId === 'low');
    assert.equal(outcome?.outcome, 'not-applied');
    assert.equal(l.outcomes.find((o) => o.eventId === 'high')?.outcome, 'complied');
  });

  test('a cancelled event releases its setpoints and the program default applies', async () => {
    const { pv, battery } = await pvBatterySite(l);
    await l.registry.updateProgram(
      {
        id: 'p-utility',
        name: 'Utility',
        kind: 'dynamic-export',
        source: 'ieee2030.5',
        primacy: 1,
        defaultControls: [{ kind: 'exportLimit', value: 4000 }],
      },
      'test',
    );
    await l.registry.createEnrolment(
      { id: 'en1', programId: 'p-utility', siteId: 's1', validFrom: T0 - HOUR, status: 'active' },
      'test',
    );
    await l.engine.submitEvent(
      l.event('e1', { intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }] }),
    );
    await l.tick();
    assert.equal(pv.last('generationLimit'), 5000);
    const before = l.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.equal(before?.losers[0]?.code, 'default-superseded');

    await l.engine.submitEvent({
      ...l.event('e1', {
        intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }],
      }),
      status: 'cancelled',
      statusHistory: [{ status: 'cancelled', at: T0 + 1000, reason: 'utility cancelled' }],
    });
    l.clock.t += 1000;
    await l.tick();
    const decision = l.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.equal(decision?.winner?.isDefault, true);
    assert.equal(decision?.winnerReason, 'default: no active control');
    // The default (4 kW) needs 1 kW: the battery alone; the PV limit is released at its rating.
    assert.equal(battery.last('fixedW'), -1000);
    assert.equal(pv.last('generationLimit'), 10_000);
    const pvCommands = await l.store.commands.list({ deviceId: 'pv1' });
    const released = pvCommands.find((c) => c.setpoint.value === 5000);
    assert.equal(released?.status, 'superseded');
    assert.equal(released?.history.at(-1)?.detail, 'released: no control in force');
    const release = pvCommands.find((c) => c.setpoint.value === 10_000);
    assert.deepEqual(release?.setpoint.source, { kind: 'default', ref: 'release' });
    const batteryCommand = (await l.store.commands.list({ deviceId: 'bat1' })).find((c) => c.status === 'confirmed');
    assert.equal(batteryCommand?.setpoint.source.kind, 'default');
    assert.equal((await l.store.events.get('e1'))?.status, 'cancelled');
  });

  describe('an aggregate target over a group of two batteries', () => {
    beforeEach(async () => {
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
    });

    test('a device that goes offline has its share re-allocated on the next tick', async () => {
      await l.tick();
      assert.equal(l.devices.get('bat1')?.last('fixedW'), 2000);
      assert.equal(l.devices.get('bat2')?.last('fixedW'), 2000);

      await l.bus.publish('device.state', { deviceId: 'bat2', at: l.clock.t, online: false }, { key: 'bat2' });
      await l.feed('bat1', { activePower: 2000, stateOfCharge: 60 });
      l.clock.t += 5000;
      const report = await l.tick();
      assert.equal(report.issued, 1);
      assert.equal(l.devices.get('bat1')?.last('fixedW'), 4000);
      const decision = l.engine.decisions().find((d) => d.key === 'group:g1|fixedW');
      assert.deepEqual(decision?.allocation?.excluded, [{ deviceId: 'bat2', reason: 'offline' }]);
      assert.equal(decision?.allocation?.met, true);
      assert.match(decision?.allocation?.reason ?? '', /1 device\(s\) excluded \(offline 1/);
    });

    test('a failed command is marked failed, reported in compliance and the device is left out next tick', async () => {
      const bat2 = l.devices.get('bat2')!;
      bat2.failWith = new GridseamError('GW_ERR_DEVICE_REJECTED', 'WSet read back 0');
      await l.tick();
      const failed = (await l.store.commands.list({ deviceId: 'bat2' }))[0];
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.error?.code, 'GW_ERR_DEVICE_REJECTED');

      const [compliance] = await l.engine.compliance();
      assert.equal(compliance?.eventId, 'dispatch');
      assert.deepEqual(compliance?.commands, { pending: 0, confirmed: 1, failed: 1, expired: 0 });
      assert.deepEqual(
        compliance?.failures.map((f) => [f.deviceId, f.status, f.error?.code]),
        [['bat2', 'failed', 'GW_ERR_DEVICE_REJECTED']],
      );
      assert.equal(compliance?.outcome, 'partial');
      assert.equal(l.outcomes.at(-1)?.outcome, 'partial');

      await l.feed('bat1', { activePower: 2000, stateOfCharge: 60 });
      l.clock.t += 1000;
      await l.tick();
      assert.equal(l.devices.get('bat1')?.last('fixedW'), 4000, 'bat1 takes the failing device share');
      const decision = l.engine.decisions().find((d) => d.key === 'group:g1|fixedW');
      assert.match(decision?.allocation?.excluded[0]?.reason ?? '', /offline/);
      const [after] = await l.engine.compliance();
      assert.equal(after?.targets[0]?.type, 'fixedW');
    });
  });

  test('an operator override wins over a utility event and expires', async () => {
    const { battery } = await pvBatterySite(l);
    await l.engine.submitEvent(
      l.event('e1', { intervals: [{ start: T0, durationS: 7200, signals: [{ kind: 'exportLimit', value: 1000 }] }] }),
    );
    await l.tick();
    assert.equal(battery.last('fixedW'), -3000);

    const override = await l.engine.operatorOverride(
      { scope: { kind: 'site', id: 's1' }, type: 'exportLimit', value: 5000, durationS: 600 },
      'alice',
    );
    await l.tick();
    const decision = l.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.equal(decision?.winner?.id, override.id);
    assert.equal(decision?.winner?.source, 'operator');
    assert.equal(decision?.losers[0]?.intent.id, 'e1');
    assert.equal(decision?.losers[0]?.code, 'lower-priority');
    // The baseline (5 kW) meets the 5 kW override: the engine's battery command is superseded.
    const batteryCommands = await l.store.commands.list({ deviceId: 'bat1' });
    assert.ok(batteryCommands.every((c) => c.status === 'superseded'));
    assert.equal(l.outcomes.at(-1)?.outcome, 'not-applied');
    assert.ok(
      (await l.store.audit.list({ targetType: 'control' })).some(
        (a) => a.action === 'control.override' && a.actor === 'alice',
      ),
    );

    l.clock.t += 601_000;
    // Fresh telemetry (the readings of T0 are stale by now): the site as it was before the event.
    await l.feed('m1', { activePower: 5000 });
    await l.feed('pv1', { activePower: 6000 });
    await l.feed('bat1', { activePower: 0, stateOfCharge: 50 });
    const writes = battery.applied.length;
    await l.tick();
    const after = l.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.equal(after?.winner?.id, 'e1');
    assert.equal(after?.losers.find((x) => x.intent.id === override.id)?.code, 'expired');
    assert.equal(battery.applied.length, writes + 1, 'the event is applied again');
    assert.equal(battery.last('fixedW'), -3000);
    assert.deepEqual(l.engine.overrides(), []);
  });

  test('an operator manual setpoint is not written over while it lasts', async () => {
    const { battery } = await pvBatterySite(l);
    await l.registry.submitSetpoint('bat1', { kind: 'fixedW', value: 500, durationS: 300 }, 'bob');
    await settle();
    await l.engine.submitEvent(
      l.event('e1', { intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1000 }] }] }),
    );
    await l.tick();
    // The battery holds the operator's 500 W discharge; the export limit is met by PV curtailment alone.
    assert.deepEqual(
      battery.applied.map((s) => s.value),
      [500],
    );
    assert.equal(l.devices.get('pv1')?.last('generationLimit'), 1500);
  });

  test('bad input is refused with stable codes', async () => {
    await pvBatterySite(l);
    await assert.rejects(
      l.engine.submitEvent({ ...l.event('bad', { intervals: [] }) }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
    await assert.rejects(
      l.engine.operatorOverride(
        { scope: { kind: 'site', id: 's1' }, type: 'exportLimit', value: Number.NaN, durationS: 60 },
        'x',
      ),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
    await assert.rejects(
      l.engine.operatorOverride(
        { scope: { kind: 'site', id: 's1' }, type: 'exportLimit', value: 1, durationS: 999_999 },
        'x',
      ),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
    await assert.rejects(
      l.engine.operatorOverride(
        { scope: { kind: 'site', id: 'nope' }, type: 'exportLimit', value: 1, durationS: 60 },
        'x',
      ),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_NOT_FOUND',
    );
    // A malformed message on the bus is dropped, never thrown.
    await l.bus.publish('program.event', { id: 42 } as never);
    const report = await l.tick();
    assert.equal(report.decisions, 0);
  });
});
