/**
 * The CSMS's pure parts: limits as profiles and their read-back, composite schedules from the
 * wire, the offline queue, the session book and the path/identity rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChargingLimit, CompositeSchedule } from '../../src/contract.ts';
import {
  checkLimit,
  compositeFromV16,
  compositeFromV201,
  compositeLimitAt,
  limitProfile,
  limitProfileId,
} from '../../src/csms/limits.ts';
import { OfflineQueue } from '../../src/csms/queue.ts';
import { applySessionReadings, SessionBook, type SessionEntry } from '../../src/csms/sessions.ts';
import { checkStationPath, normalisePath } from '../../src/csms/transport.ts';
import { rejectsWith } from './support.ts';

const NOW = Date.parse('2026-04-01T00:00:00Z');
const FACTS = { voltage: 230, phases: 3 } as const;

function limit(patch: Partial<ChargingLimit> = {}): ChargingLimit {
  return { evseId: 0, value: 16, unit: 'A', start: NOW, expiry: NOW + 600_000, ...patch };
}

describe('limits', () => {
  test('a limit becomes one Absolute profile that ends at the expiry, rounded down to 0.1', () => {
    const spec = limitProfile(
      limit({ value: 13.79, start: NOW - 1_500, expiry: NOW + 60_000 }),
      'StationMax',
      2,
      undefined,
    );
    assert.deepEqual(spec, {
      id: limitProfileId(0, 'StationMax'),
      stackLevel: 2,
      purpose: 'StationMax',
      kind: 'Absolute',
      startSchedule: NOW - 1_500,
      durationS: 62,
      validTo: NOW + 60_000,
      unit: 'A',
      periods: [{ startPeriod: 0, limit: 13.7 }],
    });
  });

  test('profile ids are distinct per evse and purpose and stable', () => {
    const ids = new Set<number>();
    for (const evse of [0, 1, 2, 99_999]) {
      for (const purpose of ['StationMax', 'TxDefault', 'Tx', 'ExternalConstraints'] as const)
        ids.add(limitProfileId(evse, purpose));
    }
    assert.equal(ids.size, 16);
    assert.equal(limitProfileId(3, 'Tx'), limitProfileId(3, 'Tx'));
    assert.ok(Math.max(...ids) < 2 ** 31);
  });

  test('checkLimit refuses what cannot be a profile, with field paths', () => {
    assert.doesNotThrow(() => checkLimit(limit(), NOW));
    const cases: Array<[Partial<ChargingLimit>, string]> = [
      [{ value: -1 }, '/value'],
      [{ value: Number.NaN }, '/value'],
      [{ expiry: NOW - 1, start: NOW - 10 }, '/expiry'],
      [{ expiry: NOW }, '/expiry'],
      [{ evseId: 1.5 }, '/evseId'],
      [{ evseId: -1 }, '/evseId'],
      [{ evseId: 2, purpose: 'StationMax' }, '/purpose'],
      [{ unit: 'kW' as 'W' }, '/unit'],
    ];
    for (const [patch, path] of cases) {
      assert.throws(
        () => checkLimit(limit(patch), NOW),
        (error: { code: string; issues: Array<{ path: string }> }) =>
          error.code === 'GW_ERR_VALIDATION' && error.issues.some((i) => i.path === path),
        JSON.stringify(patch),
      );
    }
  });

  test('compositeLimitAt: the period in force, the first one under clock skew, converted units', () => {
    const composite: CompositeSchedule = {
      evseId: 1,
      start: NOW,
      durationS: 600,
      unit: 'A',
      periods: [
        { start: NOW, limit: 16 },
        { start: NOW + 300_000, limit: 10, numberPhases: 1 },
      ],
    };
    assert.equal(compositeLimitAt(composite, NOW + 10_000, 'A', FACTS), 16);
    assert.equal(compositeLimitAt(composite, NOW + 400_000, 'A', FACTS), 10);
    assert.equal(compositeLimitAt(composite, NOW - 2_000, 'A', FACTS), 16, 'station clock slightly ahead');
    assert.equal(compositeLimitAt(composite, NOW + 10_000, 'W', FACTS), 16 * 230 * 3);
    assert.equal(compositeLimitAt(composite, NOW + 400_000, 'W', FACTS), 10 * 230, 'numberPhases 1 of the period');
    assert.equal(compositeLimitAt({ ...composite, periods: [] }, NOW, 'A', FACTS), undefined);
  });

  test('composite schedules from the 1.6 and 2.0.1 wire', () => {
    const v16 = compositeFromV16(
      'CP',
      {
        status: 'Accepted',
        connectorId: 1,
        scheduleStart: new Date(NOW).toISOString(),
        chargingSchedule: {
          duration: 300,
          chargingRateUnit: 'W',
          chargingSchedulePeriod: [
            { startPeriod: 120, limit: 3_000 },
            { startPeriod: 0, limit: 7_000 },
          ],
        },
      },
      1,
      300,
      0,
    );
    assert.deepEqual(v16, {
      evseId: 1,
      start: NOW,
      durationS: 300,
      unit: 'W',
      periods: [
        { start: NOW, limit: 7_000 },
        { start: NOW + 120_000, limit: 3_000 },
      ],
    });
    assert.throws(() => compositeFromV16('CP', { status: 'Rejected' }, 1, 60, NOW), { code: 'GW_ERR_DEVICE_REJECTED' });
    assert.throws(
      () =>
        compositeFromV16(
          'CP',
          { status: 'Accepted', chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [] } },
          1,
          60,
          NOW,
        ),
      { code: 'GW_ERR_DEVICE_REJECTED' },
    );
    const v201 = compositeFromV201(
      'CS',
      {
        status: 'Accepted',
        schedule: {
          evseId: 0,
          duration: 60,
          scheduleStart: new Date(NOW).toISOString(),
          chargingRateUnit: 'A',
          chargingSchedulePeriod: [{ startPeriod: 0, limit: 32, numberPhases: 3 }],
        },
      },
      0,
    );
    assert.deepEqual(v201.periods, [{ start: NOW, limit: 32, numberPhases: 3 }]);
    assert.throws(
      () => compositeFromV201('CS', { status: 'Rejected', statusInfo: { reasonCode: 'NoSchedule' } }, NOW),
      /NoSchedule/,
    );
  });
});

describe('offline queue', () => {
  test('runs in order, rejects at expiry, bounded per station', async () => {
    let now = 1_000;
    const queue = new OfflineQueue(() => now, 2, 10);
    const ran: string[] = [];
    const a = queue.add('S', 5_000, async () => {
      ran.push('a');
      return 'a';
    });
    const b = queue.add('S', 1_500, async () => 'b');
    await rejectsWith(
      queue.add('S', 5_000, async () => 'c'),
      'GW_ERR_DEVICE_UNREACHABLE',
    );
    assert.equal(queue.size('S'), 2);
    now = 2_000; // b has expired by the time the station is back
    const bRejected = rejectsWith(b, 'GW_ERR_DEVICE_UNREACHABLE');
    await queue.next('S')?.();
    assert.equal(queue.next('S'), undefined);
    assert.equal(await a, 'a');
    await bRejected;
    assert.deepEqual(ran, ['a']);
    assert.equal(queue.size(), 0);
  });

  test('the expiry timer rejects a command nobody picks up', async () => {
    const queue = new OfflineQueue(Date.now, 4, 4);
    const error = await rejectsWith(
      queue.add('S', Date.now() + 30, async () => 'never'),
      'GW_ERR_DEVICE_UNREACHABLE',
    );
    assert.match(error.message, /queueUntil/);
    assert.equal(queue.size('S'), 0);
  });
});

describe('session book', () => {
  function entry(id: string, state: 'active' | 'ended'): SessionEntry {
    return { session: { transactionId: id, identity: 'S', evseId: 1, startedAt: NOW, state } };
  }

  test('prunes the oldest ended session first, then the oldest active one', () => {
    const book = new SessionBook(3, NOW);
    book.put('S', entry('1', 'active'));
    book.put('S', entry('2', 'ended'));
    book.put('S', entry('3', 'active'));
    book.put('S', entry('4', 'active'));
    assert.deepEqual(
      book.list('S').map((s) => s.transactionId),
      ['1', '3', '4'],
    );
    book.put('S', entry('5', 'active'));
    assert.deepEqual(
      book.list('S').map((s) => s.transactionId),
      ['3', '4', '5'],
    );
  });

  test('1.6 transaction ids are integers that grow', () => {
    const book = new SessionBook(10, NOW);
    const first = book.allocateId();
    assert.ok(Number.isInteger(first) && first > 0 && first < 2 ** 31);
    assert.equal(book.allocateId(), first + 1);
  });

  test('readings fold into energy and SoC; an older register does not roll energy back', () => {
    const e = entry('1', 'active');
    const reading = (ts: number, measurand: 'energyImported' | 'stateOfCharge', value: number) =>
      ({ deviceId: 'S', ts, measurand, value, unit: measurand === 'energyImported' ? 'Wh' : '%' }) as const;
    assert.equal(applySessionReadings(e, [reading(NOW, 'energyImported', 1_000)]), true);
    assert.deepEqual([e.session.meterStartWh, e.session.energyWh], [1_000, 0]);
    applySessionReadings(e, [
      reading(NOW + 60_000, 'energyImported', 1_800),
      reading(NOW + 60_000, 'stateOfCharge', 40),
    ]);
    assert.deepEqual([e.session.energyWh, e.session.evSocPct], [800, 40]);
    assert.equal(applySessionReadings(e, [reading(NOW + 30_000, 'energyImported', 1_400)]), false);
    assert.equal(e.session.energyWh, 800);
  });
});

describe('paths and identities', () => {
  test('the identity is the percent-decoded last segment under the prefix', () => {
    assert.deepEqual(checkStationPath('/ocpp/CP%2D1', '/ocpp'), { ok: true, identity: 'CP-1' });
    assert.deepEqual(checkStationPath('/ocpp/CP1?x=1', '/ocpp'), { ok: true, identity: 'CP1' });
    assert.deepEqual(checkStationPath('/CP1', '/'), { ok: true, identity: 'CP1' });
    assert.equal(checkStationPath('/ocpp/x/CP1', '/ocpp').ok, false);
    assert.equal(checkStationPath('/ocpp/%ZZ', '/ocpp').ok, false);
    assert.equal(checkStationPath('/ocpp/CP%0A1', '/ocpp').ok, false);
    assert.equal(normalisePath('ocpp/'), '/ocpp');
    assert.equal(normalisePath('/'), '/');
    assert.equal(normalisePath(undefined), '/ocpp');
  });
});
