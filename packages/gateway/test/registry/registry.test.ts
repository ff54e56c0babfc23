import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type Command, GridseamError, type ProgramEvent } from '@gridseam/model';
import { sql } from 'kysely';
import { openBus } from '../../src/bus/index.ts';
import type { Bus, BusMessage, BusStats, Topic } from '../../src/bus/types.ts';
import { FleetRegistry } from '../../src/registry/index.ts';
import { openStore, storeInternals } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { battery, enrolment, event, group, program, pvInverter, site, T0 } from '../api/support.ts';

const ACTOR = 'alice';

function rejectsWith(code: string, check?: (error: GridseamError) => void) {
  return (error: unknown) => {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    check?.(error);
    return true;
  };
}

/** Collects bus messages; `settled(n)` resolves once n have arrived (the bus delivers asynchronously). */
function collector<T>() {
  const messages: Array<BusMessage<T>> = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    messages,
    handler: (message: BusMessage<T>) => {
      messages.push(message);
      for (const w of waiters) if (messages.length >= w.n) w.resolve();
    },
    settled: (n: number) =>
      new Promise<void>((resolve) => {
        if (messages.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

/** A bus that refuses every publish with the given error, as a bus cut off from NATS would. */
class RefusingBus implements Bus {
  readonly kind = 'nats';
  readonly attempts: Topic[] = [];
  constructor(private readonly error: Error) {}
  async publish(topic: Topic): Promise<void> {
    this.attempts.push(topic);
    throw this.error;
  }
  async subscribe() {
    return { close: async () => {} };
  }
  stats(): BusStats {
    return { published: 0, duplicates: 0, handled: 0, failed: 0, deadLettered: 0, malformed: 0, overflowed: 0 };
  }
  async close(): Promise<void> {}
}

function paths(error: GridseamError): string[] {
  return error.issues.map((i) => i.path);
}

describe('FleetRegistry', { timeout: 30_000 }, () => {
  let store: Store;
  let bus: Bus;
  let clock: number;
  let registry: FleetRegistry;
  let ids: number;

  beforeEach(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    bus = await openBus({ kind: 'memory' });
    clock = T0;
    ids = 0;
    registry = new FleetRegistry({ store, bus, now: () => clock, newId: () => `id-${++ids}` });
  });

  afterEach(async () => {
    await bus.close();
    await store.close();
  });

  it('appends one audit entry, with actor, action and target, for every write', async () => {
    await registry.createSite(site(), ACTOR);
    await registry.updateSite(site('site-1', { name: 'Renamed' }), ACTOR);
    await registry.createDevice(battery(), ACTOR);
    await registry.updateDevice(battery('bat-1', 'site-1', { name: 'Garage battery' }), ACTOR);
    await registry.createGroup(group(), ACTOR);
    await registry.createGroup(group('grp-2'), ACTOR);
    await registry.updateGroup(group('grp-1', { description: 'north' }), ACTOR);
    await registry.addMember('grp-1', { deviceId: 'bat-1' }, ACTOR);
    clock += 1000;
    await registry.endMember('grp-1', 'bat-1', {}, ACTOR);
    await registry.createProgram(program(), ACTOR);
    await registry.updateProgram(program('prog-1', { primacy: 5 }), ACTOR);
    await registry.createEvent(event(), ACTOR);
    await registry.updateEvent(event('evt-1', 'prog-1', { targets: { deviceIds: ['bat-1'] } }), ACTOR);
    await registry.setEventStatus('evt-1', { status: 'active' }, ACTOR);
    await registry.createEnrolment(enrolment(), ACTOR);
    await registry.updateEnrolment(enrolment('enr-1', { status: 'suspended' }), ACTOR);
    await registry.submitSetpoint('bat-1', { kind: 'chargeLimit', value: 2000, durationS: 300 }, ACTOR);
    await registry.deleteEnrolment('enr-1', ACTOR);
    await registry.deleteEvent('evt-1', ACTOR);
    await registry.deleteProgram('prog-1', ACTOR);
    await registry.deleteGroup('grp-2', ACTOR);

    const audit = await registry.listAudit({ limit: 1000 });
    assert.deepEqual(
      audit.map((e) => `${e.action} ${e.targetType}:${e.targetId}`),
      [
        'site.create site:site-1',
        'site.update site:site-1',
        'device.create device:bat-1',
        'device.update device:bat-1',
        'group.create group:grp-1',
        'group.create group:grp-2',
        'group.update group:grp-1',
        'membership.add group:grp-1',
        'membership.end group:grp-1',
        'program.create program:prog-1',
        'program.update program:prog-1',
        'event.create event:evt-1',
        'event.update event:evt-1',
        'event.status event:evt-1',
        'enrolment.create enrolment:enr-1',
        'enrolment.update enrolment:enr-1',
        'setpoint.create device:bat-1',
        'enrolment.delete enrolment:enr-1',
        'event.delete event:evt-1',
        'program.delete program:prog-1',
        'group.delete group:grp-2',
      ],
    );
    assert.ok(audit.every((e) => e.actor === ACTOR));
    const byAction = new Map(audit.map((e) => [e.action, e]));
    assert.deepEqual(byAction.get('site.update')?.detail, { changed: ['name'] });
    assert.deepEqual(byAction.get('membership.add')?.detail, { deviceId: 'bat-1', validFrom: T0 });
    assert.deepEqual(byAction.get('event.status')?.detail, { from: 'scheduled', to: 'active' });
    assert.equal(byAction.get('setpoint.create')?.detail?.commandId, 'id-2');
  });

  it('fills createdAt and updatedAt from its clock and keeps createdAt on update', async () => {
    const created = await registry.createSite(site('s', { createdAt: 5, updatedAt: 5 }), ACTOR);
    assert.equal(created.createdAt, T0);
    assert.equal(created.updatedAt, T0);
    clock = T0 + 60_000;
    const updated = await registry.updateSite(site('s', { name: 'Other', createdAt: 1 }), ACTOR);
    assert.equal(updated.createdAt, T0);
    assert.equal(updated.updatedAt, T0 + 60_000);
    assert.deepEqual(await registry.getSite('s'), updated);
  });

  it('rejects a device whose capabilities break the model, naming the path', async () => {
    await registry.createSite(site(), ACTOR);
    const bad = battery();
    bad.capabilities.storage = { capacityWh: 0, maxChargeW: 1000, maxDischargeW: 1000 };
    await assert.rejects(
      registry.createDevice(bad, ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/capabilities/storage/capacityWh'])),
    );
    const crossField = battery();
    crossField.capabilities.storage = {
      capacityWh: 1000,
      maxChargeW: 1000,
      maxDischargeW: 1000,
      socMinPct: 90,
      socMaxPct: 20,
    };
    await assert.rejects(
      registry.createDevice(crossField, ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/capabilities/storage/socMinPct'])),
    );
    assert.equal((await registry.listAudit()).filter((a) => a.action === 'device.create').length, 0);
  });

  it('requires the site of a device to exist and defaults enabled to true', async () => {
    const { enabled: _ignored, ...withoutEnabled } = battery();
    await assert.rejects(
      registry.createDevice(withoutEnabled, ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/siteId'])),
    );
    await registry.createSite(site(), ACTOR);
    const device = await registry.createDevice(withoutEnabled, ACTOR);
    assert.equal(device.enabled, true);
  });

  it('answers GW_ERR_NOT_FOUND for unknown ids and GW_ERR_CONFLICT for a duplicate id', async () => {
    await assert.rejects(registry.getDevice('nope'), rejectsWith('GW_ERR_NOT_FOUND'));
    await assert.rejects(registry.deleteSite('nope', ACTOR), rejectsWith('GW_ERR_NOT_FOUND'));
    await assert.rejects(registry.updateGroup(group('nope'), ACTOR), rejectsWith('GW_ERR_NOT_FOUND'));
    await registry.createSite(site(), ACTOR);
    await assert.rejects(registry.createSite(site(), ACTOR), rejectsWith('GW_ERR_CONFLICT'));
    // Failed writes leave no audit row: only the one successful create is logged.
    assert.deepEqual(
      (await registry.listAudit()).map((e) => `${e.action} ${e.targetId}`),
      ['site.create site-1'],
    );
  });

  it('commits a write and its audit row together: a refused audit insert undoes the write', async () => {
    await registry.createSite(site(), ACTOR);
    const { db } = storeInternals(store);
    await sql`CREATE TRIGGER audit_log_refuse_insert BEFORE INSERT ON audit_log
      BEGIN SELECT RAISE(ABORT, 'test: audit_log refuses inserts'); END`.execute(db);
    try {
      await assert.rejects(registry.createDevice(battery(), ACTOR), /audit_log refuses inserts/);
      await assert.rejects(
        registry.updateSite(site('site-1', { name: 'Renamed' }), ACTOR),
        /audit_log refuses inserts/,
      );
      await assert.rejects(registry.deleteSite('site-1', ACTOR), /audit_log refuses inserts/);
    } finally {
      await sql`DROP TRIGGER audit_log_refuse_insert`.execute(db);
    }
    await assert.rejects(registry.getDevice('bat-1'), rejectsWith('GW_ERR_NOT_FOUND'));
    assert.equal((await registry.getSite('site-1')).name, site().name);
    assert.deepEqual(
      (await registry.listAudit()).map((e) => e.action),
      ['site.create'],
    );
  });

  it('keeps membership over time and answers who was a member at an instant', async () => {
    await registry.createSite(site(), ACTOR);
    await registry.createDevice(battery('a'), ACTOR);
    await registry.createDevice(battery('b'), ACTOR);
    await registry.createGroup(group('agg', { kind: 'aggregation' }), ACTOR);

    await registry.addMember('agg', { deviceId: 'a', validFrom: T0 }, ACTOR);
    await registry.addMember('agg', { deviceId: 'b', validFrom: T0 + 10_000 }, ACTOR);
    await registry.endMember('agg', 'a', { validTo: T0 + 20_000 }, ACTOR);
    await registry.addMember('agg', { deviceId: 'a', validFrom: T0 + 30_000 }, ACTOR);

    assert.deepEqual(await registry.membersAt('agg', T0 - 1), []);
    assert.deepEqual(await registry.membersAt('agg', T0), ['a']);
    assert.deepEqual(await registry.membersAt('agg', T0 + 15_000), ['a', 'b']);
    // validTo is exclusive: at the end instant the device is no longer a member.
    assert.deepEqual(await registry.membersAt('agg', T0 + 20_000), ['b']);
    assert.deepEqual(await registry.membersAt('agg', T0 + 30_000), ['a', 'b']);

    const history = await registry.listMembers('agg');
    assert.equal(history.length, 3);
    const at25 = await registry.listMembers('agg', T0 + 25_000);
    assert.deepEqual(
      at25.map((m) => m.deviceId),
      ['b'],
    );

    // A second open membership of the same device is a conflict; ending one that is not open is not found.
    await assert.rejects(registry.addMember('agg', { deviceId: 'a' }, ACTOR), rejectsWith('GW_ERR_CONFLICT'));
    await registry.endMember('agg', 'a', { validTo: T0 + 40_000 }, ACTOR);
    await assert.rejects(registry.endMember('agg', 'a', {}, ACTOR), rejectsWith('GW_ERR_NOT_FOUND'));
    // An end before the start is refused with its path.
    await assert.rejects(
      registry.endMember('agg', 'b', { validTo: T0 }, ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/validTo'])),
    );
    await assert.rejects(
      registry.addMember('agg', { deviceId: 'ghost' }, ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/deviceId'])),
    );
  });

  it('defaults an event primacy from its program, publishes it, and enforces status transitions', async () => {
    const events = collector<ProgramEvent>();
    const published = events.messages;
    const subscription = await bus.subscribe('program.event', events.handler);
    await registry.createProgram(program('prog-1', { primacy: 42 }), ACTOR);
    await assert.rejects(
      registry.createEvent(event('e0', 'ghost'), ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/programId'])),
    );
    const created = await registry.createEvent(event(), ACTOR);
    assert.equal(created.primacy, 42);
    assert.equal(created.source, 'operator');
    assert.equal(created.status, 'scheduled');
    assert.deepEqual(created.statusHistory, [{ status: 'scheduled', at: T0 }]);
    const explicit = await registry.createEvent(event('e2', 'prog-1', { primacy: 3 }), ACTOR);
    assert.equal(explicit.primacy, 3);

    clock += 1000;
    const active = await registry.setEventStatus('evt-1', { status: 'active', reason: 'start' }, ACTOR);
    assert.equal(active.status, 'active');
    assert.deepEqual(
      active.statusHistory.map((h) => h.status),
      ['scheduled', 'active'],
    );
    await registry.setEventStatus('evt-1', { status: 'completed' }, ACTOR);
    await assert.rejects(
      registry.setEventStatus('evt-1', { status: 'active' }, ACTOR),
      rejectsWith('GW_ERR_INVALID_TRANSITION'),
    );
    // A replace cannot change the status behind the history's back.
    await assert.rejects(
      registry.updateEvent(event('evt-1', 'prog-1', { status: 'scheduled' }), ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/status'])),
    );
    await events.settled(4);
    await subscription.close();
    assert.deepEqual(
      published.map((m) => `${m.payload.id}:${m.payload.status}`),
      ['evt-1:scheduled', 'e2:scheduled', 'evt-1:active', 'evt-1:completed'],
    );
  });

  it('requires exactly one of deviceId and siteId on an enrolment, and existing references', async () => {
    await registry.createSite(site(), ACTOR);
    await registry.createDevice(battery(), ACTOR);
    await registry.createProgram(program(), ACTOR);
    await assert.rejects(
      registry.createEnrolment(enrolment('e1', { siteId: 'site-1' }), ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/deviceId'])),
    );
    const { deviceId: _none, ...neither } = enrolment('e2');
    await assert.rejects(
      registry.createEnrolment(neither, ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/deviceId'])),
    );
    await assert.rejects(
      registry.createEnrolment(enrolment('e3', { programId: 'ghost', deviceId: 'nobody' }), ACTOR),
      rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/programId', '/deviceId'])),
    );
    const bySite = await registry.createEnrolment({ ...neither, id: 'e4', siteId: 'site-1' }, ACTOR);
    assert.equal(bySite.siteId, 'site-1');
    assert.equal(bySite.createdAt, T0);
    // Enrolments have no foreign key on device or site: the registry keeps them from dangling.
    await registry.createEnrolment(enrolment('e5'), ACTOR);
    await assert.rejects(registry.deleteDevice('bat-1', ACTOR), rejectsWith('GW_ERR_CONFLICT'));
    await assert.rejects(registry.deleteSite('site-1', ACTOR), rejectsWith('GW_ERR_CONFLICT'));
    await registry.deleteEnrolment('e5', ACTOR);
    await registry.deleteDevice('bat-1', ACTOR);
    await assert.rejects(registry.getDevice('bat-1'), rejectsWith('GW_ERR_NOT_FOUND'));
  });

  describe('submitSetpoint', () => {
    beforeEach(async () => {
      await registry.createSite(site(), ACTOR);
      await registry.createDevice(battery(), ACTOR);
      await registry.createDevice(pvInverter(), ACTOR);
    });

    it('persists a pending command, audits it and publishes it on the command topic', async () => {
      const commands = collector<Command>();
      const received = commands.messages;
      const subscription = await bus.subscribe('command', commands.handler);
      const command = await registry.submitSetpoint(
        'bat-1',
        { kind: 'dischargeLimit', value: 1500, durationS: 900 },
        ACTOR,
      );
      assert.equal(command.status, 'pending');
      assert.deepEqual(command.setpoint.source, { kind: 'operator', ref: ACTOR });
      assert.equal(command.setpoint.start, T0);
      assert.equal(command.setpoint.expiry, T0 + 900_000);
      assert.deepEqual(await store.commands.get(command.id), command);
      await commands.settled(1);
      await subscription.close();
      assert.equal(received.length, 1);
      assert.equal(received[0]?.key, 'bat-1');
      assert.deepEqual(received[0]?.payload, command);
    });

    it('publishes commands of a device whose id has a dot under the device id as key', async () => {
      await registry.createDevice(battery('site1.bat.2'), ACTOR);
      const commands = collector<Command>();
      const received = commands.messages;
      const subscription = await bus.subscribe('command', commands.handler, { key: 'site1.bat.2' });
      const command = await registry.submitSetpoint(
        'site1.bat.2',
        { kind: 'fixedW', value: -500, durationS: 60 },
        ACTOR,
      );
      await commands.settled(1);
      await subscription.close();
      assert.equal(received[0]?.key, 'site1.bat.2');
      assert.deepEqual(
        received.map((m) => m.payload.deviceId),
        ['site1.bat.2'],
      );
      assert.equal(received[0]?.payload.id, command.id);
    });

    it('marks the command failed, audited, when the publish fails, and rethrows the bus error', async () => {
      const busError = new GridseamError('GW_ERR_BUS_UNAVAILABLE', 'NATS connection lost; reconnecting');
      const refusing = new RefusingBus(busError);
      const cutOff = new FleetRegistry({ store, bus: refusing, now: () => clock, newId: () => `id-${++ids}` });
      clock += 5000;
      await assert.rejects(
        cutOff.submitSetpoint('bat-1', { kind: 'chargeLimit', value: 2000, durationS: 300 }, ACTOR),
        (error: unknown) => {
          assert.equal(error, busError);
          return true;
        },
      );
      assert.deepEqual(refusing.attempts, ['command']);

      const [stored, ...others] = await store.commands.list({ deviceId: 'bat-1' });
      assert.equal(others.length, 0);
      assert.ok(stored);
      assert.equal(stored.status, 'failed');
      assert.deepEqual(stored.error, { code: 'GW_ERR_BUS_UNAVAILABLE', message: 'NATS connection lost; reconnecting' });
      assert.deepEqual(
        stored.history.map((h) => h.status),
        ['pending', 'failed'],
      );

      const audit = (await registry.listAudit({ from: clock })).map((e) => ({
        action: e.action,
        target: `${e.targetType}:${e.targetId}`,
        actor: e.actor,
        detail: e.detail,
      }));
      assert.equal(audit.length, 2);
      assert.equal(audit[0]?.action, 'setpoint.create');
      assert.equal(audit[0]?.target, 'device:bat-1');
      assert.equal(audit[0]?.detail?.commandId, stored.id);
      assert.deepEqual(audit[1], {
        action: 'command.transition',
        target: `command:${stored.id}`,
        actor: ACTOR,
        detail: {
          deviceId: 'bat-1',
          from: 'pending',
          to: 'failed',
          error: { code: 'GW_ERR_BUS_UNAVAILABLE', message: 'NATS connection lost; reconnecting' },
        },
      });
    });

    it('refuses a kind the device does not control, at /kind', async () => {
      await assert.rejects(
        registry.submitSetpoint('pv-1', { kind: 'chargeLimit', value: 100, durationS: 60 }, ACTOR),
        rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), ['/kind'])),
      );
      assert.deepEqual(await store.commands.list({ deviceId: 'pv-1' }), []);
    });

    it('requires exactly one of expiry and durationS, a future expiry and per-kind values', async () => {
      const cases: Array<[Parameters<FleetRegistry['submitSetpoint']>[1], string[]]> = [
        [{ kind: 'fixedW', value: 100 }, ['/expiry']],
        [{ kind: 'fixedW', value: 100, durationS: 60, expiry: T0 + 60_000 }, ['/expiry']],
        [{ kind: 'fixedW', value: 100, expiry: T0 - 1 }, ['/expiry']],
        [{ kind: 'targetSoc', value: 140, durationS: 60 }, ['/value']],
        [{ kind: 'chargeLimit', value: -5, durationS: 60 }, ['/value']],
        [{ kind: 'chargeLimit', value: Number.NaN, durationS: 60 }, ['/value']],
      ];
      for (const [request, expected] of cases) {
        await assert.rejects(
          registry.submitSetpoint('bat-1', request, ACTOR),
          rejectsWith('GW_ERR_VALIDATION', (e) => assert.deepEqual(paths(e), expected, JSON.stringify(request))),
        );
      }
      await assert.rejects(
        registry.submitSetpoint('ghost', { kind: 'fixedW', value: 1, durationS: 1 }, ACTOR),
        rejectsWith('GW_ERR_NOT_FOUND'),
      );
    });
  });
});
