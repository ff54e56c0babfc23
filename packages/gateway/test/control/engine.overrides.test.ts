/**
 * Operator overrides survive a restart: they are kept in store.documents ('control-overrides'),
 * loaded again at start without the ones that ended meanwhile, and the API and the audit log
 * behave as before. The restarts run a second engine over the SQLite file the first one left.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { sha256Hex } from '../../src/api/auth.ts';
import { buildApi } from '../../src/api/server.ts';
import { DEFAULT_OVERRIDE_NAMESPACE } from '../../src/control/engine.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { BATTERY, type Loop, loop, METER, PV, pvBatterySite, T0 } from './engine-support.ts';

const SITE = { kind: 'site', id: 's1' } as const;
const OPERATOR_SECRET = 'operator-secret-for-overrides';

describe('ControlEngine: persisted operator overrides', () => {
  const temp = useTempDir('gridseam-control-overrides-');
  const loops: Loop[] = [];
  afterEach(async () => {
    for (const l of loops.splice(0)) await l.close();
  });

  /** A second engine over the same file, `afterMs` later; the first one is closed. */
  async function restart(first: Loop, storePath: string, afterMs: number): Promise<Loop> {
    const at = first.clock.t + afterMs;
    await first.close();
    loops.splice(loops.indexOf(first), 1);
    const second = await loop({ storePath, startAt: at });
    loops.push(second);
    second.attach('pv1', PV);
    second.attach('bat1', BATTERY);
    second.attach('m1', METER);
    return second;
  }

  test('an override in force is loaded again after a restart and still wins; a cancelled one is gone', async () => {
    const storePath = join(temp.dir(), 'in-force.sqlite');
    const first = await loop({ storePath });
    loops.push(first);
    await pvBatterySite(first);
    await first.engine.submitEvent(
      first.event('e1', {
        intervals: [{ start: T0, durationS: 7200, signals: [{ kind: 'exportLimit', value: 1000 }] }],
      }),
    );
    const kept = await first.engine.operatorOverride(
      { scope: SITE, type: 'exportLimit', value: 5000, durationS: 600 },
      'alice',
    );
    const cancelled = await first.engine.operatorOverride(
      { scope: SITE, type: 'importLimit', value: 2000, durationS: 600 },
      'alice',
    );
    await first.engine.cancelOverride(cancelled.id, 'bob');
    assert.equal(await first.store.documents.count(DEFAULT_OVERRIDE_NAMESPACE), 1);

    const second = await restart(first, storePath, 30_000);
    assert.deepEqual(second.engine.overrides(), [kept]);
    await second.feed('m1', { activePower: 5000 });
    await second.feed('pv1', { activePower: 6000 });
    await second.feed('bat1', { activePower: 0, stateOfCharge: 50 });
    await second.tick();
    const decision = second.engine.decisions().find((d) => d.key === 'site:s1|exportLimit');
    assert.equal(decision?.winner?.id, kept.id);
    assert.equal(decision?.winner?.source, 'operator');
    assert.equal(decision?.losers[0]?.intent.id, 'e1');
    assert.equal(second.devices.get('bat1')?.applied.length, 0, 'the 5 kW override needs no battery action');

    const audit = await second.store.audit.list({ targetType: 'control' });
    assert.deepEqual(
      audit
        .filter((a) => a.action.startsWith('control.override'))
        .map((a) => [a.action, a.actor, a.detail?.overrideId]),
      [
        ['control.override', 'alice', kept.id],
        ['control.override', 'alice', cancelled.id],
        ['control.override.cancel', 'bob', cancelled.id],
      ],
    );

    // It ends on time after the restart too, and is then deleted from the store.
    second.clock.t = kept.window.end! + second.engine.periodMs;
    await second.tick();
    assert.deepEqual(second.engine.overrides(), []);
    assert.equal(await second.store.documents.count(DEFAULT_OVERRIDE_NAMESPACE), 0);
  });

  test('overrides that ended while the gateway was down are dropped at start; a malformed document is skipped', async () => {
    const storePath = join(temp.dir(), 'ended.sqlite');
    const first = await loop({ storePath });
    loops.push(first);
    await pvBatterySite(first);
    const short = await first.engine.operatorOverride(
      { scope: SITE, type: 'exportLimit', value: 5000, durationS: 60 },
      'alice',
    );
    const long = await first.engine.operatorOverride(
      { scope: { kind: 'device', id: 'pv1' }, type: 'generationLimit', value: 3000, durationS: 3600 },
      'alice',
    );
    await first.store.documents.write(DEFAULT_OVERRIDE_NAMESPACE, [
      { id: 'override-bad', doc: { id: 'override-bad', source: 'operator', value: 'lots' } },
      // An operator intent without an end could hold a utility's control off for ever: refused.
      { id: 'override-open', doc: { ...long, id: 'override-open', window: { start: T0 } } },
    ]);

    const second = await restart(first, storePath, 120_000);
    assert.deepEqual(
      second.engine.overrides().map((o) => o.id),
      [long.id],
    );
    const left = (await second.store.documents.list(DEFAULT_OVERRIDE_NAMESPACE)).map((d) => d.id).sort();
    assert.ok(!left.includes(short.id), 'the ended override is deleted from the store');
    assert.deepEqual(left, [long.id, 'override-bad', 'override-open'].sort());
    await second.tick();
    assert.equal(second.devices.get('pv1')?.last('generationLimit'), 3000, 'the device override is applied again');
  });

  test('the API lists, creates and ends overrides across a restart', async () => {
    const storePath = join(temp.dir(), 'api.sqlite');
    const first = await loop({ storePath });
    loops.push(first);
    await pvBatterySite(first);
    const api = async (l: Loop) => {
      const app = await buildApi({
        store: l.store,
        bus: l.bus,
        control: l.engine,
        logger: pino({ level: 'silent' }),
        metrics: new Registry(),
        now: () => l.clock.t,
        tokens: [{ name: 'carol', role: 'operator', tokenSha256: sha256Hex(OPERATOR_SECRET) }],
      });
      return {
        app,
        call: (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
          app.inject({
            method,
            url,
            headers: { authorization: `Bearer ${OPERATOR_SECRET}` },
            ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
          }),
      };
    };
    const before = await api(first);
    const created = await before.call('POST', '/api/control/overrides', {
      scope: SITE,
      type: 'exportLimit',
      value: 2500,
      durationS: 900,
    });
    assert.equal(created.statusCode, 201);
    const id = created.json<{ id: string }>().id;
    const refused = await before.call('POST', '/api/control/overrides', {
      scope: SITE,
      type: 'exportLimit',
      value: 2500,
      durationS: 0,
    });
    assert.equal(refused.statusCode, 400);
    await before.app.close();

    const second = await restart(first, storePath, 10_000);
    const after = await api(second);
    try {
      const listed = await after.call('GET', '/api/control/overrides');
      assert.equal(listed.statusCode, 200);
      assert.deepEqual(
        listed.json<Array<{ id: string; value: number; ref: string }>>().map((o) => [o.id, o.value, o.ref]),
        [[id, 2500, 'carol']],
      );
      assert.equal((await after.call('DELETE', `/api/control/overrides/${id}`)).statusCode, 204);
      assert.equal((await after.call('DELETE', `/api/control/overrides/${id}`)).statusCode, 404);
      assert.deepEqual((await after.call('GET', '/api/control/overrides')).json(), []);
      assert.equal(await second.store.documents.count(DEFAULT_OVERRIDE_NAMESPACE), 0);
      const cancel = (await second.store.audit.list({ targetType: 'control' })).find(
        (a) => a.action === 'control.override.cancel',
      );
      assert.equal(cancel?.actor, 'carol');
    } finally {
      await after.app.close();
    }
  });
});
