import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command, Device, Enrolment, Group, Program, ProgramEvent, Reading, Site } from '@gridseam/model';
import { sql } from 'kysely';
import { storeInternals } from '../../src/store/index.ts';
import type { AuditDraft, Store } from '../../src/store/types.ts';
import { documentTests } from './documents.ts';

/**
 * The store contract suite: every implementation must pass it. `open` returns a fresh, empty,
 * NOT yet migrated store; `dispose` closes it and removes whatever it made.
 */
export interface StoreHarness {
  open(): Promise<Store>;
  dispose(store: Store): Promise<void>;
  /** A reason to skip every test (the database is not reachable), or false. */
  skip?: string | false;
}

export const site = (id: string, extra: Partial<Site> = {}): Site => ({ id, name: `Site ${id}`, ...extra });

export const device = (id: string, siteId: string, extra: Partial<Device> = {}): Device => ({
  id,
  siteId,
  class: 'battery',
  adapter: { kind: 'simulator', address: `sim://${id}` },
  capabilities: { controls: ['fixedW'], storage: { capacityWh: 10_000, maxChargeW: 5000, maxDischargeW: 5000 } },
  enabled: true,
  ...extra,
});

export const group = (id: string, kind: Group['kind'] = 'group'): Group => ({ id, name: `Group ${id}`, kind });

export const program = (id: string): Program => ({
  id,
  name: `Program ${id}`,
  kind: 'demand-response',
  source: 'openadr3',
  primacy: 10,
});

export const event = (
  id: string,
  programId: string,
  start: number,
  durationS: number,
  extra: Partial<ProgramEvent> = {},
) =>
  ({
    id,
    programId,
    source: 'openadr3',
    primacy: 10,
    intervals: [{ start, durationS, signals: [{ kind: 'exportLimit', value: 0, unit: 'W' }] }],
    targets: {},
    status: 'scheduled',
    statusHistory: [{ status: 'scheduled', at: start - 1000 }],
    createdAt: start - 1000,
    ...extra,
  }) satisfies ProgramEvent;

export const command = (id: string, deviceId: string, createdAt: number): Command => ({
  id,
  deviceId,
  setpoint: {
    id: `sp-${id}`,
    deviceId,
    kind: 'exportLimit',
    value: 1000,
    start: createdAt,
    expiry: createdAt + 60_000,
    source: { kind: 'operator', ref: 'alice' },
  },
  status: 'pending',
  attempts: 0,
  createdAt,
  updatedAt: createdAt,
  history: [{ status: 'pending', at: createdAt }],
});

const power = (deviceId: string, ts: number, value: number, extra: Partial<Reading> = {}): Reading =>
  ({ deviceId, ts, measurand: 'activePower', value, unit: 'W', ...extra }) as Reading;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, code, String(error));
    return true;
  });
}

const draft = (action: string, targetType: string, targetId: string, detail?: Record<string, unknown>): AuditDraft => ({
  at: 1000,
  actor: 'alice',
  action,
  targetType,
  targetId,
  ...(detail === undefined ? {} : { detail }),
});

/** The audit rows without their store-assigned seq, to compare with the drafts written. */
async function auditDrafts(store: Store): Promise<AuditDraft[]> {
  return (await store.audit.list({ limit: 1000 })).map(({ seq: _seq, ...entry }) => entry);
}

const REFUSAL = 'test: audit_log refuses inserts';

/**
 * Installs a trigger that makes every insert into audit_log fail, runs the body, and removes the
 * trigger again (also when the body fails), so a test can watch an audit insert fail for real.
 */
async function withAuditInsertsRefused(store: Store, body: () => Promise<void>): Promise<void> {
  const { db, dialect } = storeInternals(store);
  if (dialect === 'postgres') {
    await sql`CREATE FUNCTION audit_log_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'test: audit_log refuses inserts'; END $$`.execute(db);
    await sql`CREATE TRIGGER audit_log_refuse_insert BEFORE INSERT ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_insert()`.execute(db);
  } else {
    await sql`CREATE TRIGGER audit_log_refuse_insert BEFORE INSERT ON audit_log
      BEGIN SELECT RAISE(ABORT, 'test: audit_log refuses inserts'); END`.execute(db);
  }
  try {
    await body();
  } finally {
    if (dialect === 'postgres') {
      await sql`DROP TRIGGER audit_log_refuse_insert ON audit_log`.execute(db);
      await sql`DROP FUNCTION audit_log_refuse_insert()`.execute(db);
    } else {
      await sql`DROP TRIGGER audit_log_refuse_insert`.execute(db);
    }
  }
}

/** Registers the contract tests under `describe(label)`. */
export function storeContract(label: string, harness: StoreHarness): void {
  const skip = harness.skip ?? false;

  /** Runs a test body against a fresh migrated store and always disposes of it. */
  async function withStore(body: (store: Store) => Promise<void>): Promise<void> {
    const store = await harness.open();
    try {
      await store.migrate();
      await body(store);
    } finally {
      await harness.dispose(store);
    }
  }

  async function withDevices(body: (store: Store) => Promise<void>): Promise<void> {
    await withStore(async (store) => {
      await store.sites.create(site('s1'));
      await store.sites.create(site('s2'));
      await store.devices.create(device('d1', 's1'));
      await store.devices.create(device('d2', 's1', { class: 'pv-inverter' }));
      await store.devices.create(device('d3', 's2'));
      await body(store);
    });
  }

  describe(label, { skip }, () => {
    test('migrate applies every migration once and is idempotent', async () => {
      const store = await harness.open();
      try {
        const first = await store.migrate();
        assert.deepEqual(first, ['0001_entities', '0002_audit_log', '0003_telemetry', '0004_documents']);
        assert.deepEqual(await store.migrate(), []);
      } finally {
        await harness.dispose(store);
      }
    });

    describe('sites', () => {
      test('create, get, list, update, count, delete', () =>
        withStore(async (store) => {
          const created = await store.sites.create(site('b', { nmi: '4102345678', labels: { feeder: 'F1' } }));
          assert.deepEqual(created, site('b', { nmi: '4102345678', labels: { feeder: 'F1' } }));
          await store.sites.create(site('a'));
          assert.deepEqual(await store.sites.get('b'), site('b', { nmi: '4102345678', labels: { feeder: 'F1' } }));
          assert.equal(await store.sites.get('missing'), undefined);
          assert.deepEqual(
            (await store.sites.list()).map((s) => s.id),
            ['a', 'b'],
          );
          const renamed = { ...site('a'), name: 'Renamed', connection: { exportLimitW: 5000 } };
          assert.deepEqual(await store.sites.update(renamed), renamed);
          assert.deepEqual(await store.sites.get('a'), renamed);
          assert.equal(await store.sites.count(), 2);
          assert.equal(await store.sites.delete('a'), true);
          assert.equal(await store.sites.delete('a'), false);
          assert.equal(await store.sites.get('a'), undefined);
          assert.equal(await store.sites.count(), 1);
        }));

      test('a duplicate id is GW_ERR_CONFLICT; updating a missing one is GW_ERR_NOT_FOUND', () =>
        withStore(async (store) => {
          await store.sites.create(site('a'));
          await rejectsWith(store.sites.create({ ...site('a'), name: 'Other' }), 'GW_ERR_CONFLICT');
          assert.equal((await store.sites.get('a'))?.name, 'Site a');
          await rejectsWith(store.sites.update(site('nope')), 'GW_ERR_NOT_FOUND');
          assert.equal(await store.sites.get('nope'), undefined);
        }));

      test('pages: ordered by id, default limit 100, capped at 1000, offset', () =>
        withStore(async (store) => {
          const ids = Array.from({ length: 1005 }, (_, i) => `site-${String(i).padStart(4, '0')}`);
          // Insert out of order so ordering comes from the store, not insertion.
          for (const id of [...ids].reverse()) await store.sites.create(site(id));
          const firstPage = await store.sites.list();
          assert.equal(firstPage.length, 100);
          assert.deepEqual(
            firstPage.map((s) => s.id),
            ids.slice(0, 100),
          );
          assert.equal((await store.sites.list({ limit: 5000 })).length, 1000);
          assert.deepEqual(
            (await store.sites.list({ limit: 3, offset: 1002 })).map((s) => s.id),
            ids.slice(1002),
          );
          assert.equal(await store.sites.count({ limit: 1 }), 1005);
        }));
    });

    describe('devices', () => {
      test('filters by site and class; count follows the filter', () =>
        withDevices(async (store) => {
          assert.deepEqual(
            (await store.devices.list({ siteId: 's1' })).map((d) => d.id),
            ['d1', 'd2'],
          );
          assert.deepEqual(
            (await store.devices.list({ class: 'battery' })).map((d) => d.id),
            ['d1', 'd3'],
          );
          assert.deepEqual(
            (await store.devices.list({ siteId: 's1', class: 'battery' })).map((d) => d.id),
            ['d1'],
          );
          assert.equal(await store.devices.count({ siteId: 's1' }), 2);
          assert.equal(await store.devices.count({ class: 'meter' }), 0);
          assert.deepEqual(await store.devices.get('d1'), device('d1', 's1'));
        }));

      test('update moves the indexed columns with the document', () =>
        withDevices(async (store) => {
          await store.devices.update(device('d1', 's2', { class: 'meter', enabled: false }));
          assert.deepEqual(
            (await store.devices.list({ siteId: 's2' })).map((d) => d.id),
            ['d1', 'd3'],
          );
          assert.deepEqual(
            (await store.devices.list({ class: 'meter' })).map((d) => d.id),
            ['d1'],
          );
          assert.equal((await store.devices.get('d1'))?.enabled, false);
        }));

      test('foreign keys: a missing site, or deleting a site with devices, is GW_ERR_CONFLICT', () =>
        withDevices(async (store) => {
          await rejectsWith(store.devices.create(device('d9', 'no-such-site')), 'GW_ERR_CONFLICT');
          assert.equal(await store.devices.get('d9'), undefined);
          await rejectsWith(store.devices.update(device('d1', 'no-such-site')), 'GW_ERR_CONFLICT');
          assert.equal((await store.devices.get('d1'))?.siteId, 's1');
          await rejectsWith(store.sites.delete('s1'), 'GW_ERR_CONFLICT');
          assert.ok(await store.sites.get('s1'));
          assert.equal(await store.devices.delete('d3'), true);
          assert.equal(await store.sites.delete('s2'), true);
        }));
    });

    describe('groups and memberships', () => {
      test('groups: CRUD and the kind filter', () =>
        withStore(async (store) => {
          await store.groups.create(group('g1'));
          await store.groups.create(group('agg', 'aggregation'));
          assert.deepEqual(
            (await store.groups.list({ kind: 'aggregation' })).map((g) => g.id),
            ['agg'],
          );
          await store.groups.update({ ...group('g1', 'aggregation'), market: { iso: 'CAISO' } });
          assert.equal(await store.groups.count({ kind: 'aggregation' }), 2);
          assert.deepEqual((await store.groups.get('g1'))?.market, { iso: 'CAISO' });
          await rejectsWith(store.groups.create(group('g1')), 'GW_ERR_CONFLICT');
          assert.equal(await store.groups.delete('g1'), true);
        }));

      test('membership over time: add, end, re-add, membersAt at the boundaries', () =>
        withDevices(async (store) => {
          await store.groups.create(group('g'));
          assert.deepEqual(await store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 1000 }), {
            groupId: 'g',
            deviceId: 'd1',
            validFrom: 1000,
          });
          await store.memberships.add({ groupId: 'g', deviceId: 'd2', validFrom: 2000 });
          assert.deepEqual(await store.memberships.end('g', 'd1', 3000), {
            groupId: 'g',
            deviceId: 'd1',
            validFrom: 1000,
            validTo: 3000,
          });
          await store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 5000 });

          assert.deepEqual(await store.memberships.membersAt('g', 999), []);
          assert.deepEqual(await store.memberships.membersAt('g', 1000), ['d1']); // validFrom inclusive
          assert.deepEqual(await store.memberships.membersAt('g', 2500), ['d1', 'd2']);
          assert.deepEqual(await store.memberships.membersAt('g', 3000), ['d2']); // validTo exclusive
          assert.deepEqual(await store.memberships.membersAt('g', 6000), ['d1', 'd2']);
          assert.deepEqual(await store.memberships.membersAt('other', 6000), []);

          assert.deepEqual(await store.memberships.list({ groupId: 'g' }), [
            { groupId: 'g', deviceId: 'd1', validFrom: 1000, validTo: 3000 },
            { groupId: 'g', deviceId: 'd2', validFrom: 2000 },
            { groupId: 'g', deviceId: 'd1', validFrom: 5000 },
          ]);
          assert.deepEqual(await store.memberships.list({ deviceId: 'd2' }), [
            { groupId: 'g', deviceId: 'd2', validFrom: 2000 },
          ]);
        }));

      test('a second open membership is GW_ERR_CONFLICT; ending none is GW_ERR_NOT_FOUND', () =>
        withDevices(async (store) => {
          await store.groups.create(group('g'));
          await store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 1000 });
          await rejectsWith(
            store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 2000 }),
            'GW_ERR_CONFLICT',
          );
          await rejectsWith(store.memberships.end('g', 'd2', 2000), 'GW_ERR_NOT_FOUND');
          await store.memberships.end('g', 'd1', 2000);
          await rejectsWith(store.memberships.end('g', 'd1', 3000), 'GW_ERR_NOT_FOUND');
          assert.equal((await store.memberships.list({ groupId: 'g' })).length, 1);
        }));

      test('membership foreign keys: a missing group or device is GW_ERR_CONFLICT', () =>
        withDevices(async (store) => {
          await store.groups.create(group('g'));
          await rejectsWith(
            store.memberships.add({ groupId: 'nope', deviceId: 'd1', validFrom: 0 }),
            'GW_ERR_CONFLICT',
          );
          await rejectsWith(store.memberships.add({ groupId: 'g', deviceId: 'nope', validFrom: 0 }), 'GW_ERR_CONFLICT');
          await store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 0 });
          await rejectsWith(store.groups.delete('g'), 'GW_ERR_CONFLICT');
          assert.deepEqual(await store.memberships.membersAt('g', 1), ['d1']);
        }));

      test('ending before the start is GW_ERR_VALIDATION', () =>
        withDevices(async (store) => {
          await store.groups.create(group('g'));
          await store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 5000 });
          await rejectsWith(store.memberships.end('g', 'd1', 4000), 'GW_ERR_VALIDATION');
          assert.deepEqual(await store.memberships.membersAt('g', 6000), ['d1']);
        }));
    });

    describe('programs, events, enrolments', () => {
      test('programs: CRUD', () =>
        withStore(async (store) => {
          await store.programs.create(program('p2'));
          await store.programs.create(program('p1'));
          assert.deepEqual(
            (await store.programs.list()).map((p) => p.id),
            ['p1', 'p2'],
          );
          await store.programs.update({ ...program('p1'), primacy: 1 });
          assert.equal((await store.programs.get('p1'))?.primacy, 1);
          assert.equal(await store.programs.count(), 2);
          await rejectsWith(store.programs.update(program('p3')), 'GW_ERR_NOT_FOUND');
          assert.equal(await store.programs.delete('p2'), true);
        }));

      test('events: external ids, filters by program, status and overlapping span', () =>
        withStore(async (store) => {
          await store.programs.create(program('p1'));
          await store.programs.create(program('p2'));
          // e1 spans [10000, 70000), e2 [100000, 160000), e3 [50000, 110000).
          await store.events.create(event('e1', 'p1', 10_000, 60, { externalId: 'mrid-1' }));
          await store.events.create(event('e2', 'p1', 100_000, 60, { status: 'active' }));
          await store.events.create(event('e3', 'p2', 50_000, 60, { externalId: 'mrid-1', source: 'ieee2030.5' }));

          assert.equal((await store.events.getByExternalId('openadr3', 'mrid-1'))?.id, 'e1');
          assert.equal((await store.events.getByExternalId('ieee2030.5', 'mrid-1'))?.id, 'e3');
          assert.equal(await store.events.getByExternalId('openadr3', 'nope'), undefined);
          await rejectsWith(store.events.create(event('e4', 'p1', 0, 60, { externalId: 'mrid-1' })), 'GW_ERR_CONFLICT');

          const ids = async (filter: Parameters<Store['events']['list']>[0]) =>
            (await store.events.list(filter)).map((e) => e.id);
          assert.deepEqual(await ids({}), ['e1', 'e3', 'e2']); // by start
          assert.deepEqual(await ids({ programId: 'p1' }), ['e1', 'e2']);
          assert.deepEqual(await ids({ status: 'active' }), ['e2']);
          assert.deepEqual(await ids({ from: 70_000, to: 100_000 }), ['e3']); // ends exclusive
          assert.deepEqual(await ids({ from: 69_999, to: 100_001 }), ['e1', 'e3', 'e2']);
          assert.deepEqual(await ids({ from: 160_000 }), []);
          assert.deepEqual(await ids({ to: 10_000 }), []);
          assert.equal(await store.events.count({ programId: 'p1', from: 0, to: 20_000 }), 1);

          await store.events.update(event('e1', 'p1', 200_000, 60, { externalId: 'mrid-1' }));
          assert.deepEqual(await ids({ from: 200_000, to: 200_001 }), ['e1']);
        }));

      test('events: setStatus appends history in one write; foreign key; not found', () =>
        withStore(async (store) => {
          await store.programs.create(program('p1'));
          await rejectsWith(store.events.create(event('e1', 'nope', 10_000, 60)), 'GW_ERR_CONFLICT');
          await store.events.create(event('e1', 'p1', 10_000, 60));
          const active = await store.events.setStatus('e1', 'active', 10_000);
          const cancelled = await store.events.setStatus('e1', 'cancelled', 20_000, 'utility cancelled');
          assert.equal(active.status, 'active');
          assert.deepEqual(cancelled.statusHistory, [
            { status: 'scheduled', at: 9000 },
            { status: 'active', at: 10_000 },
            { status: 'cancelled', at: 20_000, reason: 'utility cancelled' },
          ]);
          assert.deepEqual(await store.events.get('e1'), cancelled);
          assert.deepEqual(
            (await store.events.list({ status: 'cancelled' })).map((e) => e.id),
            ['e1'],
          );
          await rejectsWith(store.events.setStatus('nope', 'active', 1), 'GW_ERR_NOT_FOUND');
          await rejectsWith(store.programs.delete('p1'), 'GW_ERR_CONFLICT');
        }));

      test('enrolments: filters by program, device and site; foreign key to program', () =>
        withStore(async (store) => {
          await store.programs.create(program('p1'));
          await store.programs.create(program('p2'));
          const base = { validFrom: 0, status: 'active' as const };
          const enrolments: Enrolment[] = [
            { id: 'en1', programId: 'p1', deviceId: 'd1', ...base },
            { id: 'en2', programId: 'p1', siteId: 's1', ...base },
            { id: 'en3', programId: 'p2', deviceId: 'd1', ...base, reserve: { socReservePct: 20 } },
          ];
          for (const e of enrolments) await store.enrolments.create(e);
          await rejectsWith(store.enrolments.create({ id: 'en4', programId: 'nope', ...base }), 'GW_ERR_CONFLICT');
          const ids = async (filter: Parameters<Store['enrolments']['list']>[0]) =>
            (await store.enrolments.list(filter)).map((e) => e.id);
          assert.deepEqual(await ids({ programId: 'p1' }), ['en1', 'en2']);
          assert.deepEqual(await ids({ deviceId: 'd1' }), ['en1', 'en3']);
          assert.deepEqual(await ids({ siteId: 's1' }), ['en2']);
          assert.deepEqual(await store.enrolments.get('en3'), enrolments[2]);
          await store.enrolments.update({ ...(enrolments[0] as Enrolment), status: 'ended', validTo: 5000 });
          assert.equal((await store.enrolments.get('en1'))?.status, 'ended');
          assert.equal(await store.enrolments.count({ programId: 'p2' }), 1);
          assert.equal(await store.enrolments.delete('en1'), true);
        }));
    });

    describe('commands', () => {
      test('create, get, list by device and status in creation order; foreign key to device', () =>
        withDevices(async (store) => {
          await store.commands.create(command('c-b', 'd1', 2000));
          await store.commands.create(command('c-a', 'd1', 3000));
          await store.commands.create(command('c-c', 'd2', 1000));
          await rejectsWith(store.commands.create(command('c-x', 'nope', 1000)), 'GW_ERR_CONFLICT');
          await rejectsWith(store.commands.create(command('c-a', 'd1', 1000)), 'GW_ERR_CONFLICT');
          assert.deepEqual(await store.commands.get('c-a'), command('c-a', 'd1', 3000));
          assert.equal(await store.commands.get('nope'), undefined);
          assert.deepEqual(
            (await store.commands.list()).map((c) => c.id),
            ['c-c', 'c-b', 'c-a'],
          );
          assert.deepEqual(
            (await store.commands.list({ deviceId: 'd1' })).map((c) => c.id),
            ['c-b', 'c-a'],
          );
          await store.commands.transition('c-b', 'sent', 2500);
          assert.deepEqual(
            (await store.commands.list({ status: 'pending' })).map((c) => c.id),
            ['c-c', 'c-a'],
          );
          assert.deepEqual(
            (await store.commands.list({ deviceId: 'd1', status: 'sent', limit: 10 })).map((c) => c.id),
            ['c-b'],
          );
        }));

      test('allowed transitions append history and apply the patch', () =>
        withDevices(async (store) => {
          await store.commands.create(command('c1', 'd1', 1000));
          await store.commands.transition('c1', 'sent', 1100, 'written', { attempts: 1 });
          await store.commands.transition('c1', 'sent', 1200, 'retry', { attempts: 2 });
          const confirmed = await store.commands.transition('c1', 'confirmed', 1300, undefined, {
            readBack: { at: 1290, value: 1000, matched: true },
          });
          assert.equal(confirmed.status, 'confirmed');
          assert.equal(confirmed.attempts, 2);
          assert.equal(confirmed.updatedAt, 1300);
          assert.deepEqual(confirmed.readBack, { at: 1290, value: 1000, matched: true });
          assert.deepEqual(confirmed.history, [
            { status: 'pending', at: 1000 },
            { status: 'sent', at: 1100, detail: 'written' },
            { status: 'sent', at: 1200, detail: 'retry' },
            { status: 'confirmed', at: 1300 },
          ]);
          assert.deepEqual(await store.commands.get('c1'), confirmed);
          const superseded = await store.commands.transition('c1', 'superseded', 1400);
          assert.equal(superseded.status, 'superseded');

          await store.commands.create(command('c2', 'd1', 1000));
          const failed = await store.commands.transition('c2', 'failed', 1100, 'timeout', {
            error: { code: 'DEVICE_TIMEOUT', message: 'no answer' },
          });
          assert.deepEqual(failed.error, { code: 'DEVICE_TIMEOUT', message: 'no answer' });
        }));

      test('refused transitions are GW_ERR_INVALID_TRANSITION and change nothing; missing is GW_ERR_NOT_FOUND', () =>
        withDevices(async (store) => {
          await store.commands.create(command('c1', 'd1', 1000));
          await rejectsWith(store.commands.transition('c1', 'confirmed', 1100), 'GW_ERR_INVALID_TRANSITION');
          await rejectsWith(store.commands.transition('c1', 'pending', 1100), 'GW_ERR_INVALID_TRANSITION');
          assert.deepEqual(await store.commands.get('c1'), command('c1', 'd1', 1000));
          await store.commands.transition('c1', 'failed', 1200);
          for (const status of ['pending', 'sent', 'confirmed', 'expired', 'superseded', 'failed'] as const)
            await rejectsWith(store.commands.transition('c1', status, 1300), 'GW_ERR_INVALID_TRANSITION');
          assert.equal((await store.commands.get('c1'))?.history.length, 2);
          await rejectsWith(store.commands.transition('nope', 'sent', 1), 'GW_ERR_NOT_FOUND');
        }));

      test('concurrent transitions of one command: exactly one of two refused moves wins', () =>
        withDevices(async (store) => {
          await store.commands.create(command('c1', 'd1', 1000));
          await store.commands.transition('c1', 'sent', 1100);
          const results = await Promise.allSettled([
            store.commands.transition('c1', 'confirmed', 1200),
            store.commands.transition('c1', 'failed', 1200),
          ]);
          // Both moves are allowed from sent, but neither from the other's result (confirmed ->
          // failed, failed -> confirmed): a second success would be a lost update.
          const fulfilled = results.filter((r) => r.status === 'fulfilled');
          const rejected = results.filter((r) => r.status === 'rejected');
          assert.equal(fulfilled.length, 1);
          assert.equal((rejected[0] as PromiseRejectedResult).reason.code, 'GW_ERR_INVALID_TRANSITION');
          assert.equal((await store.commands.get('c1'))?.history.length, 3);
        }));

      test('createMany writes every command and its audit rows in one go, or nothing', () =>
        withDevices(async (store) => {
          assert.deepEqual(await store.commands.createMany([]), []);
          // More than one multi-row statement's worth (500 rows), across two devices.
          const many = Array.from({ length: 1203 }, (_, i) =>
            command(`m-${String(i).padStart(4, '0')}`, i % 2 ? 'd1' : 'd2', 1000 + i),
          );
          const drafts = many.map((c) => draft('setpoint.create', 'device', c.deviceId, { commandId: c.id }));
          assert.deepEqual(await store.commands.createMany(many, drafts), many);
          assert.deepEqual(await store.commands.get('m-0600'), many[600]);
          assert.equal((await store.commands.list({ deviceId: 'd1', limit: 1000 })).length, 601);
          assert.deepEqual(
            (await store.audit.list({ limit: 1000, offset: 1000 })).map((e) => e.detail),
            drafts.slice(1000).map((d) => d.detail),
          );

          // A duplicate id (here the last of a batch) or a missing device: GW_ERR_CONFLICT, nothing written.
          const before = (await store.audit.list({ limit: 1000, offset: 1000 })).length;
          await rejectsWith(
            store.commands.createMany(
              [command('n1', 'd1', 5000), command('m-0001', 'd1', 5000)],
              [draft('setpoint.create', 'device', 'd1'), draft('setpoint.create', 'device', 'd1')],
            ),
            'GW_ERR_CONFLICT',
          );
          await rejectsWith(
            store.commands.createMany([command('n2', 'd1', 5000), command('n3', 'nope', 5000)]),
            'GW_ERR_CONFLICT',
          );
          assert.equal(await store.commands.get('n1'), undefined);
          assert.equal(await store.commands.get('n2'), undefined);
          assert.equal((await store.audit.list({ limit: 1000, offset: 1000 })).length, before);
        }));

      test('getMany returns the commands that exist, in the order asked, each once', () =>
        withDevices(async (store) => {
          await store.commands.createMany([command('c1', 'd1', 1000), command('c2', 'd2', 1000)]);
          assert.deepEqual(await store.commands.getMany([]), []);
          assert.deepEqual(
            (await store.commands.getMany(['c2', 'nope', 'c1', 'c2'])).map((c) => c.id),
            ['c2', 'c1'],
          );
          const ids = Array.from({ length: 1100 }, (_, i) => (i === 777 ? 'c1' : `missing-${i}`));
          assert.deepEqual(await store.commands.getMany(ids), [command('c1', 'd1', 1000)]);
        }));

      test('transitionMany checks each move as transition does; refused ones change and audit nothing', () =>
        withDevices(async (store) => {
          await store.commands.createMany([
            command('c1', 'd1', 1000),
            command('c2', 'd1', 1000),
            command('c3', 'd2', 1000),
          ]);
          const results = await store.commands.transitionMany([
            {
              id: 'c1',
              status: 'sent',
              at: 1100,
              detail: 'attempt 1',
              patch: { attempts: 1 },
              audit: draft('command.transition', 'command', 'c1', { to: 'sent' }),
            },
            // Refused: pending -> confirmed.
            {
              id: 'c2',
              status: 'confirmed',
              at: 1100,
              audit: draft('command.transition', 'command', 'c2', { to: 'confirmed' }),
            },
            { id: 'nope', status: 'sent', at: 1100, audit: draft('command.transition', 'command', 'nope') },
            // A second move of c1 applies after the first one.
            {
              id: 'c1',
              status: 'confirmed',
              at: 1200,
              patch: { readBack: { at: 1190, value: 1000, matched: true } },
              audit: draft('command.transition', 'command', 'c1', { to: 'confirmed' }),
            },
            { id: 'c3', status: 'failed', at: 1300, detail: 'timeout', patch: { error: { code: 'X', message: 'y' } } },
          ]);
          assert.deepEqual(
            results.map((r) => (r.ok ? r.command.status : r.error.code)),
            ['sent', 'GW_ERR_INVALID_TRANSITION', 'GW_ERR_NOT_FOUND', 'confirmed', 'failed'],
          );
          const c1 = await store.commands.get('c1');
          assert.deepEqual(c1, results[3]?.ok ? results[3].command : undefined);
          assert.equal(c1?.attempts, 1);
          assert.equal(c1?.updatedAt, 1200);
          assert.deepEqual(c1?.readBack, { at: 1190, value: 1000, matched: true });
          assert.deepEqual(c1?.history, [
            { status: 'pending', at: 1000 },
            { status: 'sent', at: 1100, detail: 'attempt 1' },
            { status: 'confirmed', at: 1200 },
          ]);
          assert.deepEqual(await store.commands.get('c2'), command('c2', 'd1', 1000));
          assert.deepEqual((await store.commands.get('c3'))?.error, { code: 'X', message: 'y' });
          assert.deepEqual(
            (await store.commands.list({ status: 'confirmed' })).map((c) => c.id),
            ['c1'],
          );
          assert.deepEqual(await auditDrafts(store), [
            draft('command.transition', 'command', 'c1', { to: 'sent' }),
            draft('command.transition', 'command', 'c1', { to: 'confirmed' }),
          ]);
          assert.deepEqual(await store.commands.transitionMany([]), []);
        }));

      test('transitionMany whose audit insert fails commits none of its moves', () =>
        withDevices(async (store) => {
          await store.commands.createMany([command('c1', 'd1', 1000), command('c2', 'd1', 1000)]);
          await withAuditInsertsRefused(store, async () => {
            await assert.rejects(
              store.commands.transitionMany([
                { id: 'c1', status: 'sent', at: 1100 },
                { id: 'c2', status: 'sent', at: 1100, audit: draft('command.transition', 'command', 'c2') },
              ]),
              new RegExp(REFUSAL),
            );
            await assert.rejects(
              store.commands.createMany([command('c3', 'd1', 1000)], [draft('setpoint.create', 'device', 'd1')]),
              new RegExp(REFUSAL),
            );
          });
          assert.deepEqual(await store.commands.get('c1'), command('c1', 'd1', 1000));
          assert.deepEqual(await store.commands.get('c2'), command('c2', 'd1', 1000));
          assert.equal(await store.commands.get('c3'), undefined);
          assert.deepEqual(await store.audit.list(), []);
        }));

      test('concurrent transitionMany and transition of one command: exactly one of two refused moves wins', () =>
        withDevices(async (store) => {
          await store.commands.createMany([command('c1', 'd1', 1000), command('c2', 'd2', 1000)]);
          await store.commands.transitionMany([
            { id: 'c1', status: 'sent', at: 1100 },
            { id: 'c2', status: 'sent', at: 1100 },
          ]);
          const [batch, single] = await Promise.all([
            store.commands.transitionMany([
              { id: 'c2', status: 'confirmed', at: 1200 },
              { id: 'c1', status: 'confirmed', at: 1200 },
            ]),
            store.commands.transition('c1', 'failed', 1200).then(
              (c) => c.status,
              (error: { code?: string }) => error.code,
            ),
          ]);
          const c1 = batch[1];
          assert.ok(c1);
          // Both are allowed from sent, neither from the other's result: one wins, the other is refused.
          assert.equal(
            [c1.ok, single === 'failed'].filter(Boolean).length,
            1,
            `batch ${JSON.stringify(c1)}, single ${String(single)}`,
          );
          if (!c1.ok) assert.equal(c1.error.code, 'GW_ERR_INVALID_TRANSITION');
          else assert.equal(single, 'GW_ERR_INVALID_TRANSITION');
          assert.equal(batch[0]?.ok, true);
          assert.equal((await store.commands.get('c1'))?.history.length, 3);
        }));
    });

    documentTests(withStore);

    describe('audit log', () => {
      test('append assigns increasing seq; list filters and pages', () =>
        withStore(async (store) => {
          const a = await store.audit.append({
            at: 1000,
            actor: 'alice',
            action: 'site.create',
            targetType: 'site',
            targetId: 's1',
          });
          const b = await store.audit.append({
            at: 2000,
            actor: 'system',
            action: 'command.transition',
            targetType: 'command',
            targetId: 'c1',
            detail: { from: 'pending', to: 'sent', nested: { n: 0 } },
          });
          const c = await store.audit.append({
            at: 3000,
            actor: 'alice',
            action: 'config.reload',
            targetType: 'config',
          });
          assert.ok(a.seq < b.seq && b.seq < c.seq);
          assert.deepEqual(c, { seq: c.seq, at: 3000, actor: 'alice', action: 'config.reload', targetType: 'config' });
          assert.deepEqual(await store.audit.list(), [a, b, c]);
          assert.deepEqual(await store.audit.list({ actor: 'alice' }), [a, c]);
          assert.deepEqual(await store.audit.list({ from: 2000, to: 3000 }), [b]);
          assert.deepEqual(await store.audit.list({ targetType: 'command', targetId: 'c1' }), [b]);
          assert.deepEqual(await store.audit.list({ limit: 1, offset: 1 }), [b]);
        }));

      test('the database refuses UPDATE and DELETE on the audit log', () =>
        withStore(async (store) => {
          const entry = await store.audit.append({
            at: 1000,
            actor: 'alice',
            action: 'site.create',
            targetType: 'site',
          });
          const { db } = storeInternals(store);
          await assert.rejects(sql`UPDATE audit_log SET actor = 'mallory'`.execute(db), /append-only/);
          await assert.rejects(sql`DELETE FROM audit_log`.execute(db), /append-only/);
          assert.deepEqual(await store.audit.list(), [entry]);
        }));
    });

    describe('audited writes', () => {
      test('a write given an audit draft commits the write and its audit row', () =>
        withDevices(async (store) => {
          await store.programs.create(program('p1'));
          await store.events.create(event('e1', 'p1', 10_000, 60));
          await store.groups.create(group('g'));
          const written: AuditDraft[] = [];
          const audited = (d: AuditDraft) => {
            written.push(d);
            return d;
          };

          assert.deepEqual(
            await store.sites.create(site('s9'), audited(draft('site.create', 'site', 's9'))),
            site('s9'),
          );
          const renamed = { ...site('s9'), name: 'Renamed' };
          await store.sites.update(renamed, audited(draft('site.update', 'site', 's9', { changed: ['name'] })));
          assert.deepEqual(await store.sites.get('s9'), renamed);
          assert.equal(await store.sites.delete('s9', audited(draft('site.delete', 'site', 's9'))), true);
          assert.equal(await store.sites.get('s9'), undefined);
          await store.memberships.add(
            { groupId: 'g', deviceId: 'd1', validFrom: 1000 },
            audited(draft('membership.add', 'group', 'g', { deviceId: 'd1' })),
          );
          await store.memberships.end('g', 'd1', 2000, audited(draft('membership.end', 'group', 'g')));
          assert.deepEqual(await store.memberships.list({ groupId: 'g' }), [
            { groupId: 'g', deviceId: 'd1', validFrom: 1000, validTo: 2000 },
          ]);
          await store.events.setStatus(
            'e1',
            'active',
            10_000,
            undefined,
            audited(draft('event.status', 'event', 'e1')),
          );
          assert.equal((await store.events.get('e1'))?.status, 'active');
          await store.commands.create(command('c1', 'd1', 1000), audited(draft('setpoint.create', 'device', 'd1')));
          await store.commands.transition(
            'c1',
            'failed',
            1100,
            'publish failed',
            { error: { code: 'GW_ERR_BUS_UNAVAILABLE', message: 'down' } },
            audited(draft('command.transition', 'command', 'c1', { to: 'failed' })),
          );
          assert.equal((await store.commands.get('c1'))?.status, 'failed');

          assert.deepEqual(await auditDrafts(store), written);
          const seqs = (await store.audit.list()).map((e) => e.seq);
          assert.deepEqual(
            seqs,
            [...seqs].sort((a, b) => a - b),
          );
          // A delete that finds nothing is no write: it appends no row.
          assert.equal(await store.sites.delete('s9', draft('site.delete', 'site', 's9')), false);
          assert.equal((await store.audit.list()).length, written.length);
        }));

      test('a write that fails appends no audit row', () =>
        withDevices(async (store) => {
          await store.programs.create(program('p1'));
          await store.groups.create(group('g'));
          await store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 1000 });
          await store.commands.create(command('c1', 'd1', 1000));
          const d = (action: string) => draft(action, 'x', 'y');

          await rejectsWith(store.sites.create(site('s1'), d('site.create duplicate')), 'GW_ERR_CONFLICT');
          await rejectsWith(store.devices.create(device('d9', 'nope'), d('device.create no site')), 'GW_ERR_CONFLICT');
          await rejectsWith(store.sites.update(site('nope'), d('site.update missing')), 'GW_ERR_NOT_FOUND');
          await rejectsWith(store.sites.delete('s1', d('site.delete referenced')), 'GW_ERR_CONFLICT');
          await rejectsWith(
            store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 2000 }, d('membership.add open')),
            'GW_ERR_CONFLICT',
          );
          await rejectsWith(store.memberships.end('g', 'd2', 2000, d('membership.end none')), 'GW_ERR_NOT_FOUND');
          await rejectsWith(
            store.events.setStatus('nope', 'active', 1, undefined, d('event.status')),
            'GW_ERR_NOT_FOUND',
          );
          await rejectsWith(
            store.commands.create(command('c1', 'd1', 1000), d('setpoint.create duplicate')),
            'GW_ERR_CONFLICT',
          );
          await rejectsWith(
            store.commands.transition('c1', 'confirmed', 1100, undefined, undefined, d('command.transition refused')),
            'GW_ERR_INVALID_TRANSITION',
          );
          assert.equal(await store.sites.delete('nope', d('site.delete missing')), false);

          assert.deepEqual(await store.audit.list(), []);
          assert.ok(await store.sites.get('s1'));
          assert.deepEqual(await store.commands.get('c1'), command('c1', 'd1', 1000));
        }));

      test('an audit insert that fails rolls the write back', () =>
        withDevices(async (store) => {
          await store.programs.create(program('p1'));
          await store.events.create(event('e1', 'p1', 10_000, 60));
          await store.groups.create(group('g'));
          await store.memberships.add({ groupId: 'g', deviceId: 'd1', validFrom: 1000 });
          await store.commands.create(command('c1', 'd1', 1000));
          const refused = async (write: Promise<unknown>) =>
            assert.rejects(write, (error: unknown) => {
              assert.match(String((error as Error).message), new RegExp(REFUSAL));
              return true;
            });
          const d = (action: string) => draft(action, 'x', 'y');

          await withAuditInsertsRefused(store, async () => {
            await refused(store.sites.create(site('s9'), d('site.create')));
            await refused(store.devices.update(device('d1', 's2', { class: 'meter' }), d('device.update')));
            await refused(store.devices.delete('d3', d('device.delete')));
            await refused(
              store.memberships.add({ groupId: 'g', deviceId: 'd2', validFrom: 1000 }, d('membership.add')),
            );
            await refused(store.memberships.end('g', 'd1', 2000, d('membership.end')));
            await refused(store.events.setStatus('e1', 'active', 10_000, undefined, d('event.status')));
            await refused(store.commands.create(command('c2', 'd1', 1000), d('setpoint.create')));
            await refused(
              store.commands.transition('c1', 'sent', 1100, undefined, { attempts: 1 }, d('command.transition')),
            );
          });

          assert.equal(await store.sites.get('s9'), undefined);
          assert.deepEqual(await store.devices.get('d1'), device('d1', 's1'));
          assert.deepEqual(await store.devices.get('d3'), device('d3', 's2'));
          assert.deepEqual(await store.memberships.list({ groupId: 'g' }), [
            { groupId: 'g', deviceId: 'd1', validFrom: 1000 },
          ]);
          assert.equal((await store.events.get('e1'))?.status, 'scheduled');
          assert.equal(await store.commands.get('c2'), undefined);
          assert.deepEqual(await store.commands.get('c1'), command('c1', 'd1', 1000));
          assert.deepEqual(await store.audit.list(), []);

          // A detail that cannot be serialised fails the audit insert in the driver's stead: same outcome.
          await assert.rejects(
            store.sites.create(site('s8'), draft('site.create', 'site', 's8', { big: 1n })),
            /BigInt/,
          );
          assert.equal(await store.sites.get('s8'), undefined);

          // With the trigger gone, the same write goes through with its row.
          await store.sites.create(site('s9'), draft('site.create', 'site', 's9'));
          assert.ok(await store.sites.get('s9'));
          assert.deepEqual(await auditDrafts(store), [draft('site.create', 'site', 's9')]);
        }));
    });

    describe('telemetry', () => {
      test('write, then query a window: from inclusive, to exclusive, oldest first, limit', () =>
        withStore(async (store) => {
          const readings = [30, 10, 20, 40].map((s) => power('d1', s * 1000, s));
          assert.equal(await store.telemetry.write(readings), 4);
          assert.equal(await store.telemetry.write([]), 0);
          const q = { deviceId: 'd1', measurand: 'activePower' as const };
          assert.deepEqual(await store.telemetry.query({ ...q, from: 10_000, to: 40_000 }), [
            power('d1', 10_000, 10),
            power('d1', 20_000, 20),
            power('d1', 30_000, 30),
          ]);
          assert.deepEqual(
            (await store.telemetry.query({ ...q, from: 0, to: 100_000, limit: 2 })).map((r) => r.ts),
            [10_000, 20_000],
          );
          assert.deepEqual(await store.telemetry.query({ ...q, deviceId: 'd2', from: 0, to: 100_000 }), []);
        }));

      test('phases are separate series; absent phase selects the total', () =>
        withStore(async (store) => {
          await store.telemetry.write([
            power('d1', 1000, 300),
            power('d1', 1000, 100, { phase: 'A' }),
            power('d1', 1000, 200, { phase: 'B' }),
          ]);
          const q = { deviceId: 'd1', measurand: 'activePower' as const, from: 0, to: 2000 };
          assert.deepEqual(await store.telemetry.query(q), [power('d1', 1000, 300)]);
          assert.deepEqual(await store.telemetry.query({ ...q, phase: 'B' }), [power('d1', 1000, 200, { phase: 'B' })]);
        }));

      test('re-delivery upserts: the same key replaces the value, never duplicates', () =>
        withStore(async (store) => {
          await store.telemetry.write([power('d1', 1000, 5), power('d1', 2000, 6)]);
          await store.telemetry.write([power('d1', 1000, 7, { quality: 'estimated' })]);
          // Duplicates within one batch: the last one wins.
          await store.telemetry.write([power('d1', 3000, 1), power('d1', 3000, 2)]);
          assert.deepEqual(
            await store.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: 10_000 }),
            [power('d1', 1000, 7, { quality: 'estimated' }), power('d1', 2000, 6), power('d1', 3000, 2)],
          );
        }));

      test('absent vs 0: a 0 is stored and returned as 0; a measurand never written is absent', () =>
        withStore(async (store) => {
          await store.telemetry.write([
            power('d1', 1000, 0),
            { deviceId: 'd1', ts: 1000, measurand: 'stateOfCharge', value: 0, unit: '%' },
          ]);
          const latest = await store.telemetry.latest('d1');
          assert.deepEqual(latest, [
            power('d1', 1000, 0),
            { deviceId: 'd1', ts: 1000, measurand: 'stateOfCharge', value: 0, unit: '%' },
          ]);
          assert.equal(
            latest.find((r) => r.measurand === 'voltage'),
            undefined,
          );
          const [zero] = await store.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: 2000 });
          assert.equal(zero?.value, 0);
        }));

      test('text readings and quality round-trip', () =>
        withStore(async (store) => {
          const state: Reading = {
            deviceId: 'd1',
            ts: 5000,
            measurand: 'operatingState',
            value: 'charging',
            unit: 'state',
            quality: 'good',
          };
          const alarm: Reading = { deviceId: 'd1', ts: 5000, measurand: 'alarm', value: '', unit: 'code' };
          await store.telemetry.write([state, alarm]);
          assert.deepEqual(
            await store.telemetry.query({ deviceId: 'd1', measurand: 'operatingState', from: 0, to: 10_000 }),
            [state],
          );
          assert.deepEqual(await store.telemetry.query({ deviceId: 'd1', measurand: 'alarm', from: 0, to: 10_000 }), [
            alarm,
          ]);
        }));

      test('latest: the newest reading of each measurand and phase of one device', () =>
        withStore(async (store) => {
          await store.telemetry.write([
            power('d1', 1000, 1),
            power('d1', 3000, 3),
            power('d1', 2000, 2),
            power('d1', 500, 50, { phase: 'A' }),
            { deviceId: 'd1', ts: 2500, measurand: 'voltage', value: 230.5, unit: 'V', phase: 'A' },
            { deviceId: 'd1', ts: 900, measurand: 'operatingState', value: 'running', unit: 'state' },
            power('d2', 9000, 99),
          ]);
          const latest = await store.telemetry.latest('d1');
          const key = (r: Reading) => `${r.measurand}/${r.phase ?? ''}`;
          assert.deepEqual(
            new Map(latest.map((r) => [key(r), r])),
            new Map([
              ['activePower/', power('d1', 3000, 3)],
              ['activePower/A', power('d1', 500, 50, { phase: 'A' })],
              ['voltage/A', { deviceId: 'd1', ts: 2500, measurand: 'voltage', value: 230.5, unit: 'V', phase: 'A' }],
              [
                'operatingState/',
                { deviceId: 'd1', ts: 900, measurand: 'operatingState', value: 'running', unit: 'state' },
              ],
            ]),
          );
          assert.equal(latest.length, 4);
          assert.deepEqual(await store.telemetry.latest('nobody'), []);
        }));

      test('downsample: avg/min/max/count per epoch-aligned bucket, empty buckets omitted', () =>
        withStore(async (store) => {
          // 60 s buckets. Bucket 0 = [0, 60000): 10, 20, 60 -> avg 30. Bucket 60000: 5 -> avg 5.
          // Bucket 120000 has only an invalid reading: omitted. Bucket 180000: -4, 4, 0.5 -> avg 0.1666...
          await store.telemetry.write([
            power('d1', 0, 10),
            power('d1', 30_000, 20),
            power('d1', 59_999, 60),
            power('d1', 60_000, 5),
            power('d1', 125_000, 1e6, { quality: 'invalid' }),
            power('d1', 180_000, -4),
            power('d1', 200_000, 4, { quality: 'suspect' }),
            power('d1', 239_999, 0.5),
            power('d1', 240_000, 1000), // outside `to`
            power('d1', 30_000, 999, { phase: 'A' }), // another series
          ]);
          const buckets = await store.telemetry.downsample({
            deviceId: 'd1',
            measurand: 'activePower',
            from: 0,
            to: 240_000,
            bucketMs: 60_000,
          });
          assert.equal(buckets.length, 3);
          assert.deepEqual(buckets.slice(0, 2), [
            { start: 0, avg: 30, min: 10, max: 60, count: 3 },
            { start: 60_000, avg: 5, min: 5, max: 5, count: 1 },
          ]);
          const last = buckets[2];
          assert.equal(last?.start, 180_000);
          assert.equal(last?.min, -4);
          assert.equal(last?.max, 4);
          assert.equal(last?.count, 3);
          assert.ok(Math.abs((last?.avg ?? 0) - 0.5 / 3) < 1e-12);

          // A window starting mid-bucket still aligns buckets to the epoch, not to `from`.
          assert.deepEqual(
            await store.telemetry.downsample({
              deviceId: 'd1',
              measurand: 'activePower',
              from: 30_000,
              to: 60_001,
              bucketMs: 60_000,
            }),
            [
              { start: 0, avg: 40, min: 20, max: 60, count: 2 },
              { start: 60_000, avg: 5, min: 5, max: 5, count: 1 },
            ],
          );
          await rejectsWith(
            store.telemetry.downsample({ deviceId: 'd1', measurand: 'activePower', from: 0, to: 1, bucketMs: 0 }),
            'GW_ERR_VALIDATION',
          );
        }));

      test('prune deletes readings older than the instant and returns how many', () =>
        withStore(async (store) => {
          const day = 86_400_000;
          const jan = Date.UTC(2024, 0, 10);
          const feb = Date.UTC(2024, 1, 10);
          const mar = Date.UTC(2024, 2, 10);
          await store.telemetry.write([
            power('d1', jan, 1),
            power('d1', jan + day, 2),
            power('d1', feb, 3),
            power('d1', feb + 2 * day, 4),
            power('d1', mar, 5),
            power('d2', jan, 6),
          ]);
          assert.equal(await store.telemetry.prune(feb + day), 4);
          assert.deepEqual(
            (await store.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: mar + 1 })).map(
              (r) => r.value,
            ),
            [4, 5],
          );
          assert.deepEqual(await store.telemetry.latest('d2'), []);
          assert.equal(await store.telemetry.prune(feb + day), 0);
          // Writing into a pruned period again works (PostgreSQL recreates a dropped partition).
          await store.telemetry.write([power('d1', jan, 7)]);
          assert.equal(
            (await store.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: feb })).length,
            1,
          );
        }));

      test('many series across devices, measurands and phases: each query sees only its own', () =>
        withStore(async (store) => {
          const devices = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'];
          const measurands = ['activePower', 'voltage', 'current'] as const;
          const phases = [undefined, 'A', 'B', 'C'] as const;
          const unitOf = { activePower: 'W', voltage: 'V', current: 'A' } as const;
          const polls = 10;
          // A distinct value per (device, measurand, phase, poll), so a reading in the wrong series shows.
          const expectedValue = (d: number, m: number, p: number, t: number) => d * 1000 + m * 100 + p * 10 + t;
          const at = (d: number, m: number, p: number, t: number): Reading => {
            const measurand = measurands[m] as (typeof measurands)[number];
            const phase = phases[p];
            return {
              deviceId: devices[d] as string,
              ts: 60_000 * (t + 1),
              measurand,
              value: expectedValue(d, m, p, t),
              unit: unitOf[measurand],
              ...(phase === undefined ? {} : { phase }),
            } as Reading;
          };
          // Time-major arrival, in batches of uneven size, with reads (SQLite merges) in between.
          const all: Reading[] = [];
          for (let t = 0; t < polls; t++)
            for (let d = 0; d < devices.length; d++)
              for (let m = 0; m < measurands.length; m++)
                for (let p = 0; p < phases.length; p++) all.push(at(d, m, p, t));
          for (let offset = 0, size = 7; offset < all.length; offset += size, size = (size * 3) % 101) {
            assert.equal(
              await store.telemetry.write(all.slice(offset, offset + size)),
              Math.min(size, all.length - offset),
            );
            if (offset % 2 === 0) await store.telemetry.latest('d1');
          }
          for (let d = 0; d < devices.length; d++)
            for (let m = 0; m < measurands.length; m++)
              for (let p = 0; p < phases.length; p++) {
                const phase = phases[p];
                const q = {
                  deviceId: devices[d] as string,
                  measurand: measurands[m] as (typeof measurands)[number],
                  from: 0,
                  to: 60_000 * (polls + 1),
                  ...(phase === undefined ? {} : { phase }),
                };
                const expected = Array.from({ length: polls }, (_, t) => at(d, m, p, t));
                assert.deepEqual(await store.telemetry.query(q), expected, JSON.stringify(q));
              }
          const [bucket] = await store.telemetry.downsample({
            deviceId: 'd4',
            measurand: 'voltage',
            phase: 'B',
            from: 0,
            to: 60_000 * (polls + 1),
            bucketMs: 3_600_000,
          });
          assert.deepEqual(bucket, {
            start: 0,
            avg: expectedValue(3, 1, 2, 0) + (polls - 1) / 2,
            min: expectedValue(3, 1, 2, 0),
            max: expectedValue(3, 1, 2, polls - 1),
            count: polls,
          });
          const latest = await store.telemetry.latest('d6');
          assert.equal(latest.length, measurands.length * phases.length);
          assert.deepEqual(new Set(latest), new Set(latest.filter((r) => r.ts === 60_000 * polls)));
          assert.deepEqual(
            latest.map((r) => r.value).sort((a, b) => Number(a) - Number(b)),
            measurands
              .flatMap((_, m) => phases.map((_p, p) => expectedValue(5, m, p, polls - 1)))
              .sort((a, b) => a - b),
          );
        }));

      test('a reading re-delivered after it was stored and read replaces the earlier value', () =>
        withStore(async (store) => {
          const q = { deviceId: 'd1', measurand: 'activePower' as const, phase: 'A' as const, from: 0, to: 10_000 };
          await store.telemetry.write([
            power('d1', 1000, 1, { phase: 'A', quality: 'suspect' }),
            power('d1', 2000, 2, { phase: 'A' }),
            power('d2', 1000, 9, { phase: 'A' }),
          ]);
          // Reading first: in SQLite this merges the inbox into readings.
          assert.equal((await store.telemetry.query(q)).length, 2);
          await store.telemetry.write([power('d1', 1000, 10, { phase: 'A' }), power('d1', 3000, 3, { phase: 'A' })]);
          // The quality of the first delivery does not survive: the whole reading is replaced.
          assert.deepEqual(await store.telemetry.query(q), [
            power('d1', 1000, 10, { phase: 'A' }),
            power('d1', 2000, 2, { phase: 'A' }),
            power('d1', 3000, 3, { phase: 'A' }),
          ]);
          await store.telemetry.write([power('d1', 3000, 30, { phase: 'A', quality: 'estimated' })]);
          assert.deepEqual(await store.telemetry.latest('d1'), [
            power('d1', 3000, 30, { phase: 'A', quality: 'estimated' }),
          ]);
          assert.deepEqual(await store.telemetry.query({ ...q, deviceId: 'd2' }), [
            power('d2', 1000, 9, { phase: 'A' }),
          ]);
        }));

      test('latest across series: per series its newest, other devices and emptied series left out', () =>
        withStore(async (store) => {
          const state = (deviceId: string, ts: number, value: string): Reading => ({
            deviceId,
            ts,
            measurand: 'operatingState',
            value,
            unit: 'state',
          });
          const volts = (ts: number, value: number, phase?: 'A' | 'B'): Reading =>
            ({ deviceId: 'd1', ts, measurand: 'voltage', value, unit: 'V', ...(phase ? { phase } : {}) }) as Reading;
          // Written newest-first for some series, across several batches and a read in between.
          await store.telemetry.write([power('d1', 50_000, 5), volts(40_000, 231, 'B'), state('d1', 10, 'old')]);
          assert.equal((await store.telemetry.latest('d1')).length, 3);
          await store.telemetry.write([
            power('d1', 20_000, 2),
            volts(70_000, 232, 'B'),
            volts(30_000, 229, 'A'),
            volts(35_000, 230),
            state('d1', 60_000, 'running'),
            power('d2', 99_000, 99),
            power('d1', 100, 7, { phase: 'C' }),
          ]);
          // Ordered by measurand, the total before its phases.
          assert.deepEqual(await store.telemetry.latest('d1'), [
            power('d1', 50_000, 5),
            power('d1', 100, 7, { phase: 'C' }),
            volts(35_000, 230),
            volts(30_000, 229, 'A'),
            volts(70_000, 232, 'B'),
            state('d1', 60_000, 'running'),
          ]);
          assert.deepEqual(await store.telemetry.latest('d2'), [power('d2', 99_000, 99)]);
          // Retention empties the phase C series (and takes the old operating state): C has no latest.
          assert.equal(await store.telemetry.prune(1000), 2);
          assert.deepEqual(
            (await store.telemetry.latest('d1')).map((r) => `${r.measurand}/${r.phase ?? ''}`),
            ['activePower/', 'voltage/', 'voltage/A', 'voltage/B', 'operatingState/'],
          );
        }));

      test('prune removes old readings of every series; queries, latest and new writes stay right', () =>
        withStore(async (store) => {
          const day = 86_400_000;
          const start = Date.UTC(2024, 0, 25);
          const cut = start + 10 * day; // 4 February
          const devices = ['d1', 'd2', 'd3'];
          const series = devices.flatMap((deviceId) =>
            [undefined, 'A', 'B'].map((phase) => ({ deviceId, ...(phase ? { phase: phase as 'A' | 'B' } : {}) })),
          );
          // d3 only has readings before the cut: it is emptied. The others span January to February.
          const written: Reading[] = [];
          for (const [i, s] of series.entries())
            for (let k = 0; k < (s.deviceId === 'd3' ? 5 : 20); k++)
              written.push(power(s.deviceId, start + k * day, i * 100 + k, s.phase ? { phase: s.phase } : {}));
          await store.telemetry.write(written);
          const { db } = storeInternals(store);
          const seriesRows = async () =>
            Number((await sql<{ n: number }>`SELECT count(*) AS n FROM series`.execute(db)).rows[0]?.n);
          assert.equal(await seriesRows(), series.length);

          const old = written.filter((r) => r.ts < cut);
          assert.equal(await store.telemetry.prune(cut), old.length);
          for (const s of series) {
            const kept = written.filter((r) => r.deviceId === s.deviceId && r.phase === s.phase && r.ts >= cut);
            assert.deepEqual(
              await store.telemetry.query({ ...s, measurand: 'activePower', from: 0, to: start + 100 * day }),
              kept,
            );
          }
          assert.deepEqual(await store.telemetry.latest('d3'), []);
          assert.deepEqual(
            (await store.telemetry.latest('d1')).map((r) => r.ts),
            [start + 19 * day, start + 19 * day, start + 19 * day],
          );
          const [bucket] = await store.telemetry.downsample({
            deviceId: 'd2',
            phase: 'A',
            measurand: 'activePower',
            from: 0,
            to: start + 100 * day,
            bucketMs: 100 * day,
          });
          assert.equal(bucket?.count, 10);
          assert.equal(bucket?.min, 410);
          // Series rows outlive their readings, so a later write of an emptied series finds it again.
          assert.equal(await seriesRows(), series.length);
          await store.telemetry.write([power('d3', cut + day, 42, { phase: 'B' })]);
          assert.deepEqual(
            await store.telemetry.query({ deviceId: 'd3', phase: 'B', measurand: 'activePower', from: 0, to: cut * 2 }),
            [power('d3', cut + day, 42, { phase: 'B' })],
          );
          assert.equal(await seriesRows(), series.length);
          assert.equal(await store.telemetry.prune(cut), 0);
        }));

      test('a failed batch leaves no series id behind: later writes of its series land in their own', () =>
        withStore(async (store) => {
          // The second reading breaks NOT NULL on ts after the new series 'x' has been resolved.
          const broken = { ...power('x', 2000, 2), ts: null } as unknown as Reading;
          await assert.rejects(store.telemetry.write([power('x', 1000, 1), broken]));
          // A new series now; SQLite hands out the rolled-back id again.
          await store.telemetry.write([power('y', 1000, 5)]);
          await store.telemetry.write([power('x', 1000, 1)]);
          const q = { measurand: 'activePower' as const, from: 0, to: 10_000 };
          assert.deepEqual(await store.telemetry.query({ ...q, deviceId: 'x' }), [power('x', 1000, 1)]);
          assert.deepEqual(await store.telemetry.query({ ...q, deviceId: 'y' }), [power('y', 1000, 5)]);
        }));

      test('a batch is one transaction: a failing batch leaves nothing behind', () =>
        withStore(async (store) => {
          const bad = { deviceId: 'd1', ts: 2000, measurand: 'activePower', value: 1, unit: 'W' } as Record<
            string,
            unknown
          >;
          bad.deviceId = null; // breaks NOT NULL on the second row
          await assert.rejects(store.telemetry.write([power('d1', 1000, 1), bad as unknown as Reading]));
          assert.deepEqual(
            await store.telemetry.query({ deviceId: 'd1', measurand: 'activePower', from: 0, to: 10_000 }),
            [],
          );
        }));
    });
  });
}
